"""The worker's preload list is read off the release and the task recipes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from asrlab_grade import preload
from asrlab_grade.course_folder import Course
from asrlab_grade.task import Assignment, Case, FunctionTask


def _cell(source: str) -> dict:
    return {"cell_type": "code", "source": source}


def test_imports_are_found_in_cells_functions_and_from_imports():
    source = ("import numpy as np, json\nfrom asrlab import checks, course\nfrom asrlab.data import LibriSpeech\n"
              "from . import local\ndef f():\n    import math\n")
    assert preload.imported(source) == ["numpy", "json", "asrlab", "asrlab.checks", "asrlab.course", "asrlab.data",
                                        "asrlab.data.LibriSpeech", "math"]
    assert preload.imported("def broken(:\n") == []


def test_modules_keeps_installed_modules_once_in_order_and_never_the_grader():
    recipe = "def adapt(f, x):\n    import asrlab.metrics\n    return f(x)\n"
    task = FunctionTask(grade_id="t", call="f", cases=lambda rng: [Case((1,))], reference=lambda x: x,
                        adapter=recipe)
    assignment = Assignment(name="demo", tasks=(task,), preload=("json",))
    release = [{"cells": [_cell("%pip install asrlab\n!ls\nimport asrlab_grade\nimport no_such_module_here\n"
                                "from asrlab.data import LibriSpeech\nimport numpy"),
                          {"cell_type": "markdown", "source": "import matplotlib"}]}]
    mods = preload.modules(assignment, release)
    assert mods[:3] == ("numpy", "torch", "json")
    assert "asrlab.data" in mods and "asrlab.metrics" in mods
    assert "asrlab.data.LibriSpeech" not in mods             # a class, not a module
    assert not {"asrlab_grade", "no_such_module_here", "matplotlib"} & set(mods)
    assert len(mods) == len(set(mods))


@pytest.mark.parametrize("name", ["ctc", "ctc_training", "e2e_mtl", "rnnt", "wav2vec2"])
def test_every_assignment_preloads_what_its_release_imports(name):
    course = Course(Path(__file__).resolve().parents[2])
    assignment = course.load_assignment(name)
    release = [json.loads(p.read_text()) for p in course.release_notebooks(name)]
    mods = preload.modules(assignment, release)
    assert {"numpy", "torch", "asrlab.checks"} <= set(mods)   # every release imports these
    assert set(assignment.preload) <= set(mods)
    if "librosa" in mods:      # its kernels load before the job, from the grader's numba cache
        assert "librosa.feature.spectral" in mods
