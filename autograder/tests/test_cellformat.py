"""The lint that keeps every source notebook in one cell format (lists of lines, stable ids, nbgrader metadata)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asrlab_grade.cellformat import format_problems
from asrlab_grade.course_folder import Course
from asrlab_grade.validate import lint
from conftest import DEMO_COURSE

ROOT = Path(__file__).resolve().parents[2]
# Notebook assignments' sources (a project assignment's demo notebook is part of its project, not an nbgrader source).
SOURCES = sorted(p for p in (ROOT / "solutions").glob("*/*.ipynb") if not (p.parent / "PROJECT").is_file())


def _cell(source, cell_id: str, grade_id: str = "", cell_type: str = "code") -> dict:
    meta = {"nbgrader": {"grade_id": grade_id, "grade": False, "solution": False, "locked": True}} if grade_id else {}
    cell = {"cell_type": cell_type, "metadata": meta, "source": source, "id": cell_id}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _nb(*cells) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_a_clean_notebook_has_no_problems():
    nb = _nb(_cell(["import numpy as np\n", "x = 1"], "setup", "setup"), _cell(["# Title"], "intro", cell_type="markdown"),
             _cell([], "empty", "empty"))
    assert format_problems(nb, "a.ipynb") == []


def test_a_single_string_source_is_reported_with_the_fix():
    nb = _nb(_cell(["x = 1\n", "y = 2"], "one", "one"), _cell("x = 1\ny = 2", "two", "two"))
    assert format_problems(nb, "a.ipynb") == [
        "a.ipynb: cell 1 (two) stores its source as one string; store sources as lists of lines (json.dumps of the "
        "cell with source=text.splitlines(True), or read and write the notebook with nbformat)"]


def test_lists_that_are_not_one_line_per_item_are_reported():
    nb = _nb(_cell(["x = 1\ny = 2\n", "z = 3"], "one", "one"), _cell(["x = 1", "y = 2"], "two", "two"))
    problems = format_problems(nb, "a.ipynb")
    assert len(problems) == 2 and all("items are not single lines" in p for p in problems)


def test_missing_and_repeated_ids_and_code_cells_without_nbgrader_metadata_are_reported():
    nb = _nb(_cell(["x = 1"], "", "setup"), _cell(["y = 2"], "same", "a"), _cell(["z = 3"], "same", "b"),
             _cell(["w = 4"], "plain"))
    problems = "\n".join(format_problems(nb, "a.ipynb"))
    assert "cell 0 (setup) has no id" in problems
    assert "cell 2 (b) has the id 'same' of cell 1" in problems
    assert "code cell 3 has no nbgrader metadata with a grade_id" in problems


def test_a_notebook_older_than_nbformat_4_5_is_reported():
    nb = {**_nb(_cell(["x = 1"], "setup", "setup")), "nbformat_minor": 4}
    assert "nbformat 4.4 has no cell ids" in format_problems(nb, "a.ipynb")[0]


@pytest.mark.parametrize("path", SOURCES, ids=[p.parent.name for p in SOURCES])
def test_every_source_notebook_is_in_the_course_format(path: Path):
    assert format_problems(json.loads(path.read_text()), path.name) == []


def test_validate_lint_reports_a_source_with_a_single_string_cell(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, course, ignore=shutil.ignore_patterns("gradebook.db", "__pycache__"))
    assert lint(Course(course), "demo") == []
    src = course / "solutions" / "demo" / "demo.ipynb"
    nb = json.loads(src.read_text())
    nb["cells"][1]["source"] = "".join(nb["cells"][1]["source"])
    src.write_text(json.dumps(nb, indent=1))
    problems = lint(Course(course), "demo")
    assert len(problems) == 1 and problems[0].startswith("demo.ipynb: cell 1 (") and "as one string" in problems[0]
