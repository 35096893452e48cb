"""Driving one sandbox session: warm workers, the event stream, deadlines and restarts.

The grader hands a job folder to a warm worker, which forks a sandbox for it; this module
reads the sandbox's reports through the worker and watches each phase (setup, a cell, a
call) with a deadline and, for calls, a CPU-time budget. When the sandbox dies, overruns or
writes anything forged, it records why, skips that cell or call, and starts a fresh
sandbox for what is left. It decides no score.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .task import Limits

# The sandbox must report "ready" this quickly after the worker forks it.
SETUP_TIMEOUT_S = 60.0
# Between two phases (e.g. the last cell and the first call) the runner needs little time.
GAP_TIMEOUT_S = 30.0
# Stop reading a sandbox that sends more than this (results are small; prints go elsewhere).
MAX_STREAM_BYTES = 256 * 2**20
# Bytes kept from a flooded stream (the worker's final event fits easily).
CHUNK_KEEP = 1 << 16
# How often a running call's CPU time is checked against its limit.
CPU_POLL_S = 0.25
# Kill attempts on one sandbox before the worker itself is considered broken.
MAX_KILLS = 4
# Starting a warm worker imports torch; allow for a loaded machine.
WORKER_START_TIMEOUT_S = 180.0


class GraderError(Exception):
    """A failure of the grading machinery itself (not of the submission)."""


class Worker:
    """A warm worker process (see :mod:`asrlab_grade.worker`) and its event stream."""

    def __init__(self, preload: Sequence[str], forbid: Sequence[str] = ()) -> None:
        cmd = [sys.executable, "-m", "asrlab_grade.worker", "--preload", ",".join(preload),
               "--forbid", ",".join(forbid)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.bytes_seen = 0
        ev = self.next_event(time.monotonic() + WORKER_START_TIMEOUT_S)
        if ev is None or ev.get("ev") != "warm":
            self.close()
            raise GraderError("the grading worker did not start (is asrlab_grade installed "
                              "in this Python?)")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def start(self, job_dir: Path) -> Tuple[int, str]:
        self.proc.stdin.write((json.dumps({"job_dir": str(job_dir)}) + "\n").encode())
        self.proc.stdin.flush()
        self.bytes_seen = 0
        ev = self.next_event(time.monotonic() + SETUP_TIMEOUT_S)
        if ev is None or ev.get("ev") != "spawned":
            raise GraderError("the grading worker did not start a sandbox")
        return int(ev["pid"]), str(ev["token"])

    def next_event(self, deadline: float) -> Optional[Dict[str, Any]]:
        """The next event, or None at the deadline. Malformed lines become 'garbage'."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise GraderError("the grading worker exited")
            self.bytes_seen += len(chunk)
            self.buf += chunk
            if self.bytes_seen > MAX_STREAM_BYTES:
                # Keep the tail: the worker's exit event comes last and must not be lost.
                self.buf, self.bytes_seen = self.buf[-CHUNK_KEEP:], 0
                return {"ev": "overflow"}
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.strip():
            return self.next_event(deadline)
        try:
            ev = json.loads(line)
            return ev if isinstance(ev, dict) else {"ev": "garbage"}
        except ValueError:
            return {"ev": "garbage"}

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_session(worker: Worker, job: Dict[str, Any], job_dir: Path, limits: Limits,
                call_timeouts: Dict[str, float], call_cpu: Optional[Dict[str, float]] = None) -> Session:
    """Drive the sandbox through all cells and calls, restarting after crashes/timeouts."""
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
        (job_dir / "job.json").write_text(json.dumps(part))
        pid, token = worker.start(job_dir)
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
            ev = worker.next_event(min(deadline, time.monotonic() + CPU_POLL_S) if in_call else deadline)
            if ev is None and in_call and time.monotonic() < deadline:
                limit = call_cpu.get(phase[1])
                if limit is not None and _cpu_seconds(pid) - cpu_start > limit:
                    cpu_over = limit
                    _kill(pid)
                    deadline = time.monotonic() + GAP_TIMEOUT_S
                continue
            if ev is None:
                kills += 1
                if kills > MAX_KILLS:
                    raise GraderError("a sandbox could not be stopped")
                if timed_out is None:
                    timed_out = _phase_limit(phase, limits, call_timeouts)
                _kill(pid)
                deadline = time.monotonic() + GAP_TIMEOUT_S
                continue
            kind = ev.get("ev")
            if kind == "exit" and ev.get("token") != token:
                kind = "garbage"  # only the worker knows the token
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
                continue  # after tampering only the worker's exit report is believed
            if kind in ("overflow", "garbage"):
                tampered = True
                s.notes.append("code in the notebook wrote to the grader's channel; the sandbox "
                               "was stopped there")
                _kill(pid)
                deadline = time.monotonic() + GAP_TIMEOUT_S
                continue
            now = time.monotonic()
            if kind == "exit":
                break
            if kind == "setup_error":
                raise GraderError(f"sandbox setup failed: {ev.get('message')}")
            if kind == "ready":
                s.isolation = ev.get("isolation", {})
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
                cpu_start = _cpu_seconds(pid) if call_cpu else 0.0
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


def _phase_limit(phase: Tuple[str, Any], limits: Limits, call_timeouts: Dict[str, float]) -> float:
    if phase[0] == "cell":
        return limits.cell_timeout_s
    if phase[0] == "call":
        return call_timeouts.get(phase[1], GAP_TIMEOUT_S)
    return SETUP_TIMEOUT_S if phase[0] == "setup" else GAP_TIMEOUT_S


