"""The trusted side of grading one notebook: plan, inputs, references, comparison, score.

For each notebook the grader rebuilds the cells to run from the release, draws every
task's inputs from the run's secret seed and computes the references itself, writes a
job folder and lets :mod:`asrlab_grade.session` run it in a sandbox. Scores come only from
comparisons made here, on plain data.
"""
from __future__ import annotations

import copy
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import wire
from .bwrap import SandboxSpec
from .compare import Verdict
from .notebook import SubmissionError, answered_manual_cells, graded_cells, manual_cells, read_notebook, rebuild
from .scan import review_flags
from .session import GraderError, Sandbox, Session, run_session
from .task import Assignment, Case, FunctionTask, TrainingTask, band_fraction, for_budget

__all__ = ["GraderError", "RunContext", "grade_notebook"]


@dataclass
class CaseSet:
    """A task's cases and the references computed for them in this run."""

    cases: List[Case]
    references: List[Any]


@dataclass
class RunContext:
    """Everything shared by the notebooks graded in one run."""

    assignment: Assignment
    release: Dict[str, Dict[str, Any]]          # release notebook name -> notebook JSON
    run_root: Path
    hide: List[str]
    keep: List[str]
    seed: int
    spec: Optional[SandboxSpec] = None          # None: --insecure (rlimits + audit hook only)
    release_files: List[Path] = field(default_factory=list)
    _cases: Dict[str, CaseSet] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def case_set(self, task: FunctionTask) -> CaseSet:
        with self._lock:
            if task.grade_id not in self._cases:
                rng = np.random.default_rng([self.seed, zlib.crc32(task.grade_id.encode())])
                cases = list(task.cases(rng))
                refs = [task.reference(*copy.deepcopy(c.args), **copy.deepcopy(dict(c.kwargs)))
                        for c in cases]
                self._cases[task.grade_id] = CaseSet(cases, refs)
            return self._cases[task.grade_id]

    def test_split(self, task: TrainingTask) -> CaseSet:
        with self._lock:
            if task.grade_id not in self._cases:
                inputs, refs = task.test_split()
                self._cases[task.grade_id] = CaseSet([Case((inputs,))], [refs])
            return self._cases[task.grade_id]


def _describe_inputs(case: Case) -> str:
    """Types and shapes of a case's arguments; values never appear for hidden cases."""
    def one(x: Any) -> str:
        if isinstance(x, np.ndarray):
            return f"{x.dtype}{list(x.shape)}"
        if type(x).__module__ == "torch":
            return f"tensor {str(x.dtype).replace('torch.', '')}{list(x.shape)}"
        if isinstance(x, (list, tuple)):
            return f"{type(x).__name__}[{len(x)}]"
        return type(x).__name__ if case.hidden else repr(x)
    parts = [one(a) for a in case.args] + [f"{k}={one(v)}" for k, v in case.kwargs.items()]
    return ", ".join(parts)


@dataclass
class TaskResult:
    grade_id: str
    points: float
    max_points: float
    passed: int
    total: int
    messages: List[str]
    kind: str


def _submission_files(ctx: RunContext, folder: Optional[Path], files: Dict[str, Path]) -> Dict[str, str]:
    """Add the submission's checkpoints and extra files to ``files``; returns refused ones and why."""
    refused: Dict[str, str] = {}
    if folder is None:
        return refused
    limit = ctx.assignment.limits.disk_mb * 2**20 // 2   # the rest of the scratch is the notebook's
    names = {t.checkpoint for t in ctx.assignment.tasks if isinstance(t, TrainingTask)}
    for rel in sorted(names | set(ctx.assignment.submission_files)):
        src = folder / rel
        if src.is_symlink():
            refused[rel] = (f"'{rel}' is a symbolic link, not a file; submit the file itself")
        elif src.is_dir():             # a saved model folder: its regular files, never through a link
            found = _regular_files(src, rel)
            size = sum(f.stat().st_size for f in found.values())
            if size > limit:
                refused[rel] = (f"'{rel}' holds {size / 2**20:.0f} MB, more than the {limit / 2**20:.0f} MB a "
                                "submission may bring; save a smaller model")
            else:
                files.update(found)
        elif src.is_file() and src.stat().st_size > limit:
            refused[rel] = (f"'{rel}' is {src.stat().st_size / 2**20:.0f} MB, more than the "
                            f"{limit / 2**20:.0f} MB a submitted file may have; save a smaller model "
                            "(fewer or smaller layers, float32 weights, no optimizer state)")
        elif src.is_file():
            files[rel] = src
    return refused


def _regular_files(folder: Path, rel: str) -> Dict[str, Path]:
    """``rel/<path>`` -> file for every regular file under ``folder`` (symbolic links are skipped)."""
    found: Dict[str, Path] = {}
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            found[f"{rel}/{entry.name}"] = Path(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            found.update(_regular_files(Path(entry.path), f"{rel}/{entry.name}"))
    return found


def _score_function(task: FunctionTask, max_points: float, cs: CaseSet, s: Session) -> TaskResult:
    failures: Dict[str, List[str]] = {}   # message -> labels of the cases that got it
    passed_w = total_w = 0.0
    passed = 0
    for k, (case, ref) in enumerate(zip(cs.cases, cs.references)):
        cid = f"{task.grade_id}#{k}"
        total_w += case.weight
        ev = s.results.get(cid, {"ev": "call_error", "message": "not run"})
        label = (f"case '{case.name}'" if not case.hidden and case.name else f"hidden case {k + 1}")
        label = f"{task.call}({_describe_inputs(case)}) [{label}]"
        if ev.get("ev") == "result":
            try:
                got = wire.decode(ev.get("value"))
                verdict = task.compare(got, ref)
            except Exception as e:  # noqa: BLE001 - unreadable result: the student's problem
                verdict = Verdict(False, f"the result could not be read: {e}")
        else:
            verdict = Verdict(False, "raised an error:\n" + str(ev.get("message", "")).strip())
        if verdict.ok:
            passed_w += case.weight
            passed += 1
        else:
            failures.setdefault(verdict.message, []).append(label)
    msgs = []
    for message, labels in failures.items():  # one entry per distinct problem
        more = f" and {len(labels) - 1} more case(s)" if len(labels) > 1 else ""
        msgs.append(f"{labels[0]}{more}: {message}" + (f"\n  hint: {task.hint}" if task.hint else ""))
    points = round(max_points * passed_w / total_w, 4) if total_w else 0.0
    return TaskResult(task.grade_id, points, max_points, passed, len(cs.cases), msgs, "function")


def _score_training(task: TrainingTask, max_points: float, cs: CaseSet, s: Session) -> TaskResult:
    ev = s.results.get(f"{task.grade_id}#0", {"ev": "call_error", "message": "not run"})
    if ev.get("ev") != "result":
        return TaskResult(task.grade_id, 0.0, max_points, 0, 1,
                          ["the model could not be evaluated:\n" + str(ev.get("message", "")).strip()],
                          "training")
    try:
        preds = wire.decode(ev.get("value"))
        if isinstance(preds, np.ndarray):
            preds = preds.tolist()
        value = float(for_budget(task.metric)(cs.references[0], preds))
    except Exception as e:  # noqa: BLE001
        return TaskResult(task.grade_id, 0.0, max_points, 0, 1,
                          [f"the model's predictions could not be scored: {e}"], "training")
    task_bands = for_budget(task.bands)
    frac = band_fraction(value, task_bands)
    bands = ", ".join(f"<= {b.max_value:g}: {b.fraction:.0%}" for b in task_bands)
    msg = f"{for_budget(task.metric_name)} on the hidden test split: {value:.2f} -> {frac:.0%} of the points (bands {bands})"
    return TaskResult(task.grade_id, round(max_points * frac, 4), max_points, int(frac == 1.0), 1,
                      [msg], "training")


def grade_notebook(ctx: RunContext, acquire: Callable[[], Sandbox], student: str, release_name: str,
                   path: Optional[Path], folder: Optional[Path]) -> Dict[str, Any]:
    """Grade one student notebook; never raises for problems of the submission."""
    release = ctx.release[release_name]
    cells = graded_cells(release)
    max_score = sum(p for _, p in cells)
    manual = manual_cells(release)  # written answers: graded by hand, outside the automatic score
    out: Dict[str, Any] = {"notebook": release_name, "student": student, "score": 0.0,
                           "max_score": max_score, "tasks": [], "notes": [], "error": None,
                           "manual": [{"grade_id": g, "max_points": p, "answered": False} for g, p in manual],
                           "manual_points": sum(p for _, p in manual)}

    def zero_all(message: str) -> Dict[str, Any]:
        out["error"] = message
        out["tasks"] = [TaskResult(g, 0.0, p, 0, 0, [message], "none").__dict__ for g, p in cells]
        return out

    if path is None:
        return zero_all(f"{release_name} was not submitted; submit it under this exact name")
    try:
        nb = read_notebook(path)
    except SubmissionError as e:
        return zero_all(str(e))
    answered = answered_manual_cells(release, nb)
    for m in out["manual"]:
        m["answered"] = answered.get(m["grade_id"], False)
    tasks = ctx.assignment.tasks
    skip = tuple(g for t in tasks if isinstance(t, TrainingTask) for g in t.skip_cells)
    try:
        plan, notes = rebuild(release, nb, skip)
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as e:
        return zero_all(f"{path.name} is not a well-formed notebook ({type(e).__name__}); download a "
                        "fresh copy with File > Download > .ipynb and submit that")
    out["notes"].extend(notes)
    out["review"] = review_flags([(c.grade_id or f"cell {c.index}", c.source) for c in plan if c.origin == "student"])
    calls, timeouts, cpu, forbidden = [], {}, {}, set()
    points = dict(cells)
    for task in tasks:
        if task.grade_id not in points:
            continue
        forbidden.update(task.forbidden)
        if isinstance(task, FunctionTask):
            for k, case in enumerate(ctx.case_set(task).cases):
                cid = f"{task.grade_id}#{k}"
                calls.append({"id": cid, "kind": "call", "fn": task.call, "adapter": task.adapter,
                              "inputs": wire.encode({"args": tuple(case.args), "kwargs": dict(case.kwargs)})})
                timeouts[cid] = task.timeout_s
                cpu[cid] = task.cpu_s if task.cpu_s is not None else task.timeout_s
        else:
            inputs = ctx.test_split(task).cases[0].args[0]
            cid = f"{task.grade_id}#0"
            if task.adapter:  # the task loads its model itself (e.g. a save_pretrained folder)
                calls.append({"id": cid, "kind": "call", "fn": task.model_class, "adapter": task.adapter,
                              "inputs": wire.encode({"args": (task.checkpoint, inputs), "kwargs": {}})})
            else:
                calls.append({"id": cid, "kind": "train_eval", "checkpoint": task.checkpoint,
                              "model_class": task.model_class, "evaluate_source": task.evaluate_source,
                              "inputs": wire.encode(inputs)})
            timeouts[cid] = task.timeout_s
            cpu[cid] = task.cpu_s if task.cpu_s is not None else task.timeout_s
    files = {f.name: f for f in ctx.release_files}
    refused = _submission_files(ctx, folder, files)
    for call in calls:
        if call["kind"] == "train_eval" and call["checkpoint"] in refused:
            call["refused"] = refused[call["checkpoint"]]
    job = {"cells": [{"index": c.index, "source": c.source, "label": c.grade_id or f"cell {c.index}"}
                     for c in plan], "calls": calls,
           "forbidden": sorted(forbidden), "limits": ctx.assignment.limits.__dict__,
           "hide": ctx.hide, "keep": ctx.keep}
    session = run_session(acquire, job, files, ctx.assignment.limits, timeouts, cpu)
    results: List[TaskResult] = []
    for task in tasks:
        if task.grade_id not in points:
            continue
        if isinstance(task, FunctionTask):
            tr = _score_function(task, points[task.grade_id], ctx.case_set(task), session)
        else:
            tr = _score_training(task, points[task.grade_id], ctx.test_split(task), session)
        own = {c["id"] for c in calls if c["id"].startswith(task.grade_id + "#")}
        hits = sorted({name for name, cid in session.forbidden if cid in own and name in task.forbidden})
        if hits:
            tr.points = 0.0
            tr.messages.insert(0, f"called {', '.join(hits)}, which this task forbids: the task "
                                  "scores 0. Compute the result with your own code")
        results.append(tr)
    for gid, p in cells:
        if not any(r.grade_id == gid for r in results):
            results.append(TaskResult(gid, 0.0, p, 0, 0, ["no grading task is defined for this test "
                                                         "cell (instructor: add one)"], "missing"))
            out["error"] = f"grader: no task for test cell {gid}"
    stray = sorted({name for name, cid in session.forbidden if cid is None})
    if stray:
        out["notes"].append(f"your notebook called {', '.join(stray)} outside graded functions; "
                            "it is blocked while grading")
    index_to_id = {c.index: c.grade_id or f"cell {c.index}" for c in plan}
    for idx, msg in sorted(session.cell_errors.items()):
        out["notes"].append(f"{index_to_id.get(idx, f'cell {idx}')} raised while running:\n{msg}")
    out["notes"].extend(session.notes)
    out["tasks"] = [r.__dict__ for r in results]
    out["score"] = round(sum(r.points for r in results), 4)
    out["stdout"], out["stderr"] = session.stdout, session.stderr
    out["isolation"] = session.isolation
    out["restarts"] = session.restarts
    out["sandbox_wait_s"] = round(session.wait_s, 3)
    return out
