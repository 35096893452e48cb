"""n-gram LM: Kneser-Ney estimation by hand, normalisation, back-off queries, ARPA files, KenLM agreement."""
from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import pytest

from asrlab.lm import (
    ArpaFormatError,
    KenLM,
    NGramLM,
    estimate_kneser_ney,
    kenlm_available,
    load_lm,
    read_arpa,
    read_arpa_vocab,
    write_arpa,
)
from asrlab.lm.kneser_ney import FALLBACK_DISCOUNTS, kneser_ney_discounts

TINY = ["a b", "a b", "b a"]


def _zipf_corpus(seed: int, n_sentences: int, vocab_size: int = 200) -> list[str]:
    """Sentences from a bigram-ish random source so that higher orders matter."""
    rng = random.Random(seed)
    cum_weights = list(itertools.accumulate(1.0 / (i + 1) for i in range(vocab_size)))
    sentences = []
    for _ in range(n_sentences):
        ids = rng.choices(range(vocab_size), cum_weights=cum_weights, k=rng.randint(3, 13))
        for i in range(1, len(ids)):
            # half the time continue deterministically from the previous word: strong bigram structure
            if rng.random() < 0.5:
                ids[i] = (ids[i - 1] * 7 + 3) % vocab_size
        sentences.append(" ".join(f"w{i}" for i in ids))
    return sentences


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return _zipf_corpus(0, 1500)


@pytest.fixture(scope="module")
def trigram(corpus: list[str]) -> NGramLM:
    return estimate_kneser_ney(corpus, order=3)


def test_bigram_probabilities_match_hand_computation() -> None:
    # Fixed discounts 0.5. Continuation counts of a, b, </s> are 2 each (6 in all), so
    # P(w) = (2 - 0.5)/6 + gamma/|V| with gamma = 3 * 0.5 / 6 = 0.25 and V = {a, b, </s>, <unk>}.
    lm = estimate_kneser_ney(TINY, order=2, discounts=[(0.5, 0.5, 0.5)] * 2)
    assert 10 ** lm.score("a") == pytest.approx(0.25 + 0.25 / 4)
    assert 10 ** lm.score("zzz") == pytest.approx(0.25 / 4)  # OOV -> <unk> gets only the discounted mass
    # After "a": b twice, </s> once -> gamma(a) = (0.5 + 0.5) / 3.
    assert 10 ** lm.score("b", ["a"]) == pytest.approx(1.5 / 3 + (1 / 3) * 0.3125)
    assert 10 ** lm.score("a", ["a"]) == pytest.approx((1 / 3) * 0.3125)  # unseen: back-off weight * P(a)
    assert lm.backoffs[("a",)] == pytest.approx(math.log10(1 / 3))
    assert lm.score("<s>") == -99.0


def test_discounts_from_counts_of_counts() -> None:
    counts = [1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9]
    y = 10 / (10 + 2 * 5)
    expected = (1 - 2 * y * 5 / 10, 2 - 3 * y * 3 / 5, 3 - 4 * y * 2 / 3)
    assert kneser_ney_discounts(counts) == pytest.approx(expected)
    assert kneser_ney_discounts([1, 1, 2]) == FALLBACK_DISCOUNTS  # no n-grams seen 3 or 4 times


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_sums_to_one(corpus: list[str], order: int) -> None:
    lm = estimate_kneser_ney(corpus[:600], order=order)
    vocab = lm.predictable_vocab()
    assert "<unk>" in vocab and "</s>" in vocab and "<s>" not in vocab
    contexts = [[], ["<s>"], ["<s>", "w0"], ["w0", "w3"], ["w1", "w10", "w73"], ["unseen", "w0"], ["w5", "unseen"]]
    for context in contexts:
        total = sum(10 ** lm.score(w, context) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-9), (order, context)


def test_stored_ngrams_are_exactly_the_training_ngrams(corpus: list[str], trigram: NGramLM) -> None:
    seen: set[tuple[str, ...]] = set()
    for s in corpus:
        padded = ["<s>", *s.split(), "</s>"]
        for n in (1, 2, 3):
            seen.update(tuple(padded[i:i + n]) for i in range(len(padded) - n + 1))
    assert set(trigram.logprobs) == seen | {("<unk>",)}
    assert trigram.ngram_counts() == [sum(len(g) == n for g in seen | {("<unk>",)}) for n in (1, 2, 3)]


def test_backoff_query_for_unseen_trigram(trigram: NGramLM) -> None:
    # pick a seen bigram (b, c) and a word a such that (a, b, c) is unseen but (a, b) is a context
    a, b, c = next(
        (g[0], h[0], h[1]) for g in trigram.logprobs if len(g) == 2 for h in trigram.logprobs
        if len(h) == 2 and h[0] == g[1] and (g[0], h[0], h[1]) not in trigram.logprobs and g[0] != "<s>"
    )
    expected = trigram.backoffs[(a, b)] + trigram.logprobs[(b, c)]
    assert trigram.score(c, [a, b]) == pytest.approx(expected)
    # context longer than order - 1: only the last two words matter
    assert trigram.score(c, ["w1", "w2", a, b]) == trigram.score(c, [a, b])


def test_sentence_logprob_is_the_chain_rule(trigram: NGramLM) -> None:
    sentence = "w0 w3 w24 w171"
    words = sentence.split()
    chain = trigram.score(words[0], ["<s>"]) + trigram.score(words[1], ["<s>", words[0]])
    chain += trigram.score(words[2], words[:2]) + trigram.score(words[3], words[1:3]) + trigram.score("</s>", words[2:])
    assert trigram.sentence_logprob(sentence) == pytest.approx(chain)
    assert trigram.sentence_logprob(words) == trigram.sentence_logprob(sentence)
    assert trigram.sentence_logprob(sentence, bos=False, eos=False) != pytest.approx(chain)


def test_model_prefers_training_word_order(corpus: list[str], trigram: NGramLM) -> None:
    held_out = _zipf_corpus(1, 200)
    shuffled = []
    rng = random.Random(2)
    for s in held_out:
        words = s.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    assert trigram.perplexity(held_out) < 0.8 * trigram.perplexity(shuffled)
    unigram = estimate_kneser_ney(corpus, order=1)
    assert trigram.perplexity(held_out) < unigram.perplexity(held_out)


def test_arpa_round_trip_is_exact(tmp_path, trigram: NGramLM, corpus: list[str]) -> None:
    path = write_arpa(trigram, tmp_path / "lm.arpa")
    text = path.read_text()
    assert text.lstrip().startswith("\\data\\") and text.rstrip().endswith("\\end\\")
    assert "ngram 3=" in text and "\\3-grams:" in text
    again = read_arpa(path)
    assert again.logprobs == trigram.logprobs and again.backoffs == trigram.backoffs
    for s in corpus[:50] + ["w1 never seen words"]:
        assert again.sentence_logprob(s) == trigram.sentence_logprob(s)
    write_arpa(again, tmp_path / "again.arpa")
    assert (tmp_path / "again.arpa").read_text() == text
    gz = write_arpa(trigram, tmp_path / "lm.arpa.gz")
    assert read_arpa(gz).logprobs == trigram.logprobs
    assert load_lm(path, backend="python").score("w3", ["w0"]) == trigram.score("w3", ["w0"])
    assert read_arpa_vocab(path) == trigram.vocab == read_arpa_vocab(gz)


@pytest.mark.parametrize(
    "content, message",
    [
        ("ngram 1=1\n", "no \\\\data\\\\ header"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n\n\\end\\\n", "announces 2 1-grams"),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-x\ta\n\n\\end\\\n", "lm.arpa:5"),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\ta\n", "missing the closing"),
        ("\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1.0\ta\n\\2-grams:\n-1.0\tb c\n\\end\\\n", "no stored context"),
    ],
)
def test_bad_arpa_files_name_the_problem(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "lm.arpa"
    path.write_text(content)
    with pytest.raises(ArpaFormatError, match=message):
        read_arpa(path)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="order must be"):
        estimate_kneser_ney(TINY, order=0)
    with pytest.raises(ValueError, match="no words"):
        estimate_kneser_ney(["", "  "], order=2)
    with pytest.raises(ValueError, match="reserved token '<s>'"):
        estimate_kneser_ney(["<s> a b"], order=2)
    with pytest.raises(ValueError, match="backend must be"):
        load_lm("x.arpa", backend="fast")
    with pytest.raises(FileNotFoundError, match="no ARPA file"):
        read_arpa("/nonexistent/lm.arpa")
    with pytest.raises(TypeError, match="word must be a str"):
        estimate_kneser_ney(TINY, order=2).score(3)


@pytest.mark.parametrize(
    "n_sentences, min_bytes",
    [(2_600, 90_000), pytest.param(26_000, 900_000, marks=pytest.mark.slow)],  # ~100 KB and ~1 MB of text
)
def test_large_text_builds(n_sentences: int, min_bytes: int) -> None:
    # the estimator must handle real-sized text (its speed is reported by bench/beam_search.py)
    sentences = _zipf_corpus(3, n_sentences, vocab_size=2000)
    assert sum(len(s) + 1 for s in sentences) > min_bytes
    lm = estimate_kneser_ney(sentences, order=3)
    distinct_bigrams = {g for s in sentences for g in zip(["<s>", *s.split()], [*s.split(), "</s>"])}
    assert lm.ngram_counts()[1] == len(distinct_bigrams)
    vocab = lm.predictable_vocab()
    assert sum(10 ** lm.score(w, ["w0", "w3"]) for w in vocab) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.skipif(not kenlm_available(), reason="kenlm not installed")
def test_kenlm_agrees_on_our_arpa_file(tmp_path, trigram: NGramLM, corpus: list[str]) -> None:
    path = write_arpa(trigram, tmp_path / "lm.arpa")
    ken = KenLM(path)
    assert ken.order == 3 and "w0" in ken and "nope" not in ken
    rng = random.Random(4)
    sentences = corpus[:100] + _zipf_corpus(5, 50) + ["w0 unknownword w3", "w3"]
    for s in sentences:
        assert ken.sentence_logprob(s) == pytest.approx(trigram.sentence_logprob(s), abs=1e-4)
    words = trigram.predictable_vocab()
    for _ in range(200):
        context = rng.sample(words, 2)
        word = rng.choice(words)
        assert ken.score(word, context) == pytest.approx(trigram.score(word, context), abs=1e-5)
    import kenlm

    raw = kenlm.Model(str(path))
    assert raw.score(corpus[0], bos=True, eos=True) == pytest.approx(trigram.sentence_logprob(corpus[0]), abs=1e-4)
    assert isinstance(load_lm(path), KenLM)
    assert ken.vocab == trigram.vocab


@pytest.mark.skipif(not kenlm_available(), reason="kenlm not installed")
def test_kenlm_cached_states_give_the_scores_of_a_fresh_query(tmp_path, trigram: NGramLM) -> None:
    import kenlm

    path = write_arpa(trigram, tmp_path / "lm.arpa")
    ken, raw = KenLM(path), kenlm.Model(str(path))
    rng = random.Random(5)
    words = trigram.predictable_vocab() + ["unknownword"]
    for _ in range(300):  # contexts with and without <s>, shorter and longer than the order
        context = (["<s>"] if rng.random() < 0.5 else []) + rng.sample(words, rng.randrange(4))
        word = rng.choice(words + ["</s>"])
        state, out = kenlm.State(), kenlm.State()
        kept = context[1:] if context[:1] == ["<s>"] else context
        if context[:1] == ["<s>"]:
            raw.BeginSentenceWrite(state)
        else:
            raw.NullContextWrite(state)
        for w in kept[max(0, len(kept) - 2):]:  # the last order - 1 words, as NGramLM.score reads them
            raw.BaseScore(state, w, out)
            state, out = out, state
        assert ken.score(word, context) == raw.BaseScore(state, word, out), (context, word)
        assert ken.score(word, context) == pytest.approx(trigram.score(word, context), abs=1e-4)


def test_counts_use_continuation_counts_for_lower_orders() -> None:
    # "x" follows three different words but only once each; "y" follows one word three times.
    lm = estimate_kneser_ney(["a x", "b x", "c x", "d y", "d y", "d y"], order=2, discounts=[(0.5, 0.5, 0.5)] * 2)
    # raw unigram counts are equal (3 each), continuation counts are 3 (x) vs 1 (y)
    assert Counter("a x b x c x d y d y d y".split())["x"] == Counter("a x b x c x d y d y d y".split())["y"]
    assert lm.score("x") > lm.score("y")
