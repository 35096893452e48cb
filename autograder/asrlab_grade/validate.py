"""``asrlab-grade validate``: every assignment is gradeable, and lint of its notebooks.

For each assignment the solution notebook must earn full marks and the blank release
must earn 0, both without a grader error. The lint checks that source notebooks are
stored without outputs and in one cell format (:mod:`asrlab_grade.cellformat`), that grade
ids are unique and each graded test cell has exactly one task, that written answers (manually
graded cells) have points and no task, and that the release leaks no solution, hidden test,
model answer or rubric.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import hidden, secret
from .autograde import grade_all, make_context
from .cellformat import format_problems
from .cellnames import names_only_tests_define
from .course_folder import Course, Submission
from .notebook import cell_source, graded_cells, is_answer, manual_cells, nbgrader_meta, read_notebook
from .progress import CellProgress, PhaseClock
from .task import TrainingTask, for_budget
from .threads import environ_with_threads, plan_threads

# Text that must never appear in a released notebook.
LEAK_MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "### END SOLUTION")
# Lines of a source's written answer at least this long must not appear in the release (model answer, rubric).
MIN_LEAK_LINE = 20


def written_answer_leaks(source: Dict[str, Any], release: Dict[str, Any]) -> List[str]:
    """grade_ids of the source's written answers (model answer and rubric) with a line found in the release."""
    text = "\n".join(cell_source(c) for c in release["cells"])
    manual = {g for g, _ in manual_cells(source)}
    return [str(nbgrader_meta(c).get("grade_id")) for c in source["cells"]
            if nbgrader_meta(c).get("grade_id") in manual
            and any(len(line.strip()) >= MIN_LEAK_LINE and line.strip() in text
                    for line in cell_source(c).splitlines())]


def lint(course: Course, name: str) -> List[str]:
    """Problems found in the assignment's notebooks and task module (empty when clean)."""
    problems: List[str] = []
    assignment = course.load_assignment(name)
    task_ids = [t.grade_id for t in assignment.tasks]
    for dup in {g for g in task_ids if task_ids.count(g) > 1}:
        problems.append(f"{name}: task grade_id {dup} is defined twice")
    cell_ids: List[str] = []
    manual_ids: List[str] = []
    for rel in course.release_notebooks(name):
        nb = read_notebook(rel)
        ids = [str(nbgrader_meta(c).get("grade_id")) for c in nb["cells"] if nbgrader_meta(c)]
        for dup in {g for g in ids if ids.count(g) > 1}:
            problems.append(f"{rel.name}: grade_id {dup} used by several cells")
        for gid, pts in graded_cells(nb):
            cell_ids.append(gid)
            if pts <= 0:
                problems.append(f"{rel.name}: test cell {gid} has no points")
        for gid, pts in manual_cells(nb):
            manual_ids.append(gid)
            if pts <= 0:
                problems.append(f"{rel.name}: written answer {gid} has no points")
        for cell_id, used in names_only_tests_define(nb["cells"]):
            problems.append(f"{rel.name}: cell {cell_id} uses {used}, which only a graded test cell defines; "
                            "the grader does not run test cells, so define it (e.g. import it) in a cell before")
        for c in nb["cells"]:
            if any(m in cell_source(c) for m in LEAK_MARKERS):
                problems.append(f"{rel.name}: released cell {nbgrader_meta(c).get('grade_id')} contains "
                                "solution or hidden-test markers: regenerate with nbgrader generate_assignment")
        src = course.source_dir(name) / rel.name
        if not src.is_file():
            problems.append(f"{rel.name}: no source notebook {src}")
            continue
        snb = read_notebook(src)
        problems += format_problems(snb, src.name)
        for c in snb["cells"]:
            if c.get("outputs") or c.get("execution_count"):
                problems.append(f"{src.name}: cell {nbgrader_meta(c).get('grade_id', '?')} has outputs; "
                                "clear them (jupyter nbconvert --clear-output --inplace)")
                break
        for c in snb["cells"]:
            if is_answer(c) and "BEGIN SOLUTION" not in cell_source(c):
                problems.append(f"{src.name}: answer cell {nbgrader_meta(c).get('grade_id')} has no "
                                "### BEGIN SOLUTION region")
        if [g for g, _ in graded_cells(snb)] != [g for g, _ in graded_cells(nb)]:
            problems.append(f"{rel.name}: test cells differ from the source; run nbgrader generate_assignment {name}")
        if manual_cells(snb) != manual_cells(nb):
            problems.append(f"{rel.name}: written answers differ from the source; run nbgrader generate_assignment {name}")
        for gid in written_answer_leaks(snb, nb):
            problems.append(f"{rel.name}: the model answer or rubric of written answer {gid} is in the release: leave "
                            "the answer cell without solution markers, so that nbgrader replaces all of it, and "
                            f"run nbgrader generate_assignment {name}")
    for gid in cell_ids:
        if gid not in task_ids:
            problems.append(f"{name}: test cell {gid} has no task in the task module")
    for gid in task_ids:
        if gid in manual_ids:
            problems.append(f"{name}: task {gid} grades written answer {gid}, which is graded by hand; remove the task")
        elif gid not in cell_ids:
            problems.append(f"{name}: task {gid} has no graded test cell in the release")
    return problems


# Training cells of a solution run for minutes under the reduced (ci) budget; an hour means something hangs.
SOLUTION_CELL_TIMEOUT_S = 3600


def execute_solution(src_dir: Path, workdir: Path, notebooks: List[str], threads: Optional[int] = None) -> List[str]:
    """Run the solution notebooks top to bottom in ``workdir`` (a copy of ``src_dir``) with a Jupyter
    kernel, so that training cells write the checkpoints that training tasks grade.

    The solution is the instructor's own code, so it runs outside the sandbox (the corpus
    synthesizer needs ctypes, which the sandbox refuses). ``threads`` sizes the kernel's torch /
    OpenMP thread pools (default: the libraries' own choice, every core). Returns problems (empty
    when every cell ran); the executed notebooks are written back into ``workdir``. Prints a line
    per slow cell and a heartbeat while a long cell runs.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    shutil.copytree(src_dir, workdir, dirs_exist_ok=True)
    kernel_env = {"env": environ_with_threads(threads)} if threads else {}
    problems = []
    for name in notebooks:
        path = workdir / name
        nb = nbformat.read(path, as_version=4)
        t0 = time.monotonic()
        progress = CellProgress(name, total_cells=len(nb.cells))
        try:
            with progress:
                NotebookClient(nb, timeout=SOLUTION_CELL_TIMEOUT_S, kernel_name="python3",
                               resources={"metadata": {"path": str(workdir)}},
                               on_cell_start=progress.on_cell_start,
                               on_cell_executed=progress.on_cell_executed).execute(**kernel_env)
        except CellExecutionError as e:
            problems.append(f"{name}: the solution notebook failed: {str(e).strip().splitlines()[-1][:300]}")
        except Exception as e:  # noqa: BLE001 - a dead kernel or a cell timeout: report, go on with the next
            problems.append(f"{name}: the solution notebook could not run: {type(e).__name__}: {e}")
        finally:
            nbformat.write(nb, path)
        print(f"{name}: solution executed in {time.monotonic() - t0:.0f} s"
              + (f" ({threads} threads)" if threads else ""), flush=True)
    return problems


# Fewest threads a solution gets when validate chooses how many to run at once. One: two one-thread trainings
# side by side do about 1.2x the work per second of one two-thread training (bench/parallel_training.py).
MIN_SOLUTION_THREADS = 1


def validate(course: Course, names: Optional[List[str]] = None, workers: int = 2,
             progress: bool = False, insecure: bool = False, jobs: Optional[int] = None,
             exports: bool = False) -> List[str]:
    """Lint and grade solution and blank release of each assignment; returns problems.

    Assignments run ``jobs`` at a time (default: as many as the cores allow with at least
    :data:`MIN_SOLUTION_THREADS` threads each, so two at a time with one thread each on two cores); each gets an equal
    share of the cores for its training kernel and its grading sandboxes. Grading uses a fresh random
    course secret, so the hidden splits are new ones, made in a temporary folder removed afterwards.
    With ``exports``, each assignment's otter-grader and Gradescope exports are checked too
    (:mod:`asrlab_grade.export_check`).
    """
    old = os.environ.get(hidden.CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="asrlab-validate-hidden-") as cache:
        os.environ[hidden.CACHE_ENV] = cache
        try:
            return _validate(course, list(names or course.assignments()), workers, progress, insecure, jobs, exports)
        finally:
            if old is None:
                os.environ.pop(hidden.CACHE_ENV, None)
            else:
                os.environ[hidden.CACHE_ENV] = old


def _validate(course: Course, names: List[str], workers: int, progress: bool, insecure: bool,
              jobs: Optional[int], exports: bool = False) -> List[str]:
    plan = plan_threads(max(1, len(names)), min_threads=MIN_SOLUTION_THREADS) if jobs is None else \
        plan_threads(min(jobs, max(1, len(names))))
    threads = plan.threads if plan.processes > 1 or jobs is not None else None
    workers = max(1, min(workers, plan.threads))
    if plan.processes == 1:
        results = [_validate_one(course, name, workers, progress, threads, insecure, exports) for name in names]
    else:
        print(f"validate: {plan.processes} assignments at a time, {plan.threads} threads each", flush=True)
        names = longest_first(course, names)
        with ThreadPoolExecutor(max_workers=plan.processes) as pool:
            results = list(pool.map(lambda name: _validate_one(course, name, workers, progress, threads, insecure, exports), names))
    return [problem for found in results for problem in found]


def _manual_summary(result: Dict[str, Any]) -> str:
    """``, written answers N points (graded by hand)`` when the assignment has some."""
    points = result.get("manual_points", 0)
    return f", written answers {points:g} points (graded by hand)" if points else ""


def longest_first(course: Course, names: List[str]) -> List[str]:
    """``names`` by decreasing ``Assignment.ci_minutes`` (stable): run in parallel in this order, the
    short assignments fill the gaps at the end instead of one long run trailing alone."""
    def minutes(name: str) -> float:
        try:
            return course.load_assignment(name).ci_minutes
        except Exception:  # noqa: BLE001 - a broken task module is reported when it is validated
            return 0.0
    return sorted(names, key=lambda n: -minutes(n))


def _solution_files(src_dir: Path, sol_dir: Path, checkpoints: List[str]) -> List[str]:
    """What a student submits next to the notebook: the checkpoints and every other file the solution
    run wrote (a notebook that finds all its checkpoints loads them instead of training)."""
    made = [p.name for p in sol_dir.iterdir() if not (src_dir / p.name).exists()
            and p.suffix != ".ipynb" and not p.name.startswith((".", "__pycache__"))]
    return sorted(set(made) | {c for c in checkpoints if (sol_dir / c).exists()})


def _validate_one(course: Course, name: str, workers: int, progress: bool, threads: Optional[int],
                  insecure: bool, exports: bool = False) -> List[str]:
    """Problems of one assignment: lint, then its solution (trained if needed) and blank release graded."""
    try:
        if course.load_assignment(name).project is not None:
            return _validate_project(course, name, workers, progress, threads, insecure)
        problems = lint(course, name)
    except Exception as e:  # noqa: BLE001 - report and go on with the next assignment
        return [f"{name}: {type(e).__name__}: {e}"]
    assignment = course.load_assignment(name)
    release = course.release_notebooks(name)
    src_dir = course.source_dir(name)
    ckpts = [t.checkpoint for t in assignment.tasks if isinstance(t, TrainingTask)]
    training_ids = {t.grade_id for t in assignment.tasks if isinstance(t, TrainingTask)}
    clock = PhaseClock()
    with tempfile.TemporaryDirectory(prefix=f"asrlab-validate-{name}-") as tmp:
        sol_dir = src_dir
        if ckpts and not all((src_dir / c).exists() for c in ckpts):
            sol_dir = Path(tmp) / name  # train the solution's models for real, then grade them
            with clock("solution run"):
                failed = execute_solution(src_dir, sol_dir, [p.name for p in release], threads)
            problems += failed
            if failed:
                return problems
        ctx = make_context(course, name, insecure=insecure, course_secret=secret.fresh())
        subs = [Submission("solution", sol_dir, {p.name: sol_dir / p.name for p in release}),
                Submission("blank", None, {p.name: p for p in release})]
        with clock("grading"):
            sol, blank = grade_all(ctx, subs, workers=workers, progress=progress)
        if exports:
            from .export_check import check_gradescope, check_otter
            files = _solution_files(src_dir, sol_dir, ckpts)
            with clock("otter"):
                problems += check_otter(course, name, sol_dir, files, threads)
            with clock("gradescope"):
                problems += check_gradescope(course, name, sol_dir, files, secret.fresh(), threads)
    if sol.get("error") or sol["score"] != sol["max_score"]:
        lost = [f"{t['grade_id']}: {t['messages'][:1]}" for nb in sol["notebooks"]
                for t in nb["tasks"] if t["points"] != t["max_points"]]
        problems.append(f"{name}: the solution scores {sol['score']:g}/{sol['max_score']:g} "
                        f"({sol.get('error') or '; '.join(lost)})")
    if blank.get("error") or blank["score"] != 0:
        problems.append(f"{name}: the blank release scores {blank['score']:g} "
                        f"({blank.get('error') or 'expected 0'})")
    lines = [(f"{name}: solution {sol['score']:g}/{sol['max_score']:g}, blank {blank['score']:g}/"
              f"{blank['max_score']:g}{_manual_summary(sol)}, isolation "
              f"{sol['notebooks'][0].get('isolation') if sol['notebooks'] else '-'}"),
             f"  time: {clock}"]
    for task in (t for nb in sol["notebooks"] for t in nb["tasks"] if t["grade_id"] in training_ids):
        lines.append(f"  {task['grade_id']}: {task['messages'][0] if task['messages'] else '-'}")  # the figures
    print("\n".join(lines), flush=True)  # one write: parallel assignments do not interleave their lines
    return problems


def train_project(src_dir: Path, workdir: Path, threads: Optional[int] = None) -> List[str]:
    """Copy the project ``src_dir`` to ``workdir`` and run its ``train.py`` there (the instructor's code, outside
    the sandbox), unless the copy already holds ``checkpoint/config.json``. Returns problems."""
    shutil.copytree(src_dir, workdir, ignore=shutil.ignore_patterns("__pycache__", "outputs", ".ipynb_checkpoints"))
    if (workdir / "checkpoint" / "config.json").is_file():
        return []
    run = subprocess.run([sys.executable, "train.py"], cwd=workdir, env=environ_with_threads(threads),
                         capture_output=True, text=True)
    if run.returncode != 0 or not (workdir / "checkpoint" / "config.json").is_file():
        return [f"{workdir.name}: train.py failed (exit {run.returncode}):\n{(run.stdout + run.stderr)[-2000:]}"]
    return []


def _validate_project(course: Course, name: str, workers: int, progress: bool, threads: Optional[int],
                      insecure: bool) -> List[str]:
    """A project assignment: the solution folder trained (``train.py``) and graded must reach its expected score
    with every automatic check passed; the blank release (``assignments/<name>/``) must score 0 without error."""
    spec = course.load_assignment(name).project
    blank_dir = course.release_dir(name)
    if not blank_dir.is_dir():
        return [f"{name}: no release in {blank_dir}; run `asrlab-grade release {name}` first"]
    with tempfile.TemporaryDirectory(prefix=f"asrlab-validate-{name}-") as tmp:
        sol_dir = Path(tmp) / name
        clock = PhaseClock()
        with clock("train.py"):
            problems = train_project(course.source_dir(name), sol_dir, threads)
        if problems:
            return problems
        ctx = make_context(course, name, insecure=insecure, course_secret=secret.fresh())
        with clock("grading"):
            sol, blank = grade_all(ctx, [Submission("solution", sol_dir), Submission("blank", blank_dir)],
                                   workers=workers, progress=progress)
    expected = float(for_budget(spec.expected))
    rows = sol["notebooks"][0]["tasks"] if sol["notebooks"] else []
    failed = [f"{t['grade_id']}: {t['messages'][:1]}" for t in rows if not t["passed"] and t["grade_id"] != "quality"]
    if sol.get("error") or sol["score"] < expected or failed:
        problems.append(f"{name}: the solution scores {sol['score']:g} (expected at least {expected:g}) "
                        f"({sol.get('error') or '; '.join(failed) or 'below its band'})")
    if blank.get("error") or blank.get("grader_error") or blank["score"] != 0:
        problems.append(f"{name}: the blank release scores {blank['score']:g} ({blank.get('error') or 'expected 0'})")
    lines = [(f"{name}: solution {sol['score']:g}/{sol['max_score']:g} (expected >= {expected:g}), blank "
              f"{blank['score']:g}"), f"  time: {clock}"]
    lines += [f"  {t['grade_id']}: {t['points']:g}: {t['messages'][0].splitlines()[0] if t['messages'] else '-'}"
              for t in rows]
    print("\n".join(lines), flush=True)
    return problems
