"""Cores shared between parallel processes: the plan never asks for more threads than cores."""
from __future__ import annotations

import json

import nbformat
import pytest

from asrlab_grade.threads import THREAD_VARIABLES, Plan, plan_threads, thread_env
from asrlab_grade.validate import execute_solution


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("wanted", [1, 2, 3, 5, 32])
@pytest.mark.parametrize("min_threads", [1, 2])
def test_threads_of_all_processes_never_exceed_the_cores(cores, wanted, min_threads):
    plan = plan_threads(wanted, cores=cores, min_threads=min_threads)
    assert 1 <= plan.processes <= wanted and plan.threads >= 1
    assert plan.processes * plan.threads <= cores
    if cores >= min_threads:
        assert plan.threads >= min_threads
    # no core left idle that a process could have had: one more thread each would exceed the cores
    assert plan.processes * (plan.threads + 1) > cores or plan.processes == wanted and plan.threads * wanted == cores


def test_examples_and_errors():
    assert plan_threads(4, cores=2) == Plan(2, 1)
    assert plan_threads(4, cores=2, min_threads=2) == Plan(1, 2)
    assert plan_threads(3, cores=16, min_threads=2) == Plan(3, 5)
    assert plan_threads(1, cores=1, min_threads=4) == Plan(1, 1)
    assert thread_env(3) == {name: "3" for name in THREAD_VARIABLES}
    with pytest.raises(ValueError, match="wanted"):
        plan_threads(0, cores=2)
    with pytest.raises(ValueError, match="threads"):
        thread_env(0)


def test_solution_kernel_gets_the_thread_count(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import json, os, torch\n"
        "json.dump({'omp': os.environ.get('OMP_NUM_THREADS'), 'torch': torch.get_num_threads()}, open('t.json', 'w'))")]
    nbformat.write(nb, src / "a.ipynb")
    assert execute_solution(src, tmp_path / "run", ["a.ipynb"], threads=1) == []
    assert json.loads((tmp_path / "run" / "t.json").read_text()) == {"omp": "1", "torch": 1}
