"""Which modules a sandbox's worker imports before the student's code starts (trusted side).

Importing torch, librosa or transformers takes seconds; the worker does it while it waits for
its job (:mod:`asrlab_grade.worker`), so that it neither counts against the notebook's time
limits nor runs after the sandbox has dropped what imports need. The list is read off the
release itself: every module that the release notebooks and the task recipes (evaluation code,
adapters) import, plus what an assignment adds by hand in ``Assignment.preload`` (modules
that are imported lazily, like librosa's submodules)::

    modules = preload.modules(ctx.assignment, ctx.release.values())
"""
from __future__ import annotations

import ast
import importlib.util
from typing import Any, Dict, Iterable, List

from .task import Assignment, FunctionTask

# Always first: what every assignment's notebooks use.
BASE = ("numpy", "torch")
# Never preloaded: the grader itself.
EXCLUDED = ("asrlab_grade",)


def _code(cell_source: Any) -> str:
    text = "".join(cell_source) if isinstance(cell_source, list) else str(cell_source)
    # IPython lines (magics, shell escapes) are not Python.
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())


def imported(source: str) -> List[str]:
    """Absolute module names that ``source`` imports, in order; ``from a import b`` also names
    ``a.b`` (it may be a submodule). Unparsable code gives nothing."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: List[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
    return names


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that is not a package, or not installed
        return False


def modules(assignment: Assignment, release: Iterable[Dict[str, Any]]) -> tuple:
    """The preload list: :data:`BASE`, the assignment's own extras, then what the release and the
    task recipes import (installed modules only, the grader and the assignment's hidden packages
    excluded, each once)."""
    sources = [_code(c.get("source", "")) for nb in release for c in nb.get("cells", [])
               if c.get("cell_type") == "code"]
    for task in assignment.tasks:
        recipe = task.adapter if isinstance(task, FunctionTask) else getattr(task, "evaluate_source", None)
        sources += [s for s in (recipe, getattr(task, "adapter", None)) if s]
    found = [n for src in sources for n in imported(src)]
    out: Dict[str, None] = {}
    hidden = tuple(getattr(assignment, "hidden_packages", ()))
    for name in (*BASE, *assignment.preload, *found):
        if any(name == h or name.startswith(h + ".") for h in hidden):
            continue  # absent from the sandbox's file system
        if name.split(".")[0] not in EXCLUDED and name not in out and _is_module(name):
            out[name] = None
    return tuple(out)
