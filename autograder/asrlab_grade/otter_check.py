"""Check an assignment's otter-grader export end to end: ``otter assign``, then ``otter run`` on the
solution (full marks) and on otter's blank student notebook (0).

``asrlab-grade validate --otter`` calls :func:`check_otter` after it graded the solution, so the
training assignments are run with the checkpoints the solution just trained (a student submits
them next to the notebook, and the notebook loads instead of retraining). Each submission goes to
``otter run`` as a zip of the notebook and those files, which otter unpacks into its submission folder.

Usage::

    problems = check_otter(course, "rnnt", solution_dir, ["rnnt_model.pt"])
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from .course_folder import Course
from .otter_export import export_otter

# otter run executes the whole notebook (with the checkpoints: evaluation only, no training).
OTTER_RUN_TIMEOUT_S = 1800


def _zip_submission(notebook: Path, folder: Path, files: Sequence[str], target: Path) -> Path:
    """``target``: the notebook plus each of ``files`` (a file or a folder) found in ``folder``."""
    with zipfile.ZipFile(target, "w") as zf:
        zf.write(notebook, notebook.name)
        for name in files:
            path = folder / name
            entries = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for entry in entries:
                zf.write(entry, str(entry.relative_to(folder)))
    return target


def otter_score(results: Path) -> Tuple[float, float]:
    """(score, max score) of the graded tests in otter's ``results.json``."""
    tests = [t for t in json.loads(results.read_text())["tests"] if "max_score" in t]
    return sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)


def otter_run(autograder_zip: Path, submission: Path, out: Path) -> Tuple[float, float]:
    """Grade ``submission`` (a notebook or a zip) with ``otter run``; returns (score, max score)."""
    out.mkdir(parents=True, exist_ok=True)
    code = ("import sys, otter.run; otter.run.main(sys.argv[1], autograder=sys.argv[2], "
            "output_dir=sys.argv[3], no_logo=True)")
    res = subprocess.run([sys.executable, "-c", code, str(submission), str(autograder_zip), str(out)],
                         capture_output=True, text=True, timeout=OTTER_RUN_TIMEOUT_S)
    if res.returncode != 0 or not (out / "results.json").is_file():
        raise RuntimeError(f"otter run {submission.name} failed: {(res.stdout + res.stderr)[-1500:]}")
    return otter_score(out / "results.json")


def check_otter(course: Course, name: str, solution_dir: Path, checkpoints: Sequence[str] = ()) -> List[str]:
    """Problems of the otter export of ``name`` (empty when the solution scores full marks and the blank 0).

    ``solution_dir`` holds the solution notebooks and the ``checkpoints`` they load.
    """
    if shutil.which("otter") is None:
        return [f"{name}: otter is not installed (pip install otter-grader); the otter check was skipped"]
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix=f"asrlab-otter-{name}-") as tmp:
        out = Path(tmp) / "otter"
        try:
            export_otter(course, name, out, package="asrlab")
        except Exception as e:  # noqa: BLE001 - reported as the assignment's problem
            return [f"{name}: otter export failed: {e}"]
        dist = out / "dist"
        for notebook in sorted(course.source_dir(name).glob("*.ipynb")):
            stem = notebook.stem
            zips = sorted((dist / "autograder").glob(f"{stem}-autograder_*.zip"))
            if len(zips) != 1:
                problems.append(f"{name}: otter assign made {len(zips)} autograder zips for {notebook.name}")
                continue
            runs: Dict[str, Path] = {
                "solution": _zip_submission(dist / "autograder" / notebook.name, solution_dir, checkpoints,
                                            Path(tmp) / f"{stem}-solution.zip"),
                "blank": dist / "student" / notebook.name}
            for who, submission in runs.items():
                try:
                    score, top = otter_run(zips[0], submission, Path(tmp) / who)
                except Exception as e:  # noqa: BLE001 - reported, the other run still goes
                    problems.append(f"{name}: {e}")
                    continue
                print(f"{name}: otter run {who} {score:g}/{top:g}", flush=True)
                if (who == "solution" and score != top) or (who == "blank" and score != 0):
                    problems.append(f"{name}: otter gives the {who} {score:g}/{top:g} (expected "
                                    f"{'full marks' if who == 'solution' else '0'})")
    return problems
