"""The human grader's view of project submissions: one HTML page each, and the class leaderboard.

Usage::

    write_project_reports(results, out, submissions)   # out/report/<student>.html (+ .png), out/leaderboard.html

A page holds the automatic scores, the band table they were read from, the flags, the training curves of
the submitted TensorBoard logs as a picture, and the student's README (escaped). The leaderboard ranks hidden
test-clean WER; a student appears by name only after opting in with a ``leaderboard: <display name>`` line in
README.md or a ``LEADERBOARD`` file holding the name, and anonymously otherwise.
"""
from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .report import safe_name

README_LIMIT = 200_000
NAME_RE = re.compile(r"^\s*leaderboard\s*:\s*(\S.{0,59}?)\s*$", re.I | re.M)


def _read_text(path: Path, limit: int = README_LIMIT) -> Optional[str]:
    if not path.is_file() or path.is_symlink():
        return None
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", errors="replace")


def display_name(folder: Optional[Path]) -> Optional[str]:
    """The name a student opted in with (``LEADERBOARD`` file, or a ``leaderboard: <name>`` README line)."""
    if folder is None:
        return None
    text = _read_text(folder / "LEADERBOARD", 200)
    if text and text.strip():
        return text.strip().splitlines()[0][:60]
    m = NAME_RE.search(_read_text(folder / "README.md") or "")
    return m.group(1) if m else None


def curves_png(curves: Dict[str, List[List[float]]], path: Path) -> bool:
    """The scalar curves (tag -> [[step, value], ...]) as one PNG of small plots; False when there are none."""
    if not curves:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = sorted(curves)[:12]
    cols = min(3, len(tags))
    rows = (len(tags) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, tag in zip(axes.flat, tags):
        steps, values = zip(*curves[tag]) if curves[tag] else ((), ())
        ax.plot(steps, values, lw=1)
        ax.set_title(tag, fontsize=9)
        ax.tick_params(labelsize=7)
        if "loss" in tag.lower() and values and min(values) > 0:
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(tags):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def _band_table(bands: Sequence[Dict[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{b['score']:g}</td><td>{html.escape(str(b['split'] or '-'))}</td>"
                   f"<td>{b['metric'].upper() if b['split'] else '-'}</td>"
                   f"<td>{'%.3f' % b['max_value'] if b['split'] else '-'}</td></tr>" for b in bands)
    return ("<table border=1 cellpadding=3><tr><th>score</th><th>split</th><th>metric</th><th>at most</th></tr>"
            f"{rows}</table>")


def project_html(r: Dict[str, Any], readme: Optional[str], png: Optional[str]) -> str:
    """One submission's page (everything escaped)."""
    e = html.escape
    nb = (r.get("notebooks") or [{}])[0]
    p = nb.get("project", {})
    parts = [f"<html><head><meta charset='utf-8'><title>{e(r['student'])}</title></head><body>",
             f"<h1>{e(r['student'])}: {r['score']:g} / {r['max_score']:g}</h1>"]
    if r.get("error"):
        parts.append(f"<p><b>error:</b> {e(str(r['error']))}</p>")
    parts.append(f"<p>model kind {e(str(p.get('kind', '?')))}, tokenizer {e(str(p.get('tokenizer', '?')))}, "
                 f"scored decoder {e(str(p.get('decoder')))}</p>")
    parts.append("<h2>Automatic scores</h2><table border=1 cellpadding=3><tr><th>check</th><th>points</th>"
                 "<th>details</th></tr>")
    for t in nb.get("tasks", []):
        parts.append(f"<tr><td>{e(t['grade_id'])}</td><td>{t['points']:g}</td>"
                     f"<td><pre>{e(chr(10).join(t['messages']))}</pre></td></tr>")
    parts.append("</table><h2>Error rates (hidden sets)</h2><table border=1 cellpadding=3>"
                 "<tr><th>set / decoder</th><th>WER</th><th>CER</th></tr>")
    for k, m in sorted(p.get("metrics", {}).items()):
        parts.append(f"<tr><td>{e(k)}</td><td>{m['wer']:.4f}</td><td>{m['cer']:.4f}</td></tr>")
    parts.append("</table><h2>Band table</h2>" + _band_table(p.get("bands", [])))
    flags = p.get("flags", [])
    parts.append("<h2>Flags</h2>" + ("<ul>" + "".join(f"<li>{e(f)}</li>" for f in flags) + "</ul>"
                                      if flags else "<p>none</p>"))
    parts.append("<h2>Training curves (submitted logs)</h2>")
    if png:
        parts.append(f"<img src='{e(png)}' alt='training curves'>")
    else:
        parts.append(f"<p>no curves: {e(str(p.get('logs_note') or 'the logs hold no scalars'))}</p>")
    for note in nb.get("notes", []):
        parts.append(f"<pre>{e(str(note))}</pre>")
    parts.append("<h2>README</h2>" + (f"<pre style='white-space:pre-wrap'>{e(readme)}</pre>" if readme is not None
                                      else "<p>no README.md</p>"))
    return "\n".join(parts) + "\n</body></html>\n"


def leaderboard(results: Sequence[Dict[str, Any]], folders: Dict[str, Optional[Path]]) -> List[Dict[str, Any]]:
    """Rows sorted by hidden test-clean WER: rank, shown name (opt-in, else 'anonymous <k>'), WER, score."""
    rows = []
    for r in results:
        p = ((r.get("notebooks") or [{}])[0]).get("project") or {}
        decoder = p.get("decoder") or "beam"
        wer = (p.get("metrics", {}).get(f"test-clean/{decoder}") or {}).get("wer")
        if wer is not None:
            rows.append({"student": r["student"], "wer": float(wer), "score": r["score"],
                         "name": display_name(folders.get(r["student"]))})
    rows.sort(key=lambda x: (x["wer"], x["student"]))
    for k, row in enumerate(rows, 1):
        row["rank"] = k
        row["shown"] = row["name"] or f"anonymous {k}"
    return rows


def write_project_reports(results: Sequence[Dict[str, Any]], out: Path,
                          folders: Dict[str, Optional[Path]]) -> None:
    """``out/report/<student>.html`` (+ ``.png``) per submission and ``out/leaderboard.{html,csv}``."""
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        name = safe_name(r["student"])
        p = ((r.get("notebooks") or [{}])[0]).get("project") or {}
        png = f"{name}.png" if curves_png(p.get("curves", {}), folder / f"{name}.png") else None
        src = folders.get(r["student"])
        readme = _read_text(src / "README.md") if src is not None else None
        (folder / f"{name}.html").write_text(project_html(r, readme, png))
    rows = leaderboard(results, folders)
    with open(out / "leaderboard.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rank", "name", "test_clean_wer"])
        w.writerows([[row["rank"], row["shown"], f"{row['wer']:.4f}"] for row in rows])
    body = "".join(f"<tr><td>{row['rank']}</td><td>{html.escape(row['shown'])}</td><td>{100 * row['wer']:.2f}</td>"
                   "</tr>" for row in rows)
    (out / "leaderboard.html").write_text(
        "<html><head><meta charset='utf-8'><title>leaderboard</title></head><body><h1>Hidden test-clean WER</h1>"
        f"<table border=1 cellpadding=3><tr><th>rank</th><th>name</th><th>WER %</th></tr>{body}</table>"
        "</body></html>\n")
