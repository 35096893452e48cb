"""The sandbox's process: preloads libraries, then runs one job as :mod:`asrlab_grade.runner`.

Started by the grader inside ``bwrap`` (see :mod:`asrlab_grade.bwrap`), usually ahead of
time, so that importing torch overlaps with grading the previous submission::

    python -m asrlab_grade.worker --preload numpy,torch --forbid aten::ctc_loss \
        --job /asrlab-sandbox/job --scratch /asrlab-sandbox/work

It reports ``{"ev": "warm"}`` on stdout once the imports are done, waits for one line on
stdin (the grader has written ``job.json`` and the input files by then), and runs that job
in this same process, reporting events on stdout. It never runs a second job: every
attempt at a submission gets a fresh sandbox, and the end of this process ends the sandbox.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
from typing import List, Optional

from . import runner


def _preload(modules: str) -> List[str]:
    done = []
    for name in filter(None, modules.split(",")):
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # noqa: BLE001 - a module that cannot load here is not preloaded
            pass
    return done


def use_jit_cache(cache: str, scratch: str) -> str:
    """Copy the grader's read-only numba cache into ``scratch`` and point numba at the copy.

    Numba only uses a cache folder it can write to; numba reads the setting when it is first
    imported, so this runs before the preload.
    """
    own = os.path.join(scratch, ".numba")
    shutil.copytree(cache, own, dirs_exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = own
    return own


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preload", default="numpy", help="comma-separated modules to import first")
    ap.add_argument("--forbid", default="", help="comma-separated forbidden calls to arm first")
    ap.add_argument("--job", required=True, help="folder with job.json and files/")
    ap.add_argument("--scratch", required=True, help="the student's working folder")
    ap.add_argument("--jit-cache", default="", help="a read-only numba cache to start from (copied to scratch)")
    args = ap.parse_args(argv)
    if args.jit_cache:
        use_jit_cache(args.jit_cache, args.scratch)
    modules = _preload(args.preload)
    from . import guard, sandbox, wire  # noqa: F401 - compiled now, before student code runs
    # Arming imports libraries and registers torch kernels (about a second): done while warming.
    guard.arm_forbidden([n for n in args.forbid.split(",") if n])
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.write(out_fd, (json.dumps({"ev": "warm", "modules": modules}) + "\n").encode())
    go = sys.stdin.buffer.readline()
    if not go.strip():
        os._exit(0)  # the grader closed the pool before using this sandbox
    os.dup2(null, 0)
    os.close(null)
    runner.child_main(args.job, args.scratch, out_fd)


if __name__ == "__main__":
    main()
