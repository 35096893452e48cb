"""One grading round on sample submissions of the ``ctc`` assignment: what a course's autograde looks like.

Usage::

    asrlab-grade demo --out demo-grading          # samples in demo-grading/submitted, results in demo-grading/graded

Four students: the solution, the blank release, a plausible wrong answer (a greedy decoder that does not
merge repeated frames) and a cheating attempt (the forward algorithm handed to the library's reference,
which the ``ctc`` sandbox forbids). Prints the score table and where the grades and feedback pages are.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

from . import cli
from .course_folder import Course
from .samples import write_samples

ASSIGNMENT = "ctc"
VARIANTS = {
    "wrong_greedy": {"greedy_answer": ("if c != previous and c != blank:", "if c != blank:")},
    "cheater": {"ctc_forward_answer": (
        "def ctc_forward(log_probs, labels, blank=BLANK):",
        "def ctc_forward(log_probs, labels, blank=BLANK):\n"
        "    from asrlab.ctc import reference          # the grader forbids this: 0 for the task\n"
        "    return reference.forward(log_probs, labels, blank)\n\n\n"
        "def my_own_forward(log_probs, labels, blank=BLANK):")},
}


def run_demo(course: Course, out: Path, workers: int) -> int:
    """Write the samples under ``out/submitted`` and grade them into ``out/graded``; the exit status."""
    submitted = out / "submitted"
    write_samples(course, ASSIGNMENT, submitted, VARIANTS)
    graded = out / "graded"
    code = cli.main(["autograde", ASSIGNMENT, str(submitted), "--out", str(graded), "--workers", str(workers),
                     "--course-root", str(course.root), "--no-progress"])
    lines: List[str] = [f"\nsubmissions: {submitted}/<student>/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                        f"grades:      {graded / 'grades.csv'}",
                        f"feedback:    {graded}/feedback/<student>/{ASSIGNMENT}.html (and .md)",
                        f"details:     {graded}/results/<student>.json, {graded / 'run.json'}"]
    print("\n".join(lines))
    return code
