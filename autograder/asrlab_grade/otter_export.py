"""Export an assignment to otter-grader: an otter-assign master notebook built from the nbgrader source.

Usage::

    asrlab-grade export otter ctc                 # otter/ctc/ctc.ipynb (+ otter assign -> otter/ctc/dist/)

The master notebook keeps every cell of ``solutions/<a>/<a>.ipynb`` in order. Each graded test cell becomes
an otter question named by its ``grade_id`` with the nbgrader points; the answer cells since the previous
question are its solution (``### BEGIN SOLUTION`` regions become otter's ``# BEGIN SOLUTION``), and the test
cell becomes two exception-based test cases run in the notebook's global environment: the public part (0
points: what ``grader.check`` shows a student) and the whole cell, hidden tests included, for all the
points (nbgrader's all-or-nothing cell). A written answer (a manually graded markdown answer cell) becomes an
otter manual question (``manual: true``, its points) whose prompt is the markdown cell just before it and whose
solution is the answer cell (model answer and rubric); otter assign keeps it out of the autograder's tests.

otter's own format choices that this relies on: exception-based test files (``tests: {ok_format: false,
files: true}``), since otter's doctest format compares printed output with saved outputs and runs each case
on a copy of the globals; test files next to the notebook under ``tests/``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence

from .course_folder import Course, CourseError
from .notebook import cell_source, is_answer, is_graded_test, is_written_answer, nbgrader_meta
from .release import build_wheel

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
GRADER_PACKAGE = "asrlab_grade"
# Where otter's image build finds the autograder zip's extra files (``autograder_files``).
OTTER_FILES_DIR = "/autograder/source/files"


def _raw(text: str) -> Dict[str, Any]:
    return {"cell_type": "raw", "metadata": {}, "source": text}


def _code(text: str) -> Dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": text}


def public_part(source: str) -> str:
    """The test cell without its hidden region."""
    lines, hidden = [], False
    for line in source.split("\n"):
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def _test_case(name: str, source: str, hidden: bool) -> Dict[str, Any]:
    """An otter exception-based test cell: one function that runs ``source`` in the notebook's globals."""
    marker = "# HIDDEN\n" if hidden else ""
    return _code(f"{marker}def {name}(env):\n    exec(compile({source!r}, {name!r}, 'exec'), env)\n")


def otter_solution(source: str) -> str:
    """nbgrader's solution markers in otter's spelling."""
    return source.replace("### BEGIN SOLUTION", "# BEGIN SOLUTION").replace("### END SOLUTION", "# END SOLUTION")


def question_cells(grade_id: str, points: float, answers: List[Dict[str, Any]], test: str) -> List[Dict[str, Any]]:
    cells = [_raw(f"# BEGIN QUESTION\nname: {grade_id}\npoints: [0, {points:g}]")]
    if answers:
        cells += [_raw("# BEGIN SOLUTION"), *(_code(otter_solution(cell_source(a))) for a in answers),
                  _raw("# END SOLUTION")]
    cells += [_raw("# BEGIN TESTS"), _test_case(f"{grade_id}_public", public_part(test), hidden=False),
              _test_case(grade_id, test, hidden=True), _raw("# END TESTS"), _raw("# END QUESTION")]
    return cells


def manual_question_cells(grade_id: str, points: float, prompt: List[Dict[str, Any]], answer: Dict[str, Any]
                          ) -> List[Dict[str, Any]]:
    """An otter manual question: the prompt cells (the question), then the written answer as its solution."""
    return [_raw(f"# BEGIN QUESTION\nname: {grade_id}\nmanual: true\npoints: {points:g}"), *prompt,
            _raw("# BEGIN SOLUTION"), {**answer, "metadata": {}}, _raw("# END SOLUTION"), _raw("# END QUESTION")]


def master_notebook(source_nb: Dict[str, Any], name: str, requirements: str,
                    autograder_files: Sequence[str] = ()) -> Dict[str, Any]:
    """The otter-assign master notebook of an nbgrader source notebook (``autograder_files``: files, relative to
    the master notebook, that otter puts into the autograder zip under ``files/``)."""
    config = (f"# ASSIGNMENT CONFIG\nname: {name}\nrequirements: {requirements}\n"
              "tests:\n  files: true\n  ok_format: false\nexport_cell: false\ncheck_all_cell: false\n")
    if autograder_files:
        config += "autograder_files:\n" + "".join(f"  - {f}\n" for f in autograder_files)
    cells: List[Dict[str, Any]] = [_raw(config)]
    pending: List[Dict[str, Any]] = []
    for cell in source_nb["cells"]:
        meta = nbgrader_meta(cell)
        if is_graded_test(cell):
            cells += question_cells(meta["grade_id"], float(meta.get("points", 0)), pending, cell_source(cell))
            pending = []
        elif is_answer(cell):
            pending.append(cell)
        elif is_written_answer(cell):   # its question is the markdown cell before it, when there is one
            prompt = [cells.pop()] if cells[-1]["cell_type"] == "markdown" else []
            cells += manual_question_cells(meta["grade_id"], float(meta.get("points", 0)), prompt, cell)
        else:
            cells.append({**cell, "metadata": {}})
    if pending:
        raise CourseError(f"{name}: answer cells {[nbgrader_meta(c)['grade_id'] for c in pending]} have no graded "
                          "test cell after them")
    for cell in cells:
        if cell["cell_type"] == "code":
            cell.update(outputs=[], execution_count=None)
    return {**source_nb, "cells": cells}


def export_otter(course: Course, name: str, out: Path, package: str, run_assign: bool = True) -> List[str]:
    """Write ``out/<name>.ipynb`` (+ requirements.txt) and, when ``run_assign``, run ``otter assign`` into
    ``out/dist``; returns lines for the instructor."""
    course.check_assignment_source(name)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    sources = {src: json.loads(src.read_text()) for src in sorted(course.source_dir(name).glob("*.ipynb"))}
    requirements = [package]
    carried: List[str] = []
    if any(GRADER_PACKAGE in cell_source(c) for nb in sources.values() for c in nb["cells"]):
        # hidden tests that call the grader (asrlab_grade.inkernel): its wheel travels in the autograder zip,
        # which otter unpacks into /autograder/source/files/ before installing the requirements
        wheel = build_wheel(course.root / "autograder", out)
        carried.append(wheel.name)
        requirements.append(f"{OTTER_FILES_DIR}/{wheel.name}")
        lines.append(f"grader wheel for the hidden tests (keep the autograder zip private): {wheel}")
    for src, nb in sources.items():
        master = master_notebook(nb, name, "requirements.txt", carried)
        (out / src.name).write_text(json.dumps(master, indent=1, ensure_ascii=False) + "\n")
        lines.append(f"otter master notebook: {out / src.name}")
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    if run_assign:
        if shutil.which("otter") is None:
            raise CourseError("otter is not installed: pip install otter-grader (or pass --no-assign)")
        dist = out / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        for src in sorted(out.glob("*.ipynb")):
            res = subprocess.run(["otter", "assign", "--no-pdfs", "--no-run-tests", src.name, "dist"],
                                 cwd=out, capture_output=True, text=True)
            if res.returncode != 0:
                raise CourseError(f"otter assign {src.name} failed:\n{(res.stdout + res.stderr)[-3000:]}")
        lines.append(f"otter assign: student notebook in {dist / 'student'}, autograder in {dist / 'autograder'}")
    return lines
