"""Warm worker: a trusted process that preloads libraries and forks one sandbox per job.

Usage (started by the grader, one per parallel slot)::

    python -m asrlab_grade.worker --preload numpy,torch --forbid aten::ctc_loss

Protocol on stdin/stdout, one JSON object per line. The grader sends
``{"job_dir": ...}``; the worker forks a child that runs
:func:`asrlab_grade.runner.child_main`, answers ``{"ev": "spawned", "pid": ..., "token": ...}``,
relays the child's event lines, and ends the job with ``{"ev": "exit", "code": ...,
"signal": ..., "token": ...}``; the token is drawn after the fork, so the child cannot
forge the end of its own job.

Forking from a process that already imported torch saves its import time for every
submission. The worker never holds hidden tests or references (the grader keeps those
in its own memory), so a sandbox child inherits nothing secret.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from typing import List

from . import runner
from .threads import thread_env

# Read size for relaying the child's events.
CHUNK = 1 << 16


def _spawn(job_dir: str) -> int:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # sandbox child
        try:
            os.setsid()
            os.close(r)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, w)
            os.closerange(w + 1, 4096)
            runner.child_main(job_dir, w)
        finally:
            os._exit(4)
    os.close(w)
    _relay(pid, r)
    return pid


def _send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _relay(pid: int, r: int) -> None:
    # Drawn after the fork, so the child cannot know it: the grader believes only "exit"
    # events that carry it, whatever the child writes into the relayed stream.
    token = os.urandom(16).hex()
    _send({"ev": "spawned", "pid": pid, "token": token})
    out = sys.stdout.buffer
    while True:
        try:
            chunk = os.read(r, CHUNK)
        except InterruptedError:
            continue
        if not chunk:
            break
        out.write(chunk)
        out.flush()
    os.close(r)
    # Descendants it may have left behind go with its process group.
    _, status = os.waitpid(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    code = os.waitstatus_to_exitcode(status)
    out.write(b"\n")  # a partial line from a dying child must not swallow the exit event
    _send({"ev": "exit", "code": code if code >= 0 else None,
           "signal": -code if code < 0 else None, "token": token})


def main(argv: List[str] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preload", default="numpy", help="comma-separated modules to import first")
    ap.add_argument("--forbid", default="", help="comma-separated forbidden calls to arm before forking")
    args = ap.parse_args(argv)
    # Sandboxes run one thread each, one sandbox per core; sizing the pools before torch or numpy load
    # also keeps this process from starting OpenMP threads that a forked child would inherit broken.
    os.environ.update(thread_env(1))
    for name in filter(None, args.preload.split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # Warm the code paths every sandbox uses, so the fork inherits them compiled.
    import numpy
    from . import guard, sandbox, wire
    warm = (numpy, guard, sandbox, wire)  # imported now so that every forked sandbox inherits them
    # Arming imports libraries and registers torch kernels (about a second): do it once here.
    guard.arm_forbidden([n for n in args.forbid.split(",") if n])
    sandbox.USERNS_OK = sandbox.probe_user_namespaces()
    _send({"ev": "warm", "pid": os.getpid(), "modules": [m.__name__ for m in warm]})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        job = json.loads(line)
        _spawn(job["job_dir"])


if __name__ == "__main__":
    main()
