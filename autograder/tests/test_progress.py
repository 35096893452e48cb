"""Progress lines of a notebook run: slow cells are reported, a long cell gets heartbeats."""
from __future__ import annotations

import threading
import time

import nbformat
from nbclient import NotebookClient

from asrlab_grade.progress import CellProgress


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "train"}
    return nb


def test_heartbeat_while_a_cell_runs_and_a_line_for_slow_cells():
    lines: list[str] = []
    progress = CellProgress("demo.ipynb", total_cells=3, heartbeat_s=0.05, slow_s=0.2, emit=lines.append)
    cell = {"metadata": {"nbgrader": {"grade_id": "train"}}}
    with progress:
        progress.on_cell_start(cell={"metadata": {}}, cell_index=0)
        progress.on_cell_executed(cell={"metadata": {}}, cell_index=0, execute_reply={})  # fast: no line
        progress.on_cell_start(cell=cell, cell_index=1)
        time.sleep(0.3)
        progress.on_cell_executed(cell=cell, cell_index=1, execute_reply={})
        time.sleep(0.15)  # no cell running: no heartbeat
    beats = [line for line in lines if "running for" in line]
    assert beats and all(line.startswith("demo.ipynb: cell 2/3 (train) running for") for line in beats)
    assert lines[-1].startswith("demo.ipynb: cell 2/3 (train) done in 0 s")
    assert not any("cell 1/3" in line for line in lines)
    assert not [t for t in threading.enumerate() if t.name.startswith("progress ")]


def test_hooks_fire_from_nbclient():
    lines: list[str] = []
    nb = _notebook("x = 1", "import time; time.sleep(0.3)")
    progress = CellProgress("nb", total_cells=len(nb.cells), heartbeat_s=0.1, slow_s=0.2, emit=lines.append)
    with progress:
        NotebookClient(nb, kernel_name="python3", on_cell_start=progress.on_cell_start,
                       on_cell_executed=progress.on_cell_executed).execute()
    assert any(line.startswith("nb: cell 2/2 (train) done in") for line in lines), lines
