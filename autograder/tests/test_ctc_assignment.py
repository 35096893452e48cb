"""The hidden tasks of the ``ctc`` assignment catch plausible wrong answers and accept correct alternatives.

Fast and in-process (no sandbox): the solution notebook's answer cells are executed, then mutated one idea
at a time; each variant is called on the task's cases (adapters included, results sent through the wire
encoding) and compared with the trusted references exactly as the grader does. ``asrlab-grade validate ctc``
covers the sandboxed path (solution full marks, blank release 0).
"""
from __future__ import annotations

import re
import shutil

import pytest

from asrlab_grade.course_folder import Course
from harness import ROOT, answer_sources, nbgrader_round_trip, score, solution_notebook
from harness import namespace as run_cells

SOLUTION = solution_notebook("ctc")

pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="no ctc solution notebook")

# Cells that define the helpers and answers (figures, checks and the demo are not needed).
CELLS = ("setup_helpers", "ctc_forward_answer", "ctc_backward_answer", "soft_alignment_answer", "greedy_answer",
         "lm_helper", "beam_answer")


@pytest.fixture(scope="module")
def assignment():
    return Course(ROOT).load_assignment("ctc")


@pytest.fixture(scope="module")
def sources():
    return answer_sources("ctc", CELLS)


def namespace(sources, **replace):
    return run_cells(sources, CELLS, **replace)


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
    "beam: a repeat never merged": ("test_beam_search", {"beam_answer": ("elif c == last:", "elif False:")}),
    "beam: a repeat extends from p_b + p_nb": ("test_beam_search", {"beam_answer": (
        "bump(prefix + (c,), 1, p_b + y[c])", "bump(prefix + (c,), 1, p_all + y[c])")}),
    "beam: a repeat stays from p_b + p_nb": ("test_beam_search", {"beam_answer": (
        "bump(prefix, 1, p_nb + y[c])", "bump(prefix, 1, p_all + y[c])")}),
    "beam: min_prob ignored": ("test_beam_search", {"beam_answer": ("if y[c] >= log_min]", "]")}),
    "beam: min_prob relative to the best class": ("test_beam_search", {"beam_answer": (
        "if y[c] >= log_min]", "if y[c] >= log_min + y.max()]")}),
    "beam: no class passes min_prob -> blank": ("test_beam_search", {"beam_answer": (
        "or [int(np.argmax(y))]", "or [BLANK]")}),
    "beam: no class passes min_prob -> every class": ("test_beam_search", {"beam_answer": (
        "or [int(np.argmax(y))]", "or list(range(len(y)))")}),
    "beam: empty words from extra spaces scored": ("test_beam_search", {"beam_answer": (
        "words = text.split()\n", "words = text.split(\" \")\n",
        "[w for w in text.split(\" \")[:-1] if w]", "text.split(\" \")[:-1]")}),
    "beam: LM history without <s>": ("test_beam_search", {"lm_helper": (
        "[\"<s>\", *history]", "list(history)")}),
    "beam: </s> not weighted by alpha": ("test_beam_search", {"beam_answer": (
        "total += alpha * lm_log_prob(lm, \"</s>\", words)", "total += lm_log_prob(lm, \"</s>\", words)")}),
    "beam: LM in log10": ("test_beam_search", {"lm_helper": ("LN10 * lm.score", "lm.score")}),
    "beam: word bonus only with the LM on": ("test_beam_search", {"beam_answer": (
        "+ beta\n", "+ (beta if alpha else 0.0)\n")}),
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


PROBABILITY_DOMAIN = '''
def ctc_forward(log_probs, labels, blank=BLANK):
    probs = np.exp(np.asarray(log_probs, dtype=np.float64))
    ext = extended_labels(np.asarray(labels), blank)
    S, T = len(ext), len(probs)
    alpha = np.zeros((S, T))
    alpha[:2, 0] = probs[0, ext[:2]]
    for t in range(1, T):
        for s in range(S):
            acc = alpha[s, t - 1] + (alpha[s - 1, t - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                acc += alpha[s - 2, t - 1]
            alpha[s, t] = acc * probs[t, ext[s]]
    with np.errstate(divide="ignore"):
        return np.log(alpha)


def ctc_backward(log_probs, labels, blank=BLANK):
    probs = np.exp(np.asarray(log_probs, dtype=np.float64))
    ext = extended_labels(np.asarray(labels), blank)
    S, T = len(ext), len(probs)
    beta = np.zeros((S, T))
    beta[-2:, -1] = 1.0
    for t in range(T - 2, -1, -1):
        for s in range(S):
            acc = beta[s, t + 1] * probs[t + 1, ext[s]]
            if s + 1 < S:
                acc += beta[s + 1, t + 1] * probs[t + 1, ext[s + 1]]
            if s + 2 < S and ext[s + 2] != blank and ext[s + 2] != ext[s]:
                acc += beta[s + 2, t + 1] * probs[t + 1, ext[s + 2]]
            beta[s, t] = acc
    with np.errstate(divide="ignore"):
        return np.log(beta)
'''


@pytest.mark.parametrize("grade_id", ["test_ctc_forward", "test_ctc_backward"])
def test_float64_probabilities_fail_several_cases(assignment, sources, grade_id):
    """A recursion in probabilities (float64, logs taken at the end) is right on short trellises and
    underflows on long confident ones: more than one hidden case must see it."""
    ns = namespace(sources)
    exec(PROBABILITY_DOMAIN, ns)
    passed, total = score(assignment, grade_id, ns)
    assert total - passed >= 2, f"only {total - passed} case(s) of {total} failed"


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
@pytest.mark.slow
def test_release_is_fresh_and_plain_nbgrader_grades_it(tmp_path):
    """generate_assignment reproduces the committed release; nbgrader autograde gives the filled-in
    release full marks and the blank release 0."""
    assert nbgrader_round_trip(tmp_path, "ctc") == {"full": 12.0, "blank": 0.0}


# ----------------------------------------------------------------------------- the sandbox
GREEDY_BODY = '    best = np.asarray(log_probs).argmax(axis=1)\n'
PROBE = '''    import os
    import asrlab
    try:
        from asrlab.ctc import reference
        found = "imported " + reference.__name__
    except ImportError as e:
        found = type(e).__name__
    folder = os.path.join(os.path.dirname(asrlab.__file__), "ctc")
    raise RuntimeError(f"probe: {found} {sorted(os.listdir(folder))} {os.path.exists(folder + '/reference.py')}")
'''


def test_asrlab_ctc_is_absent_in_the_sandbox_and_the_rest_is_graded(tmp_path):
    """A submission that reaches for ``asrlab.ctc`` finds an import error and no files; its other
    answers keep their marks."""
    import json

    from asrlab_grade.cli import main
    from asrlab_grade.samples import write_samples

    course = Course(ROOT)
    subs = tmp_path / "subs"
    write_samples(course, "ctc", subs, {"probe": {"greedy_answer": (GREEDY_BODY, PROBE + GREEDY_BODY)}})
    for other in ("solution", "blank"):
        shutil.rmtree(subs / other)
    assert main(["autograde", "ctc", str(subs), "--out", str(tmp_path / "out"), "--course-root", str(ROOT),
                 "--workers", "1", "--no-progress"]) == 0
    result = json.loads(next((tmp_path / "out" / "results").glob("*.json")).read_text())
    tasks = {t["grade_id"]: t for nb in result["notebooks"] for t in nb["tasks"]}
    assert tasks["test_greedy"]["points"] == 0
    assert "probe: ModuleNotFoundError ['__init__.py'] False" in "\n".join(tasks["test_greedy"]["messages"])
    assert result["score"] == result["max_score"] - tasks["test_greedy"]["max_points"]
    assert result["notebooks"][0]["isolation"]["hidden_packages"] == "asrlab.ctc"


def test_asrlab_ctc_stays_out_of_reach_without_the_sandbox(tmp_path):
    """With ``--insecure`` (no bwrap) the audit hook refuses the hidden package instead: the probe
    can neither import ``asrlab.ctc`` nor list its folder, and the other answers keep their marks."""
    import json

    from asrlab_grade.cli import main
    from asrlab_grade.samples import write_samples

    course = Course(ROOT)
    subs = tmp_path / "subs"
    probe = PROBE.split("    folder =")[0] + '    raise RuntimeError(f"probe: {found}")\n'
    write_samples(course, "ctc", subs, {"probe": {"greedy_answer": (GREEDY_BODY, probe + GREEDY_BODY)}})
    for other in ("solution", "blank"):
        shutil.rmtree(subs / other)
    assert main(["autograde", "ctc", str(subs), "--out", str(tmp_path / "out"), "--course-root", str(ROOT),
                 "--workers", "1", "--no-progress", "--insecure"]) == 0
    result = json.loads(next((tmp_path / "out" / "results").glob("*.json")).read_text())
    tasks = {t["grade_id"]: t for nb in result["notebooks"] for t in nb["tasks"]}
    messages = "\n".join(tasks["test_greedy"]["messages"])
    assert tasks["test_greedy"]["points"] == 0
    assert re.search(r"probe: (ModuleNotFoundError|ImportError|PermissionError)", messages), messages
    assert result["score"] == result["max_score"] - tasks["test_greedy"]["max_points"]
