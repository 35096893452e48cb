"""asrlab-grade export gradescope: the zip, unpacked into a Gradescope-like root, grades submissions with
asrlab's sandboxed grader and writes results.json in Gradescope's documented format."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest

from asrlab_grade import cli
from asrlab_grade.course_folder import Course
from asrlab_grade.samples import write_samples
from asrlab_grade.secret import load_or_create, secret_path

ROOT = Path(__file__).resolve().parents[2]

# Gradescope's results.json (https://gradescope-autograders.readthedocs.io, "Output format"): the keys it reads.
TEST_SCHEMA = {"type": "object", "required": ["max_score", "name"], "properties": {
    "score": {"type": "number"}, "max_score": {"type": "number"}, "status": {"enum": ["passed", "failed"]},
    "name": {"type": "string"}, "number": {"type": "string"}, "output": {"type": "string"},
    "tags": {"type": "array"}, "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
    "extra_data": {"type": "object"}}, "additionalProperties": False}
RESULTS_SCHEMA = {"type": "object", "required": ["tests"], "properties": {
    "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
    "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
    "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
    "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
    "extra_data": {"type": "object"}, "tests": {"type": "array", "items": TEST_SCHEMA},
    "leaderboard": {"type": "array"}}, "additionalProperties": False}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope")
    assert cli.main(["export", "gradescope", "ctc", "--course-root", str(ROOT), "--out", str(out)]) == 0
    return out / "autograder.zip"


def test_the_zip_holds_what_gradescope_runs_and_no_solution(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "gradescope.json", "secret", "course/nbgrader_config.py",
                "course/assignments/ctc/ctc.ipynb"} <= names
        assert any(n.startswith("wheels/asrlab-") for n in names) and any(n.startswith("wheels/asrlab_grade-") for n in names)
        assert not any(n.startswith("course/solutions") for n in names)
        assert "BEGIN SOLUTION" not in z.read("course/assignments/ctc/ctc.ipynb").decode()
        assert z.getinfo("run_autograder").external_attr >> 16 & 0o111
        assert z.read("secret") == load_or_create(secret_path(ROOT))   # the course's hidden splits


@pytest.mark.parametrize("student, expected", [("solution", 12.0), ("blank", 0.0), ("wrong", None)])
def test_run_autograder_writes_gradescope_results(autograder_zip, tmp_path, student, expected):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as z:
        z.extractall(root / "source")
    samples = tmp_path / "samples"
    write_samples(Course(ROOT), "ctc", samples, {"wrong": {"greedy_answer": ("if c != previous and c != blank:",
                                                                             "if c != blank:")}})
    shutil.copytree(samples / student / "ctc", root / "submission")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    res = subprocess.run([str(run)], env={**os.environ, "ASRLAB_GRADESCOPE_ROOT": str(root), "ASRLAB_BUDGET": "ci"},
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert [t["name"] for t in results["tests"]] == ["test_ctc_forward", "test_ctc_backward", "test_soft_alignment",
                                                     "test_greedy", "test_beam_search"]
    assert sum(t["max_score"] for t in results["tests"]) == 12
    # the written answer is not an autograder test; the output says it is graded by hand
    assert "Written answers (2 points) are graded by hand" in results["output"] and "written_lm" in results["output"]
    if expected is not None:
        assert results["score"] == expected
    else:
        greedy = next(t for t in results["tests"] if t["name"] == "test_greedy")
        assert greedy["status"] == "failed" and "hint:" in greedy["output"] and 0 < results["score"] < 12
