"""Sample submissions and the grading demo: the solution earns full marks, the blank 0, the wrong answer and
the cheater lose exactly where they should."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from asrlab_grade import cli
from asrlab_grade.course_folder import Course, CourseError
from asrlab_grade.samples import write_samples

ROOT = Path(__file__).resolve().parents[2]


def test_samples_fill_the_release_and_refuse_edits_that_do_not_apply(tmp_path):
    course = Course(ROOT)
    folders = write_samples(course, "ctc", tmp_path, {"wrong": {"greedy_answer": ("previous = c", "pass")}})
    assert sorted(f.name for f in folders) == ["blank", "solution", "wrong"]
    solution = (tmp_path / "solution" / "ctc" / "ctc.ipynb").read_text()
    blank = (tmp_path / "blank" / "ctc" / "ctc.ipynb").read_text()
    assert "BEGIN SOLUTION" not in solution and "your code goes here" not in solution.split("def ctc_forward")[1][:800]
    assert "your code goes here" in blank
    with pytest.raises(CourseError, match="not in answer cell 'greedy_answer'"):
        write_samples(course, "ctc", tmp_path / "x", {"bad": {"greedy_answer": ("no such text", "")}})


def test_the_demo_round_grades_each_sample_as_expected(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--workers", "1", "--course-root", str(ROOT)]) == 0
    with open(tmp_path / "graded" / "grades.csv") as f:
        score = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert score["solution"] == 12 and score["blank"] == 0
    assert 0 < score["wrong_greedy"] < 12 and 0 < score["cheater"] < 12

    def points(student: str, grade_id: str) -> float:
        result = json.loads((tmp_path / "graded" / "results" / f"{student}.json").read_text())
        return next(t["points"] for t in result["notebooks"][0]["tasks"] if t["grade_id"] == grade_id)

    assert points("wrong_greedy", "test_greedy") < 1 and points("wrong_greedy", "test_ctc_forward") == 3
    assert points("cheater", "test_ctc_forward") == 0 and points("cheater", "test_greedy") == 1
    out = capsys.readouterr().out
    assert "grades:" in out and "feedback:" in out
