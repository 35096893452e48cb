"""Recipes are ordinary functions whose source stands alone: what the grader sends defines the name the
sandbox's runner calls, and needs nothing from the module it was written in."""
from __future__ import annotations

import importlib

import pytest

from asrlab_grade.recipes import source
from asrlab_grade.task import FunctionTask, TrainingTask

ASSIGNMENTS = ["ctc", "ctc_training", "e2e_mtl", "rnnt", "wav2vec2"]


def _recipes(name):
    assignment = importlib.import_module(f"asrlab_grade.tasks.{name}").ASSIGNMENT
    for task in assignment.tasks:
        if isinstance(task, FunctionTask) and task.adapter:
            yield task.grade_id, task.adapter, "adapt"
        if isinstance(task, TrainingTask):
            yield task.grade_id, task.adapter or task.evaluate_source, "adapt" if task.adapter else "evaluate"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_recipe_defines_what_the_runner_calls_in_an_empty_namespace(name):
    found = list(_recipes(name))
    assert found, f"{name} has no recipes"
    for grade_id, text, entry in found:
        namespace: dict = {"__name__": "asrlab_adapter"}
        exec(compile(text, f"<{grade_id}>", "exec"), namespace)   # module-level code: definitions only
        assert callable(namespace.get(entry)), f"{grade_id}: the recipe does not define {entry}()"


def test_source_puts_helpers_first_and_binds_the_entry_name():
    def helper(x):
        return x + 1

    def double_then_help(fn, x):
        return helper(fn(x) * 2)

    text = source(double_then_help, helper)
    assert text.index("def helper") < text.index("def double_then_help")
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["adapt"](lambda v: v, 3) == 7
    assert "adapt =" not in source(helper, name="helper")
