"""Export an assignment to Gradescope: an autograder zip that runs asrlab's own hardened grading.

Usage::

    asrlab-grade export gradescope ctc            # gradescope/ctc/autograder.zip, uploaded to Gradescope

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build its image, then for
every submission runs ``/autograder/run_autograder`` with the student's files in ``/autograder/submission``
and reads ``/autograder/results/results.json``. Ours grades with ``asrlab-grade autograde`` (hidden tasks,
sandbox, checkpoint evaluation) and writes Gradescope's format: one test per graded cell with its points,
the student's feedback messages, no hidden inputs. Written answers (manually graded cells) are not autograder
tests: results.json's output names them, and the instructor adds them on Gradescope's site as manually graded
questions (``instructions`` says which, with their points). The zip holds the release notebooks, the course's task
modules (inside the asrlab-grade wheel), the course secret that seeds the hidden splits and the library
wheel: it is instructor material, never published.

Zip layout::

    setup.sh  run_autograder  gradescope.json  secret  wheels/*.whl  course/nbgrader_config.py  course/assignments/<a>/
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from .course_folder import Course, CourseError
from .notebook import manual_cells, read_notebook
from .report import manual_note
from .release import build_wheel
from .secret import load_or_create, secret_path

ROOT_ENV = "ASRLAB_GRADESCOPE_ROOT"  # tests lay out a Gradescope-like folder elsewhere than /autograder
DEFAULT_ROOT = "/autograder"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope image build: Python packages for asrlab's grader (CPU torch; the grader needs no GPU).
set -euo pipefail
cd /autograder/source
python3 -m pip install --upgrade pip
python3 -m pip install torch --index-url https://download.pytorch.org/whl/cpu
python3 -m pip install wheels/*.whl
"""
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope entry point: grade /autograder/submission with asrlab-grade, write results/results.json.
exec python3 -m asrlab_grade.gradescope "${ASRLAB_GRADESCOPE_ROOT:-/autograder}"
"""


def build_zip(course: Course, name: str, out: Path, course_secret: Optional[bytes] = None) -> Path:
    """Write ``out/autograder.zip`` for assignment ``name``; returns its path.

    ``course_secret`` (default: the course's stored secret) seeds the hidden splits Gradescope grades on.
    """
    notebooks = course.release_notebooks(name)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp)
        for package in ("shared", "autograder"):
            if (course.root / package / "pyproject.toml").is_file():
                build_wheel(course.root / package, wheels)
        target = out / "autograder.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for member, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(member)
                info.external_attr = 0o755 << 16
                z.writestr(info, text)
            z.writestr("gradescope.json", json.dumps({"assignment": name}))
            # the course's secret, so that Gradescope grades on the same hidden splits as the instructor
            z.writestr("secret", (course_secret or load_or_create(secret_path(course.root))).decode())
            for wheel in sorted(wheels.glob("*.whl")):
                z.write(wheel, f"wheels/{wheel.name}")
            z.write(course.root / "nbgrader_config.py", "course/nbgrader_config.py")
            for nb in notebooks:
                z.write(nb, f"course/assignments/{name}/{nb.name}")
    return target


def instructions(course: Course, name: str, target: Path) -> List[str]:
    """What the instructor does with the zip on Gradescope, the written answers' manual questions included."""
    lines = [f"Gradescope autograder: {target}",
             "Upload it as the autograder of a programming assignment."]
    written = [(nb.name, gid, pts) for nb in course.release_notebooks(name) for gid, pts in manual_cells(read_notebook(nb))]
    if written:
        total = sum(pts for _, _, pts in written)
        lines.append(f"Written answers ({total:g} points) are not in the autograder's score: add them on Gradescope's "
                     "site as manually graded questions of the assignment and grade them by hand:")
        lines += [f"  {nb}: {gid} ({pts:g} point{'' if pts == 1 else 's'})" for nb, gid, pts in written]
    return lines


def results_json(result: Dict[str, Any], seconds: float) -> Dict[str, Any]:
    """Gradescope's results.json from one asrlab-grade result (``results/<student>.json``)."""
    tests = []
    for nb in result.get("notebooks", []):
        for task in nb["tasks"]:
            messages = "\n\n".join(task.get("messages", []))
            tests.append({"name": task["grade_id"], "score": round(float(task["points"] or 0.0), 4),
                          "max_score": float(task["max_points"]), "visibility": "visible",
                          "status": "passed" if task["points"] == task["max_points"] else "failed",
                          "output": messages or "all cases passed"})
    notes = [manual_note(nb) for nb in result.get("notebooks", []) if manual_note(nb)]
    output = "\n\n".join(([result["error"]] if result.get("error") else []) + notes)
    return {"score": round(float(result.get("score") or 0.0), 4), "execution_time": round(seconds, 1),
            "output": output, "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def run(root: Path) -> int:
    """Grade ``root/submission`` with the assignment of ``root/source`` into ``root/results/results.json``."""
    from . import cli

    source, results = root / "source", root / "results"
    name = json.loads((source / "gradescope.json").read_text())["assignment"]
    results.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        student = Path(tmp) / "submitted" / "student" / name
        shutil.copytree(root / "submission", student)
        graded = Path(tmp) / "graded"
        cli.main(["autograde", name, str(student.parent.parent), "--out", str(graded),
                  "--course-root", str(source / "course"), "--secret", str(source / "secret"),
                  "--workers", "1", "--no-progress"])
        found = sorted((graded / "results").glob("*.json"))
        if not found:
            raise CourseError(f"asrlab-grade wrote no result for the submission in {root / 'submission'}")
        result = json.loads(found[0].read_text())
    (results / "results.json").write_text(json.dumps(results_json(result, time.monotonic() - start), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ROOT_ENV, DEFAULT_ROOT))))
