"""Every released notebook installs the library the way a student's Colab runtime does and runs top to
bottom until the first call into a student stub (nothing breaks before).

Colab-like: a fresh virtual environment that holds only torch (and the kernel), as Colab brings its own
torch; the library arrives through the notebook's own setup cell, pointed at the wheel that
``asrlab-grade release`` builds. Set ``ASRLAB_RELEASE_KERNEL=dev`` to run the notebooks in the development
environment instead (no virtual environment, no install: faster, and offline).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asrlab_grade.notebook import is_answer
from asrlab_grade.release import build_wheel, set_package_source

ROOT = Path(__file__).resolve().parents[2]
# Project assignments (a PROJECT marker: a folder of code whose demo notebook needs a trained checkpoint) are
# tested by test_project_release.py instead.
RELEASES = sorted(nb for nb in (ROOT / "assignments").glob("*/*.ipynb") if not (nb.parent / "PROJECT").is_file())
KERNEL = "asrlab-colab-like"


def _torch_requirement() -> str:
    import torch

    return f"torch=={torch.__version__.split('+')[0]}"   # the build this machine has (Colab: its own)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """(kernel name, wheel or None): a fresh environment with torch and ipykernel only, and the library wheel."""
    if os.environ.get("ASRLAB_RELEASE_KERNEL") == "dev":
        yield "python3", None
        return
    base = tmp_path_factory.mktemp("colab")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + [_torch_requirement(), "ipykernel"], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "ipykernel", "install", "--prefix", str(base / "jupyter"),
                    "--name", KERNEL], check=True, capture_output=True)
    wheel = build_wheel(ROOT / "shared", base)
    with pytest.MonkeyPatch.context() as patch:   # where jupyter finds the kernel, for this module only
        patch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(base / "jupyter" / "share" / "jupyter"),
                                                                   os.environ.get("JUPYTER_PATH")])))
        yield KERNEL, wheel


@pytest.mark.parametrize("release", RELEASES, ids=[p.parent.name for p in RELEASES])
def test_release_runs_until_the_first_stub(release: Path, tmp_path: Path, monkeypatch, runtime):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    kernel, wheel = runtime
    monkeypatch.setenv("ASRLAB_BUDGET", os.environ.get("ASRLAB_BUDGET", "ci"))
    work = tmp_path / release.parent.name
    shutil.copytree(release.parent, work, ignore=shutil.ignore_patterns("*.whl"))
    if wheel is not None:
        assert set_package_source(work / release.name, str(wheel)) == 1
    nb = nbformat.read(work / release.name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(work)}})
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
    setup = "".join(o.get("text", "") for o in nb.cells[next(i for i, c in enumerate(nb.cells)
                                                             if "ASRLAB_SOURCE" in c.source)].outputs)
    assert f"asrlab {__import__('asrlab').__version__}, torch " in setup
