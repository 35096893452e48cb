"""Progress lines while a notebook executes, so that a long run (training cells) is never silent.

:class:`CellProgress` plugs into ``nbclient.NotebookClient``'s ``on_cell_start`` / ``on_cell_executed``
hooks: it prints one line for every cell that took at least ``slow_s`` seconds and, from a background
thread, a heartbeat every ``heartbeat_s`` seconds while one cell keeps running.

Usage::

    progress = CellProgress("rnnt.ipynb", total_cells=len(nb.cells))
    with progress:
        NotebookClient(nb, on_cell_start=progress.on_cell_start,
                       on_cell_executed=progress.on_cell_executed).execute()
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, Optional

HEARTBEAT_S = 60.0  # a line at least this often while a cell runs
SLOW_CELL_S = 5.0  # cells faster than this finish without a line of their own


def _default_print(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


class CellProgress:
    """Prints ``<label>: cell i/N ...`` lines for slow cells and heartbeats for running ones.

    Parameters
    ----------
    label : what the lines start with (the notebook's name).
    total_cells : number of cells in the notebook (for ``i/N``).
    heartbeat_s : seconds between heartbeat lines while one cell runs.
    slow_s : cells that take at least this long get a line when they finish.
    emit : where lines go (default: ``print`` to stdout, flushed).
    """

    def __init__(self, label: str, total_cells: int, heartbeat_s: float = HEARTBEAT_S,
                 slow_s: float = SLOW_CELL_S, emit: Callable[[str], None] = _default_print) -> None:
        self.label, self.total, self.heartbeat_s, self.slow_s, self.emit = label, total_cells, heartbeat_s, \
            slow_s, emit
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._cell: Optional[int] = None
        self._cell_name = ""
        self._cell_start = 0.0
        self._start = time.monotonic()

    # ------------------------------------------------------------------ nbclient hooks
    def on_cell_start(self, cell: Any, cell_index: int, **_: Any) -> None:
        with self._lock:
            self._cell, self._cell_start = cell_index, time.monotonic()
            self._cell_name = _cell_name(cell)

    def on_cell_executed(self, cell: Any, cell_index: int, **_: Any) -> None:
        with self._lock:
            seconds = time.monotonic() - self._cell_start
            self._cell = None
        if seconds >= self.slow_s:
            self.emit(f"{self.label}: cell {cell_index + 1}/{self.total}{_cell_name(cell)} done in {seconds:.0f} s "
                      f"({time.monotonic() - self._start:.0f} s in all)")

    # ------------------------------------------------------------------ heartbeat thread
    def __enter__(self) -> "CellProgress":
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._beat, name=f"progress {self.label}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            with self._lock:
                cell, name, started = self._cell, self._cell_name, self._cell_start
            if cell is not None:
                self.emit(f"{self.label}: cell {cell + 1}/{self.total}{name} running for "
                          f"{time.monotonic() - started:.0f} s")


def _cell_name(cell: Any) -> str:
    """`` (grade_id)`` of an nbgrader cell, else empty."""
    grade_id = (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id") if hasattr(cell, "get") else None
    return f" ({grade_id})" if grade_id else ""


class PhaseClock:
    """Wall time of the named phases of a long job, for its summary line.

    Usage::

        clock = PhaseClock()
        with clock("solution run"):
            ...
        print(f"time: {clock}")        # time: solution run 325 s, grading 41 s (366 s)
    """

    def __init__(self) -> None:
        self.seconds: dict = {}

    def __call__(self, phase: str) -> "PhaseClock":
        self._phase, self._start = phase, time.monotonic()
        return self

    def __enter__(self) -> "PhaseClock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds[self._phase] = self.seconds.get(self._phase, 0.0) + time.monotonic() - self._start

    def __str__(self) -> str:
        parts = [f"{phase} {s:.0f} s" for phase, s in self.seconds.items()]
        return f"{', '.join(parts) or '-'} ({sum(self.seconds.values()):.0f} s)"
