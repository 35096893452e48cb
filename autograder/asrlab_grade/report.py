"""Grading outputs: grades CSV, one JSON per student, feedback (markdown and HTML), summary.

Feedback shows test names, points and the grader's messages (shapes, dtypes, first
mismatch, hints). It never shows hidden inputs, and it leaves out what the student's
code printed, since a function can print the hidden values it was called with; that
output stays in the instructor-side JSON.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Sequence

# Columns of ``nbgrader export``'s CSV, so existing spreadsheets keep working, then why a
# submission needs an instructor's look (empty for most; see :mod:`asrlab_grade.scan`), then the points
# of the written answers, which formgrader's manual grading adds (not in score or max_score).
CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
               "email", "raw_score", "late_submission_penalty", "score", "max_score", "needs_review",
               "manual_points"]
# Characters kept as they are in file names; everything else is %-escaped (UTF-8 bytes).
_SAFE_CHARS = "_.@+-"
MAX_NAME = 100


def safe_name(student: str) -> str:
    """A file name for a student id, one-to-one: ``unquote(safe_name(s)) == s`` for short ids.

    Letters, digits and ``_.@+-`` stay; every other character (``%`` and ``/`` included) is
    %-escaped, as is a leading dot. Ids longer than :data:`MAX_NAME` characters once escaped
    are cut and end with a hash of the whole id, so they stay distinct.
    """
    name = urllib.parse.quote(student, safe=_SAFE_CHARS)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if not name:
        return "%00empty"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 17] + "~" + hashlib.sha256(student.encode()).hexdigest()[:16]
    return name


def _fence(text: str) -> List[str]:
    """``text`` as a Markdown code block whose fence no backtick run inside it can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def _inline(text: str) -> str:
    """``text`` as inline Markdown code on one line."""
    text = " ".join(text.split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    tick = "`" * (longest + 1)
    return f"{tick} {text} {tick}"


def write_csv(results: Sequence[Dict[str, Any]], path: Path) -> None:
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in results:
            w.writerow({"assignment": r["assignment"], "duedate": "", "timestamp": stamp,
                        "student_id": r["student"], "last_name": "", "first_name": "", "email": "",
                        "raw_score": r["score"], "late_submission_penalty": 0.0,
                        "score": r["score"], "max_score": r["max_score"],
                        "needs_review": "; ".join(r.get("needs_review", [])),
                        "manual_points": r.get("manual_points", 0.0)})


def manual_note(nb: Dict[str, Any]) -> str:
    """The feedback line naming a notebook's written answers, which a person grades; empty when it has none."""
    manual = nb.get("manual") or []
    if not manual:
        return ""
    cells = ", ".join(f"{m['grade_id']} ({m['max_points']:g}{'' if m.get('answered', True) else ', not answered'})"
                      for m in manual)
    return (f"Written answers ({nb.get('manual_points', sum(m['max_points'] for m in manual)):g} points) are "
            f"graded by hand and are not in the score above: {cells}.")


def feedback_markdown(r: Dict[str, Any]) -> str:
    lines = [f"# Feedback: {r['assignment']}", "",
             f"Student: {_inline(r['student'])}  ", f"Score: **{r['score']:g} / {r['max_score']:g}**", ""]
    if r.get("error"):
        lines += [*_fence(r["error"].strip()), ""]
    for nb in r.get("notebooks", []):
        lines += [f"## {nb['notebook']}: {nb['score']:g} / {nb['max_score']:g}", "",
                  "| test | points | cases passed |", "| --- | --- | --- |"]
        for t in nb["tasks"]:
            cases = f"{t['passed']}/{t['total']}" if t["total"] else "-"
            lines.append(f"| {t['grade_id']} | {t['points']:g} / {t['max_points']:g} | {cases} |")
        lines.append("")
        if manual_note(nb):
            lines += [manual_note(nb), ""]
        for t in nb["tasks"]:
            if t["messages"]:
                lines += [f"### {t['grade_id']}", ""]
                for m in t["messages"]:
                    lines += [*_fence(m.strip()), ""]
        if nb.get("notes"):
            lines += ["### Notes", ""]
            for n in nb["notes"]:
                lines += [*_fence(n.strip()), ""]
    return "\n".join(lines) + "\n"


def feedback_html(r: Dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>Feedback: {e(r['assignment'])}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}"
             "td,th{border:1px solid #ccc;padding:.2em .6em}table{border-collapse:collapse}</style>",
             f"<h1>Feedback: {e(r['assignment'])}</h1>",
             f"<p>Student: <code>{e(r['student'])}</code><br>Score: <b>{r['score']:g} / {r['max_score']:g}</b></p>"]
    if r.get("error"):
        parts.append(f"<p><b>{e(r['error'])}</b></p>")
    for nb in r.get("notebooks", []):
        parts.append(f"<h2>{e(nb['notebook'])}: {nb['score']:g} / {nb['max_score']:g}</h2>")
        parts.append("<table><tr><th>test</th><th>points</th><th>cases passed</th></tr>")
        for t in nb["tasks"]:
            cases = f"{t['passed']}/{t['total']}" if t["total"] else "-"
            parts.append(f"<tr><td>{e(t['grade_id'])}</td><td>{t['points']:g} / {t['max_points']:g}"
                         f"</td><td>{cases}</td></tr>")
        parts.append("</table>")
        if manual_note(nb):
            parts.append(f"<p>{e(manual_note(nb))}</p>")
        for t in nb["tasks"]:
            if t["messages"]:
                parts.append(f"<h3>{e(t['grade_id'])}</h3>")
                parts += [f"<pre>{e(m.strip())}</pre>" for m in t["messages"]]
        if nb.get("notes"):
            parts.append("<h3>Notes</h3>")
            parts += [f"<pre>{e(n.strip())}</pre>" for n in nb["notes"]]
    return "\n".join(parts) + "\n"


def write_outputs(results: Sequence[Dict[str, Any]], out: Path, meta: Dict[str, Any]) -> None:
    """Everything under ``out``: grades.csv, results/, feedback/, run.json."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "grades.csv")
    for r in results:
        name = safe_name(r["student"])
        (out / "results" / f"{name}.json").write_text(json.dumps(r, indent=1, sort_keys=True))
        fb = out / "feedback" / name
        fb.mkdir(parents=True, exist_ok=True)
        (fb / f"{r['assignment']}.md").write_text(feedback_markdown(r))
        (fb / f"{r['assignment']}.html").write_text(feedback_html(r))
    (out / "run.json").write_text(json.dumps(meta, indent=1, sort_keys=True))


def summary_table(results: Sequence[Dict[str, Any]]) -> str:
    """A plain-text table: one row per student, one column per test."""
    ids: List[str] = []
    for r in results:
        for nb in r.get("notebooks", []):
            for t in nb["tasks"]:
                if t["grade_id"] not in ids:
                    ids.append(t["grade_id"])
    header = ["student", "score"] + ids + ["note"]
    rows = [header]
    for r in results:
        pts = {t["grade_id"]: t["points"] for nb in r.get("notebooks", []) for t in nb["tasks"]}
        note = (r.get("error") or ("REVIEW: " + r["needs_review"][0] if r.get("needs_review") else ""))
        note = note[:60].replace("\n", " ")
        rows.append([r["student"], f"{r['score']:g}/{r['max_score']:g}"]
                    + [f"{pts[i]:g}" if i in pts else "-" for i in ids] + [note])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
