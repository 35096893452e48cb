"""Written answers: manually graded markdown cells with a model answer and rubric in the source, a stub in the
release, left to a person by the grader, its outputs, the gradebook and the exports."""
from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from asrlab_grade.course_folder import Course
from asrlab_grade.gradebook import write_gradebook
from asrlab_grade.gradescope import instructions, results_json
from asrlab_grade.notebook import (answered_manual_cells, cell_source, graded_cells, is_written_answer, manual_cells,
                                   nbgrader_meta)
from asrlab_grade.otter_export import master_notebook
from asrlab_grade.report import CSV_COLUMNS, feedback_html, feedback_markdown, write_csv
from asrlab_grade.samples import filled_release, solution_answers
from asrlab_grade.validate import lint, written_answer_leaks
from test_gradescope import RESULTS_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ["ctc", "ctc_training", "e2e_mtl", "rnnt", "wav2vec2"]
STUB = "YOUR ANSWER HERE"


def _nb(kind: str, name: str) -> dict:
    return json.loads((ROOT / kind / name / f"{name}.ipynb").read_text())


def _written(nb: dict) -> list:
    return [c for c in nb["cells"] if is_written_answer(c)]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_assignment_has_written_questions_with_points_and_a_rubric(name):
    source = _nb("solutions", name)
    written = _written(source)
    assert 1 <= len(written) <= 2
    assert 2 <= sum(p for _, p in manual_cells(source)) <= 3
    for cell in written:
        meta = nbgrader_meta(cell)
        assert meta["grade_id"].startswith("written_") and meta["points"] > 0 and not meta["locked"]
        assert "**Rubric**" in cell_source(cell) and "point" in cell_source(cell).split("**Rubric**")[1]
        assert "BEGIN SOLUTION" not in cell_source(cell), "markers would make nbgrader keep the rest of the cell"
        question = source["cells"][source["cells"].index(cell) - 1]
        qmeta = nbgrader_meta(question)
        assert question["cell_type"] == "markdown" and qmeta["locked"] and not qmeta["grade"]
        assert f"{meta['points']:g} point" in cell_source(question) and "graded by hand" in cell_source(question)
    assert {g for g, _ in graded_cells(source)}.isdisjoint(g for g, _ in manual_cells(source))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_release_holds_a_model_answer_or_rubric(name):
    source, release = _nb("solutions", name), _nb("assignments", name)
    text = (ROOT / "assignments" / name / f"{name}.ipynb").read_text()
    assert "Rubric" not in text
    assert [cell_source(c) for c in _written(release)] == [STUB] * len(_written(source))
    assert manual_cells(release) == manual_cells(source)
    assert written_answer_leaks(source, release) == []
    leaky = copy.deepcopy(release)   # the check itself can fail: a release with one answer left in it
    cell = _written(leaky)[0]
    cell["source"] = cell_source(_written(source)[0])
    assert written_answer_leaks(source, leaky) == [nbgrader_meta(cell)["grade_id"]]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_lint_is_clean_and_no_task_grades_a_written_answer(name):
    assert lint(Course(ROOT), name) == []
    tasks = {t.grade_id for t in Course(ROOT).load_assignment(name).tasks}
    assert tasks == {g for g, _ in graded_cells(_nb("assignments", name))}
    assert tasks.isdisjoint(g for g, _ in manual_cells(_nb("assignments", name)))


def test_lint_reports_a_task_that_grades_a_written_answer(monkeypatch):
    course = Course(ROOT)
    real = course.load_assignment("ctc")
    monkeypatch.setattr(Course, "load_assignment",
                        lambda self, name: SimpleNamespace(tasks=[*real.tasks, SimpleNamespace(grade_id="written_lm")]))
    assert lint(course, "ctc") == ["ctc: task written_lm grades written answer written_lm, which is graded by hand; "
                                   "remove the task"]


def test_answered_written_cells_are_told_from_stubs_and_missing_ones():
    release = _nb("assignments", "ctc_training")
    ids = [g for g, _ in manual_cells(release)]
    assert answered_manual_cells(release, release) == {g: False for g in ids}
    filled = filled_release(release, {ids[0]: "The BiLSTM wins because it sees the future."})
    assert answered_manual_cells(release, filled) == {ids[0]: True, ids[1]: False}
    filled["cells"] = [c for c in filled["cells"] if nbgrader_meta(c).get("grade_id") != ids[0]]
    assert answered_manual_cells(release, filled) == {g: False for g in ids}


def _result(release: dict, student: str, answered: bool, lost: float = 0.0) -> dict:
    """A grader result of the shape grade_notebook writes, full marks but ``lost`` on the first task."""
    tasks = [{"grade_id": g, "points": p - (lost if i == 0 else 0.0), "max_points": p, "passed": 1, "total": 1,
              "messages": [], "kind": "function"} for i, (g, p) in enumerate(graded_cells(release))]
    manual = [{"grade_id": g, "max_points": p, "answered": answered} for g, p in manual_cells(release)]
    score = sum(t["points"] for t in tasks)
    nb = {"notebook": "ctc.ipynb", "student": student, "score": score, "max_score": 12.0, "tasks": tasks,
          "notes": [], "error": None, "manual": manual, "manual_points": sum(m["max_points"] for m in manual)}
    return {"student": student, "assignment": "ctc", "score": score, "max_score": 12.0,
            "manual_points": nb["manual_points"], "notebooks": [nb], "error": None}


def test_feedback_and_csv_say_what_is_graded_by_hand(tmp_path):
    release = _nb("assignments", "ctc")
    r = _result(release, "ann", answered=True)
    md, page = feedback_markdown(r), feedback_html(r)
    assert "Score: **12 / 12**" in md
    assert "Written answers (2 points) are graded by hand and are not in the score above: written_lm (2)." in md
    assert "Written answers (2 points) are graded by hand" in page and "written_lm (2)" in page
    assert "written_lm (2, not answered)" in feedback_markdown(_result(release, "bob", answered=False))
    assert "| written_lm |" not in md, "a written answer is not an automatic test"
    write_csv([r], tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open() as f:
        row = next(csv.DictReader(f))
    assert list(row) == CSV_COLUMNS and float(row["manual_points"]) == 2.0
    assert float(row["score"]) == float(row["max_score"]) == 12.0


def test_gradebook_leaves_written_answers_to_formgrader(tmp_path):
    from nbgrader.api import Gradebook
    release = {"ctc.ipynb": _nb("assignments", "ctc")}
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    results = [_result(release["ctc.ipynb"], "ann", answered=True, lost=1.0),
               _result(release["ctc.ipynb"], "bob", answered=False)]
    assert write_gradebook(db, "ctc", release, results) == 2 * 6
    with Gradebook(db) as gb:
        assert gb.find_assignment("ctc").max_score == 14.0    # formgrader's total: 12 automatic + 2 by hand
        test = gb.find_grade("test_ctc_forward", "ctc", "ctc", "ann")
        assert test.auto_score == 2.0 and not test.needs_manual_grade
        ann = gb.find_grade("written_lm", "ctc", "ctc", "ann")
        assert ann.auto_score is None and ann.needs_manual_grade and ann.max_score == 2.0
        bob = gb.find_grade("written_lm", "ctc", "ctc", "bob")
        assert bob.auto_score == 0.0 and not bob.needs_manual_grade
        assert gb.find_submission("ctc", "ann").needs_manual_grade
        assert not gb.find_submission("ctc", "bob").needs_manual_grade
        assert gb.find_submission("ctc", "ann").score == 11.0
        ann.manual_score = 1.5     # a person grades the answer in formgrader
        gb.db.commit()
    write_gradebook(db, "ctc", release, results[:1])   # grading again keeps the person's grade
    with Gradebook(db) as gb:
        ann = gb.find_grade("written_lm", "ctc", "ctc", "ann")
        assert ann.manual_score == 1.5 and gb.find_submission("ctc", "ann").score == 12.5


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_otter_master_has_a_manual_question_per_written_answer(name):
    source = _nb("solutions", name)
    cells = master_notebook(source, name, "requirements.txt")["cells"]
    for gid, points in manual_cells(source):
        head = f"# BEGIN QUESTION\nname: {gid}\nmanual: true\npoints: {points:g}"
        i = next(k for k, c in enumerate(cells) if cell_source(c) == head)
        prompt, begin, answer, end, close = cells[i + 1:i + 6]
        assert prompt["cell_type"] == "markdown" and "graded by hand" in cell_source(prompt)
        assert [cell_source(begin), cell_source(end), cell_source(close)] == \
            ["# BEGIN SOLUTION", "# END SOLUTION", "# END QUESTION"]
        assert answer["cell_type"] == "markdown" and "**Rubric**" in cell_source(answer)


def test_gradescope_output_names_the_written_questions():
    release = _nb("assignments", "ctc")
    out = results_json(_result(release, "ann", answered=True), 3.0)
    jsonschema.validate(out, RESULTS_SCHEMA)
    assert "written_lm" not in [t["name"] for t in out["tests"]] and out["score"] == 12.0
    assert "Written answers (2 points) are graded by hand" in out["output"] and "written_lm (2)" in out["output"]
    text = "\n".join(instructions(Course(ROOT), "e2e_mtl", Path("autograder.zip")))
    assert "manually graded questions" in text and "e2e_mtl.ipynb: written_low_high (2 points)" in text


def test_the_solution_sample_carries_the_written_answers():
    answers = solution_answers(Course(ROOT), "rnnt")
    assert "**Rubric**" in answers["written_max_symbols"]
    filled = filled_release(_nb("assignments", "rnnt"), answers)
    assert answered_manual_cells(_nb("assignments", "rnnt"), filled) == {"written_max_symbols": True}
