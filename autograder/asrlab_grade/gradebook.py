"""Writing scores into nbgrader's gradebook so formgrader, feedback and export work as usual."""
from __future__ import annotations

import warnings
from typing import Any, Dict, Sequence

from .notebook import graded_cells


def write_gradebook(db_url: str, assignment: str, release: Dict[str, Dict[str, Any]],
                    results: Sequence[Dict[str, Any]]) -> int:
    """Create the assignment's notebooks and grade cells if needed, then set every
    student's ``auto_score`` per test cell. Returns the number of grades written."""
    from nbgrader.api import Gradebook

    written = 0
    # nbgrader's own session handling warns about autoflush on new submissions; harmless.
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore")
        gb.update_or_create_assignment(assignment)
        for nb_file, nb in release.items():
            nb_name = nb_file[:-len(".ipynb")]
            gb.update_or_create_notebook(nb_name, assignment)
            for gid, points in graded_cells(nb):
                gb.update_or_create_grade_cell(gid, nb_name, assignment, max_score=points,
                                               cell_type="code")
        for r in results:
            if r.get("grader_error"):
                continue  # leave the gradebook untouched rather than record a false 0
            gb.update_or_create_student(r["student"])
            gb.update_or_create_submission(assignment, r["student"])
            for nb in r.get("notebooks", []):
                nb_name = nb["notebook"][:-len(".ipynb")]
                for t in nb["tasks"]:
                    grade = gb.find_grade(t["grade_id"], nb_name, assignment, r["student"])
                    grade.auto_score = float(t["points"])
                    written += 1
            gb.db.commit()
    return written
