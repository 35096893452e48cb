"""One grading run: many submissions, parallel warm workers, one result per student.

The run draws a secret seed (or takes ``seed`` for reproducible inputs), computes each
task's cases and references once, and grades submissions on ``workers`` threads; every
attempt at a submission runs in a fresh sandbox, started ahead while others are graded. A submission that breaks anything, the grader's own code
included, gets an error in its result and the run goes on.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from . import jitcache, preload, secret
from .bwrap import SandboxSpec, check_bwrap, covered_dirs, default_allowlist, hidden_dirs
from .course_folder import Course, Submission
from .grader import GraderError, RunContext, grade_notebook
from .notebook import graded_cells, manual_cells, read_notebook
from .pool import SandboxPool
from .session import Launcher, Sandbox
from .threads import available_cores


def default_workers() -> int:
    """One sandbox per core: each runs torch / OpenMP with one thread (see :mod:`asrlab_grade.threads`)."""
    return available_cores()


def make_context(course: Course, name: str, hide_extra: Sequence[Path] = (), seed: Optional[int] = None,
                 insecure: bool = False, course_secret: Optional[bytes] = None,
                 secret_file: Optional[Path] = None) -> RunContext:
    """Everything a run shares; raises :class:`SandboxUnavailable` when bwrap cannot run here
    (unless ``insecure``: then student code runs with rlimits and the audit hook only).

    ``course_secret`` (default: the course's stored secret, made on first use, see
    :mod:`asrlab_grade.secret`) seeds the hidden test splits.
    """
    path = secret.secret_path(course.root, secret_file)
    secret.activate(course_secret if course_secret is not None else secret.load_or_create(path))
    assignment = course.load_assignment(name)
    release_dir = course.release_dir(name)
    release, release_files = {}, []
    if assignment.project is None:  # a project's submissions bring every file themselves
        release = {p.name: read_notebook(p) for p in course.release_notebooks(name)}
        # Public files shipped next to the notebook (small data, helper modules) go into the sandbox.
        release_files = [p for p in release_dir.iterdir()
                         if p.suffix != ".ipynb" and not p.name.startswith((".", "__pycache__"))]
    visible = [os.path.realpath(course.root / v) for v in assignment.visible]
    keep = default_allowlist() + visible
    hidden = hidden_dirs(assignment.hidden_packages)
    spec = None if insecure else SandboxSpec(check_bwrap(), keep, covered_dirs(), assignment.limits.disk_mb,
                                             hidden=hidden)
    run_root = Path(tempfile.mkdtemp(prefix="asrlab-grade-"))
    os.chmod(run_root, 0o700)
    hide = {os.path.realpath(course.root), os.path.realpath(path.parent)}
    hide |= {os.path.realpath(p) for p in hide_extra} | set(covered_dirs())
    task_file = course.task_file(name)
    if task_file is not None:
        hide.add(os.path.realpath(task_file.parent))
    if insecure:
        hide.add(str(run_root))  # every job's folder; the audit hook lets each reach its own scratch
        hide |= set(hidden.values())  # under bwrap their stub answers: importing them fails cleanly
    return RunContext(assignment=assignment, release=release, run_root=run_root,
                      hide=sorted(hide), keep=keep,
                      seed=seed if seed is not None else secrets.randbits(63),
                      release_files=release_files, spec=spec)


def grade_submission(ctx: RunContext, sub: Submission, acquire: Callable[[], Sandbox]) -> Dict[str, Any]:
    """All notebooks of one student, summed into one result."""
    t0 = time.monotonic()
    if ctx.assignment.project is not None:
        from .project import grade_project
        notebooks = [grade_project(ctx, acquire, sub.student, sub.folder, ctx.assignment.project)]
    else:
        notebooks = [grade_notebook(ctx, acquire, sub.student, name, path, sub.folder)
                     for name, path in sub.notebooks.items()]
    wait = sum(n.get("sandbox_wait_s", 0.0) for n in notebooks)
    return {"student": sub.student, "assignment": ctx.assignment.name,
            "score": round(sum(n["score"] for n in notebooks), 4),
            "max_score": sum(n["max_score"] for n in notebooks),
            "manual_points": sum(n.get("manual_points", 0.0) for n in notebooks),
            "notebooks": notebooks, "seconds": round(time.monotonic() - t0 - wait, 3),
            "sandbox_wait_s": round(wait, 3),
            "needs_review": [f"{n['notebook']}: {f}" for n in notebooks for f in n.get("review", [])],
            "error": next((n["error"] for n in notebooks if n.get("error")), None)}


def _failed(ctx: RunContext, sub: Submission, message: str) -> Dict[str, Any]:
    max_score = sum(p for nb in ctx.release.values() for _, p in graded_cells(nb))
    if ctx.assignment.project is not None:
        max_score = ctx.assignment.project.max_score()
    manual = sum(p for nb in ctx.release.values() for _, p in manual_cells(nb))
    return {"student": sub.student, "assignment": ctx.assignment.name, "score": 0.0,
            "max_score": max_score, "manual_points": manual, "notebooks": [], "seconds": 0.0,
            "error": f"grader error: {message}", "grader_error": True}


def grade_all(ctx: RunContext, subs: Sequence[Submission], workers: int, warm: bool = True,
              progress: bool = True) -> List[Dict[str, Any]]:
    """Grade every submission; results come back in the order of ``subs``."""
    forbid = tuple(sorted({n for t in ctx.assignment.tasks for n in t.forbidden}))
    modules = preload.modules(ctx.assignment, ctx.release.values())
    launcher = Launcher(ctx.run_root, ctx.spec, modules, forbid, jitcache.prepare(modules))
    pool = SandboxPool(launcher, workers, len(subs), ahead=warm)
    results: Dict[int, Dict[str, Any]] = {}

    def one(i: int, sub: Submission) -> Dict[str, Any]:
        pool.begin_submission()
        if sub.problem:
            return dict(_failed(ctx, sub, sub.problem), error=sub.problem, grader_error=False)
        try:
            return grade_submission(ctx, sub, pool.acquire)
        except GraderError as e:
            return _failed(ctx, sub, str(e))
        except Exception:  # noqa: BLE001 - a bug in the grader must not stop the run
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
