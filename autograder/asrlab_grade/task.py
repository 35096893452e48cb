"""The task API: how an assignment tells the grader what to call, with what, and how to score it.

An assignment is graded by an instructor-side module, ``asrlab_grade/tasks/<assignment>.py``
(or ``<course>/autograder/tasks/<assignment>.py``), that defines ``ASSIGNMENT``. Each task is
tied to one graded test cell of the release notebook by its nbgrader ``grade_id``; the
cell's ``points`` are the task's maximum. The module is a declaration; the hidden inputs and the
references it names live in ``asrlab_grade/cases/<assignment>.py``, its comparators in
:mod:`asrlab_grade.compare` (or a ``compare_<domain>.py``). Neither ``tasks/`` nor ``cases/`` ships to
students. See ``autograder/README.md`` for a worked example.

Two task kinds exist:

* :class:`FunctionTask` calls a student function on inputs the trusted process draws from a
  per-run secret seed and compares each result with the reference it computes itself.
* :class:`TrainingTask` rebuilds a student's model class from a submitted checkpoint, runs a
  public evaluation recipe in the sandbox on a hidden test split, and maps the error rate
  the trusted process computes to points through a band table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .compare import Comparator, Exact

# Defaults chosen for CPU grading on a shared 2-core machine; assignments override them.
DEFAULT_CALL_TIMEOUT_S = 20.0
DEFAULT_TRAIN_EVAL_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Case:
    """One call of a student function: positional and keyword arguments.

    ``name`` is shown to students only when ``hidden`` is False; hidden cases are reported
    as "hidden case k" with shapes and dtypes of the inputs, never their values.
    """

    args: Tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    hidden: bool = True
    weight: float = 1.0


@dataclass(frozen=True)
class FunctionTask:
    """Grade a student function by calling it on trusted inputs.

    Attributes:
        grade_id: nbgrader grade_id of the test cell whose points this task awards.
        call: name of the function in the notebook's namespace, e.g. ``"ctc_forward"``.
        cases: ``cases(rng) -> [Case, ...]``; ``rng`` is seeded from the run's secret.
        reference: trusted implementation; ``reference(*case.args, **case.kwargs)``.
        compare: ``compare(got, expected) -> Verdict`` (see :mod:`asrlab_grade.compare`).
        forbidden: calls the student may not make in this task: ``"aten::ctc_loss"`` blocks
            a torch operator however it is reached; ``"package.module.function"`` blocks a
            Python function (every alias of it). A blocked call scores the task 0.
        timeout_s: wall-clock limit for each call.
        cpu_s: CPU-time limit for each call (default: ``timeout_s``).
        hint: one sentence added to the message of a failing case.
        adapter: optional public Python source defining ``adapt(target, *args, **kwargs)``,
            run in the sandbox, for tasks that grade a class or need plain data out of a
            model: ``target`` is the notebook's ``call`` object, e.g.
            ``def adapt(Encoder, x): return Encoder(80, 128)(torch.as_tensor(x)).shape``.
    """

    grade_id: str
    call: str
    cases: Callable[[np.random.Generator], Sequence[Case]]
    reference: Callable[..., Any]
    compare: Comparator = field(default_factory=Exact)
    forbidden: Tuple[str, ...] = ()
    timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    cpu_s: Optional[float] = None
    hint: str = ""
    adapter: Optional[str] = None


@dataclass(frozen=True)
class Band:
    """Scores ``fraction`` of the points when the metric (lower is better) is <= ``max_value``."""

    max_value: float
    fraction: float


@dataclass(frozen=True)
class PerBudget:
    """A setting that depends on the training budget (:func:`asrlab.course.budget`), resolved when a
    run grades, so the bands of a ``ci`` run and of a ``full`` run come from one declaration::

        bands=PerBudget(full=(Band(30, 1.0), Band(40, 0.5)), ci=(Band(35, 1.0), Band(45, 0.5)))
    """

    full: Any
    ci: Any

    def now(self) -> Any:
        from asrlab import course

        return course.pick(full=self.full, ci=self.ci)


def for_budget(value: Any) -> Any:
    """``value`` for the current budget (a :class:`PerBudget`), else ``value`` itself."""
    return value.now() if isinstance(value, PerBudget) else value


@dataclass(frozen=True)
class TrainingTask:
    """Grade a model the student trained and saved.

    The notebook saves ``torch.save({"config": {...}, "state_dict": model.state_dict()}, path)``
    at ``checkpoint`` (relative to the notebook). In grading the cells named in
    ``skip_cells`` (the training loop) are not run; the sandbox loads the checkpoint with
    ``torch.load(weights_only=True)``, builds ``model_class(**config)``, loads the weights
    and runs ``evaluate(model, inputs, device)`` from ``evaluate_source`` (public recipe
    code, e.g. greedy decoding) on the hidden inputs. The trusted process scores the
    predictions with ``metric(references, predictions) -> value`` (percent, lower is
    better) and awards the fraction of the first band the value falls in.

    A model that is not one checkpoint file (e.g. a Hugging Face ``save_pretrained`` folder)
    gives ``adapter``: public Python source defining ``adapt(model_class, checkpoint, inputs)``,
    run in the sandbox instead of the ``torch.load`` path, that loads ``checkpoint`` (a file or
    folder next to the notebook) and returns the predictions; ``evaluate_source`` is then
    documentation of the recipe the adapter runs.

    Attributes:
        test_split: ``() -> (inputs, references)``, the hidden evaluation data; fixed so
            that re-grading gives identical scores.
        bands: ordered from best to worst, e.g. WER <= 35 full marks, <= 40 0.75, ...
        metric_name: how the value is shown, e.g. ``"WER %"``.
        ``metric``, ``metric_name`` and ``bands`` may each be a :class:`PerBudget`.
    """

    grade_id: str
    checkpoint: str
    model_class: str
    evaluate_source: str
    test_split: Callable[[], Tuple[Any, Any]]
    metric: Union[Callable[[Any, Any], float], PerBudget]
    bands: Union[Tuple[Band, ...], PerBudget]
    skip_cells: Tuple[str, ...] = ()
    metric_name: Union[str, PerBudget] = "error %"
    forbidden: Tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TRAIN_EVAL_TIMEOUT_S
    cpu_s: Optional[float] = None
    adapter: Optional[str] = None


Task = Union[FunctionTask, TrainingTask]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook's sandbox session."""

    notebook_wall_s: float = 600.0   # everything: cells, calls and restarts
    notebook_cpu_s: int = 900        # RLIMIT_CPU for the sandbox process
    cell_timeout_s: float = 120.0    # one top-level cell
    memory_mb: int = 4096            # address space added on top of the preloaded worker
    disk_mb: int = 512               # size of the scratch tmpfs; RLIMIT_FSIZE per file
    max_restarts: int = 6            # re-spawns after a crash or timeout before giving up


@dataclass(frozen=True)
class Assignment:
    """Everything the grader knows about one assignment.

    Attributes:
        name: the nbgrader assignment id (folder name under ``assignments/``).
        tasks: one task per graded test cell.
        limits: sandbox limits.
        preload: modules the sandbox's worker imports before the job starts, beyond what
            the release notebooks and the task recipes import (which :mod:`asrlab_grade.preload`
            reads off them): modules loaded lazily, e.g. librosa's submodules.
        ci_minutes: about how long ``validate`` takes on two cores with ``ASRLAB_BUDGET=ci``
            (training the solution, then grading); parallel ``validate`` runs start the longest first.
        submission_files: extra files copied from the submission folder into the sandbox
            (checkpoints of training tasks are added automatically).
        visible: folders the sandbox may read besides the Python environment and the
            ``asrlab`` package (absolute, or relative to the course folder), e.g. a
            public corpus cache. Never list a folder that holds hidden data.
        hidden_packages: packages the sandbox must not reach at all, e.g. ``("asrlab.ctc",)``
            where the library holds the answers: their folders are replaced by one whose
            ``__init__.py`` raises ``ModuleNotFoundError``. Never list them in ``preload``.
        project: a :class:`asrlab_grade.project.ProjectGrading` when submissions are project folders
            (code + checkpoint implementing a contract) instead of notebooks; ``tasks`` is then empty.
    """

    name: str
    tasks: Tuple[Task, ...]
    limits: Limits = Limits()
    preload: Tuple[str, ...] = ()
    ci_minutes: float = 0.0
    submission_files: Tuple[str, ...] = ()
    visible: Tuple[str, ...] = ()
    hidden_packages: Tuple[str, ...] = ()
    project: Any = None

    def __post_init__(self) -> None:
        clash = [m for m in self.preload for h in self.hidden_packages if m == h or m.startswith(h + ".")]
        if clash:
            raise ValueError(f"assignment {self.name!r} preloads {', '.join(clash)}, which it also lists in "
                             "hidden_packages; remove them from preload")

    def task(self, grade_id: str) -> Optional[Task]:
        return next((t for t in self.tasks if t.grade_id == grade_id), None)


def band_fraction(value: float, bands: Sequence[Band]) -> float:
    """Fraction of the points for a metric value (NaN scores nothing)."""
    if not np.isfinite(value):
        return 0.0
    for band in bands:
        if value <= band.max_value:
            return band.fraction
    return 0.0


def error_rate_percent(references: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Percentage of predictions that differ from their reference (classification error)."""
    if len(predictions) != len(references):
        return float("nan")
    wrong = sum(1 for r, p in zip(references, predictions) if r != p)
    return 100.0 * wrong / max(1, len(references))


def asrlab_metric(name: str) -> Callable[[Sequence[str], Sequence[str]], float]:
    """``"cer"`` or ``"wer"`` from ``asrlab.metrics`` as percent, imported only when used."""

    def metric(references: Sequence[str], predictions: Sequence[str]) -> float:
        from importlib import import_module
        fn = getattr(import_module("asrlab.metrics"), name)
        if len(predictions) != len(references) or not all(type(p) is str for p in predictions):
            return float("nan")
        return 100.0 * float(fn(list(references), list(predictions)))

    metric.__name__ = name
    return metric


def library(path: str, tensors: bool = False) -> Callable[..., Any]:
    """A reference that is one library call: ``library("asrlab.ctc.reference.forward")``.

    The module (everything before the last dot) is imported only when the reference is called,
    so a hidden package such as ``asrlab.ctc`` is never imported when a task module loads. With
    ``tensors=True`` numpy arguments are passed as torch tensors and a tensor result comes back
    as a numpy array.
    """
    module, _, name = path.rpartition(".")

    def reference(*args: Any, **kwargs: Any) -> Any:
        from importlib import import_module

        fn = getattr(import_module(module), name)
        if not tensors:
            return fn(*args, **kwargs)
        import torch

        def to_torch(x: Any) -> Any:
            return torch.as_tensor(x) if isinstance(x, np.ndarray) else x

        out = fn(*map(to_torch, args), **{k: to_torch(v) for k, v in kwargs.items()})
        return out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out

    reference.__name__ = reference.__qualname__ = path
    return reference
