"""Course-folder errors say where the grader looked and what exists there."""
from __future__ import annotations

from pathlib import Path

import pytest

from asrlab_grade import cli
from asrlab_grade.course_folder import Course, CourseError

ROOT = Path(__file__).resolve().parents[2]


def test_a_mistyped_assignment_lists_the_released_ones():
    with pytest.raises(CourseError, match=r"no assignment 'ctcc'.*did you mean 'ctc'\?.*ctc, ctc_training"):
        Course(ROOT).release_notebooks("ctcc")


def test_outside_a_course_folder_the_error_says_where_it_looked(tmp_path, capsys):
    assert cli.main(["autograde", "ctc", str(tmp_path), "--course-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a course folder" in err and "--course-root" in err
