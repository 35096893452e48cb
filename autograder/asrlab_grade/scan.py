"""A static look at the student's answer cells for code that reaches into the grader.

The sandbox does not depend on this: it only flags submissions for an instructor to read
("needs review" in ``grades.csv`` and the results), and never changes a score. Plain
course code has no reason to touch these names; an attack on the grader usually does.
"""
from __future__ import annotations

import re
from typing import List, Sequence, Tuple

# (pattern, what it means), matched against the text of each answer cell (strings included,
# so ``__import__("ctypes")`` is found as well as ``import ctypes``).
PATTERNS: Tuple[Tuple[str, str], ...] = (
    (r"\basrlab_grade\b", "refers to the grader's package asrlab_grade"),
    (r"\b_getframe\b|\bf_back\b|\bf_locals\b|\bf_globals\b", "inspects call frames (sys._getframe, f_back)"),
    (r"\bimport\s+gc\b|\bfrom\s+gc\s+import\b|\bgc\s*\.\s*get_\w+|['\"]gc['\"]", "walks live objects (gc)"),
    (r"\b_posixsubprocess\b", "starts processes without audit events (_posixsubprocess)"),
    (r"\b__fspath__\b", "defines or calls __fspath__ (path objects that run code)"),
    (r"\btorch\s*\.\s*library\b|\btorch\s*\.\s*_C\s*\.\s*_dispatch", "changes torch operator registrations"),
    (r"\bctypes\b|\bcffi\b", "loads native code (ctypes/cffi)"),
    (r"\bsys\s*\.\s*addaudithook\b|\bsys\s*\.\s*audit\b", "touches audit hooks"),
)
_COMPILED = tuple((re.compile(p), why) for p, why in PATTERNS)


def review_flags(cells: Sequence[Tuple[str, str]]) -> List[str]:
    """Why (label, source) answer cells need an instructor's review; empty when nothing stands out."""
    flags = []
    for label, source in cells:
        for pattern, why in _COMPILED:
            if pattern.search(source):
                flags.append(f"{label}: {why}")
    return flags
