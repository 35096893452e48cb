"""Sample submissions of an assignment, for trying the grader: the solution, the blank release, and variants.

Usage::

    from asrlab_grade.samples import write_samples
    write_samples(course, "ctc", Path("demo/submitted"), variants={
        "wrong": {"greedy_answer": ("if c != previous and c != blank:", "if c != blank:")},
    })
    # demo/submitted/{solution,blank,wrong}/ctc/ctc.ipynb

A variant is the solution with text replaced in named answer cells (``grade_id -> (old, new)``); a
replacement that does not apply is an error, so samples never silently equal the solution.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

from .course_folder import Course, CourseError
from .notebook import cell_source, is_answer, is_written_answer, nbgrader_meta

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def solution_answers(course: Course, name: str) -> Dict[str, str]:
    """grade_id -> the source notebook's answer-cell code, solution markers removed, and its written answers
    (model answer and rubric, the text a person grades)."""
    answers = {}
    for src in sorted(course.source_dir(name).glob("*.ipynb")):
        for cell in json.loads(src.read_text())["cells"]:
            if is_answer(cell) or is_written_answer(cell):
                lines = cell_source(cell).split("\n")
                answers[nbgrader_meta(cell)["grade_id"]] = "\n".join(
                    line for line in lines if not any(m in line for m in SOLUTION_MARKERS))
    return answers


def filled_release(release: dict, answers: Mapping[str, str]) -> dict:
    """A copy of the release notebook with ``answers`` (grade_id -> code or written text) in its answer cells."""
    nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:
        if (is_answer(cell) or is_written_answer(cell)) and nbgrader_meta(cell)["grade_id"] in answers:
            cell["source"] = answers[nbgrader_meta(cell)["grade_id"]]
    return nb


def write_samples(course: Course, name: str, out: Path,
                  variants: Mapping[str, Mapping[str, Tuple[str, str]]] = ()) -> List[Path]:
    """Write ``out/<student>/<name>/<notebook>`` for "solution", "blank" and each variant; returns the
    student folders."""
    answers = solution_answers(course, name)
    students = {"solution": answers, "blank": {}}
    for student, edits in dict(variants).items():
        changed = dict(answers)
        for grade_id, (old, new) in edits.items():
            if old not in changed.get(grade_id, ""):
                raise CourseError(f"sample {student!r}: {old!r} is not in answer cell {grade_id!r} of {name}")
            changed[grade_id] = changed[grade_id].replace(old, new)
        students[student] = changed
    folders = []
    for student, chosen in students.items():
        folder = out / student / name
        folder.mkdir(parents=True, exist_ok=True)
        for release in course.release_notebooks(name):
            nb = filled_release(json.loads(release.read_text()), chosen)
            (folder / release.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        folders.append(folder.parent)
    return folders
