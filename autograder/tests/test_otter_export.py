"""asrlab-grade export otter: the master notebook mirrors the nbgrader source, and otter grades it like nbgrader."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from asrlab_grade import cli
from asrlab_grade.notebook import graded_cells, manual_cells
from asrlab_grade.export_check import _zip_submission, otter_score
from asrlab_grade.otter_export import master_notebook, public_part
from asrlab_grade.validate import _solution_files

ROOT = Path(__file__).resolve().parents[2]


def _source(name: str) -> dict:
    return json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text())


def _raw(nb: dict) -> list:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "raw"]


@pytest.mark.parametrize("name", ["ctc", "ctc_training", "rnnt", "e2e_mtl"])
def test_every_graded_cell_is_a_question_with_its_points(name):
    source = _source(name)
    raw = _raw(master_notebook(source, name, "requirements.txt"))
    questions = [r for r in raw if r.startswith("# BEGIN QUESTION")]
    for grade_id, points in graded_cells(source):
        assert f"# BEGIN QUESTION\nname: {grade_id}\npoints: [0, {points:g}]" in questions
    assert raw.count("# END QUESTION") == len(questions)
    manual = [q for q in questions if "\nmanual: true\n" in q]
    assert len(manual) == len(manual_cells(source)) >= 1 and len(questions) == len(graded_cells(source)) + len(manual)
    assert raw[0].startswith("# ASSIGNMENT CONFIG") and "ok_format: false" in raw[0]


def test_hidden_tests_stay_in_the_hidden_case():
    text = "a = 1\n### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\nb = 2"
    assert public_part(text) == "a = 1\nb = 2"
    master = master_notebook(_source("ctc"), "ctc", "requirements.txt")
    code = ["".join(c["source"]) for c in master["cells"] if c["cell_type"] == "code"]
    public = [c for c in code if c.startswith("def test_") and "_public(env)" in c]
    hidden = [c for c in code if c.startswith("# HIDDEN\ndef test_")]
    assert len(public) == len(hidden) == 5
    assert not any("HIDDEN TESTS" in c for c in public) and any("HIDDEN TESTS" in c for c in hidden)
    assert not any("### BEGIN SOLUTION" in c for c in code) and any("# BEGIN SOLUTION" in c for c in code)


@pytest.mark.skipif(shutil.which("otter") is None, reason="otter-grader not installed")
def test_otter_assign_and_run_give_the_solution_full_marks_and_the_blank_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("ASRLAB_BUDGET", "ci")
    out = tmp_path / "otter" / "ctc"
    assert cli.main(["export", "otter", "ctc", "--course-root", str(ROOT), "--out", str(out)]) == 0
    dist = out / "dist"
    zips = list((dist / "autograder").glob("ctc-autograder_*.zip"))
    assert len(zips) == 1
    student = dist / "student" / "ctc.ipynb"
    text = student.read_text()
    assert "BEGIN HIDDEN" not in text and "BEGIN SOLUTION" not in text
    assert "np.logaddexp(np.logaddexp(prev, from_prev), from_skip)" not in text   # the solution's forward step
    # the written answer is a manual question: its prompt stays, otter's stub replaces model answer and rubric,
    # and no autograder test grades it
    assert "**Question (2 points, graded by hand).**" in text and "<!-- BEGIN QUESTION -->" in text
    assert "_Type your answer here, replacing this text._" in text and "Rubric" not in text
    assert "Rubric" in (dist / "autograder" / "ctc.ipynb").read_text()
    assert not list(dist.rglob("written_lm*.py")) and (dist / "autograder" / "tests" / "test_greedy.py").is_file()
    scores = {}
    for who, nb in (("solution", dist / "autograder" / "ctc.ipynb"), ("blank", student)):
        (tmp_path / who).mkdir()
        res = subprocess.run(["otter", "run", "--no-logo", "-a", str(zips[0]), "-o", str(tmp_path / who), str(nb)],
                             capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, res.stderr[-2000:]
        scores[who] = otter_score(tmp_path / who / "results.json")
    assert scores == {"solution": (12, 12), "blank": (0, 12)}


def test_a_submission_zip_carries_the_notebook_and_the_files_the_solution_wrote(tmp_path):
    """validate --exports hands otter the notebook plus what the solution run wrote (checkpoint files and
    folders such as a save_pretrained model), so that the notebook loads them instead of training."""
    import zipfile

    src, sol = tmp_path / "src", tmp_path / "sol"
    for folder in (src, sol):
        folder.mkdir()
        (folder / "a.ipynb").write_text("{}")
        (folder / "data.txt").write_text("public")
    (sol / "model.pt").write_bytes(b"weights")
    (sol / "hf_model").mkdir()
    (sol / "hf_model" / "model.safetensors").write_bytes(b"st")
    (sol / ".ipynb_checkpoints").mkdir()
    files = _solution_files(src, sol, ["model.pt", "missing.pt"])
    assert files == ["hf_model", "model.pt"]
    with zipfile.ZipFile(_zip_submission(sol / "a.ipynb", sol, files, tmp_path / "s.zip")) as zf:
        assert sorted(zf.namelist()) == ["a.ipynb", "hf_model/model.safetensors", "model.pt"]


@pytest.mark.skipif(shutil.which("otter") is None, reason="otter-grader not installed")
def test_hidden_tests_that_call_the_grader_carry_its_wheel_in_the_autograder_zip(tmp_path):
    """e2e_mtl's hidden tests run asrlab_grade.inkernel: otter's image must install the grader, so its wheel goes
    into the (private) autograder zip and requirements.txt installs it from where otter unpacks the zip's files."""
    import zipfile

    out = tmp_path / "e2e_mtl"
    assert cli.main(["export", "otter", "e2e_mtl", "--course-root", str(ROOT), "--out", str(out)]) == 0
    requirements = (out / "requirements.txt").read_text().splitlines()
    wheel = Path(next(r for r in requirements if r.startswith("/autograder/source/files/asrlab_grade-")))
    with zipfile.ZipFile(next((out / "dist" / "autograder").glob("e2e_mtl-autograder_*.zip"))) as zf:
        assert f"files/{wheel.name}" in zf.namelist()
        assert str(wheel) in zf.read("environment.yml").decode()            # otter puts requirements there
    assert not list((out / "dist" / "student").rglob("*.whl"))          # never in what students get
    ctc = tmp_path / "ctc"
    assert cli.main(["export", "otter", "ctc", "--course-root", str(ROOT), "--out", str(ctc), "--no-assign"]) == 0
    assert len((ctc / "requirements.txt").read_text().splitlines()) == 1      # the course's asrlab only
