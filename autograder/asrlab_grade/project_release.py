"""Release a project assignment: a folder of files (code, configs, a demo notebook) instead of one notebook.

A project is marked by a ``PROJECT`` file in ``solutions/<assignment>/``. Its release copies the folder to
``assignments/<assignment>/`` and replaces every solution region with a stub, using nbgrader's own region
logic (``ClearSolutions`` with the course's ``nbgrader_config.py``, so the stub text is the one notebooks get)::

    def f(x):                                   def f(x):
        ### BEGIN SOLUTION                          # YOUR CODE HERE
        return 2 * x               ->               raise NotImplementedError("your code goes here: ...")
        ### END SOLUTION

Python files and notebook code cells get the code stub; markdown files and cells the text stub; YAML files
the text stub as a comment. Training outputs (the project's ``.gitignore`` entries, caches) are not copied.
The release is refused when any file still holds a solution delimiter.
"""
from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any, Callable, List

from .course_folder import CONFIG_FILE, Course, CourseError

PROJECT_MARKER = "PROJECT"
ALWAYS_SKIPPED = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", "*.whl")
DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION")


def is_project(course: Course, name: str) -> bool:
    """Whether ``solutions/<name>/`` is a project (holds the ``PROJECT`` marker file)."""
    return (course.source_dir(name) / PROJECT_MARKER).is_file()


def clear_solutions(course_root: Path) -> Any:
    """nbgrader's ``ClearSolutions`` configured by the course's ``nbgrader_config.py`` (its stubs)."""
    from nbgrader.preprocessors import ClearSolutions
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course_root / CONFIG_FILE).is_file():
        config = PyFileConfigLoader(CONFIG_FILE, path=str(course_root)).load_config()
    return ClearSolutions(config=config)


def _strip_text(clear: Any, text: str, cell_type: str, where: str) -> str:
    """``text`` with its solution regions replaced by the stub of ``cell_type`` ("code" or "markdown")."""
    import nbformat

    cell = nbformat.v4.new_code_cell(text) if cell_type == "code" else nbformat.v4.new_markdown_cell(text)
    try:
        clear._replace_solution_region(cell, "python")
    except RuntimeError as e:  # nested or unterminated regions
        raise CourseError(f"{where}: {e}; every '### BEGIN SOLUTION' needs one '### END SOLUTION' after it") from None
    return cell.source


def _strip_yaml(clear: Any, text: str, where: str) -> str:
    stub = "\n".join("# " + line for line in clear.text_stub.split("\n"))
    original, clear.text_stub = clear.text_stub, stub
    try:
        return _strip_text(clear, text, "markdown", where)
    finally:
        clear.text_stub = original


def _strip_notebook(clear: Any, text: str, where: str) -> str:
    nb = json.loads(text)
    for i, cell in enumerate(nb.get("cells", [])):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        kind = "code" if cell["cell_type"] == "code" else "markdown"
        cell["source"] = _strip_text(clear, source, kind, f"{where} cell {i}")
        if cell["cell_type"] == "code":  # released notebooks carry no outputs
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def strippers(clear: Any) -> dict[str, Callable[[str, str], str]]:
    """Suffix -> function(text, where) returning the released text."""
    return {
        ".py": lambda text, where: _strip_text(clear, text, "code", where),
        ".md": lambda text, where: _strip_text(clear, text, "markdown", where),
        ".yaml": lambda text, where: _strip_yaml(clear, text, where),
        ".yml": lambda text, where: _strip_yaml(clear, text, where),
        ".ipynb": lambda text, where: _strip_notebook(clear, text, where),
    }


def _skipped_patterns(source: Path) -> List[str]:
    patterns = list(ALWAYS_SKIPPED)
    ignore = source / ".gitignore"
    if ignore.is_file():
        for line in ignore.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                patterns.append(line.strip("/"))
    return patterns


def _skipped(rel: Path, patterns: List[str]) -> bool:
    return any(fnmatch.fnmatch(part, p) for part in rel.parts for p in patterns) or \
        any(fnmatch.fnmatch(rel.as_posix(), p) for p in patterns)


def leftover_solutions(folder: Path) -> List[str]:
    """Files under ``folder`` that still contain a solution delimiter (``path:line``)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if any(d in line for d in DELIMITERS):
                found.append(f"{path.relative_to(folder)}:{n}")
    return found


def release_project(course: Course, name: str) -> List[str]:
    """Copy ``solutions/<name>/`` to ``assignments/<name>/`` with solution regions stubbed; returns report lines.

    Raises
    ------
    CourseError : a malformed region, solution markers in a file type without a stub, or any delimiter left.
    """
    source, target = course.source_dir(name), course.release_dir(name)
    clear = clear_solutions(course.root)
    by_suffix = strippers(clear)
    patterns = _skipped_patterns(source)
    if target.exists():
        shutil.rmtree(target)
    stubbed = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source)
        if _skipped(rel, patterns):
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        strip = by_suffix.get(path.suffix.lower())
        if strip is None:
            shutil.copy2(path, out)
            continue
        text = path.read_text(encoding="utf-8")
        released = strip(text, str(rel))
        if released != text and any(d in text for d in DELIMITERS):
            stubbed.append(str(rel))
        out.write_text(released, encoding="utf-8")
    left = leftover_solutions(target)
    if left:
        shutil.rmtree(target)
        raise CourseError(f"solution delimiters survive in the release of {name}: {', '.join(left[:5])}; only "
                          f"{', '.join(sorted(by_suffix))} files may hold solution regions")
    return [f"released project {target.relative_to(course.root)}/ ({len(stubbed)} files with stubs: "
            f"{', '.join(stubbed)})"]
