"""The hidden tasks of the ``ctc_training`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox, no training): the solution notebook's answer cells are executed, then mutated one
idea at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. ``ASRLAB_BUDGET=ci asrlab-grade
validate ctc_training`` covers the sandboxed path with a really trained model (solution full marks, blank release 0).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from asrlab_grade.course_folder import Course
from asrlab_grade.task import band_fraction
from harness import ROOT, answer_sources, nbgrader_round_trip, score_cases, solution_notebook
from harness import namespace as run_cells

SOLUTION = solution_notebook("ctc_training")
RELEASE = ROOT / "assignments" / "ctc_training" / "ctc_training.ipynb"

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no ctc_training solution notebook")

# Cells that define the helpers and answers (no corpus, no training).
CELLS = ("setup", "normalize_answer", "spec_augment_answer", "front_end", "encoder_answer", "model_answer")


def cell_sources(path: Path, code_only: bool = False) -> Dict[str, str]:
    nb = json.loads(path.read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if not code_only or c["cell_type"] == "code"}


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("ctc_training")


@pytest.fixture(scope="module")
def sources() -> Dict[str, str]:
    return answer_sources("ctc_training", CELLS)


def namespace(sources: Dict[str, str], **replace: tuple) -> Dict[str, Any]:
    return run_cells(sources, CELLS, **replace)


def score(assignment, grade_id: str, ns: Dict[str, Any], seed: int = 11) -> tuple:
    return score_cases(assignment, grade_id, ns, seed)


GRADE_IDS = ["test_normalize", "test_spec_augment", "test_encoder", "test_model"]


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_solution_passes_every_case(assignment, sources, grade_id):
    passed, total, message = score(assignment, grade_id, namespace(sources))
    assert passed == total, message


WRONG = {
    "normalize: padding enters the statistics": ("test_normalize", {"normalize_answer": (
        "masked = feats.masked_fill(~valid, 0.0)", "masked = feats",
        "count = valid.sum(dim=1, keepdim=True).clamp(min=1).to(feats.dtype)",
        "count = torch.full((feats.shape[0], 1, 1), float(feats.shape[1]))")}),
    "normalize: unbiased variance": ("test_normalize", {"normalize_answer": (
        ".pow(2).sum(dim=1, keepdim=True) / count", ".pow(2).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)")}),
    "normalize: statistics over the bands": ("test_normalize", {"normalize_answer": (
        "mean = masked.sum(dim=1, keepdim=True) / count", "mean = masked.mean(dim=2, keepdim=True)",
        "var = (masked - mean).masked_fill(~valid, 0.0).pow(2).sum(dim=1, keepdim=True) / count",
        "var = (masked - mean).pow(2).mean(dim=2, keepdim=True)")}),
    "normalize: padding not zeroed": ("test_normalize", {"normalize_answer": (
        "return ((feats - mean) / (var.sqrt() + eps)).masked_fill(~valid, 0.0)",
        "return (feats - mean) / (var.sqrt() + eps)")}),
    "spec_augment: widths up to twice the limit": ("test_spec_augment", {"spec_augment_answer": (
        "torch.randint(0, min(max_width, size) + 1,", "torch.randint(0, 2 * max_width + 1,",
        "torch.randint(0, size - width + 1,", "torch.randint(0, max(size - width, 0) + 1,")}),
    "spec_augment: time masks drawn over the padded length": ("test_spec_augment", {"spec_augment_answer": (
        "random_span(length, time_width)", "random_span(feats.shape[1], time_width)")}),
    "spec_augment: frequency masks reach into the padding": ("test_spec_augment", {"spec_augment_answer": (
        "mask[b, :length, start:start + width] = True", "mask[b, :, start:start + width] = True")}),
    "spec_augment: the generator is ignored": ("test_spec_augment", {"spec_augment_answer": (
        ", (1,), generator=generator))", ", (1,)))")}),
    "spec_augment: nothing is masked": ("test_spec_augment", {"spec_augment_answer": (
        "return feats.masked_fill(mask.to(feats.device), mask_value)", "return feats.clone()")}),
    "spec_augment: masks the input in place": ("test_spec_augment", {"spec_augment_answer": (
        "return feats.masked_fill(", "return feats.masked_fill_(")}),
    "spec_augment: mask_value ignored": ("test_spec_augment", {"spec_augment_answer": (
        "mask.to(feats.device), mask_value)", "mask.to(feats.device), 0.0)")}),
    "encoder: backward LSTM over the reversed padded batch": ("test_encoder", {"encoder_answer": (
        "self.backward_layers[i](reverse_within_length(x, lengths))", "self.backward_layers[i](torch.flip(x, [1]))",
        "reverse_within_length(backward, lengths)", "torch.flip(backward, [1])")}),
    "encoder: backward output not reversed back": ("test_encoder", {"encoder_answer": (
        "torch.cat([out, reverse_within_length(backward, lengths)], dim=-1)", "torch.cat([out, backward], dim=-1)")}),
    "encoder: reversal ignores the lengths": ("test_encoder", {"encoder_answer": (
        "index = torch.where(steps < lengths, lengths - 1 - steps, steps)",
        "index = (x.shape[1] - 1 - steps).expand(lengths.shape[0], -1)")}),
    "encoder: backward half first": ("test_encoder", {"encoder_answer": (
        "torch.cat([out, reverse_within_length(backward, lengths)], dim=-1)",
        "torch.cat([reverse_within_length(backward, lengths), out], dim=-1)")}),
    "encoder: the forward LSTM reused backwards": ("test_encoder", {"encoder_answer": (
        "self.backward_layers[i](reverse_within_length(x, lengths))", "forward_lstm(reverse_within_length(x, lengths))")}),
    "model: lengths halved with floor": ("test_model", {"model_answer": (
        'lengths = torch.div(lengths + 2 * CONV_PADDING - CONV_KERNEL, CONV_STRIDE, rounding_mode="floor") + 1',
        "lengths = lengths // CONV_STRIDE")}),
    "model: float lengths": ("test_model", {"model_answer": (
        'lengths = torch.div(lengths + 2 * CONV_PADDING - CONV_KERNEL, CONV_STRIDE, rounding_mode="floor") + 1',
        "lengths = torch.ceil(lengths / CONV_STRIDE)")}),
    "model: lengths not subsampled": ("test_model", {"model_answer": (
        "out_lengths = self.output_lengths(lengths)", "out_lengths = lengths")}),
    "model: the encoder gets the input lengths": ("test_model", {"model_answer": (
        "hidden, _ = self.encoder(x, out_lengths)", "hidden, _ = self.encoder(x, lengths)")}),
    "model: log_softmax over time": ("test_model", {"model_answer": (
        "log_softmax(dim=-1), out_lengths", "log_softmax(dim=1), out_lengths")}),
    "model: logits returned": ("test_model", {"model_answer": (
        "self.classifier(hidden).log_softmax(dim=-1), out_lengths", "self.classifier(hidden), out_lengths")}),
    "model: time-major output": ("test_model", {"model_answer": (
        "log_softmax(dim=-1), out_lengths", "log_softmax(dim=-1).transpose(0, 1), out_lengths")}),
    "model: reshape without moving time first": ("test_model", {"model_answer": (
        "x = x.permute(0, 2, 1, 3).reshape(batch, frames, channels * bands)", "x = x.reshape(batch, frames, channels * bands)")}),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(WRONG))
def test_plausible_wrong_answers_lose_points(assignment, sources, name):
    grade_id, edits = WRONG[name]
    passed, total, _ = score(assignment, grade_id, namespace(sources, **edits))
    assert passed < total, f"{name}: every case passed"


VECTOR_SPEC_AUGMENT = '''
def spec_augment(feats, lengths, freq_masks=2, freq_width=15, time_masks=2, time_width=20, mask_value=0.0,
                 generator=None):
    batch, frames, bins = feats.shape
    lengths = torch.as_tensor(lengths).long().cpu()
    mask = torch.zeros(batch, frames, bins, dtype=torch.bool)
    for count, limit, size, axis in ((freq_masks, torch.full((batch,), freq_width), torch.full((batch,), bins), 2),
                                     (time_masks, torch.clamp(torch.full((batch,), time_width), max=lengths), lengths, 1)):
        for _ in range(count):
            width = (torch.rand(batch, generator=generator) * (limit + 1)).floor().clamp(max=limit)
            start = (torch.rand(batch, generator=generator) * (size - width + 1)).floor()
            pos = torch.arange(mask.shape[axis])[None, :]
            span = (pos >= start[:, None]) & (pos < (start + width)[:, None])
            mask |= span[:, None, :] if axis == 2 else span[:, :, None]
    mask &= (torch.arange(frames)[None, :] < lengths[:, None])[..., None]
    return torch.where(mask.to(feats.device), torch.full_like(feats, mask_value), feats)
'''

PACKED_ENCODER = '''
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

def _forward(self, x, lengths):
    total = x.shape[1]
    for i, forward_lstm in enumerate(self.forward_layers):
        if i > 0:
            x = self.dropout(x)
        outs = []
        for lstm, flip in ((forward_lstm, False), *(((self.backward_layers[i], True),) if self.bidirectional else ())):
            seqs = [x[b, :int(n)] for b, n in enumerate(lengths)]
            if flip:
                seqs = [s.flip(0) for s in seqs]
            padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
            packed = pack_padded_sequence(padded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=total)
            if flip:
                out = torch.nn.utils.rnn.pad_sequence([out[b, :int(n)].flip(0) for b, n in enumerate(lengths)],
                                                      batch_first=True)
                out = torch.nn.functional.pad(out, (0, 0, 0, total - out.shape[1]))
            outs.append(out)
        x = torch.cat(outs, dim=-1)
    return self.dropout(x), lengths

RecurrentEncoder.forward = _forward
'''


def test_correct_alternatives_pass(assignment, sources):
    ns = namespace(sources)
    exec(VECTOR_SPEC_AUGMENT, ns)
    passed, total, message = score(assignment, "test_spec_augment", ns)
    assert passed == total, message
    ns = namespace(sources)
    exec(PACKED_ENCODER, ns)
    passed, total, message = score(assignment, "test_encoder", ns)
    assert passed == total, message
    ns = namespace(sources, model_answer=(
        'lengths = torch.div(lengths + 2 * CONV_PADDING - CONV_KERNEL, CONV_STRIDE, rounding_mode="floor") + 1',
        "lengths = (lengths - 1) // 2 + 1",
        "x = x.permute(0, 2, 1, 3).reshape(batch, frames, channels * bands)", "x = x.transpose(1, 2).flatten(2)"))
    passed, total, message = score(assignment, "test_model", ns)
    assert passed == total, message
    ns = namespace(sources, normalize_answer=(
        "return ((feats - mean) / (var.sqrt() + eps)).masked_fill(~valid, 0.0)",
        "return ((feats - mean) / (var + 1e-10).sqrt()).masked_fill(~valid, 0.0)"))
    passed, total, message = score(assignment, "test_normalize", ns)
    assert passed == total, message          # eps inside the square root is fine too


def test_evaluation_recipe_is_the_notebooks_and_runs(assignment, sources):
    """The public recipe equals the notebook's `evaluate` cell and transcribes with any CTCNet."""
    import torch

    task = assignment.task("test_trained_model")
    assert cell_sources(SOLUTION)["evaluate_recipe"].strip() == task.evaluate_source.strip()
    ns = namespace(sources)
    torch.manual_seed(0)
    model = ns["CTCNet"](**ns["CTCNet"](hidden_dim=8, num_layers=1).config).eval()
    recipe: Dict[str, Any] = {}
    exec(task.evaluate_source, recipe)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        out = recipe["evaluate"](model, [rng.normal(scale=0.1, size=n).astype(np.float32) for n in (8000, 12345)], "cpu")
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(t, str) for t in out)


def test_wer_bands_follow_the_course():
    from asrlab_grade.tasks.ctc_training import WER_BANDS

    assert [band_fraction(v, WER_BANDS) for v in (20.0, 35.0, 38.0, 40.0, 45.0, 50.0, 55.0, 60.0, 61.0, float("nan"))] \
        == [1.0, 1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25, 0.0, 0.0]


def test_skipped_cells_exist_and_answers_need_no_corpus(assignment):
    """Every skipped cell exists; no cell outside them touches the corpus or trains."""
    task = assignment.task("test_trained_model")
    cells = cell_sources(SOLUTION, code_only=True)
    assert set(task.skip_cells) <= set(cells)
    for gid, src in cells.items():
        if gid not in task.skip_cells and not gid.startswith("test_") and gid != "train_helpers":
            for needs_data in ("course.librispeech", "train_set", "dev_set", "test_set", ".fit("):
                assert needs_data not in src, f"{gid} uses {needs_data} but is not skipped"


# ----------------------------------------------------------------------------- the nbgrader path (slow)
def _untrained_checkpoints(sources: Dict[str, str]):
    """ctc_<name>.pt for every run of the notebook's settings, untrained: nbgrader must load, not retrain."""
    import torch

    ns = namespace(sources)
    exec(compile(cell_sources(SOLUTION)["train_settings"], "<train_settings>", "exec"), ns)

    def add(folder: Path) -> None:
        for name, (config, _, _) in ns["RUNS"].items():
            model = ns["CTCNet"](**config)
            torch.save({"config": model.config, "state_dict": model.state_dict(), "history": [],
                        "train_seconds": 0.0}, folder / f"ctc_{name}.pt")
    return add


@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path, sources, monkeypatch):
    """generate_assignment reproduces the committed release; nbgrader autograde runs the filled-in release (with
    submitted, here untrained, checkpoints: it loads them and does not retrain) and the blank one without crashing."""
    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    scores = nbgrader_round_trip(tmp_path, "ctc_training", _untrained_checkpoints(sources))
    graded = tmp_path / "course" / "autograded" / "full" / "ctc_training" / "ctc_training.ipynb"
    assert "loaded ctc_bilstm.pt" in graded.read_text()
    assert scores == {"full": 7.0, "blank": 0.0}     # all but the untrained model's 8 points
