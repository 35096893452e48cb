"""One grading run: many submissions, parallel warm workers, one result per student.

The run draws a secret seed (or takes ``seed`` for reproducible inputs), computes each
task's cases and references once, and grades submissions on ``workers`` threads, each
owning a warm worker process. A submission that breaks anything, the grader's own code
included, gets an error in its result and the run goes on.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from queue import Queue
from typing import Any, Dict, List, Optional, Sequence

from .course import Course, Submission
from .grader import GraderError, RunContext, Worker, grade_notebook
from .notebook import read_notebook
from .threads import available_cores


def default_workers() -> int:
    """One sandbox per core: each runs torch / OpenMP with one thread (see :mod:`asrlab_grade.threads`)."""
    return available_cores()


def _keep_paths() -> List[str]:
    """Paths the sandbox must still see: the Python environment and the student library."""
    keep = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    spec = importlib.util.find_spec("asrlab")
    if spec is not None and spec.submodule_search_locations:
        keep.update(os.path.realpath(p) for p in spec.submodule_search_locations)
    return sorted(keep)


def make_context(course: Course, name: str, hide_extra: Sequence[Path] = (), seed: Optional[int] = None,
                 namespaces: bool = True) -> RunContext:
    assignment = course.load_assignment(name)
    release_dir = course.release_dir(name)
    release = {p.name: read_notebook(p) for p in course.release_notebooks(name)}
    # Public files shipped next to the notebook (small data, helper modules) go into the sandbox.
    release_files = [p for p in release_dir.iterdir()
                     if p.suffix != ".ipynb" and not p.name.startswith((".", "__pycache__"))]
    run_root = Path(tempfile.mkdtemp(prefix="asrlab-grade-"))
    os.chmod(run_root, 0o711)
    hide = {os.path.realpath(course.root)} | {os.path.realpath(p) for p in hide_extra}
    task_file = course.task_file(name)
    if task_file is not None:
        hide.add(os.path.realpath(task_file.parent))
    keep = _keep_paths() + [str(run_root)] + [os.path.realpath(course.root / v) for v in assignment.visible]
    return RunContext(assignment=assignment, release=release, run_root=run_root,
                      hide=sorted(hide), keep=keep,
                      seed=seed if seed is not None else secrets.randbits(63),
                      release_files=release_files, namespaces=namespaces)


def grade_submission(ctx: RunContext, sub: Submission, worker: Worker) -> Dict[str, Any]:
    """All notebooks of one student, summed into one result."""
    t0 = time.monotonic()
    notebooks = [grade_notebook(ctx, worker, sub.student, name, path, sub.folder)
                 for name, path in sub.notebooks.items()]
    return {"student": sub.student, "assignment": ctx.assignment.name,
            "score": round(sum(n["score"] for n in notebooks), 4),
            "max_score": sum(n["max_score"] for n in notebooks),
            "notebooks": notebooks, "seconds": round(time.monotonic() - t0, 3),
            "error": next((n["error"] for n in notebooks if n.get("error")), None)}


def _failed(ctx: RunContext, sub: Submission, message: str) -> Dict[str, Any]:
    max_score = sum(p for nb in ctx.release.values() for p in
                    [float(c.get("metadata", {}).get("nbgrader", {}).get("points", 0) or 0)
                     for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")
                     and not c.get("metadata", {}).get("nbgrader", {}).get("solution")])
    return {"student": sub.student, "assignment": ctx.assignment.name, "score": 0.0,
            "max_score": max_score, "notebooks": [], "seconds": 0.0,
            "error": f"grader error: {message}", "grader_error": True}


class WorkerPool:
    """Warm workers handed to grading threads; a worker that broke is replaced."""

    def __init__(self, preload: Sequence[str], size: int, warm: bool = True,
                 forbid: Sequence[str] = ()) -> None:
        self.preload, self.warm, self.forbid = tuple(preload), warm, tuple(forbid)
        self.idle: "Queue[Optional[Worker]]" = Queue()
        for _ in range(size):
            self.idle.put(None)  # started lazily, in parallel, by the threads that need them
        self.all: List[Worker] = []

    def acquire(self) -> Worker:
        w = self.idle.get()
        if w is None or not w.alive():
            w = Worker(self.preload, self.forbid)
            self.all.append(w)
        return w

    def release(self, w: Optional[Worker], broken: bool = False) -> None:
        if w is not None and (broken or not self.warm):
            w.close()
            w = None
        self.idle.put(w)

    def close(self) -> None:
        for w in self.all:
            w.close()


def grade_all(ctx: RunContext, subs: Sequence[Submission], workers: int, warm: bool = True,
              progress: bool = True) -> List[Dict[str, Any]]:
    """Grade every submission; results come back in the order of ``subs``."""
    forbid = sorted({n for t in ctx.assignment.tasks for n in t.forbidden})
    pool = WorkerPool(ctx.assignment.preload, workers, warm, forbid)
    results: Dict[int, Dict[str, Any]] = {}

    def one(i: int, sub: Submission) -> Dict[str, Any]:
        w = None
        try:
            w = pool.acquire()
            res = grade_submission(ctx, sub, w)
            pool.release(w)
            return res
        except GraderError as e:
            pool.release(w, broken=True)
            return _failed(ctx, sub, str(e))
        except Exception:  # noqa: BLE001 - a bug in the grader must not stop the run
            pool.release(w, broken=True)
            return _failed(ctx, sub, traceback.format_exc(limit=4))

    bar = _progress(len(subs)) if progress else None
    try:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            futs = {ex.submit(one, i, s): i for i, s in enumerate(subs)}
            for fut in as_completed(futs):
                results[futs[fut]] = fut.result()
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        pool.close()
        shutil.rmtree(ctx.run_root, ignore_errors=True)
    return [results[i] for i in range(len(subs))]


def _progress(total: int) -> Any:
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc="grading", unit="sub", file=sys.stderr)
    except ImportError:
        return None
