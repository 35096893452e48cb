"""The hidden tasks of the ``e2e_mtl`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox): the solution notebook's answer cells are executed, then mutated one idea
at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. The training tasks are
covered by ``ASRLAB_BUDGET=ci asrlab-grade validate e2e_mtl`` (it trains the solution's models), the
release and plain nbgrader by the slow test at the end.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

import pytest

from asrlab_grade.course_folder import Course
from harness import ROOT, answer_sources, nbgrader_round_trip, release_points, score, solution_notebook
from harness import namespace as run_cells

SOLUTION = solution_notebook("e2e_mtl")
RELEASE = ROOT / "assignments" / "e2e_mtl" / "e2e_mtl.ipynb"

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no e2e_mtl solution notebook")

# Cells that define the imports and the answers (no corpus, no training).
CELLS = ("setup_imports", "features_answer", "dataset_answer", "ctc_loss_answer", "model_answer", "low_high_answer",
         "transcribe_answer", "pool_answer", "heads_answer", "mtl_loss_answer")


def cell_sources(path: Path, kind: str = "") -> Dict[str, str]:
    """grade_id -> source of the notebook's cells (only ``kind`` cells if given)."""
    cells = json.loads(path.read_text())["cells"]
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): "".join(c["source"])
            for c in cells if not kind or c["cell_type"] == kind}


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("e2e_mtl")


@pytest.fixture(scope="module")
def sources() -> Dict[str, str]:
    return answer_sources("e2e_mtl", CELLS + ("mtl_model",))


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the dataset adapter writes its tiny corpus into the working folder


def namespace(sources: Dict[str, str], **replace: tuple):
    return run_cells(sources, CELLS, **replace)


FUNCTION_TASKS = ["test_log_mel_features", "test_primary_task_data", "test_ctc_loss", "test_ctc_model", "test_low_high",
                  "test_transcribe", "test_pool", "test_task_type_head", "test_dialog_acts_head", "test_sentiment_head",
                  "test_combine_losses"]


@pytest.mark.parametrize("grade_id", FUNCTION_TASKS)
def test_solution_passes_every_case(assignment, sources, grade_id):
    passed, total = score(assignment, grade_id, namespace(sources))
    assert passed == total


WRONG = {
    # features
    "features: (n_mels, T), not transposed": ("test_log_mel_features", {"features_answer": (
        "db = librosa.power_to_db(mel).T", "db = librosa.power_to_db(mel)")}),
    "features: normalised per frame": ("test_log_mel_features", {"features_answer": (
        "(db - db.mean(axis=0)) / (db.std(axis=0) + 1e-5)",
        "(db - db.mean(axis=1, keepdims=True)) / (db.std(axis=1, keepdims=True) + 1e-5)")}),
    "features: not normalised": ("test_log_mel_features", {"features_answer": (
        "feats = (db - db.mean(axis=0)) / (db.std(axis=0) + 1e-5)", "feats = db")}),
    "features: librosa.util.normalize (peak per frame)": ("test_log_mel_features", {"features_answer": (
        "feats = (db - db.mean(axis=0)) / (db.std(axis=0) + 1e-5)", "feats = librosa.util.normalize(db, axis=1)")}),
    "features: power without the log": ("test_log_mel_features", {"features_answer": (
        "db = librosa.power_to_db(mel).T", "db = mel.T")}),
    "features: natural log without the 80 dB floor": ("test_log_mel_features", {"features_answer": (
        "db = librosa.power_to_db(mel).T", "db = np.log(mel + 1e-10).T")}),
    "features: settings ignored": ("test_log_mel_features", {"features_answer": (
        "n_mels=n_mels, n_fft=n_fft, win_length=win_length", "n_mels=128, n_fft=256, win_length=256")}),
    # one example
    "example: labels padded with the blank 0": ("test_primary_task_data", {"dataset_answer": (
        "padded, label_length = self.pad_labels(self.get_labels(index))",
        "padded, label_length = self.pad_labels(self.get_labels(index))\n"
        "        padded = [0 if i >= label_length else p for i, p in enumerate(padded)]")}),
    "example: input_length counts the padding": ("test_primary_task_data", {"dataset_answer": (
        "return features, input_length,", "return features, self.wav_max_length,")}),
    "example: label_length counts the padding": ("test_primary_task_data", {"dataset_answer": (
        "torch.tensor(padded, dtype=torch.long), label_length", "torch.tensor(padded, dtype=torch.long), len(padded)")}),
    "example: input_length off by one": ("test_primary_task_data", {"dataset_answer": (
        "return features, input_length,", "return features, input_length - 1,")}),
    "example: not cut to wav_max_length": ("test_primary_task_data", {"dataset_answer": (
        "input_length = min(len(feats), self.wav_max_length)\n"
        "        features = torch.zeros(self.wav_max_length, self.n_mels, dtype=torch.float32)",
        "input_length = len(feats)\n"
        "        features = torch.zeros(max(len(feats), self.wav_max_length), self.n_mels, dtype=torch.float32)")}),
    "example: dataset settings ignored": ("test_primary_task_data", {"dataset_answer": (
        "sr=self.sample_rate, n_mels=self.n_mels,\n                                 n_fft=self.n_fft, "
        "win_length=self.win_length, hop_length=self.hop_length)", ")")}),
    "example: features padded with -1 instead of zeros": ("test_primary_task_data", {"dataset_answer": (
        "features = torch.zeros(self.wav_max_length", "features = -torch.ones(self.wav_max_length")}),
    # CTC loss
    "ctc loss: reduction sum": ("test_ctc_loss", {"ctc_loss_answer": ('reduction="mean"', 'reduction="sum"')}),
    "ctc loss: mean over the batch, not per target length": ("test_ctc_loss", {"ctc_loss_answer": (
        'reduction="mean", zero_infinity=True)', 'reduction="none", zero_infinity=True).mean()')}),
    "ctc loss: blank fixed at 0": ("test_ctc_loss", {"ctc_loss_answer": ("blank=blank", "blank=0")}),
    "ctc loss: no zero_infinity": ("test_ctc_loss", {"ctc_loss_answer": ("zero_infinity=True", "zero_infinity=False")}),
    "ctc loss: batch-first log_probs passed on": ("test_ctc_loss", {"ctc_loss_answer": (
        "log_probs.transpose(0, 1)", "log_probs")}),
    # model
    "model: lengths not divided by the stride": ("test_ctc_model", {"model_answer": (
        'lengths = torch.div(input_lengths, self.stride, rounding_mode="floor")', "lengths = input_lengths")}),
    "model: lengths rounded up": ("test_ctc_model", {"model_answer": (
        'torch.div(input_lengths, self.stride, rounding_mode="floor")',
        'torch.div(input_lengths + self.stride - 1, self.stride, rounding_mode="floor").clamp(max=kept)')}),
    "model: log-softmax over time": ("test_ctc_model", {"model_answer": (
        "self.decoder(hidden).log_softmax(dim=-1)", "self.decoder(hidden).log_softmax(dim=1)")}),
    "model: logits returned": ("test_ctc_model", {"model_answer": (
        "self.decoder(hidden).log_softmax(dim=-1)", "self.decoder(hidden)")}),
    "model: frames t and t + T' stacked": ("test_ctc_model", {"model_answer": (
        "inputs[:, : kept * self.stride].reshape(batch, kept, dim * self.stride)",
        "inputs[:, : kept * self.stride].reshape(batch, self.stride, kept, dim).transpose(1, 2)"
        ".reshape(batch, kept, dim * self.stride)")}),
    "model: features interleaved instead of concatenated": ("test_ctc_model", {"model_answer": (
        "inputs[:, : kept * self.stride].reshape(batch, kept, dim * self.stride)",
        "inputs[:, : kept * self.stride].reshape(batch, kept, self.stride, dim).transpose(2, 3)"
        ".reshape(batch, kept, dim * self.stride)")}),
    # analysis and inference
    "low/high: last index on ties": ("test_low_high", {"low_high_answer": (
        "low, high = int(np.argmin(rates)), int(np.argmax(rates))",
        "low, high = len(rates) - 1 - int(np.argmin(rates[::-1])), int(np.argmax(rates))")}),
    "low/high: WER instead of CER": ("test_low_high", {"low_high_answer": (
        "rates = per_utterance_cer(references, hypotheses)",
        "from asrlab.metrics import per_utterance_wer\n    rates = per_utterance_wer(references, hypotheses)")}),
    "transcribe: cut at 200 frames": ("test_transcribe", {"transcribe_answer": (
        "torch.from_numpy(log_mel_features(wav))", "torch.from_numpy(log_mel_features(wav)[:200])")}),
    "transcribe: features not normalised": ("test_transcribe", {"transcribe_answer": (
        "torch.from_numpy(log_mel_features(wav))",
        "torch.from_numpy(librosa.power_to_db(librosa.feature.melspectrogram(y=wav, sr=SAMPLE_RATE, n_mels=128, "
        "n_fft=256, hop_length=128)).T.copy())")}),
    "transcribe: special tokens kept": ("test_transcribe", {"transcribe_answer": (
        "return VOCAB.decode(ctc_greedy_ids(log_probs, out_lengths, VOCAB.blank)[0])",
        "return ''.join(VOCAB.indices_to_symbols(ctc_greedy_ids(log_probs, out_lengths, VOCAB.blank)[0]))")}),
    # multi-task
    "pool: plain mean over padded frames": ("test_pool", {"pool_answer": (
        "return (hidden * valid).sum(1) / valid.sum(1).clamp(min=1.0)", "return hidden.mean(1)")}),
    "pool: padded frames zeroed but divided by T": ("test_pool", {"pool_answer": (
        "valid.sum(1).clamp(min=1.0)", "hidden.shape[1]")}),
    "pool: empty utterance divides by zero": ("test_pool", {"pool_answer": (
        "valid.sum(1).clamp(min=1.0)", "valid.sum(1)")}),
    "task type: probabilities instead of log-probabilities": ("test_task_type_head", {"heads_answer": (
        '"""(B, H) -> (B, N) log-probabilities."""\n        return self.linear(pooled).log_softmax(dim=-1)',
        '"""(B, H) -> (B, N) log-probabilities."""\n        return self.linear(pooled).softmax(dim=-1)')}),
    "task type: loss summed over the batch": ("test_task_type_head", {"heads_answer": (
        "F.nll_loss(log_probs, targets.long())", "F.nll_loss(log_probs, targets.long(), reduction='sum')")}),
    "dialog acts: sigmoid probabilities returned": ("test_dialog_acts_head", {"heads_answer": (
        '"""(B, H) -> (B, D) logits, one per dialog act."""\n        return self.linear(pooled)',
        '"""(B, H) -> (B, D) logits, one per dialog act."""\n        return torch.sigmoid(self.linear(pooled))')}),
    "dialog acts: softmax over the acts": ("test_dialog_acts_head", {"heads_answer": (
        "return F.binary_cross_entropy_with_logits(logits, targets.float())",
        "return -(targets.float() * logits.log_softmax(-1)).sum(-1).mean()")}),
    "dialog acts: loss summed over acts": ("test_dialog_acts_head", {"heads_answer": (
        "return F.binary_cross_entropy_with_logits(logits, targets.float())",
        "return F.binary_cross_entropy_with_logits(logits, targets.float(), reduction='none').sum(-1).mean()")}),
    "sentiment: hard labels (argmax of the targets)": ("test_sentiment_head", {"heads_answer": (
        "return -(target_probs.float() * log_probs).sum(dim=-1).mean()",
        "return F.nll_loss(log_probs, target_probs.argmax(-1))")}),
    "sentiment: sigmoid outputs": ("test_sentiment_head", {"heads_answer": (
        '"""(B, H) -> (B, 3) log-probabilities."""\n        return self.linear(pooled).log_softmax(dim=-1)',
        '"""(B, H) -> (B, 3) log-probabilities."""\n        return F.logsigmoid(self.linear(pooled))')}),
    "sentiment: summed over the batch": ("test_sentiment_head", {"heads_answer": (
        "return -(target_probs.float() * log_probs).sum(dim=-1).mean()",
        "return -(target_probs.float() * log_probs).sum()")}),
    "combine: mean instead of the weighted sum": ("test_combine_losses", {"mtl_loss_answer": (
        "return sum(float(w) * losses[task] for task, w in weights.items() if w != 0)",
        "return sum(float(w) * losses[task] for task, w in weights.items()) / len(weights)")}),
    "combine: weights ignored": ("test_combine_losses", {"mtl_loss_answer": (
        "float(w) * losses[task]", "losses[task]")}),
    "combine: every task counted": ("test_combine_losses", {"mtl_loss_answer": (
        "return sum(float(w) * losses[task] for task, w in weights.items() if w != 0)",
        "return sum(float(weights.get(task, 1.0)) * loss for task, loss in losses.items())")}),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(WRONG))
def test_plausible_wrong_answers_lose_points(assignment, sources, name):
    grade_id, edits = WRONG[name]
    passed, total = score(assignment, grade_id, namespace(sources, **edits))
    assert passed < total, f"{name}: every case passed"


ALTERNATIVES = {
    "features: float64 result": ("test_log_mel_features", {"features_answer": (
        "return feats.astype(np.float32)", "return feats.astype(np.float64)")}),
    "features: sqrt(var + eps) instead of std + eps": ("test_log_mel_features", {"features_answer": (
        "(db.std(axis=0) + 1e-5)", "np.sqrt(db.var(axis=0) + 1e-10)")}),
    "example: numpy features and python lists for labels": ("test_primary_task_data", {"dataset_answer": (
        "return features, input_length, torch.tensor(padded, dtype=torch.long), label_length",
        "return features.numpy(), input_length, np.array(padded), label_length")}),
    "example: padding by torch.nn.functional.pad": ("test_primary_task_data", {"dataset_answer": (
        "features = torch.zeros(self.wav_max_length, self.n_mels, dtype=torch.float32)\n"
        "        features[:input_length] = torch.from_numpy(feats[:input_length])",
        "features = F.pad(torch.from_numpy(feats[:input_length]), (0, 0, 0, self.wav_max_length - input_length))")}),
    "ctc loss: torch.nn.CTCLoss module": ("test_ctc_loss", {"ctc_loss_answer": (
        "blank=blank, reduction=\"mean\", zero_infinity=True)", ")",
        "return F.ctc_loss(log_probs.transpose(0, 1),",
        "return nn.CTCLoss(blank=blank, zero_infinity=True)(log_probs.transpose(0, 1),")}),
    "model: lengths with //": ("test_ctc_model", {"model_answer": (
        'torch.div(input_lengths, self.stride, rounding_mode="floor")', "input_lengths // self.stride")}),
    "low/high: numpy float and int types": ("test_low_high", {"low_high_answer": (
        "return low, float(rates[low]), high, float(rates[high])",
        "return np.int64(low), np.float64(rates[low]), np.int64(high), np.float64(rates[high])")}),
    "pool: masked_fill and lengths division": ("test_pool", {"pool_answer": (
        "return (hidden * valid).sum(1) / valid.sum(1).clamp(min=1.0)",
        "return hidden.masked_fill(valid == 0, 0.0).sum(1) / lengths.clamp(min=1)[:, None].to(hidden.dtype)")}),
    "task type: cross_entropy on the log-probabilities": ("test_task_type_head", {"heads_answer": (
        "F.nll_loss(log_probs, targets.long())", "F.cross_entropy(log_probs, targets)")}),
    "dialog acts: sigmoid then binary_cross_entropy": ("test_dialog_acts_head", {"heads_answer": (
        "return F.binary_cross_entropy_with_logits(logits, targets.float())",
        "return F.binary_cross_entropy(torch.sigmoid(logits), targets.float())")}),
    "sentiment: kl_div plus the target entropy": ("test_sentiment_head", {"heads_answer": (
        "return -(target_probs.float() * log_probs).sum(dim=-1).mean()",
        "t = target_probs.float()\n        return F.kl_div(log_probs, t, reduction='batchmean') "
        "- (t * t.clamp(min=1e-12).log()).sum(-1).mean()")}),
    "combine: a loop over the weights": ("test_combine_losses", {"mtl_loss_answer": (
        "return sum(float(w) * losses[task] for task, w in weights.items() if w != 0)",
        "total = 0.0\n    for task in weights:\n        total = total + weights[task] * losses[task]\n    return total")}),
}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_correct_alternatives_pass(assignment, sources, name):
    grade_id, edits = ALTERNATIVES[name]
    passed, total = score(assignment, grade_id, namespace(sources, **edits))
    assert passed == total, f"{name}: {passed}/{total} cases passed"


def test_release_has_stubs_not_solutions():
    release = cell_sources(RELEASE)
    for gid in CELLS[1:]:
        assert "NotImplementedError" in release[gid], f"{gid} has no stub in the release"
        assert "BEGIN SOLUTION" not in release[gid]


def test_training_tasks_skip_every_corpus_cell(assignment):
    """Every code cell that makes or reads the corpus, or trains, is skipped in the sandbox."""
    markers = ("ROOT", "items[", "datasets[", "= train_or_load(", "corpus.")
    graded = {t.grade_id for t in assignment.tasks}
    needs_corpus = {gid for gid, src in cell_sources(SOLUTION, "code").items() if gid not in graded
                    and any(m in src for m in markers)}
    skipped = {g for t in assignment.tasks for g in getattr(t, "skip_cells", ())}
    assert needs_corpus <= skipped, f"cells that need the corpus but run in the sandbox: {sorted(needs_corpus - skipped)}"


# ----------------------------------------------------------------------------- the nbgrader path (slow)
def _random_checkpoints(sources: Dict[str, str]):
    """Untrained checkpoints with the solution's ci architecture: the training cells load them instead of training."""
    import os

    import torch

    os.environ["ASRLAB_BUDGET"] = "ci"
    ns = run_cells(sources, CELLS + ("mtl_model",))
    hidden = 128
    ctc = ns["CTCEncoderDecoder"](input_dim=128, num_class=48, hidden_dim=hidden)
    mtl = ns["MultiTaskModel"](128, 48, 8, 14, hidden_dim=hidden)

    def add(folder: Path) -> None:
        for name, model in (("ctc_model.pt", ctc), ("mtl_model.pt", mtl), ("best_model.pt", mtl)):
            torch.save({"config": model.config, "state_dict": model.state_dict()}, folder / name)
    return add


@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path, sources):
    """generate_assignment reproduces the committed release; plain nbgrader autograde runs the filled-in
    release (checkpoints present: nothing retrains) and the blank one without crashing. nbgrader runs only the
    public checks (a cell that writes to stderr counts as failed); the hidden grade needs asrlab-grade. The
    blank release fails every check, the training ones included (no model to run)."""
    scores = nbgrader_round_trip(tmp_path, "e2e_mtl", _random_checkpoints(sources))
    assert scores == {"full": release_points("e2e_mtl"), "blank": 0.0}
