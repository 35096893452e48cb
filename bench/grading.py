"""Benchmark: nbgrader autograde versus asrlab-grade autograde on the same submissions.

Usage:
    python bench/grading.py [--quick] [-n N] [--workers W] [--keep DIR]

Builds a throw-away course from the engine's demo assignment (three tasks: a numpy
function, an array-returning function and a trained model), submits N copies of a correct
answer with its checkpoint, grades them once with ``nbgrader autograde`` and once with
``asrlab-grade autograde`` in the same run, and prints throughput, the per-submission
overhead of asrlab-grade beyond the notebook's own compute, and finally one line
``ratio: X`` (asrlab-grade throughput / nbgrader throughput). ``--quick`` uses few
submissions and finishes within about a minute.

The notebook's own compute is measured in this process, warm: running the rebuilt cells
and the graded calls with plain ``exec``, without any sandbox.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "autograder" / "tests" / "fixtures" / "course"
ASSIGNMENT = "demo"
QUICK_N, FULL_N = 2, 12


def grade_id(cell: Dict[str, Any]) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def build_course(work: Path, n: int) -> Path:
    """A copy of the demo course with n correct submissions (notebook + checkpoint)."""
    course = work / "course"
    shutil.copytree(DEMO, course, ignore=shutil.ignore_patterns("gradebook.db", "__pycache__"))
    solution = json.loads((course / "solutions" / ASSIGNMENT / "demo.ipynb").read_text())
    release = json.loads((course / "assignments" / ASSIGNMENT / "demo.ipynb").read_text())
    answers = {grade_id(c): c["source"] for c in solution["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for c in release["cells"]:
        if grade_id(c) in answers:
            c["source"] = answers[grade_id(c)]
    train_dir = work / "train"
    train_dir.mkdir()
    ns: Dict[str, Any] = {}
    cwd = os.getcwd()
    os.chdir(train_dir)
    try:
        for c in solution["cells"]:
            if grade_id(c) in ("setup", "model_answer", "train_answer"):
                exec(compile("".join(c["source"]), grade_id(c), "exec"), ns)
    finally:
        os.chdir(cwd)
    for i in range(n):
        folder = course / "submitted" / f"student{i:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "demo.ipynb").write_text(json.dumps(release))
        shutil.copyfile(train_dir / "demo_model.pt", folder / "demo_model.pt")
    return course


def own_compute_seconds(course: Path) -> float:
    """Seconds to run one submission's graded code in a warm process without a sandbox."""
    sys.path.insert(0, str(ROOT / "autograder"))
    from asrlab_grade.course_folder import Course
    from asrlab_grade.notebook import read_notebook, rebuild
    from asrlab_grade.task import FunctionTask, TrainingTask
    import numpy as np
    import torch

    c = Course(course)
    assignment = c.load_assignment(ASSIGNMENT)
    release = read_notebook(course / "assignments" / ASSIGNMENT / "demo.ipynb")
    sub = course / "submitted" / "student000" / ASSIGNMENT
    skip = [g for t in assignment.tasks if isinstance(t, TrainingTask) for g in t.skip_cells]
    plan, _ = rebuild(release, read_notebook(sub / "demo.ipynb"), skip)
    cwd = os.getcwd()
    os.chdir(sub)
    try:
        t0 = time.perf_counter()
        ns: Dict[str, Any] = {"__name__": "__main__"}
        for cell in plan:
            exec(compile(cell.source, "cell", "exec"), ns)
        rng = np.random.default_rng(0)
        for task in assignment.tasks:
            if isinstance(task, FunctionTask):
                for case in task.cases(rng):
                    ns[task.call](*case.args, **case.kwargs)
            else:
                ck = torch.load(task.checkpoint, weights_only=True)
                model = ns[task.model_class](**ck["config"])
                model.load_state_dict(ck["state_dict"])
                recipe: Dict[str, Any] = {}
                exec(task.evaluate_source, recipe)
                with torch.no_grad():
                    recipe["evaluate"](model.eval(), task.test_split()[0], "cpu")
        return time.perf_counter() - t0
    finally:
        os.chdir(cwd)


def run_nbgrader(course: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=course,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def nbgrader_scores(course: Path) -> List[float]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute("select sum(coalesce(g.manual_score, g.auto_score, 0)) from grade g "
                          "join submitted_notebook n on g.notebook_id = n.id group by n.id").fetchall()
    return [float(r[0]) for r in rows]


def run_asrlab(course: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "asrlab_grade.cli", "autograde", ASSIGNMENT,
                    str(course / "submitted"), "--out", str(out), "--course-root", str(course),
                    "--workers", str(workers), "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, ASRLAB_GRADE_SECRET_FILE=str(out.parent / "course-secret")))
    return time.perf_counter() - t0


def bwrap_start_ms(repeat: int = 10) -> float:
    """Milliseconds to start and end one sandbox with the grader's own bwrap command line."""
    sys.path.insert(0, str(ROOT / "autograder"))
    from asrlab_grade.bwrap import SandboxSpec, check_bwrap, covered_dirs, default_allowlist

    spec = SandboxSpec(check_bwrap(), default_allowlist(), covered_dirs())
    with tempfile.TemporaryDirectory() as job:
        cmd = spec.command(job, ["true"])
        t0 = time.perf_counter()
        for _ in range(repeat):
            subprocess.run(cmd, check=True)
        return (time.perf_counter() - t0) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_N} submissions, about a minute")
    ap.add_argument("-n", type=int, default=None, help=f"submissions (default {FULL_N})")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = ap.parse_args()
    n = args.n or (QUICK_N if args.quick else FULL_N)
    work = Path(tempfile.mkdtemp(prefix="asrlab-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        course = build_course(work, n)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                       cwd=course, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        own = own_compute_seconds(course)
        t_nb = run_nbgrader(course)
        t_asr = run_asrlab(course, work / "out", args.workers)
        results = [json.loads(p.read_text()) for p in (work / "out" / "results").glob("*.json")]
        per_sub = sorted(r["seconds"] for r in results)
        median = per_sub[len(per_sub) // 2]
        waits = sorted(r.get("sandbox_wait_s", 0.0) for r in results)
        bwrap_ms = bwrap_start_ms()
        nb_scores, asr_scores = nbgrader_scores(course), [r["score"] for r in results]
        print(f"submissions: {n}   workers: {args.workers}   cores: {os.cpu_count()}")
        print(f"scores: nbgrader {sorted(set(nb_scores))}   asrlab-grade {sorted(set(asr_scores))}")
        print(f"nbgrader autograde:   {t_nb:7.2f} s  ({t_nb / n:.2f} s/submission, "
              f"{n / t_nb:.2f} submissions/s)")
        print(f"asrlab-grade autograde: {t_asr:5.2f} s  ({t_asr / n:.2f} s/submission, "
              f"{n / t_asr:.2f} submissions/s, incl. sandbox start)")
        print(f"own compute per submission (warm, no sandbox): {own:.3f} s")
        print(f"asrlab-grade per-submission time in sandboxes: median {median:.3f} s, "
              f"max {per_sub[-1]:.3f} s; overhead beyond own compute: {median - own:.3f} s")
        print(f"waiting for a sandbox to finish importing (not started ahead): median "
              f"{waits[len(waits) // 2]:.3f} s, max {waits[-1]:.3f} s per submission")
        print(f"bwrap itself: {bwrap_ms:.1f} ms per sandbox (namespaces + allowlisted root, running `true`)")
        print(f"ratio: {t_nb / t_asr:.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
