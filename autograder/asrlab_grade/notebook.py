"""Reading submissions and rebuilding them from the pristine release.

A submitted notebook is never trusted as a whole: the grader keeps only the student's
answer cells (nbgrader ``solution`` cells, found by ``grade_id``) and puts them back into
the release notebook. Deleted, edited or reordered test cells and edited locked cells
therefore change nothing. When a student's cell lost its metadata (some editors strip
it), answers are recovered by aligning the unchanged locked cells of both notebooks.

Graded test cells are not executed at all: the trusted process scores their tasks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

# A notebook bigger than this is refused before parsing (a submission is a few hundred kB).
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


class SubmissionError(Exception):
    """A submission that cannot be graded; the message names the problem and the fix."""


@dataclass(frozen=True)
class PlanCell:
    """One code cell the sandbox runs, in order."""

    index: int              # position in the release notebook
    grade_id: str           # nbgrader grade_id, "" for unlabelled cells
    source: str             # Python source (IPython syntax already translated)
    origin: str             # "release" or "student"


def read_notebook(path: Path) -> Dict[str, Any]:
    """Parse a notebook file, with an actionable error for every way it can be broken."""
    if path.is_symlink():
        raise SubmissionError(f"{path.name} is a symbolic link, not a notebook file; submit the "
                              ".ipynb file itself")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SubmissionError(f"{path.name}: cannot be read ({e.strerror}); resubmit the file") from None
    if size == 0:
        raise SubmissionError(f"{path.name} is empty (0 bytes); save the notebook "
                              "(File > Save) and submit it again")
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path.name} is {size // 2**20} MB; clear the outputs "
                              "(Edit > Clear all outputs) and submit again")
    raw = path.read_bytes()
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a notebook (binary data); submit the "
                              ".ipynb file downloaded with File > Download > .ipynb") from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f"{path.name} is not valid notebook JSON (line {e.lineno}: "
                              f"{e.msg}); download a fresh copy with File > Download > .ipynb "
                              "and do not edit the file in a text editor") from None
    except RecursionError:
        raise SubmissionError(f"{path.name} nests its JSON too deeply to be a notebook; download a "
                              "fresh copy with File > Download > .ipynb") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells' "
                              "list); submit the assignment's .ipynb file")
    return nb


def cell_source(cell: Dict[str, Any]) -> str:
    """A cell's text; a source that is not text (nor a list of text lines) reads as empty."""
    src = cell.get("source", "")
    if isinstance(src, str):
        return src
    if isinstance(src, list) and all(isinstance(line, str) for line in src):
        return "".join(src)
    return ""


def has_text_source(cell: Dict[str, Any]) -> bool:
    src = cell.get("source", "")
    return isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))


def nbgrader_meta(cell: Dict[str, Any]) -> Dict[str, Any]:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def is_answer(cell: Dict[str, Any]) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_graded_test(cell: Dict[str, Any]) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_manually_graded(cell: Dict[str, Any]) -> bool:
    """An nbgrader cell with points that a person grades (formgrader): a graded answer cell, such as a
    written (markdown) answer, or a graded markdown task cell. Never a task of the automatic grader."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not is_graded_test(cell)


def is_written_answer(cell: Dict[str, Any]) -> bool:
    """A manually graded markdown answer cell (nbgrader replaces it by its text stub in the release)."""
    return cell.get("cell_type") == "markdown" and is_manually_graded(cell) and bool(nbgrader_meta(cell).get("solution"))


def _points(cell: Dict[str, Any]) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def graded_cells(nb: Dict[str, Any]) -> List[Tuple[str, float]]:
    """(grade_id, points) of every autograded test cell, in notebook order."""
    return [(nbgrader_meta(c).get("grade_id", ""), _points(c)) for c in nb["cells"] if is_graded_test(c)]


def manual_cells(nb: Dict[str, Any]) -> List[Tuple[str, float]]:
    """(grade_id, points) of every manually graded cell (written answers), in notebook order; their points
    are not part of the automatic score."""
    return [(nbgrader_meta(c).get("grade_id", ""), _points(c)) for c in nb["cells"] if is_manually_graded(c)]


def answered_manual_cells(release: Dict[str, Any], student: Dict[str, Any]) -> Dict[str, bool]:
    """grade_id -> whether the submission's manually graded cell holds something other than the release's
    text (nbgrader's stub): an unchanged or missing written answer scores 0 without a person's look."""
    given: Dict[str, str] = {}
    for c in student.get("cells", []):
        gid = nbgrader_meta(c).get("grade_id") if isinstance(c, dict) else None
        if isinstance(gid, str) and gid not in given:
            given[gid] = cell_source(c).strip()
    return {gid: bool(given.get(gid)) and given[gid] != cell_source(c).strip()
            for c in release["cells"] if is_manually_graded(c)
            for gid in [str(nbgrader_meta(c).get("grade_id", ""))]}


def _align_answers(release: Sequence[Dict[str, Any]], student: Sequence[Dict[str, Any]]
                   ) -> Dict[int, str]:
    """Recover answers without metadata: locked release cells are anchors found verbatim in
    the student notebook; the student code between two anchors answers the answer cells
    between them (joined when several, since the boundaries are unknown)."""
    anchors: List[Tuple[int, int]] = []  # (release index, student index)
    pos = 0
    for ri, cell in enumerate(release):
        if is_answer(cell) or cell.get("cell_type") != "code" or not cell_source(cell).strip():
            continue
        text = cell_source(cell).strip()
        for si in range(pos, len(student)):
            if student[si].get("cell_type") == "code" and cell_source(student[si]).strip() == text:
                anchors.append((ri, si))
                pos = si + 1
                break
    bounds = [(-1, -1)] + anchors + [(len(release), len(student))]
    recovered: Dict[int, str] = {}
    for (r0, s0), (r1, s1) in zip(bounds, bounds[1:]):
        answers = [ri for ri in range(r0 + 1, r1) if is_answer(release[ri])]
        code = [cell_source(student[si]) for si in range(s0 + 1, s1)
                if student[si].get("cell_type") == "code"]
        if answers and len(code) == len(answers):
            recovered.update(zip(answers, code))
        elif answers and code:
            recovered[answers[0]] = "\n\n".join(code)
            recovered.update((ri, "") for ri in answers[1:])
    return recovered


def rebuild(release: Dict[str, Any], student: Dict[str, Any], skip_grade_ids: Sequence[str] = ()
            ) -> Tuple[List[PlanCell], List[str]]:
    """The cells to run: release cells with the student's answers swapped in.

    Returns the plan and notes for the student's feedback (answers that were missing,
    cells that were ignored).
    """
    notes: List[str] = []
    rcells = release["cells"]
    scells = [c for c in student["cells"] if isinstance(c, dict)]
    broken = [i for i, c in enumerate(scells) if c.get("cell_type") == "code" and not has_text_source(c)]
    if broken:
        notes.append(f"cell(s) {', '.join(str(i + 1) for i in broken)} of the submission hold something "
                     "other than text as source; they were read as empty. Download a fresh copy of the "
                     "notebook (File > Download > .ipynb) and do not edit the file by hand")
    by_id: Dict[str, Dict[str, Any]] = {}
    for c in scells:
        gid = nbgrader_meta(c).get("grade_id")
        if c.get("cell_type") == "code" and isinstance(gid, str) and gid not in by_id:
            by_id[gid] = c
    aligned: Optional[Dict[int, str]] = None
    plan: List[PlanCell] = []
    for i, cell in enumerate(rcells):
        if cell.get("cell_type") != "code" or is_graded_test(cell):
            continue
        gid = str(nbgrader_meta(cell).get("grade_id", ""))
        if gid and gid in skip_grade_ids:
            continue
        if not is_answer(cell):
            plan.append(PlanCell(i, gid, translate_ipython(cell_source(cell)), "release"))
            continue
        if gid in by_id:
            src = cell_source(by_id[gid])
        else:
            if aligned is None:
                aligned = _align_answers(rcells, scells)
            if i in aligned:
                src = aligned[i]
                notes.append(f"answer cell '{gid}' had lost its metadata; it was found by "
                             "position (do not copy or re-create answer cells)")
            else:
                src = cell_source(cell)
                notes.append(f"answer cell '{gid}' is missing from the submission; it was graded "
                             "as left blank. Restore it from a fresh copy of the assignment")
        plan.append(PlanCell(i, gid, translate_ipython(src), "student"))
    known = {nbgrader_meta(c).get("grade_id") for c in rcells}
    extra = sum(1 for c in scells if c.get("cell_type") == "code"
                and nbgrader_meta(c).get("grade_id") not in known and cell_source(c).strip())
    if extra and aligned is None:
        notes.append(f"{extra} code cell(s) you added were not run by the grader; "
                     "put helper code inside the answer cells")
    return plan, notes


def translate_ipython(source: str) -> str:
    """Translate IPython syntax (``%magic``, ``!shell``) into plain Python calls.

    Done by the trusted process with IPython's stock transformers before any student
    code runs, so transformers a student registers have nothing to act on.
    """
    if "%" not in source and "!" not in source:
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython, drop magic lines rather than fail
        return "\n".join("pass  # " + ln if ln.lstrip()[:1] in ("%", "!") else ln
                         for ln in source.splitlines())
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # a syntax error is reported when the sandbox compiles the cell
        return source


def find_release_notebooks(release_dir: Path) -> List[Path]:
    return sorted(p for p in release_dir.glob("*.ipynb") if not p.name.startswith("."))
