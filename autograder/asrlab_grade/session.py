"""Driving one sandbox session: sandboxed workers, the event stream, deadlines and restarts.

Each attempt at a notebook runs in a fresh sandbox (a ``bwrap`` process started ahead of
use, see :mod:`asrlab_grade.bwrap`); this module writes its job, reads its reports and
watches each phase (setup, a cell, a call) with a deadline and, for calls, a CPU-time
budget. When the sandbox dies, overruns or writes anything forged, it records why, skips
that cell or call, and starts a fresh sandbox for what is left. It decides no score.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .bwrap import JIT_DIR, JOB_DIR, SCRATCH, SandboxSpec, sandbox_env, supports_size
from .seccomp import unavailable_note
from .task import Limits

# The sandbox must report "ready" this quickly after it was handed its job.
SETUP_TIMEOUT_S = 60.0
# Between two phases (e.g. the last cell and the first call) the runner needs little time.
GAP_TIMEOUT_S = 30.0
# Stop reading a sandbox that sends more than this (results are small; prints go elsewhere).
MAX_STREAM_BYTES = 256 * 2**20
# How often a running call's CPU time is checked against its limit.
CPU_POLL_S = 0.25
# Kill attempts on one sandbox before it is considered broken.
MAX_KILLS = 4
# A sandbox that was not started ahead imports torch first; allow for a loaded machine.
WORKER_START_TIMEOUT_S = 180.0
# How long a sandbox that closed its stream may take to exit before it is killed.
EXIT_GRACE_S = 5.0


class GraderError(Exception):
    """A failure of the grading machinery itself (not of the submission)."""


@dataclass(frozen=True)
class Launcher:
    """How a run starts its sandboxes: the bwrap spec (None: ``--insecure``) and the worker."""

    run_root: Path
    spec: Optional[SandboxSpec]
    preload: Tuple[str, ...] = ("numpy",)
    forbid: Tuple[str, ...] = ()
    jit_cache: Optional[Path] = None           # see :mod:`asrlab_grade.jitcache`

    def isolation(self) -> Dict[str, Any]:
        if self.spec is None:
            return {"bwrap": False, "namespaces": "", "note": "insecure: rlimits and audit hook only"}
        out = {"bwrap": True, "namespaces": "user,pid,net,ipc,uts,mount",
               "scratch_size_limited": supports_size(self.spec.bwrap),
               "seccomp": self.spec.seccomp is not None}
        if self.spec.hidden:
            out["hidden_packages"] = ", ".join(sorted(self.spec.hidden))
        if self.spec.seccomp is None:
            out["seccomp_note"] = unavailable_note()
        return out


class Sandbox:
    """One sandboxed worker process (see :mod:`asrlab_grade.worker`) and its event stream.

    Started ahead of use; :meth:`start` hands it one job. The stream's end is turned into
    the ``exit`` event by this trusted side, from the process's real exit status, so
    nothing the sandbox writes can forge it.
    """

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self.dir = Path(tempfile.mkdtemp(prefix="job-", dir=launcher.run_root))
        os.chmod(self.dir, 0o700)  # the job holds hidden inputs: the grader's user only
        (self.dir / "files").mkdir()
        worker = [sys.executable, "-m", "asrlab_grade.worker", "--preload", ",".join(launcher.preload),
                  "--forbid", ",".join(launcher.forbid)]
        jit = launcher.jit_cache
        pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                     start_new_session=True)
        if launcher.spec is not None:
            binds = [(str(jit), JIT_DIR)] if jit else []
            self.proc = launcher.spec.popen(str(self.dir), worker + ["--job", JOB_DIR, "--scratch", SCRATCH]
                                            + (["--jit-cache", JIT_DIR] if jit else []), binds, **pipes)
        else:
            scratch = self.dir / "work"
            scratch.mkdir()
            cmd = worker + ["--job", str(self.dir), "--scratch", str(scratch)] + (["--jit-cache", str(jit)] if jit else [])
            env = dict(sandbox_env(), HOME=str(scratch), TMPDIR=str(scratch),
                       MPLCONFIGDIR=str(scratch / ".mpl"))
            self.proc = subprocess.Popen(cmd, env=env, cwd=str(scratch), **pipes)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.bytes_seen = 0
        self.ended = False

    def start(self, job: Dict[str, Any], files: Dict[str, Path]) -> None:
        """Write the job and its input files, then let the sandbox run it."""
        (self.dir / "job.json").write_text(json.dumps(job))
        for name, src in files.items():
            dst = self.dir / "files" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copyfile(src, dst)
        try:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died while warming: its end of stream says how

    def next_event(self, deadline: float) -> Optional[Dict[str, Any]]:
        """The next event, or None at the deadline. Malformed lines become 'garbage'."""
        while b"\n" not in self.buf:
            if self.ended:
                return self._exit_event() if not self.buf else self._line(self.buf + b"\n")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.ended = True
                continue
            self.bytes_seen += len(chunk)
            self.buf += chunk
            if self.bytes_seen > MAX_STREAM_BYTES:
                self.buf, self.bytes_seen = b"", 0
                return {"ev": "overflow"}
        return self._line(self.buf)

    def _line(self, data: bytes) -> Dict[str, Any]:
        line, self.buf = data.split(b"\n", 1)
        if not line.strip():
            return {"ev": "blank"}
        try:
            ev = json.loads(line)
        except ValueError:
            return {"ev": "garbage"}
        if not isinstance(ev, dict) or ev.get("ev") == "exit":
            return {"ev": "garbage"}  # only this side reports the end of the process
        return ev

    def _exit_event(self) -> Dict[str, Any]:
        try:
            code = self.proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:  # it closed its stream but runs on
            self.kill()
            code = self.proc.wait()
        if code < 0:
            return {"ev": "exit", "code": None, "signal": -code}
        if self.launcher.spec is not None and code > 128:  # bwrap: 128 + the signal that ended it
            return {"ev": "exit", "code": None, "signal": code - 128}
        return {"ev": "exit", "code": code, "signal": None}

    def cpu_seconds(self) -> float:
        """User + system CPU time of every process in the sandbox."""
        return sum(_cpu_seconds(p) for p in _tree(self.proc.pid))

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap's group: --die-with-parent does the rest
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.kill()
        self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _tree(pid: int) -> List[int]:
    """``pid`` and its descendants, from /proc/<pid>/task/<tid>/children."""
    out, todo = [], [pid]
    while todo and len(out) < 4096:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def _exit_reason(ev: Dict[str, Any], timed_out: Optional[float], limits: Limits,
                 tampered: bool = False) -> str:
    if tampered:
        return "wrote to the grader's channel"
    if timed_out is not None:
        return f"did not finish within {timed_out:g} s (check for an endless loop)"
    sig = ev.get("signal")
    if sig == signal.SIGXCPU:
        return f"used more than {limits.notebook_cpu_s} s of CPU time"
    if sig == signal.SIGKILL:
        return f"was killed (more than {limits.memory_mb} MB of memory?)"
    if sig:
        return f"crashed with signal {sig}"
    return (f"stopped the grader's process with exit code {ev.get('code')} (sys.exit, os._exit "
            "and quit() must not be called in graded code)")


@dataclass
class Session:
    """Outcome of running one rebuilt notebook in the sandbox (with restarts)."""

    results: Dict[str, Dict[str, Any]] = field(default_factory=dict)   # call id -> event
    cell_errors: Dict[int, str] = field(default_factory=dict)
    forbidden: List[Tuple[str, Optional[str]]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    isolation: Dict[str, Any] = field(default_factory=dict)
    restarts: int = 0
    wait_s: float = 0.0          # waiting for sandboxes to finish importing (not started ahead)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _warm(sb: Sandbox) -> float:
    """Wait until ``sb`` has imported its libraries; returns the seconds waited."""
    t0 = time.monotonic()
    ev = sb.next_event(t0 + WORKER_START_TIMEOUT_S)
    if ev is None or ev.get("ev") != "warm":
        raise GraderError("a sandbox did not start (is asrlab_grade installed in this Python, and "
                          f"are the Python environment's folders readable?); it reported {ev}")
    return time.monotonic() - t0


def run_session(acquire: Callable[[], Sandbox], job: Dict[str, Any], files: Dict[str, Path],
                limits: Limits, call_timeouts: Dict[str, float],
                call_cpu: Optional[Dict[str, float]] = None) -> Session:
    """Drive fresh sandboxes through all cells and calls, restarting after crashes/timeouts.

    ``acquire()`` gives a new sandbox for each attempt; ``files`` (name -> host path) are
    copied into each one's scratch folder.
    """
    s = Session()
    remaining = [c["id"] for c in job["calls"]]
    skipped_cells: set = set()
    calls_by_id = {c["id"]: c for c in job["calls"]}
    t_end = time.monotonic() + limits.notebook_wall_s
    for attempt in range(limits.max_restarts + 1):
        if not remaining and attempt > 0:
            break
        if time.monotonic() >= t_end:
            for cid in remaining:
                s.results[cid] = {"ev": "call_error", "message": "not run: the notebook used up its "
                                  f"{limits.notebook_wall_s:g} s time limit"}
            break
        part = dict(job, cells=[c for c in job["cells"] if c["index"] not in skipped_cells],
                    calls=[calls_by_id[c] for c in remaining])
        sb = acquire()
        try:
            waited = _warm(sb)
            s.wait_s += waited
            t_end += waited
            sb.start(part, files)
            phase, ev, timed_out, cpu_over, tampered = _drive(sb, part, s, remaining, limits, call_timeouts,
                                                              call_cpu, t_end)
        finally:
            sb.close()
        if phase[0] == "done":
            break
        reason = (f"used more than {cpu_over:g} s of CPU time" if cpu_over is not None
                  else _exit_reason(ev, timed_out, limits, tampered))
        s.restarts += 1
        if phase[0] == "cell":
            skipped_cells.add(phase[1])
            s.cell_errors[phase[1]] = f"this cell {reason}; it was skipped and the rest was graded"
        elif phase[0] == "call" and phase[1] in remaining:
            # The same function would most likely do it again: its other cases are not run.
            task_prefix = str(phase[1]).split("#")[0] + "#"
            for cid in [c for c in remaining if c.startswith(task_prefix)]:
                remaining.remove(cid)
                s.results[cid] = {"ev": "call_error", "message": f"the call {reason}" if cid == phase[1]
                                  else "not run: an earlier case of this task stopped the process"}
        elif phase[0] == "setup":
            raise GraderError(f"the sandbox did not start ({reason})")
        else:
            s.notes.append(f"the notebook {reason}")
    else:
        for cid in remaining:
            s.results[cid] = {"ev": "call_error", "message": "not run: too many crashes or timeouts"}
    return s


def _drive(sb: Sandbox, part: Dict[str, Any], s: Session, remaining: List[str], limits: Limits,
           call_timeouts: Dict[str, float], call_cpu: Optional[Dict[str, float]], t_end: float
           ) -> Tuple[Tuple[str, Any], Dict[str, Any], Optional[float], Optional[float], bool]:
    """One attempt: read ``sb``'s events until it exits.

    Returns (phase when it ended, the exit event, phase limit that was overrun, CPU limit
    that was overrun, whether the channel was tampered with).
    """
    phase: Tuple[str, Any] = ("setup", None)
    deadline = min(t_end, time.monotonic() + SETUP_TIMEOUT_S)
    timed_out: Optional[float] = None
    kills = 0
    tampered = False
    # The runner reports cells and calls strictly in this order; anything else is forged.
    next_cells = [c["index"] for c in part["cells"]]
    next_calls = [c["id"] for c in part["calls"]]
    cpu_start, cpu_over = 0.0, None
    while True:
        in_call = phase[0] == "call" and call_cpu and not timed_out and cpu_over is None
        ev = sb.next_event(min(deadline, time.monotonic() + CPU_POLL_S) if in_call else deadline)
        if ev is None and in_call and time.monotonic() < deadline:
            limit = call_cpu.get(phase[1])
            if limit is not None and sb.cpu_seconds() - cpu_start > limit:
                cpu_over = limit
                sb.kill()
                deadline = time.monotonic() + GAP_TIMEOUT_S
            continue
        if ev is None:
            kills += 1
            if kills > MAX_KILLS:
                raise GraderError("a sandbox could not be stopped")
            if timed_out is None:
                timed_out = _phase_limit(phase, limits, call_timeouts)
            sb.kill()
            deadline = time.monotonic() + GAP_TIMEOUT_S
            continue
        kind = ev.get("ev")
        if kind == "blank":
            continue
        if not _well_formed(ev):
            kind = "garbage"
        if kind == "setup_error" and phase[0] != "setup":
            kind = "garbage"
        if kind in ("result", "call_error") and phase != ("call", ev.get("call")):
            kind = "garbage"  # a result for a call that is not running: forged
        if kind == "done" and any(c in remaining for c in (x["id"] for x in part["calls"])):
            kind = "garbage"  # "done" before every call reported: forged
        if kind == "cell_start" and (not next_cells or ev.get("index") != next_cells[0]):
            kind = "garbage"
        if kind == "call_start" and (not next_calls or ev.get("call") != next_calls[0]):
            kind = "garbage"
        if tampered and kind != "exit":
            continue  # after tampering only the process's exit is believed
        if kind in ("overflow", "garbage"):
            tampered = True
            s.notes.append("code in the notebook wrote to the grader's channel; the sandbox "
                           "was stopped there")
            sb.kill()
            deadline = time.monotonic() + GAP_TIMEOUT_S
            continue
        now = time.monotonic()
        if kind == "exit":
            break
        if kind == "setup_error":
            raise GraderError(f"sandbox setup failed: {ev.get('message')}")
        if kind == "ready":
            s.isolation = sb.launcher.isolation()
            phase, deadline = ("gap", None), min(t_end, now + GAP_TIMEOUT_S)
        elif kind == "cell_start":
            phase = ("cell", next_cells.pop(0))
            deadline = min(t_end, now + limits.cell_timeout_s)
        elif kind == "cell_error":
            s.cell_errors[int(ev.get("index", -1))] = str(ev.get("message", ""))[-3000:]
        elif kind in ("cell_end", "cells_done"):
            phase, deadline = ("gap", None), min(t_end, now + GAP_TIMEOUT_S)
        elif kind == "call_start":
            cid = next_calls.pop(0)
            phase = ("call", cid)
            cpu_start = sb.cpu_seconds() if call_cpu else 0.0
            deadline = min(t_end, now + call_timeouts.get(cid, GAP_TIMEOUT_S))
        elif kind in ("result", "call_error"):
            cid = ev.get("call")
            if cid in remaining:
                remaining.remove(cid)
                s.results[cid] = ev
            phase, deadline = ("gap", None), min(t_end, now + GAP_TIMEOUT_S)
        elif kind == "forbidden":
            s.forbidden.append((str(ev.get("name")), ev.get("call")))
        elif kind == "done":
            s.stdout, s.stderr = str(ev.get("stdout", "")), str(ev.get("stderr", ""))
            phase = ("done", None)
            deadline = now + GAP_TIMEOUT_S
    return phase, ev, timed_out, cpu_over, tampered


# Fields of the runner's events and the types they must have; anything else is forged.
_FIELDS = {"index": int, "call": str, "message": str, "name": str, "stdout": str, "stderr": str}


def _well_formed(ev: Dict[str, Any]) -> bool:
    return isinstance(ev.get("ev"), str) and all(
        (isinstance(ev[k], t) and not isinstance(ev[k], bool)) or (k == "call" and ev[k] is None)
        for k, t in _FIELDS.items() if k in ev)


def _phase_limit(phase: Tuple[str, Any], limits: Limits, call_timeouts: Dict[str, float]) -> float:
    if phase[0] == "cell":
        return limits.cell_timeout_s
    if phase[0] == "call":
        return call_timeouts.get(phase[1], GAP_TIMEOUT_S)
    return SETUP_TIMEOUT_S if phase[0] == "setup" else GAP_TIMEOUT_S


