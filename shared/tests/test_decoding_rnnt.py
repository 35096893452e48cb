"""RNN-T decoders on a tiny reference model: greedy vs. a step-by-step oracle, beam vs. exact enumeration."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from asrlab.decoding import DecodingInputError, Joiner, Predictor, rnnt_beam_search, rnnt_greedy_search

VOCAB, BLANK, HIDDEN, ENC_DIM = 5, 0, 8, 6
# Relative tolerance of float32 beam scores (epsilon 1.2e-7 per operation, summed over the frames).
FLOAT32_SCORE_TOLERANCE = 1e-5


class TinyPredictor(nn.Module):
    """Embedding + GRU cell; the state is the (N, H) hidden vector (batch first, as the protocol requires)."""

    def __init__(self, vocab: int = VOCAB, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.cell = nn.GRUCell(hidden, hidden)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(batch_size, self.cell.hidden_size)

    def step(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(self.embed(tokens), state)  # (N, H)
        return h, h


class TinyJoiner(nn.Module):
    """logits = W tanh(U enc + pred)."""

    def __init__(self, enc_dim: int = ENC_DIM, hidden: int = HIDDEN, vocab: int = VOCAB, blank_bias: float = 0.0):
        super().__init__()
        self.enc_proj = nn.Linear(enc_dim, hidden)
        self.out = nn.Linear(hidden, vocab)
        with torch.no_grad():
            self.out.bias[BLANK] += blank_bias

    def forward(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.enc_proj(enc) + pred))  # (N, V)


def _model(seed: int, blank_bias: float = 0.0, vocab: int = VOCAB) -> tuple[TinyPredictor, TinyJoiner]:
    torch.manual_seed(seed)
    predictor, joiner = TinyPredictor(vocab), TinyJoiner(vocab=vocab, blank_bias=blank_bias)
    with torch.no_grad():  # sharpen the distributions so that greedy paths are long and varied
        joiner.out.weight.mul_(3.0)
    return predictor, joiner


@torch.no_grad()
def _oracle_greedy(enc: torch.Tensor, predictor, joiner, max_symbols: int) -> list[int]:
    """One utterance, the textbook loop: emit while argmax is a label (at most max_symbols), else next frame."""
    state = predictor.initial_state(1)
    pred, state = predictor.step(torch.tensor([BLANK]), state)
    out: list[int] = []
    for t in range(enc.shape[0]):
        emitted = 0
        while emitted < max_symbols:
            k = int(joiner(enc[t : t + 1], pred).argmax(-1))
            if k == BLANK:
                break
            out.append(k)
            emitted += 1
            pred, state = predictor.step(torch.tensor([k]), state)
    return out


def test_tiny_model_satisfies_the_protocol() -> None:
    predictor, joiner = _model(0)
    assert isinstance(predictor, Predictor) and isinstance(joiner, Joiner)


@pytest.mark.parametrize("max_symbols", [1, 3])
def test_greedy_batch_matches_the_single_utterance_oracle(max_symbols: int) -> None:
    predictor, joiner = _model(1)
    torch.manual_seed(2)
    enc = torch.randn(4, 12, ENC_DIM)  # (B, T, D)
    lengths = torch.tensor([12, 7, 1, 0])
    hyps = rnnt_greedy_search(enc, lengths, predictor, joiner, blank=BLANK, max_symbols_per_frame=max_symbols)
    expected = [_oracle_greedy(enc[b, : int(lengths[b])], predictor, joiner, max_symbols) for b in range(4)]
    assert hyps == expected
    assert sum(map(len, hyps)) > 5  # the test model really emits symbols
    assert hyps[3] == []


def test_greedy_caps_symbols_per_frame() -> None:
    predictor, joiner = _model(3, blank_bias=-100.0)  # blank never wins: every frame emits the cap
    enc = torch.randn(2, 5, ENC_DIM)
    hyps = rnnt_greedy_search(enc, [5, 2], predictor, joiner, blank=BLANK, max_symbols_per_frame=3)
    assert [len(h) for h in hyps] == [15, 6]
    assert all(BLANK not in h for h in hyps)


def test_beam_size_one_equals_greedy_with_one_symbol_per_frame() -> None:
    predictor, joiner = _model(4)
    torch.manual_seed(5)
    enc = torch.randn(3, 15, ENC_DIM)
    lengths = torch.tensor([15, 9, 4])
    greedy = rnnt_greedy_search(enc, lengths, predictor, joiner, blank=BLANK, max_symbols_per_frame=1)
    beam = rnnt_beam_search(enc, lengths, predictor, joiner, blank=BLANK, beam_size=1)
    assert [list(nbest[0].tokens) for nbest in beam] == greedy


@torch.no_grad()
def _exact_one_symbol_per_frame(enc: torch.Tensor, predictor, joiner, vocab: int) -> dict[tuple[int, ...], float]:
    """Enumerate every choice sequence in V^T (one symbol or blank per frame), sum per label sequence."""
    totals: dict[tuple[int, ...], float] = {}
    for choices in itertools.product(range(vocab), repeat=enc.shape[0]):
        state = predictor.initial_state(1)
        pred, state = predictor.step(torch.tensor([BLANK]), state)
        logp, labels = 0.0, []
        for t, c in enumerate(choices):
            logp += float(torch.log_softmax(joiner(enc[t : t + 1], pred).double(), -1)[0, c])
            if c != BLANK:
                labels.append(c)
                pred, state = predictor.step(torch.tensor([c]), state)
        key = tuple(labels)
        prev = totals.get(key, -math.inf)
        top = max(prev, logp)
        totals[key] = top + math.log(math.exp(prev - top) + math.exp(logp - top))
    return totals


def test_wide_beam_gives_exact_sequence_probabilities() -> None:
    vocab = 3
    predictor, joiner = _model(6, vocab=vocab)
    torch.manual_seed(7)
    enc = torch.randn(1, 4, ENC_DIM)
    exact = _exact_one_symbol_per_frame(enc[0], predictor, joiner, vocab)
    nbest = rnnt_beam_search(enc, None, predictor, joiner, blank=BLANK, beam_size=vocab ** 4)[0]
    assert {h.tokens for h in nbest} == set(exact)
    for h in nbest:
        assert h.score == pytest.approx(exact[h.tokens], abs=1e-6)  # float32 model, batched vs. one row
    assert math.fsum(math.exp(h.score) for h in nbest) == pytest.approx(1.0)
    assert [h.score for h in nbest] == sorted((h.score for h in nbest), reverse=True)


def test_small_beam_is_at_least_as_good_as_greedy() -> None:
    predictor, joiner = _model(8)
    torch.manual_seed(9)
    enc = torch.randn(2, 10, ENC_DIM)
    beam = rnnt_beam_search(enc, None, predictor, joiner, blank=BLANK, beam_size=4)
    greedy = rnnt_beam_search(enc, None, predictor, joiner, blank=BLANK, beam_size=1)
    for wide, narrow in zip(beam, greedy):
        assert 1 <= len(wide) <= 4
        # Beam scores are float32 sums: the same path may differ in its last bits between the two calls
        # (batched rows, thread count, BLAS build), so "at least as good" holds up to float32 rounding.
        assert wide[0].score >= narrow[0].score - FLOAT32_SCORE_TOLERANCE * max(1.0, abs(narrow[0].score))


class LayersFirstPredictor(TinyPredictor):
    """Breaks the protocol: keeps the state as (layers, N, H) like nn.LSTM does."""

    def initial_state(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(1, batch_size, HIDDEN)

    def step(self, tokens, state):
        h = self.cell(self.embed(tokens), state[0])
        return h, h[None]


def test_protocol_and_input_errors() -> None:
    predictor, joiner = _model(0)
    enc = torch.randn(2, 4, ENC_DIM)
    with pytest.raises(DecodingInputError, match=r"\(B, T, D\)"):
        rnnt_greedy_search(enc[0], None, predictor, joiner, blank=BLANK)
    with pytest.raises(DecodingInputError, match=r"lengths must lie in \[0, T=4\]"):
        rnnt_greedy_search(enc, [4, 5], predictor, joiner, blank=BLANK)
    with pytest.raises(DecodingInputError, match=r"shape \(B,\) = \(2,\)"):
        rnnt_beam_search(enc, [4], predictor, joiner, blank=BLANK)
    with pytest.raises(ValueError, match="max_symbols_per_frame"):
        rnnt_greedy_search(enc, None, predictor, joiner, blank=BLANK, max_symbols_per_frame=0)
    with pytest.raises(ValueError, match="beam_size"):
        rnnt_beam_search(enc, None, predictor, joiner, blank=BLANK, beam_size=0)
    with pytest.raises(DecodingInputError, match="batch .* in dimension 0"):
        rnnt_greedy_search(enc, None, LayersFirstPredictor(), joiner, blank=BLANK)
