"""Releasing a project assignment (a folder with a PROJECT marker): solution regions become stubs in .py,
.md, .yaml and notebook files, nothing of a solution survives, the release imports and its stubs raise."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asrlab_grade.course_folder import Course, CourseError
from asrlab_grade.project_release import is_project, leftover_solutions, release_project
from asrlab_grade.release import release

ROOT = Path(__file__).resolve().parents[2]
NAME = "asr_project"
REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n", re.MULTILINE | re.DOTALL)


@pytest.fixture
def course(tmp_path: Path) -> Course:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / NAME, tmp_path / "solutions" / NAME,
                    ignore=shutil.ignore_patterns("checkpoint", "logs", "__pycache__"))
    (tmp_path / "assignments").mkdir()
    return Course(tmp_path)


@pytest.fixture
def released(course: Course) -> Path:
    release(course, NAME, wheel=False)
    return course.release_dir(NAME)


def _solution_lines(source: Path) -> dict[str, set[str]]:
    """Per .py file: the lines inside solution regions that appear nowhere outside them."""
    found = {}
    for path in source.rglob("*.py"):
        text = path.read_text()
        inside = {line.strip() for body in REGION.findall(text) for line in body.splitlines()}
        outside = {line.strip() for line in REGION.sub("", text).splitlines()}
        found[str(path.relative_to(source))] = {line for line in inside - outside if len(line) > 12}
    return found


def test_the_source_is_a_project_with_solution_regions(course: Course):
    assert is_project(course, NAME)
    regions = _solution_lines(course.source_dir(NAME))
    assert sum(map(len, regions.values())) > 50
    for stubbed in ("src/api.py", "src/datasets/custom_dir.py", "src/augment/__init__.py", "src/decoding/beam.py",
                    "src/decoding/greedy.py", "src/metrics.py"):
        assert regions[stubbed], f"{stubbed} has no solution region"


def test_release_leaves_no_solution_text(course: Course, released: Path):
    assert not leftover_solutions(released)
    for path in released.rglob("*"):
        if path.is_file():
            assert "SOLUTION" not in path.read_text(errors="replace"), path
    for rel, lines in _solution_lines(course.source_dir(NAME)).items():
        text = (released / rel).read_text()
        survivors = [line for line in lines if line in text]
        assert not survivors, f"{rel} keeps solution lines {survivors[:3]}"
    assert (released / "PROJECT").is_file() and (released / "demo.ipynb").is_file()
    assert not (released / "checkpoint").exists() and not (released / "logs").exists()


def test_release_imports_and_its_stubs_raise(released: Path):
    probe = textwrap.dedent("""
        import pathlib, sys, importlib
        import torch
        root = pathlib.Path.cwd()
        for path in sorted(root.rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            importlib.import_module(name)
        from src.api import transcribe
        from src.augment import AUGMENTATIONS
        from src.datasets import CustomDirDataset
        from src.decoding import beam_search, greedy_decode
        from src.metrics import edit_distance
        calls = {
            "CustomDirDataset": lambda: CustomDirDataset(root),
            "greedy_decode": lambda: greedy_decode(torch.zeros(3, 4), 3),
            "beam_search": lambda: beam_search(torch.zeros(3, 4), 3),
            "edit_distance": lambda: edit_distance("ab", "b"),
            "transcribe": lambda: transcribe(None, [], "greedy"),
            **{f"augment {n}": (lambda f=f: f(torch.zeros(1600), 16000)) for n, f in AUGMENTATIONS.items()},
        }
        for name, call in calls.items():
            try:
                call()
            except NotImplementedError as e:
                assert "your code goes here" in str(e), (name, str(e))
            else:
                raise AssertionError(f"{name} did not raise NotImplementedError")
        print(f"{len(calls)} stubs raise")
    """)
    res = subprocess.run([sys.executable, "-c", probe], cwd=released, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "stubs raise" in res.stdout


def test_committed_release_is_up_to_date(released: Path):
    committed = ROOT / "assignments" / NAME
    fresh = {p.relative_to(released): p.read_bytes() for p in released.rglob("*") if p.is_file()}
    known = {p.relative_to(committed): p.read_bytes() for p in committed.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".whl"}
    assert fresh == known, "assignments/asr_project is stale: run `asrlab-grade release asr_project`"


def test_malformed_regions_and_stray_markers_are_refused(course: Course):
    source = course.source_dir(NAME)
    (source / "src" / "broken.py").write_text("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(CourseError, match="END SOLUTION"):
        release_project(course, NAME)
    (source / "src" / "broken.py").unlink()
    (source / "notes.txt").write_text("### BEGIN SOLUTION\nsecret\n### END SOLUTION\n")
    with pytest.raises(CourseError, match="notes.txt"):
        release_project(course, NAME)
    assert not course.release_dir(NAME).exists()


def test_markdown_yaml_and_notebook_regions_get_text_stubs(course: Course):
    source = course.source_dir(NAME)
    (source / "NOTES.md").write_text("intro\n### BEGIN SOLUTION\nthe answer\n### END SOLUTION\n")
    (source / "configs" / "extra.yaml").write_text("a: 1\n### BEGIN SOLUTION\nb: 2\n### END SOLUTION\n")
    nb = json.loads((source / "demo.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 3, "outputs": [{"output_type": "stream",
                        "name": "stdout", "text": "x"}], "source": "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n"})
    (source / "demo.ipynb").write_text(json.dumps(nb))
    release_project(course, NAME)
    out = course.release_dir(NAME)
    assert (out / "NOTES.md").read_text() == "intro\nYOUR ANSWER HERE\n"
    assert (out / "configs" / "extra.yaml").read_text() == "a: 1\n# YOUR ANSWER HERE\n"
    cell = json.loads((out / "demo.ipynb").read_text())["cells"][-1]
    assert cell["source"].startswith("x = 1\n# YOUR CODE HERE\nraise NotImplementedError(")
    assert cell["outputs"] == [] and cell["execution_count"] is None
