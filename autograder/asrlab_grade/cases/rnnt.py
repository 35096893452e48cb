"""Hidden inputs and references of the ``rnnt`` assignment's tasks (see ``tasks/rnnt.py``).

Random lattices (square and very unequal ``T`` / ``U``, no labels, one frame, a negative blank, peaky
logits) after the published cases, padded feature batches for the encoder, token batches for the
predictor, joiner weights, and seeded models for greedy decoding.
"""
from __future__ import annotations

from typing import List

import numpy as np

from asrlab.text import CharTokenizer
from asrlab_grade.cases.common import log_softmax, pad_after
from asrlab_grade.recipes import rnnt as recipes
from asrlab_grade.task import Case

TOKENIZER = CharTokenizer()              # the course vocabulary: ' (0), space (1), a..z (2..27), blank (28)
BLANK = TOKENIZER.blank
VOCAB = len(TOKENIZER)


# ----------------------------------------------------------------------------- lattices
def lattice_log_probs(rng: np.random.Generator, frames: int, labels: int, vocab: int, scale: float) -> np.ndarray:
    return log_softmax(rng.normal(scale=scale, size=(frames, labels + 1, vocab)))


def lattice_cases(rng: np.random.Generator) -> List[Case]:
    """The published cases (public), then random lattices (hidden)."""
    from asrlab.rnnt.cases import REFERENCE_CASES

    cases = []
    for case in REFERENCE_CASES:
        logits = case.logits_array().astype(np.float64)
        log_probs = log_softmax(logits)
        for b, labels in enumerate(case.labels):
            cases.append(Case((log_probs[b], np.array(labels, dtype=np.int64), case.blank),
                              name=f"{case.name}[{b}]", hidden=False))
    # (T, U, V, blank, logit scale)
    specs = [(6, 4, VOCAB, BLANK, 1.0), (12, 5, VOCAB, BLANK, 2.0), (3, 9, VOCAB, BLANK, 1.5),
             (25, 2, 7, 0, 1.0), (1, 3, 5, 4, 1.0), (7, 0, 6, 2, 1.0), (9, 6, 8, -1, 1.0),
             (40, 20, VOCAB, BLANK, 12.0), (30, 8, VOCAB, BLANK, 16.0),  # peaky: probabilities underflow
             (15, 12, 10, 0, 40.0)]                                       # ... even in float64
    for frames, num_labels, vocab, blank, scale in specs:
        lp = lattice_log_probs(rng, frames, num_labels, vocab, scale)
        real_blank = blank % vocab
        choices = np.array([k for k in range(vocab) if k != real_blank])
        labels = rng.choice(choices, size=num_labels).astype(np.int64)
        if num_labels >= 3:
            labels[2] = labels[1]  # a repeated label (RNN-T needs no special rule for it)
        cases.append(Case((lp, labels, blank)))
    return cases


def forward_reference(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> dict:
    from asrlab.rnnt import reference
    alpha = reference.forward(log_probs, labels, blank)
    return {"matrix": alpha, "cost": reference.loss(log_probs, labels, blank)}


def backward_reference(log_probs: np.ndarray, labels: np.ndarray, blank: int) -> dict:
    from asrlab.rnnt import reference
    beta = reference.backward(log_probs, labels, blank)
    return {"matrix": beta, "cost": float(-beta[0, 0])}


# ----------------------------------------------------------------------------- modules
def encoder_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for batch, frames, sub, dim, hidden, layers in [(2, 57, 4, 24, 16, 1), (3, 40, 4, 40, 8, 2),
                                                    (1, 13, 2, 12, 8, 1), (4, 31, 4, 16, 8, 1)]:
        feats = rng.normal(size=(batch, frames, 20)).astype(np.float32)
        lengths = np.sort(rng.integers(5, frames + 1, size=batch))[::-1].copy()
        lengths[0] = frames
        pad_after(feats, lengths)  # padding as a collate function writes it
        cases.append(Case((20, hidden, layers, dim, sub, feats, lengths.astype(np.int64))))
    return cases


def encoder_reference(input_dim: int, hidden_dim: int, num_layers: int, output_dim: int, subsampling: int,
                      feats: np.ndarray, lengths: np.ndarray) -> dict:
    import torch
    from asrlab.models import ConvSubsampling

    out_lengths = ConvSubsampling(input_dim, subsampling).output_lengths(torch.as_tensor(lengths))
    return {"batch": int(feats.shape[0]), "dim": int(output_dim), "lengths": [int(n) for n in out_lengths.tolist()],
            "covers_lengths": True, "ignores_padding": True}


def predictor_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for batch, length, hidden, dim, layers in [(2, 5, 16, 12, 1), (3, 8, 8, 20, 2), (2, 1, 8, 8, 1), (4, 12, 12, 6, 1)]:
        tokens = rng.integers(0, BLANK, size=(batch, length)).astype(np.int64)
        cases.append(Case((VOCAB, hidden, dim, BLANK, layers, tokens)))
    return cases


def predictor_reference(vocab_size: int, hidden_dim: int, output_dim: int, start: int, num_layers: int,
                        tokens: np.ndarray) -> dict:
    return {"shape": (tokens.shape[0], tokens.shape[1] + 1, output_dim)}


def joiner_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    # (B, T, U+1, D, V): T != U+1 so that swapped axes change the shape; one case with T == U+1
    for batch, frames, states, dim, vocab in [(2, 5, 3, 8, VOCAB), (1, 7, 4, 16, VOCAB), (3, 4, 4, 6, 11),
                                               (2, 2, 6, 8, VOCAB)]:
        weight = rng.normal(scale=0.5, size=(vocab, dim)).astype(np.float32)
        bias = rng.normal(size=vocab).astype(np.float32)
        enc = rng.normal(size=(batch, frames, dim)).astype(np.float32)
        pred = rng.normal(size=(batch, states, dim)).astype(np.float32)
        cases.append(Case((weight, bias, enc, pred)))
        cases.append(Case((weight, bias, enc[:, 0], pred[:, 0])))      # decoding: one cell per row
    return cases


def joiner_reference(weight: np.ndarray, bias: np.ndarray, enc: np.ndarray, pred: np.ndarray) -> np.ndarray:
    import torch
    from asrlab.models import Joiner

    joiner = Joiner(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        joiner.linear.weight.copy_(torch.as_tensor(weight))
        joiner.linear.bias.copy_(torch.as_tensor(bias))
        enc, pred = torch.as_tensor(enc), torch.as_tensor(pred)
        if enc.dim() == 3:
            enc, pred = enc[:, :, None], pred[:, None]
        return joiner(enc, pred).numpy()


# ----------------------------------------------------------------------------- greedy decoding
# The model is public source (recipes.seeded_model), built alike in the sandbox and here.
def greedy_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    # (frames, joint dim, blank bias, max_symbols, encoder scale): biases mix blanks and characters;
    # a low bias makes frames hit the cap
    for frames, dim, bias, cap, scale in [(30, 16, 1.0, 5, 0.7), (40, 24, 0.5, 5, 1.0), (25, 16, 0.8, 3, 0.7),
                                          (20, 12, 0.0, 2, 0.7), (15, 16, -1.0, 4, 0.7), (50, 32, 1.2, 5, 1.0)]:
        seed = int(rng.integers(1, 2**31 - 1))
        enc = rng.normal(scale=scale, size=(frames, dim)).astype(np.float32)
        cases.append(Case((seed, dim, bias, enc, cap)))
    return cases


def greedy_reference(seed: int, joint_dim: int, blank_bias: float, encoder_out: np.ndarray,
                     max_symbols: int) -> List[int]:
    import torch
    from asrlab.decoding import rnnt_greedy_search

    model = recipes.seeded_model(seed, joint_dim, blank_bias)
    ids = rnnt_greedy_search(torch.as_tensor(encoder_out)[None], None, model.predictor, model.joiner,
                             blank=model.blank, max_symbols_per_frame=max_symbols)
    return [int(i) for i in ids[0]]
