"""Sandboxes started ahead of use, so that importing torch overlaps with grading.

Each attempt at a submission takes a fresh sandbox (never one another job used). While
submissions are still waiting, the pool keeps up to one started sandbox per grading
thread; with none waiting it starts nothing ahead, so a run wastes no imports.
"""
from __future__ import annotations

import threading
from typing import List

from .session import Launcher, Sandbox


class SandboxPool:
    """Fresh sandboxes for ``threads`` grading threads and ``expected`` submissions."""

    def __init__(self, launcher: Launcher, threads: int, expected: int, ahead: bool = True) -> None:
        self.launcher, self.threads, self.ahead = launcher, threads, ahead
        self.waiting = expected          # submissions not yet begun
        self.spares: List[Sandbox] = []
        self.lock = threading.Lock()
        self.closed = False
        self._top_up()  # the first sandboxes warm up while the run computes its references

    def begin_submission(self) -> None:
        with self.lock:
            self.waiting = max(0, self.waiting - 1)

    def acquire(self) -> Sandbox:
        """A sandbox nobody used, started ahead when one is ready; tops up the spares."""
        with self.lock:
            sb = self.spares.pop(0) if self.spares else None
        if sb is None:
            sb = Sandbox(self.launcher)
        self._top_up()
        return sb

    def _top_up(self) -> None:
        with self.lock:
            if self.closed or not self.ahead:
                return
            while len(self.spares) < min(self.threads, self.waiting):
                self.spares.append(Sandbox(self.launcher))

    def close(self) -> None:
        with self.lock:
            self.closed = True
            spares, self.spares = self.spares, []
        for sb in spares:
            sb.close()
