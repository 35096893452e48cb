"""The hidden tasks of the ``ctc`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox): the solution notebook's answer cells are executed, then mutated one idea
at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. ``asrlab-grade validate ctc``
covers the sandboxed path (solution full marks, blank release 0).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from asrlab_grade import wire
from asrlab_grade.course import Course

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "ctc" / "ctc.ipynb"

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no ctc solution notebook")

# Cells that define the helpers and answers (figures, checks and the demo are not needed).
CELLS = ("setup_helpers", "ctc_forward_answer", "ctc_backward_answer", "soft_alignment_answer", "greedy_answer",
         "lm_helper", "beam_answer")


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("ctc")


@pytest.fixture(scope="module")
def sources() -> Dict[str, str]:
    nb = json.loads(SOLUTION.read_text())
    out = {}
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in CELLS:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            out[gid] = "\n".join(line for line in src.split("\n") if "### BEGIN SOLUTION" not in line
                                  and "### END SOLUTION" not in line)
    assert set(out) == set(CELLS)
    return out


def namespace(sources: Dict[str, str], **replace: tuple) -> Dict[str, Any]:
    """Run the answer cells; ``replace[cell] = (old, new, ...)`` pairs edit a cell first (each must match)."""
    ns: Dict[str, Any] = {"__name__": "ctc_notebook"}
    for gid in CELLS:
        src = sources[gid]
        edits = replace.get(gid, ())
        for old, new in zip(edits[::2], edits[1::2]):
            assert old in src, f"mutation target not found in {gid}: {old!r}"
            src = src.replace(old, new)
        exec(compile(src, f"<{gid}>", "exec"), ns)
    return ns


def score(assignment, grade_id: str, ns: Dict[str, Any], seed: int = 7) -> tuple:
    """(passed cases, total cases) of one task for the functions in ``ns``."""
    task = assignment.task(grade_id)
    cases = task.cases(np.random.default_rng(seed))
    adapt = None
    if task.adapter:
        recipe: Dict[str, Any] = {}
        exec(task.adapter, recipe)
        adapt = recipe["adapt"]
    passed = 0
    for case in cases:
        fn = ns[task.call]
        try:
            got = adapt(fn, *case.args, **case.kwargs) if adapt else fn(*case.args, **case.kwargs)
            got = wire.decode(wire.encode(got))
        except Exception:  # noqa: BLE001 - a crash is a failed case
            continue
        passed += task.compare(got, task.reference(*case.args, **case.kwargs)).ok
    return passed, len(cases)


@pytest.mark.parametrize("grade_id", ["test_ctc_forward", "test_ctc_backward", "test_soft_alignment",
                                      "test_greedy", "test_beam_search"])
def test_solution_passes_every_case(assignment, sources, grade_id):
    passed, total = score(assignment, grade_id, namespace(sources))
    assert passed == total


WRONG = {
    "forward: emission of the previous frame": ("test_ctc_forward", {"ctc_forward_answer": (
        "+ emit[:, t]\n", "+ emit[:, t - 1]\n")}),
    "forward: no repeated-label rule": ("test_ctc_forward", {"ctc_forward_answer": (
        "(ext[2:] != blank) & (ext[2:] != ext[:-2])", "(ext[2:] != blank)")}),
    "forward: starts only in the blank": ("test_ctc_forward", {"ctc_forward_answer": (
        "alpha[:2, 0] = emit[:2, 0]", "alpha[0, 0] = emit[0, 0]")}),
    "forward: probabilities returned": ("test_ctc_forward", {"ctc_forward_answer": (
        "emit[:, t]\n    return alpha", "emit[:, t]\n    return np.exp(alpha)")}),
    "forward: probability domain (underflows)": ("test_ctc_forward", {"ctc_forward_answer": (
        "alpha[:, t] = np.logaddexp(np.logaddexp(prev, from_prev), from_skip) + emit[:, t]",
        "alpha[:, t] = np.log(np.exp(prev) + np.exp(from_prev) + np.exp(from_skip)) + emit[:, t]\n"
        "        alpha[:, t] = np.log(np.exp(alpha[:, t]).astype(np.float32))")}),
    "backward: emission of frame t included": ("test_ctc_backward", {"ctc_backward_answer": (
        "beta[s, t] = np.logaddexp.reduce(terms)", "beta[s, t] = np.logaddexp.reduce(terms) + log_probs[t, ext[s]]")}),
    "backward: no repeated-label rule": ("test_ctc_backward", {"ctc_backward_answer": (
        "ext[s + 2] != blank and ext[s + 2] != ext[s]", "ext[s + 2] != blank")}),
    "backward: emissions of frame t instead of t+1": ("test_ctc_backward", {"ctc_backward_answer": (
        "log_probs[t + 1, ext[s]]", "log_probs[t, ext[s]]", "log_probs[t + 1, ext[s + 1]]", "log_probs[t, ext[s + 1]]",
        "log_probs[t + 1, ext[s + 2]]", "log_probs[t, ext[s + 2]]")}),
    "backward: ends only in the final blank": ("test_ctc_backward", {"ctc_backward_answer": (
        "beta[-2:, -1] = 0.0", "beta[-1, -1] = 0.0")}),
    "alignment: not divided by P(labels)": ("test_soft_alignment", {"soft_alignment_answer": (
        "alpha + beta - log_z", "alpha + beta")}),
    "alignment: log-probabilities returned": ("test_soft_alignment", {"soft_alignment_answer": (
        "np.exp(alpha + beta - log_z)", "alpha + beta - log_z")}),
    "alignment: normalised over all cells": ("test_soft_alignment", {"soft_alignment_answer": (
        "return np.exp(alpha + beta - log_z)", "g = np.exp(alpha + beta)\n    return g / g.sum()")}),
    "greedy: repeats not merged": ("test_greedy", {"greedy_answer": (
        "if c != previous and c != blank:", "if c != blank:")}),
    "greedy: blanks dropped before merging": ("test_greedy", {"greedy_answer": (
        "        previous = c\n", "        previous = c if c != blank else previous\n")}),
    "beam: LM ignored": ("test_beam_search", {"beam_answer": (
        "alpha * lm_log_prob(lm, w, words[:k])", "0.0")}),
    "beam: no word bonus": ("test_beam_search", {"beam_answer": ("+ beta\n", "\n")}),
    "beam: no </s> at the end": ("test_beam_search", {"beam_answer": (
        "total += alpha * lm_log_prob(lm, \"</s>\", words)", "pass")}),
    "beam: repeat merged even after a blank": ("test_beam_search", {"beam_answer": (
        "bump(prefix + (c,), 1, p_b + y[c])", "pass")}),
    "beam: last word never scored": ("test_beam_search", {"beam_answer": (
        "                words = text.split()\n", "                words = [w for w in text.split(\" \")[:-1] if w]\n")}),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(WRONG))
def test_plausible_wrong_answers_lose_points(assignment, sources, name):
    grade_id, edits = WRONG[name]
    passed, total = score(assignment, grade_id, namespace(sources, **edits))
    assert passed < total, f"{name}: every case passed"


LOOP_FORWARD = '''
def ctc_forward(log_probs, labels, blank=BLANK):
    log_probs = np.asarray(log_probs, dtype=np.float64)
    ext = [blank]
    for l in labels:
        ext += [int(l), blank]
    S, T = len(ext), len(log_probs)
    alpha = np.full((S, T), -1e30)              # a large negative number instead of -inf
    for s in range(min(2, S)):
        if T:
            alpha[s, 0] = log_probs[0, ext[s]]
    for t in range(1, T):
        for s in range(S):
            acc = alpha[s, t - 1]
            if s >= 1:
                acc = np.logaddexp(acc, alpha[s - 1, t - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                acc = np.logaddexp(acc, alpha[s - 2, t - 1])
            alpha[s, t] = acc + log_probs[t, ext[s]]
    return alpha
'''

TORCH_BACKWARD = '''
def ctc_backward(log_probs, labels, blank=BLANK):
    import torch
    lp = torch.as_tensor(np.asarray(log_probs, dtype=np.float64))
    ext = torch.as_tensor(extended_labels(np.asarray(labels), blank))
    S, T = len(ext), lp.shape[0]
    skip = torch.zeros(S, dtype=torch.bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    beta = torch.full((S, T), float("-inf"), dtype=torch.float64)
    beta[-2:, -1] = 0.0
    for t in range(T - 2, -1, -1):
        nxt = beta[:, t + 1] + lp[t + 1, ext]
        cand = torch.full((3, S), float("-inf"), dtype=torch.float64)
        cand[0] = nxt
        cand[1, :-1] = nxt[1:]
        cand[2, :-2] = torch.where(skip[2:], nxt[2:], torch.tensor(float("-inf"), dtype=torch.float64))
        beta[:, t] = torch.logsumexp(cand, dim=0)
    return beta                                  # a float64 tensor is accepted too
'''


def test_correct_alternatives_pass(assignment, sources):
    ns = namespace(sources)
    exec(LOOP_FORWARD, ns)
    assert score(assignment, "test_ctc_forward", ns) == score(assignment, "test_ctc_forward", namespace(sources))
    exec(TORCH_BACKWARD, ns)
    passed, total = score(assignment, "test_ctc_backward", ns)
    assert passed == total
    ns = namespace(sources, soft_alignment_answer=(
        "return np.exp(alpha + beta - log_z)", "g = np.exp(alpha + beta - alpha.max())\n    return g / g.sum(axis=0)"))
    passed, total = score(assignment, "test_soft_alignment", ns)
    assert passed == total
    ns = namespace(sources, greedy_answer=("previous = c\n    return out", "previous = c\n    return np.array(out, dtype=np.int32)"))
    passed, total = score(assignment, "test_greedy", ns)
    assert passed == total


# ----------------------------------------------------------------------------- the nbgrader path (slow)
def _nbgrader(course: Path, *args: str):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path):
    """generate_assignment reproduces the committed release; nbgrader autograde gives the filled-in
    release full marks and the blank release 0."""
    import shutil

    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / "ctc", course / "solutions" / "ctc")
    res = _nbgrader(course, "generate_assignment", "ctc", "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    fresh = json.loads((course / "assignments" / "ctc" / "ctc.ipynb").read_text())
    committed = json.loads((ROOT / "assignments" / "ctc" / "ctc.ipynb").read_text())
    assert [c["source"] for c in fresh["cells"]] == [c["source"] for c in committed["cells"]], \
        "the committed release is stale: run nbgrader generate_assignment ctc"

    solution = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in json.loads(SOLUTION.read_text())["cells"]}
    filled = json.loads(json.dumps(committed))
    for cell in filled["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            src = solution[meta["grade_id"]]
            src = "".join(src) if isinstance(src, list) else src
            cell["source"] = "\n".join(line for line in src.split("\n") if "SOLUTION" not in line)
    for student, nb in (("full", filled), ("blank", committed)):
        folder = course / "submitted" / student / "ctc"
        folder.mkdir(parents=True)
        (folder / "ctc.ipynb").write_text(json.dumps(nb))
    res = _nbgrader(course, "autograde", "ctc", "--create", "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission("ctc", "full").score == 12.0
        assert gb.find_submission("ctc", "blank").score == 0.0
