"""Which names a notebook's cells bind and use, for the lint that keeps graded runs from failing on
names that only a graded test cell defines (the grader never runs test cells in the sandbox).

Usage::

    for cell_id, name in names_only_tests_define(nb["cells"]):
        print(f"cell {cell_id} uses {name}, which only a graded test cell defines")
"""
from __future__ import annotations

import ast
import builtins
from typing import Any, Dict, Iterable, List, Set, Tuple

from .notebook import cell_source, is_graded_test, nbgrader_meta, translate_ipython


def _tree(cell: Dict[str, Any]) -> ast.AST:
    try:
        return ast.parse(translate_ipython(cell_source(cell)))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _bound(node: ast.AST) -> Set[str]:
    """Every name ``node`` binds anywhere: assignments, imports, defs, parameters, loop targets."""
    names: Set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
    return names


def _used(node: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def names_only_tests_define(cells: Iterable[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """(cell id, name) for each name a non-test code cell uses that only graded test cells bind."""
    code = [c for c in cells if c.get("cell_type") == "code"]
    tests = [_tree(c) for c in code if is_graded_test(c)]
    others = [(c, _tree(c)) for c in code if not is_graded_test(c)]
    from_tests = set().union(*(_bound(t) for t in tests)) if tests else set()
    elsewhere = set(dir(builtins)).union(*(_bound(t) for _, t in others)) if others else set(dir(builtins))
    suspects = from_tests - elsewhere
    found = []
    for i, (cell, tree) in enumerate(others):
        for name in sorted(_used(tree) & suspects):
            found.append((str(nbgrader_meta(cell).get("grade_id") or f"#{i}"), name))
    return found
