"""Release an assignment to students: nbgrader's release, the course's package source, the library wheel.

Usage::

    asrlab-grade release ctc                                  # assignments/ctc/, as configured
    asrlab-grade release ctc --package "asrlab @ git+https://github.com/ORG/asrlab-public@v0.1.0#subdirectory=shared"
    asrlab-grade release ctc --colab-base https://colab.research.google.com/github/ORG/course/blob/main/assignments

Steps: ``nbgrader generate_assignment <assignment> --force`` (a project assignment, marked by a ``PROJECT`` file
in its source folder, is copied with its solution regions stubbed instead: :mod:`.project_release`); the setup cell's ``ASRLAB_SOURCE = "..."`` line
set to the course's package source (``release.toml`` at the course root, or ``--package``); the ``asrlab``
wheel built into the release folder (``--no-wheel`` to skip); an "Open in Colab" link per notebook when a
public location is known. The release must not name the private repository or a placeholder: a source
with ``<...>`` in it is refused.

``release.toml``::

    [release]
    package = "asrlab==0.1.0"       # a requirement, a wheel URL, a public git URL or a local path
    colab_base = ""                 # public folder of the released notebooks, for Colab links
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from asrlab.locks import exclusive

from .course_folder import Course, CourseError
from .project_release import is_project, release_project

SETTINGS_FILE = "release.toml"
SOURCE_LINE = re.compile(r'^ASRLAB_SOURCE = "[^"\n]*"', re.MULTILINE)
PLACEHOLDER = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ReleaseSettings:
    package: Optional[str] = None      # None: keep what the source notebook says
    colab_base: str = ""

    @classmethod
    def load(cls, root: Path) -> "ReleaseSettings":
        path = root / SETTINGS_FILE
        if not path.is_file():
            return cls()
        try:
            table = tomllib.loads(path.read_text()).get("release", {})
        except tomllib.TOMLDecodeError as e:
            raise CourseError(f"{path}: {e}; fix the file (see `asrlab-grade release --help`)") from None
        unknown = set(table) - {"package", "colab_base"}
        if unknown:
            raise CourseError(f"{path}: unknown keys {sorted(unknown)} in [release]; known: package, colab_base")
        return cls(package=table.get("package") or None, colab_base=table.get("colab_base", ""))


def set_package_source(notebook: Path, package: str) -> int:
    """Write ``package`` into every ``ASRLAB_SOURCE = "..."`` line of ``notebook``; returns how many."""
    if PLACEHOLDER.search(package) or '"' in package:
        raise CourseError(f"package source {package!r} looks like a placeholder; give the real requirement, "
                          "wheel URL, public git URL or path")
    nb = json.loads(notebook.read_text())
    count = 0
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        new, n = SOURCE_LINE.subn(f'ASRLAB_SOURCE = "{package}"', src)
        if n:
            cell["source"] = new
            count += n
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return count


def package_sources(notebook: Path) -> List[str]:
    """The ``ASRLAB_SOURCE`` values of a notebook's cells."""
    nb = json.loads(notebook.read_text())
    text = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])
    return [m.group(0).split('"')[1] for m in SOURCE_LINE.finditer(text)]


def build_wheel(library: Path, out: Path) -> Path:
    """``pip wheel`` the package at ``library`` (no dependencies) into ``out``; returns the wheel.

    pip builds a local folder in place (``build/``, ``*.egg-info`` inside it), so builds of one folder run one
    at a time (validate's parallel export checks, concurrent test runs).
    """
    before = {p: p.stat().st_mtime_ns for p in out.glob("*.whl")}
    library = Path(library).resolve()  # a bare relative name ("shared") would be a requirement to pip, not a folder
    key = hashlib.sha1(str(library).encode()).hexdigest()[:16]
    with exclusive(Path(tempfile.gettempdir()) / f"asrlab-wheel-{key}.lock"):
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(library)],
                       check=True, capture_output=True, text=True)
    made = [p for p in out.glob("*.whl") if before.get(p) != p.stat().st_mtime_ns]
    if not made:
        raise CourseError(f"pip wheel {library} produced no wheel in {out}")
    return max(made, key=lambda p: p.stat().st_mtime_ns)


def release(course: Course, name: str, package: Optional[str] = None, colab_base: Optional[str] = None,
            wheel: bool = True) -> List[str]:
    """Release assignment ``name`` of ``course``; returns the lines to show the instructor."""
    course.check_assignment_source(name)
    settings = ReleaseSettings.load(course.root)
    package = package or settings.package
    colab_base = (colab_base if colab_base is not None else settings.colab_base).rstrip("/")
    if is_project(course, name):   # a folder of files: copied with solution regions stubbed
        lines = release_project(course, name)
    else:
        res = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"],
                             cwd=course.root, capture_output=True, text=True)
        if res.returncode != 0:
            raise CourseError(f"nbgrader generate_assignment {name} failed:\n{res.stderr[-2000:]}")
        lines = []
    for nb in course.release_notebooks(name):
        if package:
            if not set_package_source(nb, package):
                raise CourseError(f"{nb.name} has no ASRLAB_SOURCE line in its setup cell to point at {package}")
        for source in package_sources(nb):
            if PLACEHOLDER.search(source):
                raise CourseError(f"{nb}: the setup cell installs {source!r}, a placeholder; set [release] "
                                  f"package in {course.root / SETTINGS_FILE} or pass --package")
        lines.append(f"released {nb.relative_to(course.root)} (installs {', '.join(package_sources(nb)) or '-'})")
        if colab_base:
            lines.append(f"  Open in Colab: {colab_base}/{name}/{nb.name}")
    library = course.root / "shared"
    if wheel and (library / "pyproject.toml").is_file():
        lines.append(f"library wheel: {build_wheel(library, course.release_dir(name)).relative_to(course.root)}")
    return lines
