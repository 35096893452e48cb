"""Check an assignment's exports end to end on its solution (full marks) and blank release (0).

* otter-grader: ``otter assign``, then ``otter run`` on the solution and on otter's blank student
  notebook. Each submission goes to ``otter run`` as a zip of the notebook and the files next to it,
  which otter unpacks into its submission folder.
* Gradescope: the autograder zip unpacked into a Gradescope-like root, ``run_autograder`` run on the
  solution folder and on the blank release, ``results/results.json`` read back.

``asrlab-grade validate --exports`` calls both after it graded the solution, so the training
assignments run with the checkpoints the solution just trained (a student submits them next to the
notebook, and the notebook loads them instead of retraining).

Usage::

    problems = check_otter(course, "rnnt", solution_dir, ["rnnt_model.pt"])
    problems += check_gradescope(course, "rnnt", solution_dir, ["rnnt_model.pt"], secret.fresh())
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .course_folder import Course
from .gradescope import ROOT_ENV, build_zip
from .otter_export import export_otter
from .threads import environ_with_threads

# otter run executes the whole notebook (with the checkpoints: evaluation only, no training).
OTTER_RUN_TIMEOUT_S = 1800
GRADESCOPE_RUN_TIMEOUT_S = 1800


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


def otter_run(autograder_zip: Path, submission: Path, out: Path, threads: Optional[int] = None) -> Tuple[float, float]:
    """Grade ``submission`` (a notebook or a zip) with ``otter run``; returns (score, max score)."""
    out.mkdir(parents=True, exist_ok=True)
    code = ("import sys, otter.run; otter.run.main(sys.argv[1], autograder=sys.argv[2], "
            "output_dir=sys.argv[3], no_logo=True)")
    res = subprocess.run([sys.executable, "-c", code, str(submission), str(autograder_zip), str(out)],
                         capture_output=True, text=True, timeout=OTTER_RUN_TIMEOUT_S, env=environ_with_threads(threads))
    if res.returncode != 0 or not (out / "results.json").is_file():
        raise RuntimeError(f"otter run {submission.name} failed: {(res.stdout + res.stderr)[-1500:]}")
    return otter_score(out / "results.json")


def check_otter(course: Course, name: str, solution_dir: Path, checkpoints: Sequence[str] = (),
                threads: Optional[int] = None) -> List[str]:
    """Problems of the otter export of ``name`` (empty when the solution scores full marks and the blank 0).

    ``solution_dir`` holds the solution notebooks and the ``checkpoints`` they load; ``threads`` sizes the
    thread pools of the ``otter run`` processes (default: the libraries' own choice).
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
                    score, top = otter_run(zips[0], submission, Path(tmp) / who, threads)
                except Exception as e:  # noqa: BLE001 - reported, the other run still goes
                    problems.append(f"{name}: {e}")
                    continue
                problems += _judge(name, "otter run", who, score, top)
    return problems


def _judge(name: str, how: str, who: str, score: float, top: float) -> List[str]:
    """Print the score; a problem unless the solution has full marks and the blank 0."""
    print(f"{name}: {how} {who} {score:g}/{top:g}", flush=True)
    if (who == "solution" and score == top) or (who == "blank" and score == 0):
        return []
    return [f"{name}: {how} gives the {who} {score:g}/{top:g} (expected {'full marks' if who == 'solution' else '0'})"]


def gradescope_run(autograder_zip: Path, submission: Path, root: Path,
                   threads: Optional[int] = None) -> Tuple[float, float]:
    """Run the zip's ``run_autograder`` on the files of ``submission`` in a Gradescope-like ``root``."""
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    shutil.copytree(submission, root / "submission")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    res = subprocess.run([str(run)], env=environ_with_threads(threads, **{ROOT_ENV: str(root)}), capture_output=True, text=True,
                         timeout=GRADESCOPE_RUN_TIMEOUT_S)
    results = root / "results" / "results.json"
    if res.returncode != 0 or not results.is_file():
        raise RuntimeError(f"run_autograder failed on {submission.name}: {(res.stdout + res.stderr)[-1500:]}")
    data = json.loads(results.read_text())
    return data["score"], sum(t["max_score"] for t in data["tests"])


def check_gradescope(course: Course, name: str, solution_dir: Path, files: Sequence[str],
                     course_secret: bytes, threads: Optional[int] = None) -> List[str]:
    """Problems of the Gradescope export of ``name``: ``run_autograder`` on the solution (its notebooks
    and ``files``) must give full marks, on the blank release 0 (``threads`` as in :func:`check_otter`)."""
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix=f"asrlab-gradescope-{name}-") as tmp:
        try:
            target = build_zip(course, name, Path(tmp) / "zip", course_secret=course_secret)
        except Exception as e:  # noqa: BLE001 - reported as the assignment's problem
            return [f"{name}: gradescope export failed: {e}"]
        solution = Path(tmp) / "solution"
        solution.mkdir()
        for path in [*course.source_dir(name).glob("*.ipynb"), *(solution_dir / f for f in files)]:
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, solution / path.name)
        for who, submission in (("solution", solution), ("blank", course.release_dir(name))):
            try:
                score, top = gradescope_run(target, submission, Path(tmp) / who, threads)
            except Exception as e:  # noqa: BLE001 - reported, the other run still goes
                problems.append(f"{name}: {e}")
                continue
            problems += _judge(name, "gradescope run_autograder", who, score, top)
    return problems
