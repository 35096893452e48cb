"""Hidden grading tasks of the ``rnnt`` assignment (instructor side; never released).

One task per graded test cell of ``solutions/rnnt/rnnt.ipynb``:

* ``test_rnnt_forward`` / ``test_rnnt_backward`` -- ``(alpha, cost)`` / ``(beta, cost)`` compared with
  :mod:`asrlab.rnnt.reference` on the three published cases and on random lattices drawn from the run's
  secret seed: square and very unequal ``T`` / ``U``, no labels, one frame, a negative blank index, the
  blank first or last, repeated labels, and peaky logits on which probabilities underflow.
* ``test_encoder`` / ``test_predictor`` / ``test_joiner`` -- the student's classes are built in the sandbox by
  public adapters: output shapes and lengths of the encoder (and, without subsampling, outputs that do not
  depend on the batch's padding), the predictor's ``forward`` against its own
  ``step`` (start symbol, shift by one, batch-first state), and joiner logits compared with
  :class:`asrlab.models.Joiner` holding the same weights (lattice broadcasting and paired rows).
* ``test_greedy`` -- compared exactly with :func:`asrlab.decoding.rnnt_greedy_search` on seeded
  :class:`asrlab.models.RNNTModel` instances that the adapter builds in the sandbox exactly as the trusted
  reference does (no weights travel), with a blank bias that mixes blanks, several symbols per frame and
  frames that hit the ``max_symbols`` cap.
* ``test_trained_cer`` / ``test_trained_wer`` -- the submitted checkpoint ``rnnt_model.pt`` rebuilt as
  ``Transducer(**config)`` and decoded greedily on the hidden synthetic test split
  (:func:`asrlab_grade.hidden.librispeech_test`), CER <= 15 % and WER <= 30 % for full points.

Plausible wrong answers these cases catch (checked by ``autograder/tests/test_rnnt_assignment.py``): an
off-by-one frame or state in either recursion, blank and label moves swapped, a missing terminal blank,
probabilities instead of log-probabilities (float32 or float64), an encoder whose LSTM runs over the
padding, a predictor without the start symbol or fed the wrong tokens,
a joiner that broadcasts frames against the wrong axis, a greedy decoder that emits at most one symbol per
frame, ignores the cap, never feeds its output to the predictor or starts from the wrong symbol.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List

import numpy as np

from asrlab.text import CharTokenizer
from asrlab_grade.compare import (PROBABILITIES_HINT, ArrayClose, Exact, Verdict, log_zero_as_inf,
                                   looks_like_probabilities)
from asrlab_grade.jitcache import LIBROSA_PRELOAD
from asrlab_grade.recipes import rnnt as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Band, Case, FunctionTask, Limits, TrainingTask, asrlab_metric

TOKENIZER = CharTokenizer()              # the course vocabulary: ' (0), space (1), a..z (2..27), blank (28)
BLANK = TOKENIZER.blank
VOCAB = len(TOKENIZER)
COST_ATOL = 1e-6


# ----------------------------------------------------------------------------- lattice tasks
LATTICE_ADAPTER = source(recipes.lattice_adapter)


class LatticeClose:
    """``{"matrix": (T, U+1) log-domain array, "cost": float}`` against the reference, with messages."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.matrix = ArrayClose(rtol=1e-6, atol=1e-6, dtype="kind")

    def __call__(self, got: Any, expected: Dict[str, Any]) -> Verdict:
        if type(got) is not dict or set(got) != {"matrix", "cost"}:
            return Verdict(False, f"expected a tuple ({self.name}, cost)")
        arr = log_zero_as_inf(got["matrix"])
        verdict = self.matrix(arr, expected["matrix"])
        if not verdict.ok:
            hint = f"; {PROBABILITIES_HINT}" if looks_like_probabilities(arr, expected["matrix"]) else ""
            return Verdict(False, f"{self.name}: {verdict.message}{hint}")
        cost = got["cost"]
        if type(cost) not in (float, int) or not np.isfinite(cost):
            return Verdict(False, f"cost: expected a finite float, got {cost!r}")
        if abs(cost - expected["cost"]) > COST_ATOL + 1e-9 * abs(expected["cost"]):
            return Verdict(False, f"cost: expected {expected['cost']!r}, got {cost!r} (-log P(labels | x), "
                                  "terminal blank included)")
        return Verdict(True, "")


def lattice_log_probs(rng: np.random.Generator, frames: int, labels: int, vocab: int, scale: float) -> np.ndarray:
    logits = rng.normal(scale=scale, size=(frames, labels + 1, vocab))
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


def lattice_cases(rng: np.random.Generator) -> List[Case]:
    """The published cases (public), then random lattices (hidden)."""
    from asrlab.rnnt.cases import REFERENCE_CASES

    cases = []
    for case in REFERENCE_CASES:
        logits = case.logits_array().astype(np.float64)
        log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
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


def forward_reference(log_probs, labels, blank):
    from asrlab.rnnt import reference
    alpha = reference.forward(log_probs, labels, blank)
    return {"matrix": alpha, "cost": reference.loss(log_probs, labels, blank)}


def backward_reference(log_probs, labels, blank):
    from asrlab.rnnt import reference
    beta = reference.backward(log_probs, labels, blank)
    return {"matrix": beta, "cost": float(-beta[0, 0])}


LATTICE_FORBIDDEN = (
    "asrlab.rnnt.reference.forward", "asrlab.rnnt.reference.backward", "asrlab.rnnt.reference.loss",
    "asrlab.rnnt.reference.brute_force_loss", "asrlab.rnnt.lattice.forward_backward",
    "asrlab.rnnt.lattice.forward_variables",
)


# ----------------------------------------------------------------------------- modules
ENCODER_ADAPTER = source(recipes.encoder_adapter)


def encoder_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for batch, frames, sub, dim, hidden, layers in [(2, 57, 4, 24, 16, 1), (3, 40, 4, 40, 8, 2),
                                                    (1, 13, 2, 12, 8, 1), (4, 31, 4, 16, 8, 1)]:
        feats = rng.normal(size=(batch, frames, 20)).astype(np.float32)
        lengths = np.sort(rng.integers(5, frames + 1, size=batch))[::-1].copy()
        lengths[0] = frames
        for b, n in enumerate(lengths):
            feats[b, n:] = 0.0  # padding as a collate function writes it
        cases.append(Case((20, hidden, layers, dim, sub, feats, lengths.astype(np.int64))))
    return cases


def encoder_reference(input_dim, hidden_dim, num_layers, output_dim, subsampling, feats, lengths):
    import torch
    from asrlab.models import ConvSubsampling

    out_lengths = ConvSubsampling(input_dim, subsampling).output_lengths(torch.as_tensor(lengths))
    return {"batch": int(feats.shape[0]), "dim": int(output_dim), "lengths": [int(n) for n in out_lengths.tolist()],
            "covers_lengths": True, "ignores_padding": True}


PREDICTOR_ADAPTER = source(recipes.predictor_adapter)


class PredictorClose:
    """``forward`` equals its own ``step`` over the start symbol and the tokens, and has the right shape."""

    def __call__(self, got: Any, expected: Dict[str, Any]) -> Verdict:
        if type(got) is not dict or set(got) != {"forward", "step", "row_state"}:
            return Verdict(False, "the predictor could not be run")
        shape = expected["shape"]
        if got["forward"].shape != shape:
            return Verdict(False, f"forward(tokens (B, U)) returned shape {list(got['forward'].shape)}, expected "
                                  f"(B, U+1, D) = {list(shape)}: prepend the start symbol")
        if got["step"].shape != shape:
            return Verdict(False, f"step outputs stacked over the start symbol and U tokens have shape "
                                  f"{list(got['step'].shape)}, expected {list(shape)}: step returns (N, D)")
        diff = np.abs(got["forward"] - got["step"])
        if not np.all(diff <= 1e-4):
            u = int(np.argwhere(diff > 1e-4)[0][1])
            return Verdict(False, f"forward(tokens)[:, {u}] differs from the output of step after the start symbol "
                                  f"and {u} token(s) (max difference {float(diff.max()):.3g}): output u must have seen "
                                  "exactly the start symbol and tokens[:, :u]")
        if not got["row_state"] <= 1e-4:
            return Verdict(False, "one row of the state continues differently alone than in its batch: keep the "
                                  "state batch first, (N, layers, H)")
        return Verdict(True, "")


def predictor_cases(rng: np.random.Generator) -> List[Case]:
    cases = []
    for batch, length, hidden, dim, layers in [(2, 5, 16, 12, 1), (3, 8, 8, 20, 2), (2, 1, 8, 8, 1), (4, 12, 12, 6, 1)]:
        tokens = rng.integers(0, BLANK, size=(batch, length)).astype(np.int64)
        cases.append(Case((VOCAB, hidden, dim, BLANK, layers, tokens)))
    return cases


def predictor_reference(vocab_size, hidden_dim, output_dim, start, num_layers, tokens):
    return {"shape": (tokens.shape[0], tokens.shape[1] + 1, output_dim)}


JOINER_ADAPTER = source(recipes.joiner_adapter)


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


def joiner_reference(weight, bias, enc, pred):
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
# Public source, run both in the sandbox (adapter) and here (reference): the same model either side.

GREEDY_ADAPTER = source(recipes.greedy_adapter, recipes.seeded_model)


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


def greedy_reference(seed, joint_dim, blank_bias, encoder_out, max_symbols):
    import torch
    from asrlab.decoding import rnnt_greedy_search

    model = recipes.seeded_model(seed, joint_dim, blank_bias)
    ids = rnnt_greedy_search(torch.as_tensor(encoder_out)[None], None, model.predictor, model.joiner,
                             blank=model.blank, max_symbols_per_frame=max_symbols)
    return [int(i) for i in ids[0]]


GREEDY_FORBIDDEN = ("asrlab.decoding.rnnt_greedy.rnnt_greedy_search", "asrlab.decoding.rnnt_beam.rnnt_beam_search")


# ----------------------------------------------------------------------------- the trained model
# Public recipe, run in the sandbox on the hidden waveforms: the training features, then greedy search.
EVALUATE = source(recipes.evaluate, recipes.library_greedy_search, name="evaluate")


def hidden_test_split():
    from asrlab_grade.hidden import librispeech_test
    return librispeech_test("test-clean")


# One trained transducer, two figures: CER and WER of the same transcripts.
TRAINED_CER = TrainingTask(grade_id="test_trained_cer", checkpoint="rnnt_model.pt", model_class="Transducer",
                           evaluate_source=EVALUATE, test_split=hidden_test_split, metric=asrlab_metric("cer"),
                           metric_name="CER %", bands=(Band(15.0, 1.0), Band(20.0, 0.5), Band(30.0, 0.25)),
                           skip_cells=("setup_install", "data", "train", "train_report", "evaluate",
                                       "alignment_figure"), timeout_s=240.0)
TRAINED_WER = replace(TRAINED_CER, grade_id="test_trained_wer", metric=asrlab_metric("wer"), metric_name="WER %",
                      bands=(Band(30.0, 1.0), Band(40.0, 0.5), Band(60.0, 0.25)))

ASSIGNMENT = Assignment(
    name="rnnt",
    tasks=(
        FunctionTask(grade_id="test_rnnt_forward", call="rnnt_forward", cases=lattice_cases,
                     reference=forward_reference, compare=LatticeClose("alpha"), adapter=LATTICE_ADAPTER,
                     forbidden=LATTICE_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="alpha[0, 0] = 0; alpha[t, u] = logaddexp(alpha[t-1, u] + log P(blank | t-1, u), "
                          "alpha[t, u-1] + log P(labels[u-1] | t, u-1)); cost = -(alpha[T-1, U] + "
                          "log P(blank | T-1, U))"),
        FunctionTask(grade_id="test_rnnt_backward", call="rnnt_backward", cases=lattice_cases,
                     reference=backward_reference, compare=LatticeClose("beta"), adapter=LATTICE_ADAPTER,
                     forbidden=LATTICE_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="beta[T-1, U] = log P(blank | T-1, U); beta[t, u] = logaddexp(beta[t+1, u] + "
                          "log P(blank | t, u), beta[t, u+1] + log P(labels[u] | t, u)); cost = -beta[0, 0]"),
        FunctionTask(grade_id="test_encoder", call="Encoder", cases=encoder_cases, reference=encoder_reference,
                     compare=Exact(), adapter=ENCODER_ADAPTER, timeout_s=20.0, cpu_s=10.0,
                     hint="subsample, run self.lstm with the subsampled lengths, project with self.proj; "
                          "return (outputs (B, T', D), lengths after subsampling)"),
        FunctionTask(grade_id="test_predictor", call="Predictor", cases=predictor_cases,
                     reference=predictor_reference, compare=PredictorClose(), adapter=PREDICTOR_ADAPTER,
                     timeout_s=20.0, cpu_s=10.0,
                     hint="forward prepends self.start to every row; step embeds (N,) tokens, transposes the "
                          "batch-first state for nn.LSTM and back"),
        FunctionTask(grade_id="test_joiner", call="Joiner", cases=joiner_cases, reference=joiner_reference,
                     compare=ArrayClose(rtol=1e-5, atol=1e-5, dtype="kind"), adapter=JOINER_ADAPTER,
                     timeout_s=20.0, cpu_s=10.0,
                     hint="3-D enc (B, T', D) and pred (B, U+1, D) become (B, T', 1, D) and (B, 1, U+1, D); "
                          "logits = linear(tanh(enc + pred))"),
        FunctionTask(grade_id="test_greedy", call="greedy_decode", cases=greedy_cases, reference=greedy_reference,
                     compare=Exact(), adapter=GREEDY_ADAPTER, forbidden=GREEDY_FORBIDDEN, timeout_s=20.0,
                     cpu_s=10.0,
                     hint="stay on frame t after a character (feed it to model.predictor.step), move on after a "
                          "blank or after max_symbols characters; start from the predictor output of model.blank"),
        TRAINED_CER,
        TRAINED_WER,
    ),
    ci_minutes=4.0,
    limits=Limits(notebook_wall_s=600.0, notebook_cpu_s=600, cell_timeout_s=120.0, memory_mb=4096,
                  disk_mb=256, max_restarts=6),
    preload=LIBROSA_PRELOAD,
)
