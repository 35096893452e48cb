"""Where things are: the course folder, assignments, their task modules and submissions.

Course layout (nbgrader's, with the course config at the root)::

    nbgrader_config.py
    solutions/<assignment>/<notebook>.ipynb      source notebooks (nbgrader "source")
    assignments/<assignment>/<notebook>.ipynb    released notebooks (nbgrader "release")
    autograder/asrlab_grade/tasks/<assignment>.py   hidden tasks (or <root>/autograder/tasks/)
    submitted/<student>/<assignment>/*.ipynb     submissions (nbgrader "submitted")
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from .notebook import find_release_notebooks
from .task import Assignment, TrainingTask

SOURCE_DIR = "solutions"
RELEASE_DIR = "assignments"
CONFIG_FILE = "nbgrader_config.py"


class CourseError(Exception):
    """The course itself is misconfigured (an instructor problem, not a student's)."""


def find_course_root(start: Optional[Path] = None) -> Path:
    """The nearest folder upwards that holds ``nbgrader_config.py`` (else ``start``)."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        if (d / CONFIG_FILE).is_file() and (d / RELEASE_DIR).is_dir():
            return d
    return here


@dataclass
class Course:
    root: Path

    def release_dir(self, name: str) -> Path:
        return self.root / RELEASE_DIR / name

    def source_dir(self, name: str) -> Path:
        return self.root / SOURCE_DIR / name

    def task_file(self, name: str) -> Optional[Path]:
        local = self.root / "autograder" / "tasks" / f"{name}.py"
        if local.is_file():
            return local
        spec = importlib.util.find_spec(f"asrlab_grade.tasks.{name}")
        return Path(spec.origin) if spec and spec.origin else None

    def check_assignment(self, name: str) -> None:
        """Raise :class:`CourseError` saying where it looked when ``name`` is not a released assignment of a
        course folder (listing the assignments there, the closest first)."""
        if not (self.root / CONFIG_FILE).is_file():
            raise CourseError(f"{self.root} is not a course folder: no {CONFIG_FILE} (with an {RELEASE_DIR}/ "
                              f"folder) here or in a parent; run inside the course or pass --course-root")
        if name not in self.assignments() and not self.release_dir(name).is_dir():
            raise CourseError(f"no assignment '{name}' in {self.root / RELEASE_DIR}; {self.known(name)}")

    def known(self, name: str) -> str:
        """'did you mean ...? released assignments: ...' for a name that is not one of them."""
        known = self.assignments()
        close = difflib.get_close_matches(name, known, n=1)
        return (f"did you mean '{close[0]}'? " if close else "") + f"released assignments: {', '.join(known) or 'none'}"

    def check_assignment_source(self, name: str) -> None:
        """Raise :class:`CourseError` unless ``solutions/<name>/`` holds a source notebook."""
        if not self.source_dir(name).is_dir() or not any(self.source_dir(name).glob("*.ipynb")):
            known = sorted(d.parent.name for d in (self.root / SOURCE_DIR).glob("*/*.ipynb"))
            raise CourseError(f"no source notebook in {self.source_dir(name)}; source assignments: "
                              f"{', '.join(known) or 'none'}")

    def load_assignment(self, name: str) -> Assignment:
        """Import the assignment's task module and return its ``ASSIGNMENT``."""
        path = self.task_file(name)
        if path is None:
            if not (self.root / CONFIG_FILE).is_file():
                self.check_assignment(name)
            raise CourseError(f"no tasks for assignment '{name}': create "
                              f"autograder/asrlab_grade/tasks/{name}.py defining ASSIGNMENT ({self.known(name)})")
        mod_name = f"asrlab_grade_tasks_{name}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        assignment = getattr(module, "ASSIGNMENT", None)
        if not isinstance(assignment, Assignment):
            raise CourseError(f"{path} must define ASSIGNMENT = Assignment(...)")
        return assignment

    def release_notebooks(self, name: str) -> List[Path]:
        nbs = find_release_notebooks(self.release_dir(name))
        if not nbs:
            self.check_assignment(name)
            raise CourseError(f"no released notebook in {self.release_dir(name)}; run "
                              f"`nbgrader generate_assignment {name}` in {self.root}")
        return nbs

    def assignments(self) -> List[str]:
        """Released assignments (folders under assignments/ holding a notebook)."""
        rel = self.root / RELEASE_DIR
        return sorted(d.name for d in rel.iterdir() if d.is_dir() and find_release_notebooks(d)) \
            if rel.is_dir() else []


@dataclass
class Submission:
    """One student's submission: notebooks by release notebook name, plus its folder."""

    student: str
    folder: Optional[Path]
    notebooks: dict = field(default_factory=dict)   # release name -> Path or None (missing)
    problem: Optional[str] = None                   # why it cannot be graded at all (scores 0)


def discover(submissions: Path, assignment: str, release_names: List[str],
             skipped: Optional[List[Tuple[str, str]]] = None) -> List[Submission]:
    """Find submissions in nbgrader's ``<student>/<assignment>/`` layout, in
    ``<student>/`` folders, or as a flat folder of files (one notebook assignments).

    Every folder under ``submissions`` becomes a submission, symbolic links included (they
    score 0 with a message: a link could point at a classmate's work). Entries that are not
    submissions (hidden folders such as ``.ipynb_checkpoints``, stray files) are appended to
    ``skipped`` as (name, reason).
    """
    if not submissions.is_dir():
        raise CourseError(f"submissions folder {submissions} does not exist")
    found: List[Submission] = []
    skipped = skipped if skipped is not None else []
    for entry in sorted(submissions.iterdir()):
        if entry.is_symlink():
            found.append(Submission(entry.stem if entry.suffix == ".ipynb" else entry.name, None,
                                    {r: None for r in release_names},
                                    problem=f"'{entry.name}' is a symbolic link; submit the folder or "
                                            "file itself (links are refused: they can point at other work)"))
        elif entry.name.startswith("."):
            skipped.append((entry.name, "hidden (the name starts with '.'); rename it to grade it"))
        elif entry.is_dir():
            found.append(_folder_submission(entry, assignment, release_names))
        elif entry.is_file() and entry.suffix == ".ipynb":
            if len(release_names) != 1:
                raise CourseError(f"flat submission folders need a one-notebook assignment; "
                                  f"{assignment} has {len(release_names)}: use <student>/ folders")
            found.append(Submission(entry.stem, None, {release_names[0]: entry}))
        else:
            skipped.append((entry.name, "not a folder or an .ipynb file"))
    return found


def _folder_submission(entry: Path, assignment: str, release_names: List[str]) -> Submission:
    inner = entry / assignment
    if inner.is_symlink():
        return Submission(entry.name, None, {r: None for r in release_names},
                          problem=f"'{entry.name}/{assignment}' is a symbolic link; submit the folder itself")
    folder = inner if inner.is_dir() else entry
    files = sorted(p for p in folder.iterdir() if p.suffix == ".ipynb" and p.is_file()
                   and not p.name.startswith("."))
    sub = Submission(entry.name, folder)
    for rname in release_names:
        match = folder / rname
        if not match.is_file() and not match.is_symlink() and len(files) == 1 and len(release_names) == 1:
            match = files[0]  # a renamed copy of the only notebook
        sub.notebooks[rname] = match if match.is_file() or match.is_symlink() else None
    return sub


def training_files(assignment: Assignment) -> List[str]:
    """Files a submission must bring besides its notebooks (checkpoints)."""
    files = [t.checkpoint for t in assignment.tasks if isinstance(t, TrainingTask)]
    return files + list(assignment.submission_files)
