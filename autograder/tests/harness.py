"""What the assignment tests share: run a solution's answer cells, mutate them, score them like the grader,
and round-trip an assignment through plain nbgrader.

Usage (in ``test_<assignment>_assignment.py``)::

    from harness import ROOT, answer_sources, namespace, nbgrader_round_trip, score

    sources = answer_sources("ctc", CELLS)                          # grade_id -> source, markers removed
    ns = namespace(sources, CELLS, greedy_answer=("old", "new"))    # a mutated solution
    passed, total = score(Course(ROOT).load_assignment("ctc"), "test_greedy", ns)

Scoring is in-process (no sandbox): each case goes through the task's adapter and the wire encoding and
is compared with the trusted reference exactly as the grader does; ``asrlab-grade validate`` covers the
sandboxed path.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from asrlab_grade.course_folder import Course
from asrlab_grade.inkernel import run_cases
from asrlab_grade.notebook import graded_cells, manual_cells
from asrlab_grade.samples import filled_release, solution_answers

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else source


def solution_notebook(name: str) -> Path:
    return ROOT / "solutions" / name / f"{name}.ipynb"


def answer_sources(name: str, cells: Iterable[str]) -> Dict[str, str]:
    """Sources of the solution notebook's cells ``cells`` (by grade_id), solution markers removed."""
    wanted = set(cells)
    out = {}
    for cell in json.loads(solution_notebook(name).read_text())["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in wanted:
            out[gid] = "\n".join(line for line in _text(cell["source"]).split("\n")
                                 if not any(m in line for m in SOLUTION_MARKERS))
    missing = wanted - set(out)
    assert not missing, f"{name}: no cells with grade_id {sorted(missing)}"
    return out


def namespace(sources: Mapping[str, str], cells: Sequence[str], **replace: Tuple[str, ...]) -> Dict[str, Any]:
    """Run ``cells`` in order in a fresh namespace; ``replace[cell] = (old, new, old2, new2, ...)`` edits a
    cell first, and every ``old`` must occur (a mutation that no longer applies is a test bug)."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # answer cells may import pyplot
    ns: Dict[str, Any] = {"__name__": "notebook"}
    for gid in cells:
        src = sources[gid]
        edits = replace.get(gid, ())
        for old, new in zip(edits[::2], edits[1::2]):
            assert old in src, f"mutation target not found in {gid}: {old!r}"
            src = src.replace(old, new)
        exec(compile(src, f"<{gid}>", "exec"), ns)
    return ns


def score_cases(assignment, grade_id: str, ns: Dict[str, Any], seed: int = 7) -> Tuple[int, int, str]:
    """(passed cases, total cases, first failure message) of one function task for the names in ``ns``."""
    return run_cases(assignment.task(grade_id), ns, seed)


def score(assignment, grade_id: str, ns: Dict[str, Any], seed: int = 7) -> Tuple[int, int]:
    """(passed cases, total cases) of one function task for the names defined in ``ns``."""
    return score_cases(assignment, grade_id, ns, seed)[:2]


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASRLAB_BUDGET": os.environ.get("ASRLAB_BUDGET", "ci")}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=1800, env=env)


def release_points(name: str) -> float:
    """The release's automatic points (written answers, graded by hand, excluded)."""
    nb = json.loads((ROOT / "assignments" / name / f"{name}.ipynb").read_text())
    return float(sum(points for _, points in graded_cells(nb)))


def nbgrader_round_trip(tmp_path: Path, name: str,
                        add_files: Optional[Callable[[Path], None]] = None) -> Dict[str, float]:
    """Check that ``nbgrader generate_assignment`` reproduces the committed release, then autograde with plain
    nbgrader the release filled with the solution's answers ("full") and the blank release ("blank");
    ``add_files(folder)`` puts extra files (checkpoints) into each submission folder. Returns the scores.

    The filled release also holds the model answers of the written questions: nbgrader must leave them to
    manual grading (no score yet), and score the blank release's untouched written cells 0 without a look."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name, ignore=shutil.ignore_patterns("*.pt"))
    res = nbgrader(course, "generate_assignment", name, "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    fresh = json.loads((course / "assignments" / name / f"{name}.ipynb").read_text())
    committed = json.loads((ROOT / "assignments" / name / f"{name}.ipynb").read_text())
    assert [c["source"] for c in fresh["cells"]] == [c["source"] for c in committed["cells"]], \
        f"the committed release is stale: run nbgrader generate_assignment {name}"

    filled = filled_release(committed, solution_answers(Course(ROOT), name))
    for student, nb in (("full", filled), ("blank", committed)):
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
        if add_files is not None:
            add_files(folder)
    res = nbgrader(course, "autograde", name, "--create", "--force", "--Execute.timeout=900")
    assert res.returncode == 0, res.stderr[-2000:]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for gid, _ in manual_cells(committed):
            full, blank = (gb.find_grade(gid, name, name, s) for s in ("full", "blank"))
            assert full.needs_manual_grade and full.auto_score is None, f"{gid}: nbgrader graded a written answer"
            assert not blank.needs_manual_grade and blank.auto_score == 0, f"{gid}: a blank written answer"
        return {student: gb.find_submission(name, student).score for student in ("full", "blank")}
