"""asrlab-grade release: nbgrader's release with the course's package source, Colab links and the wheel."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asrlab_grade.course_folder import Course, CourseError
from asrlab_grade.release import PLACEHOLDER, package_sources, release

ROOT = Path(__file__).resolve().parents[2]
WHEEL_URL = "https://example.org/course/asrlab-0.1.0-py3-none-any.whl"


@pytest.fixture
def course(tmp_path: Path) -> Course:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / "ctc", tmp_path / "solutions" / "ctc",
                    ignore=shutil.ignore_patterns("*.pt"))
    return Course(tmp_path)


def test_committed_releases_install_a_real_package():
    for nb in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        sources = package_sources(nb)
        assert sources, f"{nb}: no ASRLAB_SOURCE line in the setup cell"
        assert not any(PLACEHOLDER.search(s) for s in sources), f"{nb}: placeholder in {sources}"
        assert "solutions" not in nb.read_text()


def test_release_writes_the_package_source_and_colab_links(course: Course):
    lines = release(course, "ctc", package=WHEEL_URL, colab_base="https://colab.example/github/o/r/blob/main/",
                    wheel=False)
    nb = course.release_dir("ctc") / "ctc.ipynb"
    assert package_sources(nb) == [WHEEL_URL]
    assert "  Open in Colab: https://colab.example/github/o/r/blob/main/ctc/ctc.ipynb" in lines
    text = json.loads(nb.read_text())
    assert not any("BEGIN SOLUTION" in "".join(c["source"]) for c in text["cells"])


def test_release_toml_is_the_default_source(course: Course):
    (course.root / "release.toml").write_text(f'[release]\npackage = "{WHEEL_URL}"\n')
    release(course, "ctc", wheel=False)
    assert package_sources(course.release_dir("ctc") / "ctc.ipynb") == [WHEEL_URL]


def test_placeholders_and_unknown_settings_are_refused(course: Course):
    with pytest.raises(CourseError, match="placeholder"):
        release(course, "ctc", package="asrlab @ git+https://github.com/<course-org>/asrlab", wheel=False)
    (course.root / "release.toml").write_text('[release]\npackages = "asrlab"\n')
    with pytest.raises(CourseError, match="unknown keys"):
        release(course, "ctc", wheel=False)
    with pytest.raises(CourseError, match="source assignments: ctc"):
        release(course, "ctx", wheel=False)


def test_release_builds_the_library_wheel(course: Course):
    shutil.copytree(ROOT / "shared", course.root / "shared",
                    ignore=shutil.ignore_patterns("tests", "*.egg-info", "__pycache__", "build"))
    lines = release(course, "ctc")
    wheels = list(course.release_dir("ctc").glob("asrlab-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-any.whl")
    assert any(line.startswith("library wheel: assignments/ctc/asrlab-") for line in lines)
