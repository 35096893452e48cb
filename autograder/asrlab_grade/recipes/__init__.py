"""Public recipe code that runs inside the sandbox, next to the student's code.

An *adapter* calls the student's function on a case's inputs and turns the result into plain
data (e.g. builds the student's module with weights the grader sends, then runs it); an
*evaluation recipe* transcribes hidden audio with a student's trained model. Each recipe is an
ordinary function in ``recipes/<assignment>.py``, linted, importable and tested like any other
code. It imports what it needs inside its body, so that its source stands alone: the grader
sends the source to the sandbox, where the runner defines it under the name it calls
(``adapt`` or ``evaluate``)::

    from asrlab_grade.recipes import ctc as recipes, source

    FunctionTask(..., adapter=source(recipes.greedy_adapter))          # defines adapt(...)
    TrainingTask(..., evaluate_source=source(recipes.evaluate, name="evaluate"))

Recipes are public: they reveal how a result is read, never a hidden input or reference.
"""
from __future__ import annotations

import inspect
import textwrap
from typing import Callable


def source(recipe: Callable, *helpers: Callable, name: str = "adapt") -> str:
    """The source text of ``helpers`` and ``recipe``, with ``recipe`` also bound to ``name``."""
    parts = [textwrap.dedent(inspect.getsource(f)) for f in (*helpers, recipe)]
    alias = "" if recipe.__name__ == name else f"\n{name} = {recipe.__name__}\n"
    return "\n\n".join(parts) + alias
