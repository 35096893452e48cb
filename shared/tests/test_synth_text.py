"""Text side of the synthetic corpora: vocabulary, normalization, banking labels (no audio)."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from asrlab.data.synth.banking import (
    DIALOG_ACTS, NEGATIVE_CUES, POSITIVE_CUES, SILENT_TOKENS, TASK_TYPES, TRANSCRIPT_CHARS,
    BankingDialogs, sentiment_probabilities,
)  # fmt: skip
from asrlab.data.synth.lexicon import load_lexicon, pluralize
from asrlab.data.synth.sentences import BookSentences, book_vocabulary, normalize_transcript


def _conversations(seed: int, count: int):
    gen = BankingDialogs(np.random.default_rng(seed))
    return [gen.conversation() for _ in range(count)]


def test_word_lists_hold_over_1000_distinct_words():
    lex = load_lexicon()
    assert len(lex.vocabulary()) >= 1000
    assert len(lex.things) > 200 and len(lex.transitive) > 100 and len(lex.adjectives) > 150
    assert all(re.fullmatch(r"[a-z']+", w) for w in book_vocabulary())


def test_generated_sentences_use_a_large_vocabulary_from_the_lists():
    gen = BookSentences(np.random.default_rng(0))
    words = Counter(w for _ in range(3000) for w in normalize_transcript(gen.utterance()).lower().split())
    assert len(words) >= 1000
    assert set(words) <= book_vocabulary()


def test_pluralize_regular_and_listed_irregular_nouns():
    assert [pluralize(w) for w in ("book", "box", "church", "lady", "day")] == ["books", "boxes", "churches", "ladies", "days"]
    people = {n.singular: n.plural for n in load_lexicon().people}
    assert people["man"] == "men" and people["wolf"] == "wolves"


def test_normalize_transcript_is_librispeech_style():
    assert normalize_transcript("When the old man's dog barked, she said: \"Go!\"") == "WHEN THE OLD MAN'S DOG BARKED SHE SAID GO"
    gen = BookSentences(np.random.default_rng(1))
    for _ in range(200):
        assert re.fullmatch(r"[A-Z']+( [A-Z']+)*", normalize_transcript(gen.utterance()))


def test_sentences_are_reproducible_per_seed():
    def stream(seed: int) -> list[str]:
        gen = BookSentences(np.random.default_rng(seed))
        return [gen.utterance() for _ in range(20)]

    assert stream(7) == stream(7)
    assert stream(7) != stream(8)


def test_banking_transcripts_use_the_corpus_character_set():
    utts = [u for conv in _conversations(0, 300) for u in conv]
    assert all(TRANSCRIPT_CHARS.match(u.text) for u in utts)
    assert all(u.text == u.text.lower() and u.spoken.strip() for u in utts)
    short = sum(len(u.text.split()) < 4 for u in utts) / len(utts)
    assert 0.05 < short < 0.35  # the reader drops these, as in the real corpus
    with_tokens = [u for u in utts if "[" in u.text]
    assert 0 < len(with_tokens) < 0.15 * len(utts)
    for u in with_tokens:  # tokens open or close the utterance and are not spoken
        words = u.text.split()
        token = words[0] if words[0] in SILENT_TOKENS else words[-1]
        assert token in SILENT_TOKENS and token not in u.spoken
        assert u.events and u.events[0][1] == token


def test_banking_labels_are_well_formed():
    for conv in _conversations(1, 100):
        assert len({u.task_type for u in conv}) == 1  # a call-level label
        for u in conv:
            assert u.task_type in TASK_TYPES
            assert u.dialog_acts and set(u.dialog_acts) <= set(DIALOG_ACTS) and list(u.dialog_acts) == sorted(u.dialog_acts)
            assert len(u.sentiment) == 3 and sum(u.sentiment) == pytest.approx(1.0)
            assert all(abs(p * 3 - round(p * 3)) < 1e-9 for p in u.sentiment)  # three annotators' votes


def test_task_type_is_predictable_from_the_words():
    """A bag-of-words classifier trained on some calls recovers the task of unseen long utterances."""
    train = [u for conv in _conversations(2, 200) for u in conv]
    test = [u for conv in _conversations(3, 60) for u in conv if len(u.text.split()) >= 4]
    counts: dict[str, Counter] = defaultdict(Counter)
    for u in train:
        counts[u.task_type].update(u.text.split())
    vocab = {w for c in counts.values() for w in c}
    log_prob = {  # add-one smoothed log P(word | task)
        task: {w: np.log((counts[task][w] + 1) / (sum(counts[task].values()) + len(vocab))) for w in vocab} for task in TASK_TYPES
    }

    def predict(text: str) -> str:
        return max(TASK_TYPES, key=lambda task: sum(log_prob[task].get(w, 0.0) for w in text.split()))

    accuracy = np.mean([predict(u.text) == u.task_type for u in test])
    assert accuracy > 0.5, accuracy  # chance is 1/8; greetings and closings carry no task words


def test_sentiment_follows_cue_phrases():
    utts = [u for conv in _conversations(4, 250) for u in conv]
    negative = [u.sentiment[0] for u in utts if any(c in u.text for c in NEGATIVE_CUES)]
    positive = [u.sentiment[2] for u in utts if any(c in u.text for c in POSITIVE_CUES)]
    plain = [u.sentiment for u in utts if not any(c in u.text for c in NEGATIVE_CUES + POSITIVE_CUES + ("thank", "please"))]
    assert negative and positive and plain
    assert np.mean(negative) > 0.5 and np.mean(positive) > 0.5
    assert np.mean([s[1] for s in plain]) > 0.8
    assert np.mean(negative) > 5 * np.mean([s[0] for s in plain])
    probs = sentiment_probabilities("this is really frustrating")
    assert probs.shape == (3,) and probs.argmax() == 0 and probs.sum() == pytest.approx(1.0)


def test_dialog_acts_follow_the_words():
    for conv in _conversations(5, 100):
        for u in conv:
            if "greeting" in u.dialog_acts:
                assert re.search(r"\b(hello|hi|hey|good morning)\b", u.text)
            if "data_question" in u.dialog_acts:
                assert re.search(r"\b(what|which|when|how|is|may i|can i|can you|does|would you|do you)\b", u.text)
