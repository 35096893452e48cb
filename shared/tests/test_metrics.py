"""WER/CER: agreement with jiwer, corpus-level aggregation, empty references, normalization, errors."""
import math
import random

import jiwer
import pytest

from asrlab.metrics import (
    ErrorStats,
    cer,
    char_errors,
    per_utterance_cer,
    per_utterance_char_errors,
    per_utterance_wer,
    per_utterance_word_errors,
    wer,
    word_errors,
)

VOCAB = ["a", "b", "c", "the", "cat", "sat", "on", "mat", "x"]


def _random_text(rng: random.Random, min_words: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(min_words, 8)))


def _random_corpus(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs = [_random_text(rng, 1) for _ in range(n)]
    hyps = [_random_text(rng, 0) for _ in range(n)]
    return refs, hyps


def test_textbook_examples():
    assert wer("the cat sat on the mat", "the cat sat on the mat") == 0.0
    assert wer("the cat sat", "the cat sad") == pytest.approx(1 / 3)
    assert wer("a b c d", "a c d e f") == pytest.approx(3 / 4)  # del b, ins e, ins f
    assert cer("abc", "abd") == pytest.approx(1 / 3)
    assert cer("ab c", "abc") == pytest.approx(1 / 4)  # the space is a character
    stats = word_errors("a b c d", "a x c")
    assert stats == ErrorStats(hits=2, substitutions=1, deletions=1, insertions=0)
    assert stats.errors == 2 and stats.ref_len == 4


@pytest.mark.parametrize("seed", range(5))
def test_corpus_rates_equal_jiwer(seed):
    refs, hyps = _random_corpus(seed, 60)
    assert wer(refs, hyps) == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)
    assert cer(refs, hyps) == pytest.approx(jiwer.cer(refs, hyps), abs=1e-12)
    out = jiwer.process_words(refs, hyps)
    stats = word_errors(refs, hyps)
    assert stats.errors == out.substitutions + out.deletions + out.insertions
    assert stats.ref_len == out.hits + out.substitutions + out.deletions


def test_per_utterance_counts_equal_jiwer_pairwise():
    refs, hyps = _random_corpus(123, 200)
    words = per_utterance_word_errors(refs, hyps)
    chars = per_utterance_char_errors(refs, hyps)
    for ref, hyp, w, c in zip(refs, hyps, words, chars):
        jw, jc = jiwer.process_words(ref, hyp), jiwer.process_characters(ref, hyp)
        assert (w.hits, w.substitutions, w.deletions, w.insertions) == (
            jw.hits, jw.substitutions, jw.deletions, jw.insertions)
        assert (c.hits, c.substitutions, c.deletions, c.insertions) == (
            jc.hits, jc.substitutions, jc.deletions, jc.insertions)
    assert per_utterance_wer(refs, hyps) == pytest.approx([jiwer.wer(r, h) for r, h in zip(refs, hyps)])
    assert per_utterance_cer(refs, hyps) == pytest.approx([jiwer.cer(r, h) for r, h in zip(refs, hyps)])


def test_corpus_rate_is_total_edits_over_total_words_not_mean():
    refs = ["a b c d", "x"]
    hyps = ["a b c d", "y"]
    assert wer(refs, hyps) == pytest.approx(1 / 5)
    assert sum(per_utterance_wer(refs, hyps)) / 2 == pytest.approx(0.5)
    assert sum(per_utterance_word_errors(refs, hyps), ErrorStats()) == word_errors(refs, hyps)


def test_whitespace_is_collapsed_for_words_and_stripped_for_chars():
    assert wer("  the   cat\tsat ", "the cat sat") == 0.0
    assert cer("  abc  ", "abc") == 0.0
    assert cer("a  b", "a b") == pytest.approx(jiwer.cer("a  b", "a b"))


def test_empty_reference_counts_insertions():
    assert wer("", "") == 0.0
    assert wer("   ", "") == 0.0
    assert cer("", "") == 0.0
    assert math.isinf(wer("", "hello there"))
    assert word_errors("", "hello there") == ErrorStats(insertions=2)
    assert char_errors("", "ab") == ErrorStats(insertions=2)
    # Inside a corpus the insertions add to the edits and the empty reference adds no words.
    assert wer(["a b", ""], ["a b", "c d e"]) == pytest.approx(3 / 2)
    assert per_utterance_wer(["a b", "", ""], ["a x", "", "y"]) == [0.5, 0.0, float("inf")]


def test_empty_hypothesis_is_all_deletions():
    assert wer("a b c", "") == 1.0
    assert word_errors("a b c", "") == ErrorStats(deletions=3)


def test_normalization_ignores_case_and_punctuation():
    assert wer("Hello, world!", "hello world") == 1.0
    assert wer("Hello, world!", "hello world", normalize=True) == 0.0
    assert cer("A-B", "a b", normalize=True) == 0.0
    assert wer("It\u2019s ME!", "it's me", normalize=True) == 0.0
    assert wer("ABC", "abd", normalize=str.upper) == 1.0  # a callable replaces the default normalizer
    assert wer("ABC", "abc", normalize=str.upper) == 0.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        wer(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="both be strings or both be lists"):
        wer("a b", ["a b"])
    with pytest.raises(TypeError, match=r"hyp\[1\] is a int"):
        cer(["a", "b"], ["a", 3])


def _edit_distance(a: list, b: list) -> int:
    """Plain Levenshtein DP, an independent check on the jiwer-backed counts."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def test_error_counts_equal_independent_edit_distance():
    refs, hyps = _random_corpus(7, 100)
    for ref, hyp, w, c in zip(refs, hyps, per_utterance_word_errors(refs, hyps), per_utterance_char_errors(refs, hyps)):
        assert w.errors == _edit_distance(ref.split(), hyp.split())
        assert c.errors == _edit_distance(list(ref), list(hyp))
        assert w.ref_len == len(ref.split()) and c.ref_len == len(ref)
