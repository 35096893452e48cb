"""The grader's hidden cases, run in a notebook's own kernel: what the hidden tests of nbgrader test cells call.

Plain ``nbgrader autograde`` runs every test cell, hidden tests included, in the submission's kernel
(no sandbox, no forbidden-call guard). A hidden test calls :func:`check_task`, so it grades with the task
module's own cases, adapter, reference and comparison (what ``asrlab-grade`` runs in its sandbox) instead
of a copy of them::

    ### BEGIN HIDDEN TESTS
    from asrlab_grade.inkernel import check_task   # the grader's hidden cases and reference
    check_task("e2e_mtl", "test_pool", globals())
    ### END HIDDEN TESTS

A function task passes when every case passes (an nbgrader cell is all or nothing). A training task
checks that the checkpoint loads the way the grader loads it (a ``{"config", "state_dict"}`` dict,
the config's keys taken by the notebook's model class, the weights fit); its error rate needs the
hidden split and is graded by ``asrlab-grade`` only.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import numpy as np

from . import wire
from .course_folder import Course, find_course_root
from .task import Assignment, FunctionTask, TrainingTask

# Seed of the cases a hidden test draws (the grader draws a secret one per run).
HIDDEN_SEED = 7


def run_cases(task: FunctionTask, namespace: Mapping[str, Any], seed: int = HIDDEN_SEED) -> Tuple[int, int, str]:
    """Run ``task``'s cases on the names in ``namespace`` and compare with its reference.

    Parameters
    ----------
    task : FunctionTask
        The task whose cases, adapter, reference and comparison are used.
    namespace : mapping
        The notebook's globals; ``namespace[task.call]`` is the student's function or class.
    seed : int
        Seeds the case generator.

    Returns
    -------
    (passed, total, first_failure) : tuple of int, int, str
        Cases passed, cases run, and the message of the first failing case ("" when all pass).
        Each result goes through the wire encoding, as it does out of the sandbox; a case that raises
        fails.
    """
    adapt = None
    if task.adapter:
        recipe: Dict[str, Any] = {}
        exec(task.adapter, recipe)
        adapt = recipe["adapt"]
    target = namespace[task.call]
    passed, first = 0, ""
    cases = task.cases(np.random.default_rng(seed))
    for k, case in enumerate(cases):
        try:
            got = adapt(target, *case.args, **case.kwargs) if adapt else target(*case.args, **case.kwargs)
            got = wire.decode(wire.encode(got))
        except Exception as e:  # noqa: BLE001 - a crash is a failed case
            first = first or f"case {k} raised {type(e).__name__}: {e}"
            continue
        verdict = task.compare(got, task.reference(*case.args, **case.kwargs))
        passed += verdict.ok
        first = first or ("" if verdict.ok else f"case {k}: {verdict.message}")
    return passed, len(cases), first


def check_checkpoint(task: TrainingTask, namespace: Mapping[str, Any]) -> None:
    """Load ``task.checkpoint`` (relative to the working folder) into the notebook's model class as the
    grader does (:func:`asrlab_grade.runner.load_checkpoint`); raises when it cannot. A task with an
    ``adapter`` (a ``save_pretrained`` folder) only needs the checkpoint to exist."""
    from .runner import load_checkpoint

    if task.adapter:
        assert Path(task.checkpoint).exists(), f"{task.checkpoint} is missing: run the training cell"
        return
    load_checkpoint(task.checkpoint, task.model_class, dict(namespace))


def load_assignment(name: str) -> Assignment:
    """The assignment's tasks as the course folder around the working folder defines them (else the
    installed :mod:`asrlab_grade.tasks`)."""
    return Course(find_course_root()).load_assignment(name)


def check_task(assignment: str, grade_id: str, namespace: Mapping[str, Any], seed: int = HIDDEN_SEED) -> None:
    """Grade test cell ``grade_id`` of ``assignment`` in this kernel; raises AssertionError on a failure.

    Parameters
    ----------
    assignment : str
        The assignment's name, e.g. ``"e2e_mtl"``.
    grade_id : str
        The test cell's grade_id, which names its task in the task module.
    namespace : mapping
        The notebook's globals (``globals()`` in a cell).
    seed : int
        Seeds the cases of a function task.
    """
    task = load_assignment(assignment).task(grade_id)
    if task is None:
        raise KeyError(f"{assignment} has no task {grade_id!r}: add it to the task module")
    if isinstance(task, TrainingTask):
        check_checkpoint(task, namespace)
        return
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="asrlab-cases-") as scratch:
        os.chdir(scratch)  # adapters may write scratch files (a tiny corpus): not next to the notebook
        try:
            passed, total, first = run_cases(task, namespace, seed)
        finally:
            os.chdir(here)
    hint = f" ({task.hint})" if task.hint else ""
    assert passed == total, f"{grade_id}: {passed} of {total} hidden cases passed; {first}{hint}"
