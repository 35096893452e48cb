"""Reading submissions and rebuilding them from the release (no sandbox needed)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from asrlab_grade.notebook import SubmissionError, read_notebook, rebuild, translate_ipython
from conftest import grade_id


def sources(plan):
    return {c.grade_id: c.source for c in plan}


def test_rebuild_takes_answers_only(release_nb, student_nb):
    nb = copy.deepcopy(student_nb)
    for c in nb["cells"]:
        if grade_id(c) == "setup":
            c["source"] = "import numpy as np\nnp.allclose = lambda *a, **k: True"
        if grade_id(c) == "test_softmax":
            c["source"] = "pass"
    plan, notes = rebuild(release_nb, nb)
    src = sources(plan)
    assert "np.allclose = " not in src["setup"], "locked cells come from the release"
    assert "test_softmax" not in src, "graded test cells are never run in the sandbox"
    assert "e / e.sum" in src["softmax_answer"]
    assert notes == []


def test_rebuild_skips_training_cells(release_nb, student_nb):
    plan, _ = rebuild(release_nb, student_nb, skip_grade_ids=("train_answer",))
    assert "train_answer" not in sources(plan) and "model_answer" in sources(plan)


def test_missing_answer_is_blank_with_a_note(release_nb, student_nb):
    nb = copy.deepcopy(student_nb)
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != "best_path_answer"]
    for c in nb["cells"]:
        c["metadata"] = {} if grade_id(c) == "intro" else c["metadata"]
    plan, notes = rebuild(release_nb, nb)
    assert "NotImplementedError" in sources(plan)["best_path_answer"]
    assert any("best_path_answer" in n and "missing" in n for n in notes)


def test_stripped_metadata_is_recovered_by_position(release_nb, student_nb):
    nb = copy.deepcopy(student_nb)
    for c in nb["cells"]:
        c["metadata"] = {}
    plan, notes = rebuild(release_nb, nb)
    src = sources(plan)
    assert "e / e.sum" in src["softmax_answer"] and "argmax" in src["best_path_answer"]
    assert "nn.Sequential" in src["model_answer"] and "torch.save" in src["train_answer"]
    assert any("lost its metadata" in n for n in notes)


def test_added_cells_are_not_run(release_nb, student_nb):
    nb = copy.deepcopy(student_nb)
    nb["cells"].insert(3, {"cell_type": "code", "metadata": {}, "source": "HELPER = 1", "outputs": [],
                           "execution_count": None})
    plan, notes = rebuild(release_nb, nb)
    assert all("HELPER" not in c.source for c in plan)
    assert any("you added were not run" in n for n in notes)


@pytest.mark.parametrize("raw,fragment", [(b"", "is empty"), (b"{nope", "not valid notebook JSON"),
                                          (b"\xff\xfe\x00binary", "not a notebook"),
                                          (b'{"metadata": {}}', "no 'cells' list")])
def test_read_errors_name_problem_and_fix(tmp_path: Path, raw: bytes, fragment: str):
    p = tmp_path / "demo.ipynb"
    p.write_bytes(raw)
    with pytest.raises(SubmissionError, match=fragment):
        read_notebook(p)


def test_ipython_syntax_is_translated_before_student_code():
    out = translate_ipython("%matplotlib inline\n!pip install x\nx = 1\n")
    assert "get_ipython().run_line_magic('matplotlib', 'inline')" in out
    assert "get_ipython().system" in out and "x = 1" in out
    compile(out, "cell", "exec")
