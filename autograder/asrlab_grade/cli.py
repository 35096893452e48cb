"""Command line of the grading engine.

Usage::

    asrlab-grade autograde ASSIGNMENT SUBMISSIONS_DIR [--out DIR] [--workers N]
                 [--course-root DIR] [--gradebook [DB_URL]] [--seed N] [--cold] [--insecure]
    asrlab-grade validate [ASSIGNMENT ...] [--course-root DIR] [--jobs N] [--budget B] [--insecure] [--exports]
    asrlab-grade release ASSIGNMENT [--package SPEC] [--colab-base URL] [--no-wheel]
    asrlab-grade export otter ASSIGNMENT [--out DIR] [--package SPEC] [--no-assign]
    asrlab-grade export gradescope ASSIGNMENT [--out DIR]
    asrlab-grade demo [--out DIR]

SUBMISSIONS_DIR is nbgrader's ``submitted/`` folder (``<student>/<assignment>/*.ipynb``),
a folder of ``<student>/`` folders, or a flat folder of ``<student>.ipynb`` files.
Exit status: 0 when every submission was graded (whatever its score), 1 on a grader
error in some submission, 2 on a usage or course problem.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .autograde import default_workers, grade_all, make_context
from .bwrap import SandboxUnavailable
from .course_folder import Course, CourseError, discover, find_course_root
from .report import summary_table, write_outputs

# --gradebook without a value: the gradebook.db of the course folder, as nbgrader uses.
COURSE_GRADEBOOK = "<course>"


def _course(args: argparse.Namespace) -> Course:
    """The course of ``--course-root``, else the nearest course folder upwards."""
    return Course(Path(args.course_root).resolve() if args.course_root else find_course_root())


def use_budget(name: Optional[str]) -> str:
    """The training budget of this run (the one place it is resolved): ``--budget`` when given (it then
    reaches the notebooks, the sandboxes and the hidden splits through ``ASRLAB_BUDGET``), else
    ``$ASRLAB_BUDGET``, else ``full``."""
    from asrlab import course as asrlab_course

    if name:
        os.environ[asrlab_course.BUDGET_ENV] = name
    return asrlab_course.budget()


def run_identity(budget: str) -> Dict[str, Any]:
    """What run.json records about a run's grading context: budget, hidden split, software versions."""
    from importlib.metadata import version

    from . import hidden
    return {"budget": budget, "hidden_split": hidden.split_id(),
            "versions": {"asrlab": version("asrlab"), "asrlab-grade": version("asrlab-grade")}}


def _autograde(args: argparse.Namespace) -> int:
    budget = use_budget(args.budget)
    course = _course(args)
    subs_dir = Path(args.submissions).resolve()
    out = Path(args.out or f"asrlab-grade-out/{args.assignment}").resolve()
    hide = [subs_dir, out] + [Path(h) for h in args.hide]
    try:
        ctx = make_context(course, args.assignment, hide_extra=hide, seed=args.seed, insecure=args.insecure,
                           secret_file=Path(args.secret).expanduser() if args.secret else None)
    except SandboxUnavailable as e:
        print(f"asrlab-grade: refusing to grade without a sandbox: {e}. To grade anyway with "
              "resource limits and the audit hook only (student code can then read any file this "
              "user can), pass --insecure", file=sys.stderr)
        return 2
    skipped: List[Tuple[str, str]] = []
    try:
        subs = discover(subs_dir, args.assignment, list(ctx.release), skipped)
    except CourseError:
        shutil.rmtree(ctx.run_root, ignore_errors=True)
        raise
    if not subs:
        shutil.rmtree(ctx.run_root, ignore_errors=True)
        print(f"no submissions found in {subs_dir}", file=sys.stderr)
        return 2
    workers = args.workers or default_workers()
    if workers > default_workers():  # every sandbox runs one thread: more sandboxes than cores only thrash
        print(f"--workers {workers} is more than the {default_workers()} cores; using {default_workers()}",
              file=sys.stderr)
        workers = default_workers()
    t0 = time.monotonic()
    results = grade_all(ctx, subs, workers=workers, warm=not args.cold, progress=not args.no_progress)
    elapsed = time.monotonic() - t0
    write_outputs(results, out, {"assignment": args.assignment, "submissions": len(results),
                                 "workers": workers, "seconds": round(elapsed, 3),
                                 "course_root": str(course.root),
                                 "skipped": [{"name": n, "reason": r} for n, r in skipped],
                                 **run_identity(budget)})
    if ctx.assignment.project is not None:
        from .project_report import write_project_reports
        write_project_reports(results, out, {s.student: s.folder for s in subs})
    if args.gradebook:
        from .gradebook import write_gradebook
        db = course.root / "gradebook.db" if args.gradebook == COURSE_GRADEBOOK else Path(args.gradebook)
        url = args.gradebook if "://" in args.gradebook else f"sqlite:///{db.resolve()}"
        n = write_gradebook(url, args.assignment, ctx.release, results)
        print(f"gradebook: {n} grades written to {url}")
    print(summary_table(results))
    manual = sorted({f"{m['grade_id']} ({m['max_points']:g})" for r in results for nb in r.get("notebooks", [])
                     for m in nb.get("manual", [])})
    if manual:
        print(f"written answers, left to manual grading (formgrader; not in the scores above): {', '.join(manual)}")
    for name, reason in skipped:
        print(f"not graded: {name!r}: {reason}")
    modes = sorted({", ".join(f"{k}={v}" for k, v in sorted(nb.get("isolation", {}).items()))
                    for r in results for nb in r.get("notebooks", []) if nb.get("isolation")})
    print("sandbox isolation: " + ("; ".join(modes) if modes else "-"))
    errors = sum(1 for r in results if r.get("grader_error"))
    print(f"graded {len(results)} submissions in {elapsed:.1f} s with {workers} workers; "
          f"{errors} grader errors; outputs in {out}")
    return 1 if errors else 0


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate
    use_budget(args.budget)
    course = _course(args)
    names = args.assignments or course.assignments()
    if not names:
        print(f"validate: no released assignments under {course.root / 'assignments'}; nothing to check")
        return 0
    try:
        problems = validate(course, names, workers=args.workers or 2, insecure=args.insecure,
                            jobs=args.jobs or None, exports=args.exports)
    except SandboxUnavailable as e:
        print(f"asrlab-grade: refusing to run student code without a sandbox: {e} "
              "(or pass --insecure)", file=sys.stderr)
        return 2
    for p in problems:
        print(f"PROBLEM {p}")
    print("validate: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


def _release(args: argparse.Namespace) -> int:
    from .release import release
    course = _course(args)
    for line in release(course, args.assignment, package=args.package, colab_base=args.colab_base,
                        wheel=not args.no_wheel):
        print(line)
    return 0


def _export(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    from .otter_export import export_otter
    from .release import ReleaseSettings
    course = _course(args)
    package = args.package or ReleaseSettings.load(course.root).package or f"asrlab=={version('asrlab')}"
    out = Path(args.out or f"{args.platform}/{args.assignment}").resolve()
    if args.platform == "gradescope":
        from .gradescope import build_zip, instructions
        target = build_zip(course, args.assignment, out)
        for line in instructions(course, args.assignment, target):
            print(line)
        return 0
    for line in export_otter(course, args.assignment, out, package, run_assign=not args.no_assign):
        print(line)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    course = _course(args)
    course.check_assignment("ctc")
    return run_demo(course, Path(args.out).resolve(), args.workers or default_workers())


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="asrlab-grade", description="Hardened autograding for asrlab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("autograde", help="grade a folder of submissions")
    a.add_argument("assignment")
    a.add_argument("submissions", help="nbgrader submitted/ folder, <student>/ folders or .ipynb files")
    a.add_argument("--out", help="output folder (default asrlab-grade-out/ASSIGNMENT)")
    a.add_argument("--workers", type=int, default=0, help="parallel sandboxes (default: CPU cores)")
    a.add_argument("--course-root", help="folder with nbgrader_config.py (default: search upwards)")
    a.add_argument("--gradebook", nargs="?", const=COURSE_GRADEBOOK, default=None,
                   help="also write scores to nbgrader's gradebook (path or database URL; "
                        "default: the course's gradebook.db)")
    a.add_argument("--seed", type=int, default=None, help="fixed input seed (default: secret, per run)")
    a.add_argument("--budget", choices=["full", "ci"], help="training budget of the course (default: "
                                                            "$ASRLAB_BUDGET, else full); picks the hidden splits")
    a.add_argument("--secret", help="the course secret's file (default: ~/.config/asrlab-grade/"
                                    "<course hash>/secret or $ASRLAB_GRADE_SECRET_FILE; made on first use)")
    a.add_argument("--cold", action="store_true",
                   help="start no sandbox ahead of use (slower; each still grades one attempt)")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    a.add_argument("--hide", action="append", default=[], help="another path the sandbox must not see")
    a.add_argument("--insecure", action="store_true",
                   help="grade without the bwrap sandbox: rlimits and the audit hook only (much weaker; "
                        "for checking that layer or machines without user namespaces)")
    v = sub.add_parser("validate", help="solutions earn full marks, blank releases 0")
    v.add_argument("assignments", nargs="*")
    v.add_argument("--course-root")
    v.add_argument("--workers", type=int, default=0)
    v.add_argument("--budget", choices=["full", "ci"], help="training budget (default: $ASRLAB_BUDGET, else full)")
    v.add_argument("--insecure", action="store_true", help="grade without the bwrap sandbox")
    v.add_argument("--exports", action="store_true",
                   help="also check the otter-grader and Gradescope exports: otter run and Gradescope's "
                        "run_autograder give the solution (with its checkpoints) full marks and the blank 0")
    v.add_argument("--jobs", type=int, default=0,
                   help="assignments validated at once, the cores shared between them (default: as many as "
                        "the cores allow with two threads each)")
    r = sub.add_parser("release", help="release an assignment: nbgrader's release, package source, library wheel")
    r.add_argument("assignment")
    r.add_argument("--course-root")
    r.add_argument("--package", help="where the setup cell installs asrlab from (default: release.toml)")
    r.add_argument("--colab-base", help="public folder of the releases, for Open in Colab links")
    r.add_argument("--no-wheel", action="store_true", help="do not build the library wheel")
    e = sub.add_parser("export", help="export an assignment to another grading platform")
    e.add_argument("platform", choices=["otter", "gradescope"])
    e.add_argument("assignment")
    e.add_argument("--course-root")
    e.add_argument("--out", help="output folder (default PLATFORM/ASSIGNMENT)")
    e.add_argument("--package", help="the asrlab requirement of the export (default: release.toml, else "
                                     "asrlab==<installed version>)")
    e.add_argument("--no-assign", action="store_true", help="write the master notebook only (no otter assign)")
    d = sub.add_parser("demo", help="grade sample submissions of ctc (solution, blank, wrong answer, cheater)")
    d.add_argument("--out", default="demo-grading", help="where samples and results go (default demo-grading/)")
    d.add_argument("--course-root")
    d.add_argument("--workers", type=int, default=0)
    args = ap.parse_args(argv)
    commands = {"autograde": _autograde, "validate": _validate, "release": _release, "export": _export,
                "demo": _demo}
    try:
        return commands[args.cmd](args)
    except CourseError as e:
        print(f"asrlab-grade: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
