"""The lint for names that only graded test cells define (the grader runs every cell but those)."""
from __future__ import annotations

from asrlab_grade.cellnames import names_only_tests_define


def _code(source: str, grade_id: str = "", test: bool = False) -> dict:
    meta = {"nbgrader": {"grade_id": grade_id, "grade": test, "solution": False, "points": 1 if test else 0}} \
        if grade_id else {}
    return {"cell_type": "code", "metadata": meta, "source": source}


def test_a_demo_cell_that_needs_an_import_made_in_a_test_cell_is_reported():
    cells = [_code("import numpy as np\n", "imports"),
             _code("from asrlab.lm import estimate_kneser_ney\nassert np.isfinite(1.0)\n", "test_lm", test=True),
             _code("lm = estimate_kneser_ney(['a b'], order=2)\nprint(np.zeros(2))\n", "demo")]
    assert names_only_tests_define(cells) == [("demo", "estimate_kneser_ney")]


def test_names_bound_outside_test_cells_or_builtin_are_fine():
    cells = [_code("def helper(x):\n    result = x\n    return result\n", "answer"),
             _code("result = helper(2)\nrng = 0\nassert result == 2\n", "test_helper", test=True),
             _code("for rng in range(2):\n    print(len(str(rng)))\n%time helper(1)\n", "demo"),
             {"cell_type": "markdown", "metadata": {}, "source": "uses result"}]
    assert names_only_tests_define(cells) == []


def test_code_that_does_not_parse_is_left_to_other_checks():
    cells = [_code("x = 1\n", "test_x", test=True), _code("print(x\n", "broken")]
    assert names_only_tests_define(cells) == []
