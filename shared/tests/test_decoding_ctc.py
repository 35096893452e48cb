"""CTC decoders: greedy best path, prefix beam search (exact against enumeration), LM fusion, errors."""
from __future__ import annotations

import itertools
import math
import string

import numpy as np
import pytest
import torch

from asrlab.decoding import DecodingInputError, GreedyCTCDecoder, PrefixBeamSearchDecoder, ctc_greedy_ids
from asrlab.lm import KenLM, estimate_kneser_ney, kenlm_available, write_arpa

SYMBOLS = ["'", " ", *string.ascii_lowercase, "_"]  # the course character table
BLANK, SPACE = 28, 1
IDX = {s: i for i, s in enumerate(SYMBOLS)}


def _log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def _frames(spec: list[dict[str, float]], num_classes: int = len(SYMBOLS), floor: float = 1e-4) -> np.ndarray:
    """(T, C) log-probs from per-frame {symbol: probability} dicts; the rest of the mass is spread evenly."""
    out = np.empty((len(spec), num_classes))
    for t, frame in enumerate(spec):
        rest = (1.0 - sum(frame.values())) / (num_classes - len(frame))
        probs = np.full(num_classes, max(rest, floor))
        for sym, p in frame.items():
            probs[IDX[sym]] = p
        out[t] = np.log(probs / probs.sum())
    return out


def _spell(text: str, blank_between: bool = True) -> list[dict[str, float]]:
    """Confident frames spelling ``text`` with a blank after every character."""
    spec = []
    for ch in text:
        spec.append({ch: 0.95})
        if blank_between:
            spec.append({"_": 0.95})
    return spec


def _exact_prefix_log_probs(log_probs: np.ndarray, blank: int) -> dict[tuple[int, ...], float]:
    """Brute force: sum the probability of every alignment, grouped by its collapsed label sequence."""
    frames, classes = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(classes), repeat=frames):
        labels = tuple(c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1]))
        logp = sum(log_probs[t, c] for t, c in enumerate(path))
        totals[labels] = np.logaddexp(totals.get(labels, -np.inf), logp)
    return totals


# ----------------------------------------------------------------------------- greedy
def test_greedy_collapses_repeats_and_drops_blanks() -> None:
    # frames: a a _ a b b _ _  -> "aab"; "a _ a" keeps both a's, "a a" merges
    ids = [IDX[c] for c in "aa_abb__"]
    scores = np.full((1, len(ids), len(SYMBOLS)), -10.0)
    scores[0, np.arange(len(ids)), ids] = 0.0
    assert ctc_greedy_ids(scores, [len(ids)], blank=BLANK) == [[IDX["a"], IDX["a"], IDX["b"]]]
    assert GreedyCTCDecoder(SYMBOLS).decode(scores) == ["aab"]


def test_greedy_batch_respects_lengths_and_accepts_any_score_type() -> None:
    first = _frames(_spell("hi there"))  # (16, 29)
    second = _frames(_spell("ok"))  # (4, 29)
    batch = np.zeros((2, first.shape[0], len(SYMBOLS)))
    batch[0] = first
    batch[1, : second.shape[0]] = second
    batch[1, second.shape[0]:, IDX["z"]] = 5.0  # padding that would decode to "z" if lengths were ignored
    decoder = GreedyCTCDecoder(SYMBOLS, blank=BLANK)
    lengths = torch.tensor([first.shape[0], second.shape[0]])
    assert decoder(torch.from_numpy(batch), lengths) == ["hi there", "ok"]
    assert decoder(np.exp(batch), lengths) == ["hi there", "ok"]  # probabilities: same argmax
    assert decoder(batch.astype(np.float32), [16, 0]) == ["hi there", ""]
    assert ctc_greedy_ids(batch, lengths, blank=-1) == decoder.decode_ids(batch, lengths)


@pytest.mark.parametrize(
    "scores, lengths, error, message",
    [
        (np.zeros((2, 5, 10)), None, DecodingInputError, "symbol table has 29"),
        (np.zeros((2, 5, 3, 29)), None, DecodingInputError, r"\(B, T, C\)"),
        (np.zeros((2, 5, 29)), [5], DecodingInputError, r"lengths must have shape \(B,\) = \(2,\)"),
        (np.zeros((2, 5, 29)), [5, 6], DecodingInputError, r"lengths must lie in \[0, T=5\]"),
        (np.zeros((2, 5, 29)), [5.0, 5.0], TypeError, "integers"),
        (np.zeros((2, 5, 29), dtype=np.int64), None, TypeError, "floating-point"),
        ([[0.0]], None, TypeError, "torch.Tensor or numpy array"),
    ],
)
def test_greedy_rejects_bad_input(scores, lengths, error, message) -> None:
    with pytest.raises(error, match=message):
        GreedyCTCDecoder(SYMBOLS).decode(scores, lengths)


def test_symbol_table_checks() -> None:
    with pytest.raises(DecodingInputError, match="blank=29 is outside"):
        GreedyCTCDecoder(SYMBOLS, blank=29)
    with pytest.raises(TypeError, match="list of strings"):
        GreedyCTCDecoder("abc_")
    with pytest.raises(DecodingInputError, match="space and blank"):
        PrefixBeamSearchDecoder(SYMBOLS, blank=1, space=1)


# ----------------------------------------------------------------------------- prefix beam search
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_probabilities_are_exact_without_pruning(seed: int) -> None:
    rng = np.random.default_rng(seed)
    symbols = ["a", "b", " ", "_"]
    log_probs = _log_softmax(rng.normal(size=(6, 4)) * 1.5)  # (T=6, C=4)
    exact = _exact_prefix_log_probs(log_probs, blank=3)
    decoder = PrefixBeamSearchDecoder(symbols, beam_size=10_000, prune_threshold=None, beta=0.0)
    hyps = decoder.search(log_probs)
    assert {h.tokens for h in hyps} == set(exact)  # every reachable prefix, nothing else
    for h in hyps:
        assert h.acoustic_score == pytest.approx(exact[h.tokens], abs=1e-12)
        assert h.score == h.acoustic_score and h.lm_score == 0.0
    assert hyps[0].tokens == max(exact, key=exact.get)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_beam_with_small_beam_finds_the_exact_best_on_peaked_input() -> None:
    rng = np.random.default_rng(3)
    symbols = ["a", "b", "c", "_"]
    log_probs = _log_softmax(rng.normal(size=(7, 4)) * 3.0)
    exact = _exact_prefix_log_probs(log_probs, blank=3)
    best = PrefixBeamSearchDecoder(symbols, beam_size=8, beta=0.0, space=None).search(log_probs)[0]
    assert best.tokens == max(exact, key=exact.get)
    # pruning can only drop alignments: the kept probability is a slight under-estimate
    assert exact[best.tokens] - 0.01 < best.acoustic_score <= exact[best.tokens] + 1e-12


def test_repeated_characters_need_a_blank_in_between() -> None:
    decoder = PrefixBeamSearchDecoder(SYMBOLS, beam_size=4, beta=0.0)
    assert decoder(_frames([{"o": 0.9}, {"o": 0.9}, {"_": 0.9}]))[0] == "o"  # o o _ -> "o"
    assert decoder(_frames([{"o": 0.9}, {"_": 0.9}, {"o": 0.9}]))[0] == "oo"  # o _ o -> "oo"
    assert decoder(_frames(_spell("book")))[0] == "book"


def test_top_k_one_reduces_to_greedy() -> None:
    rng = np.random.default_rng(4)
    log_probs = torch.log_softmax(torch.from_numpy(rng.normal(size=(3, 40, 29)) * 2.0), dim=-1)  # (B, T, C)
    lengths = torch.tensor([40, 31, 7])
    decoder = PrefixBeamSearchDecoder(SYMBOLS, beam_size=4, top_k=1, beta=0.0)
    assert decoder(log_probs, lengths) == GreedyCTCDecoder(SYMBOLS)(log_probs, lengths)


def test_batch_equals_one_by_one_and_pruning_keeps_the_best() -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 30, 29)) * 2.5
    log_probs = _log_softmax(logits)
    full = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, prune_threshold=None, beta=0.0)
    pruned = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, prune_threshold=1e-3, top_k=5, beta=0.0)
    batch = full.decode_nbest(log_probs, [30, 22])
    assert batch[1] == full.search(log_probs[1, :22])
    assert [h.text for h in pruned.decode_nbest(log_probs, [30, 22])[0][:1]] == [batch[0][0].text]


def test_ties_break_towards_smaller_token_ids() -> None:
    # every frame: "a" and "b" equally likely -> "a"/"b", "ab"/"ba", ... tie exactly; smaller ids win.
    log_probs = _frames([{"a": 0.45, "b": 0.45}, {"_": 0.9}], floor=1e-9)
    hyps = PrefixBeamSearchDecoder(SYMBOLS, beam_size=5, beta=0.0).search(log_probs)
    assert hyps[0].text == "a" and hyps[1].text == "b" and hyps[0].score == hyps[1].score
    first = PrefixBeamSearchDecoder(SYMBOLS, beam_size=5, beta=0.0).search(log_probs)
    assert first == hyps  # reproducible bit for bit


@pytest.fixture(scope="module")
def cat_lm():
    text = ["the cat sat on the mat", "a cat sat", "the cat ran", "the dog sat on the cat", "the cat"] * 5
    return estimate_kneser_ney(text, order=3)


def _cat_vs_kat() -> np.ndarray:
    """Acoustics that slightly prefer "the kat sat" over "the cat sat"."""
    spec = _spell("the ") + [{"k": 0.5, "c": 0.45}, {"_": 0.95}] + _spell("at sat")
    return _frames(spec)


def test_lm_fixes_an_acoustically_confusable_word(cat_lm) -> None:
    log_probs = _cat_vs_kat()
    assert GreedyCTCDecoder(SYMBOLS)(log_probs)[0] == "the kat sat"
    no_lm = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, beta=0.0)
    assert no_lm(log_probs)[0] == "the kat sat"
    with_lm = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=0.5, beta=1.0)
    assert with_lm(log_probs)[0] == "the cat sat"


@pytest.mark.parametrize("alpha, beta, eos", [(0.5, 1.0, True), (0.8, -0.5, False), (0.0, 2.0, True)])
def test_lm_score_is_applied_once_per_word_and_at_the_end(cat_lm, alpha: float, beta: float, eos: bool) -> None:
    log_probs = _cat_vs_kat()
    decoder = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=alpha, beta=beta, score_eos=eos)
    for h in decoder.search(log_probs):
        words = h.text.split()
        expected = alpha * math.log(10) * cat_lm.sentence_logprob(words, eos=eos) + beta * len(words)
        assert h.lm_score == pytest.approx(expected, abs=1e-9), h.text
        assert h.score == pytest.approx(h.acoustic_score + h.lm_score)


def test_oov_penalty_prefers_known_words_and_is_counted_per_unknown_word(cat_lm) -> None:
    # acoustics prefer the unknown spelling "kat" clearly; the LM alone is not enough at alpha 0.2 ...
    spec = _spell("the ") + [{"k": 0.85, "c": 0.12}, {"_": 0.95}] + _spell("at sat")
    log_probs = _frames(spec)
    plain = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=0.2, beta=0.0)
    assert plain(log_probs)[0] == "the kat sat"
    # ... but a penalty for out-of-vocabulary words is
    penalised = PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=0.2, beta=0.0, oov_penalty=-5.0)
    hyps = penalised.search(log_probs)
    assert hyps[0].text == "the cat sat"
    for h in hyps:
        words = h.text.split()
        unknown = sum(w not in cat_lm for w in words)
        expected = 0.2 * math.log(10) * cat_lm.sentence_logprob(words) + -5.0 * unknown
        assert h.lm_score == pytest.approx(expected, abs=1e-9), h.text
    with pytest.raises(ValueError, match="oov_penalty must be"):
        PrefixBeamSearchDecoder(SYMBOLS, lm=cat_lm, oov_penalty=1.0)
    with pytest.raises(ValueError, match="oov_penalty needs an lm"):
        PrefixBeamSearchDecoder(SYMBOLS, oov_penalty=-1.0)


def test_partial_word_penalty_drops_misspellings_early(cat_lm) -> None:
    # "kx..." starts no vocabulary word: with the provisional penalty it leaves a beam of 2 at once
    log_probs = _frames([{"k": 0.5, "c": 0.45}, {"_": 0.95}] + _spell("at"))
    narrow = PrefixBeamSearchDecoder(SYMBOLS, beam_size=2, lm=cat_lm, oov_penalty=-10.0, beta=0.0)
    assert narrow.search(log_probs)[0].text == "cat"
    from asrlab.decoding import WordBoundaryScorer

    scorer = WordBoundaryScorer(cat_lm, oov_penalty=-10.0)
    assert scorer.partial("ca") == 0.0 and scorer.partial("kx") == -10.0 and scorer.partial("") == 0.0


def test_beam_threshold_shrinks_the_beam_without_changing_clear_results() -> None:
    rng = np.random.default_rng(6)
    log_probs = _log_softmax(rng.normal(size=(40, 29)) + 8.0 * np.eye(29)[rng.integers(0, 29, 40)])
    wide = PrefixBeamSearchDecoder(SYMBOLS, beam_size=16, beta=0.0)
    pruned = PrefixBeamSearchDecoder(SYMBOLS, beam_size=16, beta=0.0, beam_threshold=3.0)
    full, kept = wide.search(log_probs), pruned.search(log_probs)
    assert kept[0].tokens == full[0].tokens
    assert len(kept) < len(full)
    assert all(h.score >= kept[0].score - 3.0 for h in kept)
    with pytest.raises(ValueError, match="beam_threshold"):
        PrefixBeamSearchDecoder(SYMBOLS, beam_threshold=0.0)


@pytest.mark.skipif(not kenlm_available(), reason="kenlm not installed")
def test_kenlm_backend_gives_the_same_search(tmp_path, cat_lm) -> None:
    path = write_arpa(cat_lm, tmp_path / "cat.arpa")
    log_probs = _cat_vs_kat()
    settings = dict(beam_size=8, alpha=0.5, beta=1.0, oov_penalty=-5.0)
    ours = PrefixBeamSearchDecoder(SYMBOLS, lm=cat_lm, **settings).search(log_probs)
    theirs = PrefixBeamSearchDecoder(SYMBOLS, lm=KenLM(path), **settings).search(log_probs)
    assert [h.text for h in theirs] == [h.text for h in ours]
    assert [h.score for h in theirs] == pytest.approx([h.score for h in ours], abs=1e-3)


def test_word_bonus_trades_off_insertions(cat_lm) -> None:
    # a weak space in the middle: a big bonus makes two words, a penalty keeps one (LM weight 0)
    log_probs = _frames(_spell("ab") + [{" ": 0.3, "_": 0.65}] + _spell("cd"))
    assert PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=0.0, beta=3.0)(log_probs)[0] == "ab cd"
    assert PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, lm=cat_lm, alpha=0.0, beta=-3.0)(log_probs)[0] == "abcd"
    # without an LM the bonus is not used: plain CTC prefix probabilities decide
    assert PrefixBeamSearchDecoder(SYMBOLS, beam_size=8, beta=3.0)(log_probs)[0] == "abcd"


@pytest.mark.parametrize(
    "transform, message",
    [
        (np.exp, "look like probabilities"),
        (lambda x: x + 3.0, "not log-probabilities"),
        (lambda x: x - 1.0, "not normalised"),
    ],
)
def test_beam_rejects_non_log_probabilities(transform, message: str) -> None:
    log_probs = _frames(_spell("hi"))
    with pytest.raises(DecodingInputError, match=message):
        PrefixBeamSearchDecoder(SYMBOLS).decode(transform(log_probs)[None])


def test_beam_argument_errors(cat_lm) -> None:
    with pytest.raises(ValueError, match="beam_size must be a positive int"):
        PrefixBeamSearchDecoder(SYMBOLS, beam_size=0)
    with pytest.raises(ValueError, match="nbest must be"):
        PrefixBeamSearchDecoder(SYMBOLS, nbest=0)
    with pytest.raises(ValueError, match="prune_threshold is a probability"):
        PrefixBeamSearchDecoder(SYMBOLS, prune_threshold=2.0)
    with pytest.raises(DecodingInputError, match="pass space="):
        PrefixBeamSearchDecoder(["a", "b", "_"], lm=cat_lm)
    with pytest.raises(TypeError, match="lm must offer"):
        PrefixBeamSearchDecoder(SYMBOLS, lm="lm.arpa")
    with pytest.raises(ValueError, match="alpha"):
        PrefixBeamSearchDecoder(SYMBOLS, alpha=-1.0)
    with pytest.raises(DecodingInputError, match=r"search\(\) takes one utterance"):
        PrefixBeamSearchDecoder(SYMBOLS).search(np.zeros((1, 3, 29)))
    with pytest.raises(DecodingInputError, match="symbol table has 29"):
        PrefixBeamSearchDecoder(SYMBOLS).decode(np.zeros((1, 3, 5)))


def test_empty_utterance_gives_empty_text(cat_lm) -> None:
    decoder = PrefixBeamSearchDecoder(SYMBOLS, lm=cat_lm)
    hyps = decoder.decode_nbest(np.zeros((1, 4, 29)) - math.log(29), [0])[0]
    assert hyps[0].text == "" and hyps[0].acoustic_score == 0.0
