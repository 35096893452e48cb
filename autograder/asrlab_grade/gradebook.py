"""Writing scores into nbgrader's gradebook so formgrader, feedback and export work as usual.

Autograded test cells get their ``auto_score`` and need no manual grade. Written answers (manually graded
cells) are recorded as nbgrader's own autograde records them: no ``auto_score`` and flagged for manual
grading in formgrader, except an answer left as the release's stub, which scores 0 as in nbgrader.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Sequence

from .notebook import graded_cells, manual_cells, nbgrader_meta


def _create_cells(gb: Any, assignment: str, nb_name: str, nb: Dict[str, Any]) -> None:
    """The notebook's grade cells (test cells and written answers) and the written answers' solution cells."""
    for gid, points in graded_cells(nb):
        gb.update_or_create_grade_cell(gid, nb_name, assignment, max_score=points, cell_type="code")
    types = {nbgrader_meta(c).get("grade_id"): c.get("cell_type", "markdown") for c in nb["cells"]}
    for gid, points in manual_cells(nb):
        gb.update_or_create_grade_cell(gid, nb_name, assignment, max_score=points, cell_type=types[gid])
        gb.update_or_create_solution_cell(gid, nb_name, assignment)


def _record(gb: Any, assignment: str, student: str, nb: Dict[str, Any]) -> int:
    """Scores of one graded notebook; returns the number of grades written."""
    nb_name = nb["notebook"][:-len(".ipynb")]
    for t in nb["tasks"]:
        grade = gb.find_grade(t["grade_id"], nb_name, assignment, student)
        grade.auto_score = float(t["points"])
        grade.needs_manual_grade = False
    for m in nb.get("manual", []):
        grade = gb.find_grade(m["grade_id"], nb_name, assignment, student)
        if grade.manual_score is None:  # a person's grade from an earlier run stays
            grade.auto_score = None if m.get("answered", True) else 0.0
            grade.needs_manual_grade = bool(m.get("answered", True))
    return len(nb["tasks"]) + len(nb.get("manual", []))


def write_gradebook(db_url: str, assignment: str, release: Dict[str, Dict[str, Any]],
                    results: Sequence[Dict[str, Any]]) -> int:
    """Create the assignment's notebooks and grade cells if needed, then set every student's ``auto_score``
    per test cell and leave each written answer to formgrader. Returns the number of grades written."""
    from nbgrader.api import Gradebook

    written = 0
    # nbgrader's own session handling warns about autoflush on new submissions; harmless.
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore")
        gb.update_or_create_assignment(assignment)
        for nb_file, nb in release.items():
            nb_name = nb_file[:-len(".ipynb")]
            gb.update_or_create_notebook(nb_name, assignment)
            _create_cells(gb, assignment, nb_name, nb)
        for r in results:
            if r.get("grader_error"):
                continue  # leave the gradebook untouched rather than record a false 0
            gb.update_or_create_student(r["student"])
            gb.update_or_create_submission(assignment, r["student"])
            for nb in r.get("notebooks", []):
                written += _record(gb, assignment, r["student"], nb)
            gb.db.commit()
    return written
