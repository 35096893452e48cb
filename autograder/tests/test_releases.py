"""Every released notebook runs top to bottom on a CPU-only machine with only the README's install and
stops at the first call into a student stub, with the stub's NotImplementedError (nothing breaks before)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from asrlab_grade.notebook import is_answer

ROOT = Path(__file__).resolve().parents[2]
RELEASES = sorted((ROOT / "assignments").glob("*/*.ipynb"))


@pytest.mark.parametrize("release", RELEASES, ids=[p.parent.name for p in RELEASES])
def test_release_runs_until_the_first_stub(release: Path, tmp_path: Path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("ASRLAB_BUDGET", os.environ.get("ASRLAB_BUDGET", "ci"))
    work = tmp_path / release.parent.name
    shutil.copytree(release.parent, work)
    nb = nbformat.read(work / release.name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    failed = [c for c in nb.cells if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(failed) == 1  # execution stops at the first error
    where = failed[0].metadata.get("nbgrader", {}).get("grade_id", "?")
    assert stopped.value.ename == "NotImplementedError" and "your code goes here" in stopped.value.evalue, (
        f"the notebook broke in cell {where} before reaching a student stub: "
        f"{stopped.value.ename}: {stopped.value.evalue}")
    first_stub = next(i for i, c in enumerate(nb.cells) if is_answer(c))
    assert nb.cells.index(failed[0]) >= first_stub, f"cell {where} stopped before the first answer cell"
