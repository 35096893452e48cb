"""One storage format for every source notebook, so that diffs, releases and tools treat them alike.

A source cell stores its ``source`` as a list of lines (each but the last ending in ``\\n``, what
``nbformat.write`` produces), carries a stable ``id`` (nbformat 4.5; without one, every
``nbgrader generate_assignment`` gives the release new random ids), and a code cell carries nbgrader
metadata with a ``grade_id``.

Usage::

    for problem in format_problems(nb, "ctc.ipynb"):
        print(problem)
"""
from __future__ import annotations

from typing import Any, Dict, List

from .notebook import nbgrader_meta

# nbformat 4.5 introduced cell ids.
MIN_NBFORMAT_MINOR = 5


def _where(cell: Dict[str, Any], index: int) -> str:
    gid = nbgrader_meta(cell).get("grade_id")
    return f"cell {index} ({gid})" if gid else f"cell {index}"


def _source_problem(source: Any) -> str:
    """Why ``source`` is not a list of lines ("" when it is)."""
    if isinstance(source, str):
        return "stores its source as one string"
    if not isinstance(source, list) or not all(isinstance(line, str) for line in source):
        return f"has a source of type {type(source).__name__}, not a list of strings"
    if any(not line.endswith("\n") for line in source[:-1]) or any("\n" in line[:-1] for line in source):
        return "has a source list whose items are not single lines"
    return ""


def format_problems(nb: Dict[str, Any], label: str) -> List[str]:
    """Problems with the storage format of notebook ``nb`` (a parsed ``.ipynb``), each naming ``label``,
    the cell and the fix; empty when the notebook is in the course's format."""
    problems: List[str] = []
    fix_lines = ("; store sources as lists of lines (json.dumps of the cell with source=text.splitlines(True), "
                 "or read and write the notebook with nbformat)")
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, MIN_NBFORMAT_MINOR):
        problems.append(f"{label}: nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')} has no cell ids; "
                        f"set nbformat_minor to {MIN_NBFORMAT_MINOR} and give every cell an id")
    seen: Dict[str, int] = {}
    for i, cell in enumerate(nb.get("cells", [])):
        where = _where(cell, i)
        why = _source_problem(cell.get("source"))
        if why:
            problems.append(f"{label}: {where} {why}" + fix_lines)
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not cell_id:
            problems.append(f"{label}: {where} has no id; give it a stable one (e.g. its grade_id with - for _), "
                            "or nbgrader writes new random ids into every release")
        elif cell_id in seen:
            problems.append(f"{label}: {where} has the id {cell_id!r} of cell {seen[cell_id]}; cell ids must be unique")
        else:
            seen[cell_id] = i
        if cell.get("cell_type") == "code" and not nbgrader_meta(cell).get("grade_id"):
            problems.append(f"{label}: code {where} has no nbgrader metadata with a grade_id; give it "
                            "metadata.nbgrader (grade_id, grade, solution, locked, schema_version) like the others")
    return problems
