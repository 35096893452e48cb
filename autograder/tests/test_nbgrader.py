"""The nbgrader side: the course config's layout and the baseline ``nbgrader autograde`` path."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO_COURSE, submit

MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def fresh_course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("nbg") / "course"
    shutil.copytree(DEMO_COURSE, course, ignore=shutil.ignore_patterns("gradebook.db", "assignments"))
    return course


@pytest.mark.slow
def test_generate_assignment_writes_the_committed_release(fresh_course):
    res = nbgrader(fresh_course, "generate_assignment", "demo", "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    made = fresh_course / "assignments" / "demo" / "demo.ipynb"
    assert made.is_file(), "generate_assignment NAME must write assignments/NAME/NAME.ipynb"
    text = made.read_text()
    assert not any(m in text for m in MARKERS), "the release leaks solutions or hidden tests"
    committed = json.loads((DEMO_COURSE / "assignments" / "demo" / "demo.ipynb").read_text())
    fresh = json.loads(text)
    assert [c["source"] for c in fresh["cells"]] == [c["source"] for c in committed["cells"]], \
        "the committed release is stale: run nbgrader generate_assignment demo"


@pytest.mark.parametrize("config_dir", [Path(__file__).resolve().parents[2], DEMO_COURSE])
def test_course_config_layout(config_dir: Path):
    """generate_assignment NAME writes assignments/NAME/, reading solutions/NAME/, and
    autograde reads submitted/<student>/NAME/ (checked through nbgrader's own path logic)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    cfg = Config()
    code = (config_dir / "nbgrader_config.py").read_text()
    exec(compile(code, "nbgrader_config.py", "exec"),
         {"get_config": lambda: cfg, "__file__": str(config_dir / "nbgrader_config.py")})
    cd = CourseDirectory(config=cfg)
    root = config_dir.resolve()
    assert Path(cd.format_path(cd.source_directory, ".", "demo")).resolve() == root / "solutions" / "demo"
    assert Path(cd.format_path(cd.release_directory, ".", "demo")).resolve() == root / "assignments" / "demo"
    assert Path(cd.format_path(cd.submitted_directory, "s1", "demo")).resolve() == root / "submitted" / "s1" / "demo"


def test_root_config_uses_the_same_layout():
    root = Path(__file__).resolve().parents[2] / "nbgrader_config.py"
    text = root.read_text()
    assert 'source_directory = "solutions"' in text and 'release_directory = "assignments"' in text


@pytest.mark.slow
def test_plain_nbgrader_autograde_still_works(fresh_course, student_nb, checkpoint):
    if not (fresh_course / "assignments" / "demo" / "demo.ipynb").exists():
        assert nbgrader(fresh_course, "generate_assignment", "demo", "--force").returncode == 0
    submit(fresh_course / "submitted", "carol", student_nb, checkpoint)
    res = nbgrader(fresh_course, "autograde", "demo", "--force")
    assert res.returncode == 0, res.stderr[-2000:]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{fresh_course / 'gradebook.db'}") as gb:
        assert gb.find_submission("demo", "carol").score == 6.0
