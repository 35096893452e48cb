"""End-to-end grading of the demo assignment through the CLI: scores, outputs, gradebook,
re-grading, layouts and validate."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from asrlab_grade.cli import main
from asrlab_grade.report import CSV_COLUMNS
from conftest import run_autograde, submit, task_messages, task_points, with_answers

WRONG_SOFTMAX = "def softmax(x):\n    return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course, student_nb, release_nb, checkpoint):
    base = tmp_path_factory.mktemp("grading")
    subs = base / "submitted"
    submit(subs, "good", student_nb, checkpoint)
    submit(subs, "blank", release_nb)
    submit(subs, "partial", with_answers(student_nb, {"softmax_answer": WRONG_SOFTMAX}), checkpoint)
    db = base / "gradebook.db"
    first = run_autograde(course, subs, base / "out1", "--gradebook", str(db))
    second = run_autograde(course, subs, base / "out2")
    return first, second, base, db


def test_scores(graded):
    first, *_ = graded
    assert task_points(first["good"]) == {"test_softmax": 2.0, "test_best_path": 2.0, "test_model": 2.0}
    assert first["good"]["score"] == 6.0 and first["good"]["max_score"] == 6.0
    assert first["blank"]["score"] == 0.0 and not first["blank"].get("grader_error")
    assert "NotImplementedError" in task_messages(first["blank"])["test_softmax"]
    partial = task_points(first["partial"])
    assert partial["test_softmax"] == pytest.approx(1.6), "per-case partial credit (4 of 5 cases)"
    assert partial["test_best_path"] == 2.0 and partial["test_model"] == 2.0


def test_regrading_gives_identical_scores(graded):
    first, second, *_ = graded
    for student in first:
        assert task_points(first[student]) == task_points(second[student]), student


def test_outputs(graded):
    _, _, base, _ = graded
    out = base / "out1"
    with (out / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_COLUMNS
    assert {r["student_id"]: float(r["score"]) for r in rows} == {"good": 6.0, "blank": 0.0, "partial": 5.6}
    md = (out / "feedback" / "partial" / "demo.md").read_text()
    assert "test_softmax" in md and "1.6 / 2" in md and "values differ" in md
    assert "hint: subtract each row's maximum" in md
    assert (out / "feedback" / "good" / "demo.html").read_text().startswith("<!doctype html>")
    assert json.loads((out / "run.json").read_text())["submissions"] == 3


def test_gradebook_scores(graded):
    from nbgrader.api import Gradebook
    *_, db = graded
    with Gradebook(f"sqlite:///{db}") as gb:
        assert gb.find_submission("demo", "good").score == 6.0
        assert gb.find_submission("demo", "partial").score == pytest.approx(5.6)
        assert gb.find_grade("test_model", "demo", "demo", "blank").score == 0.0
        assert gb.find_assignment("demo").max_score == 6.0


def test_flat_folder_of_notebooks(tmp_path, course, student_nb):
    subs = tmp_path / "flat"
    subs.mkdir()
    (subs / "ann.ipynb").write_text(json.dumps(student_nb))
    (subs / "ben.ipynb").write_bytes(b"{broken")
    (subs / "notes.txt").write_text("ignored: not a notebook")
    results = run_autograde(course, subs, tmp_path / "out")
    assert set(results) == {"ann", "ben"}
    assert task_points(results["ann"]) == {"test_softmax": 2.0, "test_best_path": 2.0, "test_model": 0.0}
    assert "not valid notebook JSON" in results["ben"]["error"]


def test_validate_command(course, capsys):
    assert main(["validate", "--course-root", str(course)]) == 0
    out = capsys.readouterr().out
    assert "demo: solution 6/6, blank 0/6" in out and "validate: ok" in out
    assert "demo.ipynb: solution executed in" in out  # no committed checkpoint: the solution trained it


def test_validate_runs_assignments_in_parallel_with_a_share_of_the_cores(course, capsys):
    from asrlab_grade.course_folder import Course
    from asrlab_grade.threads import available_cores
    from asrlab_grade.validate import validate

    assert validate(Course(course), ["demo", "demo"], jobs=2) == []
    out = capsys.readouterr().out
    assert ("validate: 2 assignments at a time, " in out) == (available_cores() >= 2)
    assert out.count("demo: solution 6/6, blank 0/6") == 2
    assert out.count("demo.ipynb: solution executed in") == 2 and "threads)" in out


@pytest.fixture()
def broken_course(tmp_path, course) -> Path:
    """A copy of the course with a wrong solution, left-over outputs and a misnamed task."""
    broken = tmp_path / "course"
    shutil.copytree(course, broken)
    src = broken / "solutions" / "demo" / "demo.ipynb"
    nb = json.loads(src.read_text())
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax_answer":
            text = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            c["source"] = text.replace("x.max(axis=1, keepdims=True)", "0")
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "left over"}]
    src.write_text(json.dumps(nb))
    tasks = broken / "autograder" / "tasks" / "demo.py"
    tasks.write_text(tasks.read_text().replace('grade_id="test_best_path"', 'grade_id="test_bestpath"'))
    return broken


def test_lint_catches_a_broken_course(broken_course):
    from asrlab_grade.course_folder import Course
    from asrlab_grade.validate import lint
    problems = "\n".join(lint(Course(broken_course), "demo"))
    assert "has outputs" in problems
    assert "test cell test_best_path has no task" in problems
    assert "task test_bestpath has no graded test cell" in problems


@pytest.mark.slow
def test_validate_fails_on_a_wrong_solution(broken_course, capsys):
    assert main(["validate", "--course-root", str(broken_course)]) == 1
    assert "the solution scores" in capsys.readouterr().out


def test_missing_task_module_is_a_clear_course_error(tmp_path, course, capsys):
    assert main(["autograde", "nosuch", str(tmp_path), "--course-root", str(course)]) == 2
    assert "no tasks for assignment 'nosuch'" in capsys.readouterr().err


def test_cpu_limit_per_call(tmp_path, course, release_nb):
    """A call that burns CPU is stopped by its task's cpu_s even when wall time remains."""
    import dataclasses
    from asrlab_grade.autograde import grade_all, make_context
    from asrlab_grade.course_folder import Course, discover
    subs = tmp_path / "subs"
    submit(subs, "burner", with_answers(release_nb, {"softmax_answer": "def softmax(x):\n    while True:\n        pass\n"}))
    ctx = make_context(Course(course), "demo", hide_extra=[subs])
    tasks = tuple(dataclasses.replace(t, cpu_s=0.5, timeout_s=60.0) if t.grade_id == "test_softmax" else t
                  for t in ctx.assignment.tasks)
    ctx.assignment = dataclasses.replace(ctx.assignment, tasks=tasks)
    result = grade_all(ctx, discover(subs, "demo", list(ctx.release)), workers=1, progress=False)[0]
    assert "used more than 0.5 s of CPU time" in task_messages(result)["test_softmax"]
    assert task_points(result)["test_softmax"] == 0.0


def test_adapter_grades_through_public_recipe(tmp_path, course, student_nb):
    """A task may call the student's object through an adapter that runs in the sandbox."""
    import dataclasses
    import numpy as np
    from asrlab_grade.autograde import grade_all, make_context
    from asrlab_grade.course_folder import Course, discover
    subs = tmp_path / "subs"
    submit(subs, "ann", student_nb)
    ctx = make_context(Course(course), "demo", hide_extra=[subs])
    adapter = "def adapt(softmax, x):\n    return softmax(x).sum(axis=1)\n"
    tasks = tuple(dataclasses.replace(t, adapter=adapter, reference=lambda x: np.ones(len(x)))
                  if t.grade_id == "test_softmax" else t for t in ctx.assignment.tasks)
    ctx.assignment = dataclasses.replace(ctx.assignment, tasks=tasks)
    result = grade_all(ctx, discover(subs, "demo", list(ctx.release)), workers=1, progress=False)[0]
    assert task_points(result)["test_softmax"] == 2.0, task_messages(result)["test_softmax"]


def test_checkpoint_config_must_be_plain_constructor_arguments():
    from asrlab_grade.runner import check_config

    class Model:
        def __init__(self, input_dim: int, hidden: int = 8, kinds=("a",)):
            pass

    check_config({"input_dim": 3, "hidden": 4, "kinds": ["a", "b"]}, Model)
    for config, fragment in [([1, 2], "not a dict"), ({"input_dim": 3, "table": 1}, "does not take 'table'"),
                             ({"input_dim": {"a": 1}}, "'input_dim' is a dict"),
                             ({"input_dim": list(range(100))}, "'input_dim' is a list"),
                             ({"kinds": "x" * 1000}, "'kinds' is a str"),
                             ({f"k{i}": i for i in range(100)}, "100 entries")]:
        with pytest.raises(ValueError, match="save only the model's constructor arguments") as err:
            check_config(config, Model)
        assert fragment.replace("does not take 'table'", "'table', which Model() does not take") in str(err.value)


def test_every_folder_gets_a_row_or_a_reason(tmp_path, course, student_nb, release_nb):
    """Unicode ids keep separate outputs, links are refused, hidden folders and stray files are listed,
    and student text cannot forge Markdown in the feedback."""
    subs = tmp_path / "submitted"
    submit(subs, "Jörg", student_nb)
    submit(subs, "Jürg", release_nb)
    submit(subs, "ann%41", student_nb)
    submit(subs, "annA", release_nb)
    forged = "def softmax(x):\n    raise ValueError('```\\n# Score: 12 / 12\\n```')\n"
    submit(subs, "forger", with_answers(student_nb, {"softmax_answer": forged}))
    (subs / "linked").symlink_to(subs / "Jörg")
    submit(subs, ".ipynb_checkpoints", student_nb)
    (subs / "stray.txt").write_text("not a submission")
    out = tmp_path / "out"
    results = run_autograde(course, subs, out)
    assert set(results) == {"Jörg", "Jürg", "ann%41", "annA", "forger", "linked"}
    assert results["Jörg"]["score"] > 0 and results["Jürg"]["score"] == 0
    assert results["ann%41"]["score"] > 0 and results["annA"]["score"] == 0
    assert results["linked"]["score"] == 0 and "symbolic link" in results["linked"]["error"]
    assert not results["linked"].get("grader_error")
    skipped = {s["name"]: s["reason"] for s in json.loads((out / "run.json").read_text())["skipped"]}
    assert set(skipped) == {".ipynb_checkpoints", "stray.txt"} and "hidden" in skipped[".ipynb_checkpoints"]
    md = (out / "feedback" / "forger" / "demo.md").read_text().splitlines()
    at = md.index("# Score: 12 / 12")
    fence = next(line for line in reversed(md[:at]) if line and set(line) == {"`"})
    assert len(fence) >= 4, "the student's ``` must not close the feedback's code block"


def test_file_names_are_one_to_one():
    from urllib.parse import unquote
    from asrlab_grade.report import safe_name
    ids = ["Jörg", "Jürg", "J_rg", "a/b", "a%2Fb", ".", "..", ".x", "%2Ex", "", "x" * 300, "x" * 299 + "y"]
    names = [safe_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert all("/" not in n and not n.startswith(".") and len(n) <= 100 for n in names)
    assert all(unquote(n) == i for n, i in zip(names, ids) if len(i) < 50 and i)


def test_run_json_records_budget_hidden_split_and_versions(tmp_path, course, release_nb, monkeypatch):
    """The grading context is explicit: --budget reaches the run, and run.json says which budget, which hidden
    split (by a one-way id, never the secret or the seed) and which software graded it."""
    from importlib.metadata import version

    from asrlab_grade import hidden, secret

    monkeypatch.delenv("ASRLAB_BUDGET", raising=False)
    subs = tmp_path / "subs"
    submit(subs, "blank", release_nb)
    out = tmp_path / "out"
    main(["autograde", "demo", str(subs), "--course-root", str(course), "--out", str(out), "--budget", "ci",
          "--workers", "1", "--no-progress"])
    run = json.loads((out / "run.json").read_text())
    assert run["budget"] == "ci"
    assert run["versions"] == {"asrlab": version("asrlab"), "asrlab-grade": version("asrlab-grade")}
    assert len(run["hidden_split"]) == 12 and run["hidden_split"] == hidden.split_id()
    text = (out / "run.json").read_text()
    assert str(hidden.hidden_seed()) not in text and secret.load_or_create(secret.secret_path(course)).decode() not in text


def test_parallel_validate_starts_the_longest_assignments_first():
    from types import SimpleNamespace

    from asrlab_grade.validate import longest_first

    minutes = {"ctc": 0.5, "wav2vec2": 11.5, "rnnt": 4.0, "e2e_mtl": 2.0}

    class FakeCourse:
        def load_assignment(self, name):
            if name == "broken":
                raise SyntaxError("a task module that does not import")
            return SimpleNamespace(ci_minutes=minutes[name])

    assert longest_first(FakeCourse(), ["ctc", "broken", "e2e_mtl", "wav2vec2", "rnnt"]) == \
        ["wav2vec2", "rnnt", "e2e_mtl", "ctc", "broken"]
