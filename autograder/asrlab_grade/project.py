"""Grading a project submission: a folder (code + checkpoint) that implements a recognizer contract.

The trusted side chooses the hidden audio (test splits from the course secret, an unannounced folder with new
voices, rates, noise and mixed file formats), ships it into one sandbox together with the submission's files,
calls the contract there through public recipes (:mod:`asrlab_grade.recipes.asr_project`) and scores the plain
data that comes back: WER/CER by :mod:`asrlab.metrics`, band tables, bonuses and automatic checks. The
submission is never run outside the sandbox; only its ``config.json`` and ``README.md`` are read here, as text.

Usage (in ``tasks/<assignment>.py``)::

    ASSIGNMENT = Assignment(name="asr_project", tasks=(), project=ProjectGrading(bands=..., ...))
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import wire
from .grader import RunContext, TaskResult, _regular_files
from .recipes import asr_project as recipes
from .recipes import source
from .session import Sandbox, run_session
from .task import for_budget

DATA = "_grader"                       # the grader's files inside the sandbox's working folder
SPLITS = ("test-clean", "test-other")
DECODERS = ("greedy", "beam")
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Row:
    """One row of a band table: ``score`` when ``metric`` (``"cer"``/``"wer"``, a fraction) of ``split`` is at most
    ``max_value``; a row without a split ("at least you tried") needs transcripts of the hidden splits only."""

    score: float
    split: Optional[str] = None
    metric: str = "wer"
    max_value: float = 0.0


def scaled(rows: Sequence[Row], clean: float, other: float) -> Tuple[Row, ...]:
    """``rows`` with test-clean thresholds times ``clean`` and test-other ones times ``other``."""
    return tuple(Row(r.score, r.split, r.metric, r.max_value * (clean if r.split == "test-clean" else other))
                 for r in rows)


@dataclass(frozen=True)
class ProjectGrading:
    """How a project assignment is graded (the values of one course; all thresholds are fractions).

    Attributes:
        ctc_bands / seq_bands: band tables of CTC and of RNN-T/LAS models (each a :class:`PerBudget` or rows);
            the score is the highest row that holds; RNN-T/LAS add ``seq_bonus``.
        penalties: points a failed automatic check costs (``beam``, ``augment``, ``logs``, ``metrics``,
            ``dataset``, ``train``); partial failures cost a share.
        lm_bonus / bpe_bonus: an LM whose beam search beats the same beam search without it; a BPE model whose
            test-clean WER is at most ``char_wer`` (the character solution's, per budget).
        gap: flag for review when the unannounced folder's WER exceeds test-clean's by more than this.
        rtf: seconds of wall time per second of audio a transcription call may take, plus ``base_s``.
        max_mb: size cap of a submission folder.
        unannounced: keyword arguments of :func:`asrlab.data.synth.make_custom` (n, rate_scale, snr_db ...).
        train_overrides: the short run, ``python train.py <overrides>``; ``{corpus}`` and ``{steps}`` are filled.
        train_drop: the short run passes when its last training loss is at most this fraction of its first.
        augment_margin: an augmentation is usable when the dev CER it leaves is at most the clean CER plus this.
        limit: utterances per hidden split (None: all).
        expected: the score ``validate`` requires of the solution (per budget).
    """

    ctc_bands: Any
    seq_bands: Any
    char_wer: Any
    expected: Any = 0.0
    seq_bonus: float = 1.0
    lm_bonus: float = 0.5
    bpe_bonus: float = 1.0
    penalties: Dict[str, float] = field(default_factory=lambda: {
        "beam": 2.0, "logs": 2.0, "augment": 1.0, "metrics": 1.0, "dataset": 1.0, "train": 1.0})
    gap: Any = 0.25
    rtf: float = 2.0
    base_s: float = 60.0
    max_mb: float = 200.0
    unannounced: Any = field(default_factory=dict)
    train_overrides: Tuple[str, ...] = ()
    train_steps: int = 30
    train_timeout_s: float = 300.0
    train_drop: float = 0.6
    augment_margin: float = 0.3
    min_augmentations: int = 4
    dev_utterances: int = 6
    limit: Optional[int] = None

    def max_score(self) -> float:
        return max(r.score for r in for_budget(self.ctc_bands))


REQUIRED_LOGS = {  # name -> (kind in read_logs' answer, pattern a tag must match)
    "loss": ("scalars", r"loss"), "learning rate": ("scalars", r"(^|[/_ ])(lr|learning[_ ]?rate)"),
    "gradient norm": ("scalars", r"grad"), "spectrograms": ("images", r""), "audio": ("audio", r""),
    "text samples": ("text", r"")}


# ----------------------------------------------------------------------------------------------- hidden data
@dataclass
class ProjectData:
    """The hidden inputs of one run, written once under the run's folder (no sandbox sees it but through jobs)."""

    files: Dict[str, Path]                    # name in the sandbox -> host file
    refs: Dict[str, Dict[str, str]]           # split -> {id: reference}
    seconds: Dict[str, float]                 # split -> seconds of audio
    lengths: Dict[str, int]                   # unannounced id -> samples
    metric_pairs: Dict[str, List[str]]        # id -> [reference, hypothesis] for calc_metrics.py
    fixed_wave: np.ndarray


_data_lock = threading.Lock()


def project_data(ctx: RunContext, spec: ProjectGrading) -> ProjectData:
    with _data_lock:
        if "__project__" not in ctx._cases:
            ctx._cases["__project__"] = _make_data(ctx.run_root / "project-data", spec, ctx.seed)
        return ctx._cases["__project__"]


def _make_data(root: Path, spec: ProjectGrading, seed: int) -> ProjectData:
    from asrlab import audio

    from .hidden import librispeech_test
    files: Dict[str, Path] = {}
    refs: Dict[str, Dict[str, str]] = {}
    seconds: Dict[str, float] = {}
    for split, tag in (("test-clean", "c"), ("test-other", "o"), ("dev-clean", "d")):
        limit = spec.dev_utterances if split == "dev-clean" else spec.limit
        waves, texts = librispeech_test(split, limit=limit)
        refs[split], seconds[split] = {}, sum(len(w) for w in waves) / SAMPLE_RATE
        for i, (wave, text) in enumerate(zip(waves, texts)):
            utt = f"{tag}{i:04d}"
            path = audio.save(root / split / f"{utt}.wav", wave, SAMPLE_RATE)
            files[f"{DATA}/{split}/{utt}.wav"] = path
            refs[split][utt] = text
    custom = unannounced_folder(spec)
    lengths = {}
    for path in sorted((custom / "audio").iterdir()):
        files[f"{DATA}/unannounced/audio/{path.name}"] = path
        lengths[path.stem] = len(audio.load(path, sample_rate=SAMPLE_RATE)[0])
    refs["unannounced"] = {p.stem: p.read_text().strip() for p in sorted((custom / "transcriptions").iterdir())}
    seconds["unannounced"] = sum(lengths.values()) / SAMPLE_RATE
    rng = np.random.default_rng([seed, 17])
    pairs = {f"m{i:03d}": [ref, _corrupt(ref, rng, i)] for i, ref in enumerate(list(refs["test-clean"].values())[:16])}
    # A dev utterance with a faint noise floor: masking even its silent stretches changes it.
    fixed = librispeech_test("dev-clean", limit=1)[0][0]
    fixed = (fixed + rng.normal(0.0, 1e-3, size=fixed.shape)).astype(np.float32)
    return ProjectData(files, refs, seconds, lengths, pairs, fixed)


def unannounced_folder(spec: ProjectGrading) -> Path:
    """The unannounced folder (audio/ + transcriptions/, the latter never shipped), made from the course secret
    once per machine under the hidden cache (:func:`asrlab_grade.hidden.cache_dir`)."""
    import hashlib

    from asrlab import course
    from asrlab.data.synth import make_custom

    from . import hidden, secret
    options = dict(for_budget(spec.unannounced))
    options.setdefault("words_per_list", course.LIBRISPEECH_PROFILES[course.budget()].get("words_per_list"))
    seed = secret.derive_seed("unannounced folder")
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:8]
    root = hidden.cache_dir() / f"synth-custom-{course.budget()}-{seed}-{digest}"
    make_custom(root, seed=seed, progress=False, **options)
    return root


def _corrupt(ref: str, rng: np.random.Generator, i: int) -> str:
    """A hypothesis for ``ref`` with drawn substitutions, deletions and insertions (some kept exact, some empty).

    Deletions (20 %) outnumber insertions (5 %), so the hypotheses hold clearly fewer words than the references:
    a metric that divides by the hypothesis' length instead of the reference's cannot agree by chance.
    """
    words = ref.split()
    if i % 7 == 3:
        return ""
    if i % 7 == 5:
        return ref
    out: List[str] = []
    for w in words:
        u = rng.random()
        if u < 0.20:
            continue
        out.append(w[::-1] if u < 0.33 else w)
        if rng.random() < 0.05:
            out.append(words[int(rng.integers(len(words)))])
    return " ".join(out)


# ----------------------------------------------------------------------------------------------- the job
def submission_files(folder: Path, cap_mb: float) -> Tuple[Dict[str, Path], Optional[str]]:
    """The folder's regular files (links, ``.git`` and caches left out), or a message when it is over ``cap_mb``."""
    found = {k: v for k, v in _regular_files(folder, "").items()
             if not re.search(r"(^|/)(\.git|__pycache__|\.ipynb_checkpoints)/", k)}
    found = {k.lstrip("/"): v for k, v in found.items()}
    size = sum(p.stat().st_size for p in found.values())
    if size > cap_mb * 2**20:
        return {}, (f"the submission folder holds {size / 2**20:.0f} MB, more than the {cap_mb:g} MB allowed; "
                    "submit code, one checkpoint and the logs only (no data, no optimizer state)")
    return found, None


def read_config(folder: Path) -> Dict[str, Any]:
    """``checkpoint/config.json`` as plain JSON (empty when absent or unreadable)."""
    path = folder / "checkpoint" / "config.json"
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 2**16:
            value = json.loads(path.read_text())
            return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        pass
    return {}


def calls(spec: ProjectGrading, data: ProjectData, config: Dict[str, Any], seed: int) -> List[Dict[str, Any]]:
    """Every sandbox call of one submission: (id, recipe, args, timeout in seconds)."""
    out = []

    def add(cid: str, recipe: Callable, args: tuple, timeout: float, *helpers: Callable) -> None:
        out.append({"id": f"{cid}#0", "kind": "call", "fn": None, "adapter": source(recipe, *helpers),
                    "inputs": wire.encode({"args": args, "kwargs": {}}), "timeout": timeout})

    budget = lambda split: spec.base_s + spec.rtf * data.seconds[split]  # noqa: E731
    for split in SPLITS:
        for decoder in DECODERS:
            add(f"{split}/{decoder}", recipes.transcribe_folder, (f"{DATA}/{split}", decoder), budget(split))
    add("unannounced/beam", recipes.transcribe_folder, (f"{DATA}/unannounced/audio", "beam"), budget("unannounced"))
    if config.get("lm"):
        add("test-clean/beam-without-lm", recipes.transcribe_folder, (f"{DATA}/test-clean", "beam", True),
            budget("test-clean"))
    add("metrics", recipes.run_calc_metrics, (data.metric_pairs,), 60.0, recipes.run_script)
    add("dataset", recipes.dataset_items, (f"{DATA}/unannounced",), 30.0 + data.seconds["unannounced"])
    add("augment", recipes.augmentations, (data.fixed_wave, f"{DATA}/dev-clean", seed % 2**31),
        spec.base_s + 13 * spec.rtf * data.seconds["dev-clean"])
    add("logs", recipes.read_logs, ("logs",), 120.0)
    overrides = tuple(o.format(corpus=f"{DATA}/corpus", steps=spec.train_steps) for o in spec.train_overrides)
    add("train", recipes.short_training, (list(overrides),), spec.train_timeout_s, recipes.read_logs,
        recipes.run_script)
    return out


def corpus_files(data_root: Path, data: ProjectData) -> Dict[str, Path]:
    """A one-chapter LibriSpeech-layout corpus for the short training run: the hidden dev utterances, as
    ``train-clean`` and ``dev-clean`` of speaker 1, chapter 1."""
    from asrlab.data.synth import writers

    files: Dict[str, Path] = {}
    folder = data_root / "corpus"
    texts = list(data.refs["dev-clean"].items())
    for split in ("train-clean", "dev-clean"):
        for i, (utt, text) in enumerate(texts):
            files[f"{DATA}/corpus/{split}/1/1/1-1-{i:04d}.wav"] = data.files[f"{DATA}/dev-clean/{utt}.wav"]
        writers.write_trans(folder, split, 1, 1, [t.upper() for _, t in texts])
        trans = next((folder / split / "1" / "1").glob("*.trans.txt"))
        files[f"{DATA}/corpus/{split}/1/1/{trans.name}"] = trans
    return files


def run_project(ctx: RunContext, acquire: Callable[[], Sandbox], folder: Path, spec: ProjectGrading
                ) -> Tuple[Dict[str, Any], ProjectData, Dict[str, Any]]:
    """Run every call of one submission in a sandbox; returns (events by call id, the hidden data, config)."""
    data = project_data(ctx, spec)
    config = read_config(folder)
    files, problem = submission_files(folder, spec.max_mb)
    if problem:
        return {"__problem__": problem}, data, config
    files.update(data.files)
    files.update(corpus_files(ctx.run_root / "project-data", data))
    job_calls = calls(spec, data, config, ctx.seed)
    timeouts = {c["id"]: c.pop("timeout") for c in job_calls}
    job = {"cells": [], "calls": job_calls, "forbidden": [], "limits": ctx.assignment.limits.__dict__,
           "hide": ctx.hide, "keep": ctx.keep}
    session = run_session(acquire, job, files, ctx.assignment.limits, timeouts, dict(timeouts))
    events = dict(session.results)
    events["__session__"] = {"notes": session.notes, "stdout": session.stdout, "stderr": session.stderr,
                             "isolation": session.isolation, "restarts": session.restarts,
                             "wait_s": session.wait_s}
    return events, data, config


def value(events: Dict[str, Any], cid: str) -> Tuple[Any, Optional[str]]:
    """(decoded result, None) of call ``cid``, or (None, the error message)."""
    ev = events.get(f"{cid}#0") or {"ev": "call_error", "message": "not run"}
    if ev.get("ev") != "result":
        return None, str(ev.get("message", "")).strip()[-1500:] or "failed"
    try:
        return wire.decode(ev.get("value")), None
    except Exception as e:  # noqa: BLE001 - unreadable result: the submission's problem
        return None, f"the result could not be read: {e}"


# ----------------------------------------------------------------------------------------------- scoring
def error_rates(refs: Dict[str, str], hyps: Any) -> Tuple[float, float]:
    """(WER, CER) as fractions by :mod:`asrlab.metrics`; a missing hypothesis counts as empty."""
    from asrlab.metrics import cer, wer

    if not isinstance(hyps, dict):
        return float("nan"), float("nan")
    ids = sorted(refs)
    clean = lambda t: " ".join(str(t).lower().split())  # noqa: E731
    r = [clean(refs[i]) for i in ids]
    h = [clean(hyps.get(i, "")) for i in ids]
    return float(wer(r, h)), float(cer(r, h))


def band_score(rows: Sequence[Row], metrics: Dict[str, Tuple[float, float]]) -> Tuple[float, str]:
    """The highest row that holds for ``metrics`` (split -> (WER, CER)) and which row it was."""
    best, why = 0.0, "no transcripts of the hidden test splits"
    if not all(s in metrics and np.isfinite(metrics[s][0]) for s in SPLITS):
        return best, why
    for row in rows:
        if row.split is None:
            ok = True
        else:
            got = metrics[row.split][0 if row.metric == "wer" else 1]
            ok = got <= row.max_value
        if ok and row.score > best:
            best = row.score
            why = ("transcripts returned" if row.split is None else
                   f"{row.split} {row.metric.upper()} <= {row.max_value:.3f}")
    return best, why


def _row(grade_id: str, points: float, max_points: float, ok: bool, messages: List[str]) -> Dict[str, Any]:
    return TaskResult(grade_id, round(points, 4) + 0.0, max_points, int(ok), 1, messages, "project").__dict__


def _beam_check(spec: ProjectGrading, data: ProjectData, hyps: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    penalty = spec.penalties["beam"]
    greedy = {f"{s}:{k}": v for s in SPLITS for k, v in (hyps.get((s, "greedy")) or {}).items()}
    beam = {f"{s}:{k}": v for s in SPLITS for k, v in (hyps.get((s, "beam")) or {}).items()}
    refs = {f"{s}:{k}": v for s in SPLITS for k, v in data.refs[s].items()}
    if not greedy or not beam:
        return _row("beam_search", -penalty, 0.0, False, [f"greedy or beam transcription failed (-{penalty:g})"])
    gw, gc = error_rates(refs, greedy)
    bw, bc = error_rates(refs, beam)
    same = all(" ".join(str(greedy.get(k, "")).split()) == " ".join(str(beam.get(k, "")).split()) for k in refs)
    ok = not same and (bw < gw or (bw == gw and bc < gc))
    msg = (f"hidden test WER greedy {gw:.4f} / beam {bw:.4f}, CER {gc:.4f} / {bc:.4f}"
           + ("; beam output equals greedy output on every utterance" if same else "")
           + ("" if ok else f": beam search does not beat greedy (-{penalty:g})"))
    return _row("beam_search", 0.0 if ok else -penalty, 0.0, ok, [msg])


def _metrics_check(spec: ProjectGrading, data: ProjectData, printed: Any, error: Optional[str]) -> Dict[str, Any]:
    from asrlab.metrics import cer, wer

    penalty = spec.penalties["metrics"]
    refs = [p[0] for p in data.metric_pairs.values()]
    hyps = [p[1] for p in data.metric_pairs.values()]
    want = {"WER": float(wer(refs, hyps)), "CER": float(cer(refs, hyps))}
    if error is not None:
        return _row("calc_metrics", -penalty, 0.0, False, [f"calc_metrics.py failed (-{penalty:g}):\n{error}"])
    got = {}
    for name in want:
        m = re.search(rf"^\s*{name}\s*:\s*([-+0-9.eE]+|nan|inf)\s*$", str(printed), re.M | re.I)
        got[name] = float(m.group(1)) if m else None
    bad = [f"{k} {got[k]} (asrlab.metrics: {want[k]:.4f})" for k in want
           if got[k] is None or not abs(got[k] - want[k]) <= 1e-3 + 1e-3 * abs(want[k])]
    if bad:
        return _row("calc_metrics", -penalty, 0.0, False,
                    [f"calc_metrics.py on {len(refs)} hidden pairs disagrees: {'; '.join(bad)} (-{penalty:g}); it "
                     "must print 'WER: <fraction>' and 'CER: <fraction>', corpus-level (errors / reference words)"])
    return _row("calc_metrics", 0.0, 0.0, True, [f"calc_metrics.py agrees with asrlab.metrics on {len(refs)} "
                                                  f"hidden pairs (WER {want['WER']:.4f}, CER {want['CER']:.4f})"])


def _dataset_check(spec: ProjectGrading, data: ProjectData, items: Any, error: Optional[str]) -> Dict[str, Any]:
    penalty = spec.penalties["dataset"]
    problems: List[str] = []
    if error is not None:
        problems.append(error)
    else:
        got = {it.get("id"): it for it in items if isinstance(it, dict)}
        if sorted(got) != sorted(data.lengths):
            problems.append(f"ids {sorted(got)[:4]}... are not the audio files' stems {sorted(data.lengths)[:4]}...")
        for utt, n in data.lengths.items():
            it = got.get(utt)
            if it is None:
                continue
            shape = it.get("shape") or []
            if len(shape) != 1 or abs(shape[0] - n) > 0.02 * n:
                problems.append(f"{utt}: audio has shape {shape}, expected ({n},) (mono, 16 kHz)")
            if it.get("text") is not None:
                problems.append(f"{utt}: text is {it.get('text')!r}, expected None (there is no transcriptions/)")
    if problems:
        return _row("custom_dataset", -penalty, 0.0, False,
                    [f"CustomDirDataset on a folder without transcriptions (-{penalty:g}): " + "\n".join(problems[:4])])
    return _row("custom_dataset", 0.0, 0.0, True, [f"CustomDirDataset read {len(data.lengths)} wav/flac files "
                                                    "without transcriptions"])


def _augment_check(spec: ProjectGrading, data: ProjectData, out: Any, error: Optional[str]) -> Dict[str, Any]:
    penalty, need = spec.penalties["augment"], spec.min_augmentations
    if error is not None or not isinstance(out, dict) or "none" not in out:
        return _row("augmentations", -penalty, 0.0, False, [f"the augmentations could not be run (-{penalty:g}):\n"
                                                             f"{error}"])
    refs = data.refs["dev-clean"]
    base = error_rates(refs, out["none"].get("hyps"))[1]
    peak = float(np.abs(data.fixed_wave).max())
    good, lines = 0, [f"dev CER without augmentation {base:.3f}"]
    for name, e in sorted(out.items()):
        if name == "none":
            continue
        dev = error_rates(refs, e.get("hyps"))[1]
        changed = bool(e.get("finite")) and e.get("change", 0.0) > 1e-3 * peak
        usable = np.isfinite(dev) and dev <= base + spec.augment_margin
        good += changed and usable
        lines.append(f"{name}: {'changes' if changed else 'does NOT change'} the fixed input; dev CER {dev:.3f} "
                     f"({'usable' if usable else 'too severe'})")
    ok = good >= need
    cost = 0.0 if ok else penalty * (need - good) / need
    lines.insert(0, f"{good} augmentations change a fixed input and leave dev CER usable (need {need})"
                 + ("" if ok else f" (-{cost:g})"))
    return _row("augmentations", -cost, 0.0, ok, ["\n".join(lines)])


def _log_tags(logs: Any) -> Dict[str, bool]:
    found = {}
    for name, (kind, pattern) in REQUIRED_LOGS.items():
        tags = list(logs.get(kind, {})) if isinstance(logs, dict) else []
        found[name] = any(re.search(pattern, str(t), re.I) for t in tags)
    return found


def _logs_check(spec: ProjectGrading, logs: Any, error: Optional[str]) -> Dict[str, Any]:
    penalty = spec.penalties["logs"]
    if error is not None or not isinstance(logs, dict) or "error" in logs:
        why = error or (logs or {}).get("error", "no logs")
        return _row("logs", -penalty, 0.0, False, [f"the logs could not be read (-{penalty:g}): {why}"])
    found = _log_tags(logs)
    missing = [k for k, v in found.items() if not v]
    cost = penalty * len(missing) / len(found)
    msg = (f"logs/ ({logs.get('runs', 0)} runs) hold " + ", ".join(k for k, v in found.items() if v)
           + (f"; missing: {', '.join(missing)} (-{cost:g})" if missing else ""))
    return _row("logs", -cost, 0.0, not missing, [msg])


def train_losses(logs: Any) -> List[float]:
    """The training loss curve of a log (a scalar tag with 'loss' in its name, not a validation one)."""
    scalars = logs.get("scalars", {}) if isinstance(logs, dict) else {}
    tags = [t for t in scalars if re.search("loss", t, re.I) and not re.search("val|dev|eval|test", t, re.I)]
    tags.sort(key=lambda t: (0 if re.search("train", t, re.I) else 1, t))
    return [float(v) for _, v in scalars[tags[0]]] if tags else []


def _train_check(spec: ProjectGrading, logs: Any, error: Optional[str]) -> Dict[str, Any]:
    penalty = spec.penalties["train"]
    losses = train_losses(logs) if error is None else []
    ok = len(losses) >= 2 and np.isfinite(losses[-1]) and losses[-1] <= spec.train_drop * losses[0]
    if error is not None:
        msg = f"train.py with {len(spec.train_overrides)} overrides (one batch, {spec.train_steps} steps) failed:\n{error}"
    elif not losses:
        msg = "the short run logged no training loss (a scalar tag with 'loss' in its name)"
    else:
        msg = f"one batch, {len(losses)} logged steps: training loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    if not ok:
        msg += f"; the loss must fall to {spec.train_drop:g} of its first value (-{penalty:g})"
    return _row("train_one_batch", 0.0 if ok else -penalty, 0.0, ok, [msg])


def score_project(spec: ProjectGrading, data: ProjectData, config: Dict[str, Any], events: Dict[str, Any]
                  ) -> Dict[str, Any]:
    """Everything the grader concludes from one submission's events: the project result (plain data)."""
    hyps: Dict[Tuple[str, str], Any] = {}
    errors: Dict[str, str] = {}
    for split in (*SPLITS, "unannounced"):
        for decoder in DECODERS:
            got, err = value(events, f"{split}/{decoder}")
            if err is None and isinstance(got, dict):
                hyps[(split, decoder)] = got
            elif split != "unannounced" or decoder == "beam":
                errors[f"{split}/{decoder}"] = err or "transcribe did not return a dict"
    metrics = {f"{s}/{d}": error_rates(data.refs[s], h) for (s, d), h in hyps.items()}
    kind = str(config.get("kind", "ctc")).lower()
    seq = kind in ("rnnt", "las")
    rows = for_budget(spec.seq_bands if seq else spec.ctc_bands)
    quality, why, best = 0.0, "no transcripts of the hidden test splits", None
    for decoder in DECODERS:
        per_split = {s: metrics[f"{s}/{decoder}"] for s in SPLITS if f"{s}/{decoder}" in metrics}
        q, w = band_score(rows, per_split)
        if best is None or q >= quality:  # the better decoder; beam on a tie
            quality, why, best = q, f"{w} ({decoder})", decoder
    bonus_seq = spec.seq_bonus if seq and quality > 0 else 0.0
    tasks = [_row("quality", quality + bonus_seq, rows[-1].score + (spec.seq_bonus if seq else 0.0), quality > 0,
                  [f"{kind.upper()} table: {quality:g} points: {why}" + (f"; {kind.upper()} +{bonus_seq:g}"
                                                                          if bonus_seq else "")])]
    tasks.append(_beam_check(spec, data, {k: v for k, v in hyps.items()}))
    tasks.append(_metrics_check(spec, data, *value(events, "metrics")))
    tasks.append(_dataset_check(spec, data, *value(events, "dataset")))
    tasks.append(_augment_check(spec, data, *value(events, "augment")))
    logs, logs_error = value(events, "logs")
    tasks.append(_logs_check(spec, logs, logs_error))
    tasks.append(_train_check(spec, *value(events, "train")))
    tasks += _bonuses(spec, data, config, value(events, "test-clean/beam-without-lm")[0], metrics, quality > 0)
    flags = _flags(spec, metrics, best, errors)
    total = max(0.0, sum(t["points"] for t in tasks))
    return {"score": round(total, 4), "max_score": tasks[0]["max_points"], "tasks": tasks, "flags": flags,
            "metrics": {k: {"wer": v[0], "cer": v[1]} for k, v in metrics.items()}, "kind": kind,
            "tokenizer": str(config.get("tokenizer", "")), "decoder": best, "bands": [r.__dict__ for r in rows],
            "errors": errors, "curves": (logs or {}).get("scalars", {}) if isinstance(logs, dict) else {},
            "logs_note": (logs or {}).get("error") if isinstance(logs, dict) else logs_error}


def _bonuses(spec: ProjectGrading, data: ProjectData, config: Dict[str, Any], without_lm: Any,
             metrics: Dict[str, Tuple[float, float]], scored: bool) -> List[Dict[str, Any]]:
    out = []
    if config.get("lm"):
        with_lm = metrics.get("test-clean/beam", (float("nan"),))[0]
        no_lm = error_rates(data.refs["test-clean"], without_lm)[0]
        ok = scored and with_lm < no_lm
        out.append(_row("lm_bonus", spec.lm_bonus if ok else 0.0, spec.lm_bonus, ok,
                        [f"test-clean WER beam with the LM {with_lm:.4f}, without {no_lm:.4f}"]))
    if str(config.get("tokenizer", "")).lower() == "bpe":
        wer_bpe, ref = metrics.get("test-clean/beam", (float("nan"),))[0], float(for_budget(spec.char_wer))
        ok = scored and wer_bpe <= ref
        out.append(_row("bpe_bonus", spec.bpe_bonus if ok else 0.0, spec.bpe_bonus, ok,
                        [f"BPE test-clean WER {wer_bpe:.4f}; the character solution's is {ref:.4f}"]))
    return out


def _flags(spec: ProjectGrading, metrics: Dict[str, Tuple[float, float]], best: Optional[str],
           errors: Dict[str, str]) -> List[str]:
    flags = []
    clean, custom = metrics.get(f"test-clean/{best or 'beam'}"), metrics.get("unannounced/beam")
    if clean and custom and custom[0] - clean[0] > float(for_budget(spec.gap)):
        flags.append(f"large gap: unannounced-folder WER {custom[0]:.3f} vs hidden test-clean {clean[0]:.3f} "
                     "(fitted to the test data? review)")
    if clean and not custom:
        flags.append(f"the unannounced folder was not transcribed: {errors.get('unannounced/beam', '')[:300]}")
    for cid, err in errors.items():
        if "time" in err or "CPU" in err:
            flags.append(f"{cid}: {err[:200]}")
    return flags


def grade_project(ctx: RunContext, acquire: Callable[[], Sandbox], student: str, folder: Optional[Path],
                  spec: ProjectGrading) -> Dict[str, Any]:
    """One project submission, as a result shaped like a notebook's (one pseudo-notebook ``project``)."""
    out: Dict[str, Any] = {"notebook": "project", "student": student, "notes": [], "error": None, "manual": [],
                           "manual_points": 0.0}
    if folder is None:
        events, data, config = {"__problem__": "no submission folder"}, project_data(ctx, spec), {}
    else:
        events, data, config = run_project(ctx, acquire, folder, spec)
    if "__problem__" in events:
        out["error"] = events["__problem__"]
        events = {}
    result = score_project(spec, data, config, events)
    session = events.get("__session__", {})
    out.update(score=result["score"], max_score=result["max_score"], tasks=result["tasks"], project=result,
               stdout=session.get("stdout", ""), stderr=session.get("stderr", ""),
               isolation=session.get("isolation", {}), restarts=session.get("restarts", 0),
               sandbox_wait_s=round(session.get("wait_s", 0.0), 3), review=list(result["flags"]))
    out["notes"] += list(session.get("notes", []))
    return out
