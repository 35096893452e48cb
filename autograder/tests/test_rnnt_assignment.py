"""The hidden tasks of the ``rnnt`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox): the solution notebook's answer cells are executed, then mutated one idea
at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. ``asrlab-grade validate rnnt``
covers the sandboxed path, training included (solution full marks, blank release 0).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from asrlab_grade.course_folder import Course
from harness import ROOT, answer_sources, nbgrader_round_trip, release_points, score, solution_notebook
from harness import namespace as run_cells

SOLUTION = solution_notebook("rnnt")

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no rnnt solution notebook")

# Cells that define the helpers and answers (figures, checks and training are not needed).
CELLS = ("setup_helpers", "rnnt_forward_answer", "rnnt_backward_answer", "modules_answer", "transducer",
         "greedy_answer")


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("rnnt")


@pytest.fixture(scope="module")
def sources() -> Dict[str, str]:
    return answer_sources("rnnt", CELLS)


def namespace(sources: Dict[str, str], **replace: tuple) -> Dict[str, Any]:
    return run_cells(sources, CELLS, **replace)


FUNCTION_TASKS = ["test_rnnt_forward", "test_rnnt_backward", "test_encoder", "test_predictor", "test_joiner",
                  "test_greedy"]


@pytest.mark.parametrize("grade_id", FUNCTION_TASKS)
def test_solution_passes_every_case(assignment, sources, grade_id):
    passed, total = score(assignment, grade_id, namespace(sources))
    assert passed == total


WRONG = {
    # the forward recursion
    "forward: blank of frame t instead of t-1": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "alpha[t] = alpha[t - 1] + blank_lp[t - 1]", "alpha[t] = alpha[t - 1] + blank_lp[t]")}),
    "forward: label of frame t-1": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "alpha[t, u - 1] + label_lp[t, u - 1]", "alpha[t, u - 1] + label_lp[max(t - 1, 0), u - 1]")}),
    "forward: label of the state it arrives in": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "label_lp = log_probs[:, np.arange(num_states - 1), labels]",
        "label_lp = log_probs[:, np.arange(1, num_states), labels]")}),
    "forward: blank and label moves swapped": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "blank_lp = log_probs[:, :, blank]", "blank_lp = np.concatenate([log_probs[:, :-1][:, :, 0] * 0 + "
        "log_probs[:, np.arange(num_states - 1), labels], log_probs[:, -1:, blank]], axis=1)",
        "label_lp = log_probs[:, np.arange(num_states - 1), labels]", "label_lp = log_probs[:, :-1, blank]")}),
    "forward: no terminal blank in the cost": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "cost = -(alpha[-1, -1] + blank_lp[-1, -1])", "cost = -alpha[-1, -1]")}),
    "forward: probabilities returned": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "return alpha, float(cost)", "return np.exp(alpha), float(cost)")}),
    "forward: probability domain (underflows)": ("test_rnnt_forward", {"rnnt_forward_answer": (
        "alpha[t, u] = np.logaddexp(alpha[t, u], alpha[t, u - 1] + label_lp[t, u - 1])",
        "alpha[t, u] = np.log(np.float32(np.exp(alpha[t, u]) + np.exp(alpha[t, u - 1] + label_lp[t, u - 1])))")}),
    # the backward recursion
    "backward: no terminal blank": ("test_rnnt_backward", {"rnnt_backward_answer": (
        "beta[t, u] = log_probs[t, u, blank]                              # the terminal blank",
        "beta[t, u] = 0.0")}),
    "backward: emissions of the next cell": ("test_rnnt_backward", {"rnnt_backward_answer": (
        "beta[t + 1, u] + log_probs[t, u, blank]", "beta[t + 1, u] + log_probs[t + 1, u, blank]",
        "beta[t, u + 1] + log_probs[t, u, labels[u]]", "beta[t, u + 1] + log_probs[t, u + 1, labels[u]]")}),
    "backward: blank and label moves swapped": ("test_rnnt_backward", {"rnnt_backward_answer": (
        "beta[t + 1, u] + log_probs[t, u, blank]", "beta[t + 1, u] + log_probs[t, u, labels[min(u, len(labels) - 1)]]",
        "beta[t, u + 1] + log_probs[t, u, labels[u]]", "beta[t, u + 1] + log_probs[t, u, blank]")}),
    "backward: label index off by one": ("test_rnnt_backward", {"rnnt_backward_answer": (
        "log_probs[t, u, labels[u]]", "log_probs[t, u, labels[u - 1]]")}),
    "backward: cost from the wrong corner": ("test_rnnt_backward", {"rnnt_backward_answer": (
        "return beta, float(-beta[0, 0])", "return beta, float(-beta[-1, -1])")}),
    # the modules
    "encoder: lengths before subsampling": ("test_encoder", {"modules_answer": (
        "x, lengths = self.subsampling(feats, lengths)", "x, _ = self.subsampling(feats, lengths)")}),
    "encoder: the LSTM runs over the padding": ("test_encoder", {"modules_answer": (
        "x, lengths = self.lstm(x, lengths)", "x, _ = self.lstm(x, torch.full_like(lengths, x.shape[1]))")}),
    "encoder: no projection": ("test_encoder", {"modules_answer": (
        "return self.proj(x), lengths", "return x, lengths")}),
    "predictor: no start symbol": ("test_predictor", {"modules_answer": (
        "torch.cat([start, tokens], dim=1)", "tokens")}),
    "predictor: start appended instead of prepended": ("test_predictor", {"modules_answer": (
        "torch.cat([start, tokens], dim=1)", "torch.cat([tokens, start], dim=1)")}),
    "predictor: step ignores the state": ("test_predictor", {"modules_answer": (
        "self.lstm(self.embedding(tokens)[:, None], (h, c))", "self.lstm(self.embedding(tokens)[:, None])")}),
    "predictor: state kept (layers, N, H)": ("test_predictor", {"modules_answer": (
        "h, c = (s.transpose(0, 1).contiguous() for s in state)", "h, c = state",
        "(h.transpose(0, 1), c.transpose(0, 1))", "(h, c)")}),
    "joiner: frames and prefixes broadcast the wrong way": ("test_joiner", {"modules_answer": (
        "enc, pred = enc[:, :, None], pred[:, None]", "enc, pred = enc[:, None], pred[:, :, None]")}),
    "joiner: ReLU instead of tanh": ("test_joiner", {"modules_answer": (
        "self.linear(torch.tanh(enc + pred))", "self.linear(torch.relu(enc + pred))")}),
    "joiner: activation after the linear layer": ("test_joiner", {"modules_answer": (
        "self.linear(torch.tanh(enc + pred))", "torch.tanh(self.linear(enc + pred))")}),
    # greedy decoding
    "greedy: at most one symbol per frame": ("test_greedy", {"greedy_answer": (
        "for _ in range(max_symbols):", "for _ in range(1):")}),
    "greedy: emitted symbols never fed to the predictor": ("test_greedy", {"greedy_answer": (
        "pred, state = model.predictor.step(torch.tensor([best], device=encoder_out.device), state)", "pass")}),
    "greedy: one symbol too many per frame": ("test_greedy", {"greedy_answer": (
        "for _ in range(max_symbols):", "for _ in range(max_symbols + 1):")}),
    "greedy: starts from token 0": ("test_greedy", {"greedy_answer": (
        "torch.tensor([model.blank], device=encoder_out.device)", "torch.tensor([0], device=encoder_out.device)")}),
    "greedy: predictor state reset after each symbol": ("test_greedy", {"greedy_answer": (
        "torch.tensor([best], device=encoder_out.device), state)",
        "torch.tensor([best], device=encoder_out.device), model.predictor.initial_state(1))")}),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(WRONG))
def test_plausible_wrong_answers_lose_points(assignment, sources, name):
    grade_id, edits = WRONG[name]
    passed, total = score(assignment, grade_id, namespace(sources, **edits))
    assert passed < total, f"{name}: every case passed"


LOOP_FORWARD = '''
def rnnt_forward(log_probs, labels, blank=BLANK):
    T, U1, V = log_probs.shape
    blank = blank % V
    alpha = np.full((T, U1), -1e30)             # a large negative number instead of -inf
    alpha[0, 0] = 0.0
    for t in range(T):
        for u in range(U1):
            if t == 0 and u == 0:
                continue
            terms = []
            if t > 0:
                terms.append(alpha[t - 1, u] + log_probs[t - 1, u, blank])
            if u > 0:
                terms.append(alpha[t, u - 1] + log_probs[t, u - 1, labels[u - 1]])
            alpha[t, u] = np.logaddexp.reduce(terms)
    return alpha, -(alpha[T - 1, U1 - 1] + log_probs[T - 1, U1 - 1, blank])   # a numpy scalar cost
'''

DIAGONAL_BACKWARD = '''
def rnnt_backward(log_probs, labels, blank=BLANK):
    import torch
    lp = torch.as_tensor(np.asarray(log_probs, dtype=np.float64))
    T, U1, _ = lp.shape
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    beta = torch.full((T, U1), float("-inf"), dtype=torch.float64)
    beta[T - 1, U1 - 1] = lp[T - 1, U1 - 1, blank]
    for n in range(T + U1 - 3, -1, -1):             # anti-diagonals t + u = n, vectorised
        t = torch.arange(max(0, n - U1 + 1), min(T - 1, n) + 1)
        u = n - t
        via_blank = torch.where(t + 1 < T, beta[(t + 1).clamp(max=T - 1), u] + lp[t, u, blank],
                                torch.tensor(float("-inf"), dtype=torch.float64))
        via_label = torch.full_like(via_blank, float("-inf"))
        ok = u + 1 < U1
        via_label[ok] = beta[t[ok], u[ok] + 1] + lp[t[ok], u[ok], labels[u[ok]]]
        beta[t, u] = torch.logaddexp(via_blank, via_label)
    return beta, -beta[0, 0]                        # a float64 tensor and a 0-d tensor are fine too
'''

BATCHED_GREEDY = '''
@torch.no_grad()
def greedy_decode(model, encoder_out, max_symbols=5):
    state = model.predictor.initial_state(1)
    pred, state = model.predictor.step(torch.tensor([model.blank]), state)
    out, t, emitted = [], 0, 0
    while t < len(encoder_out):
        k = model.joiner(encoder_out[t][None], pred).argmax(-1)
        if int(k) == model.blank or emitted == max_symbols:
            t, emitted = t + 1, 0
            continue
        out.append(k)
        emitted += 1
        pred, state = model.predictor.step(k, state)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)   # a tensor of ids
'''


PROBABILITY_DOMAIN = '''
def rnnt_forward(log_probs, labels, blank=BLANK):
    probs = np.exp(np.asarray(log_probs, dtype=np.float64))
    T, U1, _ = probs.shape
    alpha = np.zeros((T, U1))
    alpha[0, 0] = 1.0
    for t in range(T):
        for u in range(U1):
            if t > 0:
                alpha[t, u] += alpha[t - 1, u] * probs[t - 1, u, blank]
            if u > 0:
                alpha[t, u] += alpha[t, u - 1] * probs[t, u - 1, labels[u - 1]]
    with np.errstate(divide="ignore"):
        return np.log(alpha), float(-np.log(alpha[-1, -1] * probs[-1, -1, blank]))


def rnnt_backward(log_probs, labels, blank=BLANK):
    probs = np.exp(np.asarray(log_probs, dtype=np.float64))
    T, U1, _ = probs.shape
    beta = np.zeros((T, U1))
    for t in range(T - 1, -1, -1):
        for u in range(U1 - 1, -1, -1):
            if t == T - 1 and u == U1 - 1:
                beta[t, u] = probs[t, u, blank]
                continue
            if t + 1 < T:
                beta[t, u] += beta[t + 1, u] * probs[t, u, blank]
            if u + 1 < U1:
                beta[t, u] += beta[t, u + 1] * probs[t, u, labels[u]]
    with np.errstate(divide="ignore"):
        return np.log(beta), float(-np.log(beta[0, 0]))
'''


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("grade_id", ["test_rnnt_forward", "test_rnnt_backward"])
def test_float64_probabilities_fail_several_cases(assignment, sources, grade_id):
    """A recursion in probabilities (float64, logs taken at the end) underflows on the peaky lattices: more
    than one hidden case must see it."""
    ns = namespace(sources)
    exec(PROBABILITY_DOMAIN, ns)
    passed, total = score(assignment, grade_id, ns)
    assert total - passed >= 2, f"only {total - passed} case(s) of {total} failed"


def test_correct_alternatives_pass(assignment, sources):
    ns = namespace(sources)
    exec(LOOP_FORWARD, ns)
    assert score(assignment, "test_rnnt_forward", ns) == score(assignment, "test_rnnt_forward", namespace(sources))
    exec(DIAGONAL_BACKWARD, ns)
    passed, total = score(assignment, "test_rnnt_backward", ns)
    assert passed == total
    exec(BATCHED_GREEDY, ns)
    passed, total = score(assignment, "test_greedy", ns)
    assert passed == total
    ns = namespace(sources, modules_answer=(
        "enc, pred = enc[:, :, None], pred[:, None]", "enc, pred = enc.unsqueeze(-2), pred.unsqueeze(-3)"))
    passed, total = score(assignment, "test_joiner", ns)
    assert passed == total


def test_evaluation_recipe_decodes_like_the_library(assignment):
    """The training tasks' public recipe decodes a model with the library's greedy search, on the hidden
    split's kind of input (a list of float32 waveforms of different lengths)."""
    import torch
    from asrlab.decoding import rnnt_greedy_search
    from asrlab.features import LogMel
    from asrlab.models import RNNTModel
    from asrlab.text import CharTokenizer
    from asrlab.train import FeatureFrontend

    task = assignment.task("test_trained_cer")
    assert task.evaluate_source == assignment.task("test_trained_wer").evaluate_source
    recipe: Dict[str, Any] = {}
    exec(task.evaluate_source, recipe)
    torch.manual_seed(0)
    model = RNNTModel(80, 29, 28, encoder_dim=16, encoder_layers=1, predictor_dim=16, joint_dim=16).eval()
    rng = np.random.default_rng(0)
    waves = [rng.normal(scale=0.1, size=n).astype(np.float32) for n in (8000, 16000, 12000)]
    with torch.no_grad():
        got = recipe["evaluate"](model, waves, "cpu")
        want = []
        for wav in waves:
            feats, lengths = FeatureFrontend(LogMel()).eval()(
                {"waveform": torch.as_tensor(wav)[None], "waveform_lengths": torch.tensor([len(wav)])}, "cpu")
            enc, enc_lengths = model.encoder(feats, lengths)
            want.append(CharTokenizer().decode(rnnt_greedy_search(enc, enc_lengths, model.predictor, model.joiner,
                                                                  blank=28)[0]))
    assert got == want
    assert any(got), "the test model should say something"


def test_training_cells_are_skipped_in_the_sandbox(assignment):
    """Every cell that makes or reads the corpus, trains or uses the trained model is skipped in grading."""
    nb = json.loads(SOLUTION.read_text())
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]]
    skipped = set(assignment.task("test_trained_cer").skip_cells)
    assert skipped == set(assignment.task("test_trained_wer").skip_cells)
    assert skipped <= set(ids)
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        gid = cell["metadata"]["nbgrader"]["grade_id"]
        if cell["cell_type"] == "code" and any(k in src for k in ("course.librispeech", "train_set", "dev_set",
                                                                   "trainer.fit", "test_set")):
            assert gid in skipped or cell["metadata"]["nbgrader"].get("grade"), gid


# ----------------------------------------------------------------------------- the nbgrader path (slow)
@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path, monkeypatch):
    """generate_assignment reproduces the committed release; nbgrader autograde gives the filled-in release,
    submitted with the checkpoint the solution trained, full marks (the training cell loads the checkpoint
    instead of retraining within nbgrader's 30 s per cell) and the blank release 0. Trains once under the
    reduced budget: minutes."""
    from asrlab_grade.validate import execute_solution

    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    trained = tmp_path / "trained"
    assert execute_solution(ROOT / "solutions" / "rnnt", trained, ["rnnt.ipynb"]) == []
    checkpoint = trained / "rnnt_model.pt"
    assert checkpoint.is_file(), "the training cell did not save rnnt_model.pt"

    def add(folder: Path) -> None:
        (folder / "rnnt_model.pt").write_bytes(checkpoint.read_bytes())

    scores = nbgrader_round_trip(tmp_path, "rnnt", add)
    graded = json.loads((tmp_path / "course" / "autograded" / "full" / "rnnt" / "rnnt.ipynb").read_text())
    outputs = "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                      for c in graded["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert "loaded rnnt_model.pt (not retraining" in outputs
    assert scores == {"full": release_points("rnnt"), "blank": 0.0}
