"""Grading project submissions (``asr_project``): the scoring rules on measured values, and whole submissions
graded in the sandbox -- a fixture project whose figures are known in advance, the plausible wrong projects the
assignment must catch (one mutation each), and the blank template.

The fixture (``fixtures/asr_project``) is a table recognizer: ``checkpoint/table.json`` maps an audio file's
length to its transcript, filled here from the hidden splits being graded, so it is exact on them and knows
nothing else (the unannounced folder is not in it). Greedy drops every fourth word; beam search drops none with
its LM and every eighth without.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import pytest

from asrlab_grade import wire
from asrlab_grade.project import ProjectData, Row, band_score, score_project
from asrlab_grade.project_report import display_name, leaderboard, project_html

FIXTURE = Path(__file__).parent / "fixtures" / "asr_project"
ROOT = Path(__file__).resolve().parents[2]
HIDDEN_SEED = "7919"


def _spec(**changes):
    from asrlab_grade.course_folder import Course

    return dataclasses.replace(Course(ROOT).load_assignment("asr_project").project, **changes)


# ------------------------------------------------------------------------------------- scoring measured values
REFS = {"test-clean": {"c0": "the cat sat on the mat", "c1": "a dog ran home today"},
        "test-other": {"o0": "green trees grow by the river", "o1": "she reads old books"},
        "dev-clean": {"d0": "we walk to school", "d1": "the sun is bright"},
        "unannounced": {"utt0000": "birds sing at dawn", "utt0001": "a quiet night falls"}}
PAIRS = {"m0": ["the cat sat on the mat", "the cat sat mat"], "m1": ["a dog ran home", ""],
         "m2": ["we walk", "we we walk walk"]}


def _data() -> ProjectData:
    return ProjectData(files={}, refs=REFS, seconds={k: 4.0 for k in REFS}, lengths={"utt0000": 16000,
                       "utt0001": 12000}, metric_pairs=PAIRS, fixed_wave=np.full(800, 0.5, dtype=np.float32))


def _drop(texts: Dict[str, str], every: int) -> Dict[str, str]:
    return {k: " ".join(w for i, w in enumerate(t.split()) if i % every != every - 1) for k, t in texts.items()}


def _good_values() -> Dict[str, object]:
    from asrlab.metrics import cer, wer

    refs, hyps = [p[0] for p in PAIRS.values()], [p[1] for p in PAIRS.values()]
    dev = REFS["dev-clean"]
    aug = {"finite": True, "change": 0.2, "samples": 800, "out_samples": 800, "hyps": dict(dev)}
    scalars = {"train/loss": [[0, 9.0], [10, 2.0]], "train/lr": [[0, 1e-3]], "train/grad_norm": [[0, 3.0]]}
    logs = {"scalars": scalars, "images": ["spectrogram/0"], "audio": ["audio/0"], "text": ["text/0"], "runs": 1}
    values = {f"{s}/{d}": (dict(REFS[s]) if d == "beam" else _drop(REFS[s], 3))
              for s in ("test-clean", "test-other") for d in ("greedy", "beam")}
    values.update({"unannounced/beam": dict(REFS["unannounced"]),
                   "metrics": f"WER: {wer(refs, hyps):.6f}\nCER: {cer(refs, hyps):.6f}\n",
                   "dataset": [{"id": k, "shape": [n], "dtype": "torch.float32", "text": None}
                               for k, n in _data().lengths.items()],
                   "augment": {"none": {"hyps": dict(dev)}, **{n: dict(aug) for n in ("a", "b", "c", "d")}},
                   "logs": logs, "train": {"scalars": {"train/loss": [[0, 4.0], [29, 0.5]]}}})
    return values


def _score(config: Optional[dict] = None, spec=None, **replace):
    values = _good_values()
    values.update(replace)
    events = {f"{k}#0": ({"ev": "call_error", "message": v.args[0]} if isinstance(v, Exception)
                         else {"ev": "result", "value": wire.encode(v)}) for k, v in values.items()}
    result = score_project(spec or _spec(), _data(), config or {"kind": "ctc", "tokenizer": "char", "lm": None}, events)
    return result, {t["grade_id"]: t for t in result["tasks"]}


def test_a_good_project_passes_every_check_and_reaches_the_top_band():
    result, tasks = _score()
    assert tasks["quality"]["points"] == 10.0 and "test-other WER" in tasks["quality"]["messages"][0]
    assert all(t["passed"] for t in tasks.values()), [t["messages"] for t in tasks.values() if not t["passed"]]
    assert result["score"] == 10.0 and result["flags"] == [] and result["decoder"] == "beam"


@pytest.mark.parametrize("name, replace, check, cost", [
    ("no beam search", {"test-clean/beam": _drop(REFS["test-clean"], 3), "test-other/beam": _drop(REFS["test-other"], 3)},
     "beam_search", 2.0),
    ("beam search worse than greedy", {"test-clean/beam": _drop(REFS["test-clean"], 2),
                                       "test-other/beam": _drop(REFS["test-other"], 2)}, "beam_search", 2.0),
    ("WER divided by hypothesis words", {"metrics": "WER: 0.5\nCER: 0.2"}, "calc_metrics", 1.0),
    ("dataset needs transcriptions", {"dataset": RuntimeError("FileNotFoundError: transcriptions/utt0000.txt")},
     "custom_dataset", 1.0),
    ("dataset makes up texts", {"dataset": [{"id": "utt0000", "shape": [16000], "text": ""},
                                            {"id": "utt0001", "shape": [12000], "text": ""}]}, "custom_dataset", 1.0),
    ("stereo audio items", {"dataset": [{"id": "utt0000", "shape": [16000, 2], "text": None},
                                        {"id": "utt0001", "shape": [12000, 2], "text": None}]}, "custom_dataset", 1.0),
    ("no training loss logged", {"train": {"scalars": {"val/loss": [[0, 4.0], [1, 1.0]]}}}, "train_one_batch", 1.0),
    ("loss does not fall", {"train": {"scalars": {"train/loss": [[0, 4.0], [29, 3.9]]}}}, "train_one_batch", 1.0),
])
def test_a_broken_part_costs_its_penalty(name, replace, check, cost):
    result, tasks = _score(**replace)
    assert not tasks[check]["passed"] and tasks[check]["points"] == -cost, (name, tasks[check])
    assert sum(1 for t in tasks.values() if not t["passed"]) == 1, name
    assert result["score"] == pytest.approx(tasks["quality"]["points"] - cost)


def test_augmentations_that_do_nothing_or_ruin_the_audio_do_not_count():
    values = _good_values()["augment"]
    values["a"] = dict(values["a"], change=0.0)                                    # the identity
    values["b"] = dict(values["b"], hyps={k: "" for k in REFS["dev-clean"]})       # dev CER 1.0: too severe
    result, tasks = _score(augment=values)
    text = tasks["augmentations"]["messages"][0]
    assert "a: does NOT change" in text and "b: changes the fixed input; dev CER 1.000 (too severe)" in text
    assert tasks["augmentations"]["points"] == -0.5 and result["score"] == 9.5   # 2 of the 4 needed


def test_missing_log_tags_cost_a_share_of_the_logging_points():
    logs = dict(_good_values()["logs"], audio=[], text=[])
    _, tasks = _score(logs=logs)
    assert tasks["logs"]["points"] == pytest.approx(-2.0 * 2 / 6, abs=1e-3)
    assert "missing: audio, text samples" in tasks["logs"]["messages"][0]
    _, tasks = _score(logs={"error": "tensorboard is not installed where the grader runs"})
    assert tasks["logs"]["points"] == -2.0 and "tensorboard is not installed" in tasks["logs"]["messages"][0]


def test_the_blank_template_scores_zero():
    failed = {k: NotImplementedError("NotImplementedError") for k in _good_values()}
    result, tasks = _score(**failed)
    assert result["score"] == 0.0 and tasks["quality"]["points"] == 0.0
    assert not any(t["passed"] for t in tasks.values())


def test_band_rows_and_the_sequence_model_table():
    rows = (Row(1.0), Row(5.0, "test-clean", "wer", 0.4), Row(8.0, "test-other", "wer", 0.3))
    assert band_score(rows, {"test-clean": (0.35, 0.1), "test-other": (0.5, 0.2)}) == (5.0, "test-clean WER <= 0.400")
    assert band_score(rows, {"test-clean": (0.9, 0.5), "test-other": (0.9, 0.5)})[0] == 1.0
    assert band_score(rows, {"test-clean": (0.1, 0.1)})[0] == 0.0              # test-other missing
    near = {"test-clean/beam": {"c0": "the cat sat on the mat", "c1": "a dog ran home"}}  # one deletion
    _, ctc = _score(**near)
    _, rnnt = _score(config={"kind": "rnnt", "tokenizer": "char", "lm": None}, **near)
    assert rnnt["quality"]["points"] == ctc["quality"]["points"] + 1.0 and rnnt["quality"]["max_points"] == 11.0


def test_lm_and_bpe_bonuses_need_measured_gains():
    config = {"kind": "ctc", "tokenizer": "bpe", "lm": "lm.arpa"}
    worse = _drop(REFS["test-clean"], 4)
    result, tasks = _score(config=config, **{"test-clean/beam-without-lm": worse})
    assert tasks["lm_bonus"]["points"] == 0.5 and tasks["bpe_bonus"]["points"] == 1.0 and result["score"] == 11.5
    _, tasks = _score(config=config, **{"test-clean/beam-without-lm": dict(REFS["test-clean"])})
    assert tasks["lm_bonus"]["points"] == 0.0                                     # the LM changes nothing
    _, tasks = _score(config=config, spec=_spec(char_wer=0.0), **{"test-clean/beam": worse,
                                                                  "test-clean/beam-without-lm": worse})
    assert tasks["bpe_bonus"]["points"] == 0.0                                    # worse than the characters


def test_a_large_gap_to_the_unannounced_folder_is_flagged():
    result, _ = _score(**{"unannounced/beam": {"utt0000": "", "utt0001": ""}})
    assert result["score"] == 10.0 and any("large gap" in f for f in result["flags"])


def test_report_page_and_leaderboard_names_are_opt_in(tmp_path: Path):
    result, _ = _score()
    named, anon = tmp_path / "named", tmp_path / "anon"
    named.mkdir()
    anon.mkdir()
    (named / "README.md").write_text("# report\nleaderboard: Ada <script>\n")
    (anon / "README.md").write_text("no opt-in here")
    assert display_name(named) == "Ada <script>" and display_name(anon) is None
    results = [{"student": s, "score": 9.0, "max_score": 10.0, "notebooks": [{"project": dict(result, metrics={
        "test-clean/beam": {"wer": w, "cer": 0.1}}), "tasks": result["tasks"], "notes": []}]}
        for s, w in (("s1", 0.3), ("s2", 0.1))]
    rows = leaderboard(results, {"s1": named, "s2": anon})
    assert [(r["rank"], r["shown"]) for r in rows] == [(1, "anonymous 1"), (2, "Ada <script>")]
    page = project_html(results[0], (named / "README.md").read_text(), "s1.png")
    assert "Ada &lt;script&gt;" in page and "<script>" not in page and "s1.png" in page and "Band table" in page


# ------------------------------------------------------------------------------------- whole submissions, sandboxed
MUTANTS: Dict[str, Tuple[str, str, str]] = {   # name -> (file, old, new): one plausible mistake each
    "no_beam": ("src/api.py", 'drop = 4 if decoder == "greedy" else (0 if with_lm else 8)', "drop = 4"),
    "augment_nothing": ("src/augment/__init__.py", "AUGMENTATIONS = {",
                        "AUGMENTATIONS = {k: (lambda wav, sr: wav.clone()) for k in (\"a\", \"b\", \"c\", \"d\")}\n_ = {"),
    "wer_bug": ("calc_metrics.py", "sum(len(r.split()) for r in refs.values())",
                "sum(len(hyps.get(k, '').split()) or 1 for k in refs)"),
    "needs_transcriptions": ("src/datasets/custom_dir.py", "if self.texts.is_dir() else None", ""),
    "blank": ("src/api.py", "    out = {}\n", "    raise NotImplementedError('transcribe')\n    out = {}\n"),
}


def _write_checkpoint(folder: Path, table: Dict[str, str], lm: Optional[str] = "lm.arpa") -> None:
    from safetensors.torch import save_file
    import torch
    from torch.utils.tensorboard import SummaryWriter

    ckpt = folder / "checkpoint"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"kind": "ctc", "tokenizer": "char", "lm": lm}))
    (ckpt / "table.json").write_text(json.dumps(table))
    save_file({"weight": torch.zeros(2, 2)}, str(ckpt / "model.safetensors"))
    writer = SummaryWriter(str(folder / "logs"))
    for step in range(5):
        for tag, v in (("train/loss", 5.0 / (step + 1)), ("train/lr", 1e-3), ("train/grad_norm", 2.0)):
            writer.add_scalar(tag, v, step)
    writer.add_image("spectrogram/0", torch.rand(1, 8, 20), 4)
    writer.add_audio("audio/0", torch.zeros(1, 1600), 4, sample_rate=16000)
    writer.add_text("text/0", "reference: a / hypothesis: a", 4)
    writer.close()


def _table(root: Path, splits=("test-clean", "test-other", "dev-clean")) -> Dict[str, str]:
    from asrlab.data import LibriSpeech

    table = {}
    for split in splits:
        ds = LibriSpeech(root, split)
        for i in range(len(ds)):
            item = ds[i]
            table[str(len(item["waveform"]))] = str(item["text"]).lower()
    return table


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    """Every fixture submission graded in one sandboxed run (hidden splits of seed 7919, 8 utterances each)."""
    import os

    from asrlab import course
    from asrlab_grade import hidden
    from asrlab_grade.autograde import grade_all, make_context
    from asrlab_grade.course_folder import Course, Submission

    mp = pytest.MonkeyPatch()
    mp.setenv("ASRLAB_BUDGET", "ci")
    mp.setenv(hidden.HIDDEN_SEED_ENV, HIDDEN_SEED)
    subs_root = tmp_path_factory.mktemp("project_subs")
    hidden_table = _table(hidden.librispeech_root())
    folders = {}
    for name in ("good", "memorizer", *MUTANTS):
        folder = subs_root / name
        shutil.copytree(FIXTURE, folder)
        public = name == "memorizer"  # memorized the public corpus's test transcripts, keyed by audio length
        _write_checkpoint(folder, _table(course.librispeech(progress=False)) if public else hidden_table)
        if name in MUTANTS:
            rel, old, new = MUTANTS[name]
            text = (folder / rel).read_text()
            assert old in text, (name, old)
            (folder / rel).write_text(text.replace(old, new))
        folders[name] = folder
    ctx = make_context(Course(ROOT), "asr_project", hide_extra=[subs_root], course_secret=b"project-test-secret",
                       insecure=os.environ.get("ASRLAB_TEST_INSECURE") == "1")
    ctx.assignment = dataclasses.replace(ctx.assignment, project=dataclasses.replace(ctx.assignment.project, limit=8))
    results = grade_all(ctx, [Submission(n, f) for n, f in folders.items()], workers=1, progress=False)
    mp.undo()
    yield {r["student"]: r for r in results}, folders


def _tasks(result) -> Dict[str, dict]:
    return {t["grade_id"]: t for t in result["notebooks"][0]["tasks"]}


def test_sandboxed_fixture_project_passes_every_check(graded):
    results, _ = graded
    good = results["good"]
    tasks = _tasks(good)
    assert good["error"] is None and not good.get("grader_error")
    assert all(t["passed"] for t in tasks.values()), {k: t["messages"] for k, t in tasks.items() if not t["passed"]}
    project = good["notebooks"][0]["project"]
    assert project["metrics"]["test-clean/beam"]["wer"] == 0.0 and project["metrics"]["test-clean/greedy"]["wer"] > 0.1
    assert tasks["quality"]["points"] == 10.0 and tasks["lm_bonus"]["points"] == 0.5 and good["score"] == 10.5
    assert any("large gap" in f for f in project["flags"])   # the table knows nothing of the unannounced folder


@pytest.mark.parametrize("name, check, also", [("no_beam", "beam_search", ["lm_bonus"]),  # no beam: no LM fusion
                                               ("augment_nothing", "augmentations", []),
                                               ("wer_bug", "calc_metrics", []),
                                               ("needs_transcriptions", "custom_dataset", [])])
def test_sandboxed_plausible_wrong_projects_lose_their_points(graded, name, check, also):
    results, _ = graded
    tasks = _tasks(results[name])
    assert not tasks[check]["passed"] and tasks[check]["points"] < 0, tasks[check]
    failed = sorted(k for k, t in tasks.items() if not t["passed"])
    assert failed == sorted([check, *also]), {k: t["messages"] for k, t in tasks.items()}


def test_sandboxed_memorizer_and_blank_template(graded):
    results, _ = graded
    memorizer = results["memorizer"]["notebooks"][0]["project"]
    assert memorizer["metrics"]["test-clean/beam"]["wer"] == 1.0 and _tasks(results["memorizer"])["quality"]["points"] == 1.0
    blank = results["blank"]
    assert blank["score"] == 0.0 and not blank.get("grader_error"), blank.get("error")
    assert "no transcripts" in _tasks(blank)["quality"]["messages"][0]


def test_reports_of_a_graded_class(graded, tmp_path: Path):
    from asrlab_grade.project_report import write_project_reports

    results, folders = graded
    write_project_reports(list(results.values()), tmp_path, folders)
    page = (tmp_path / "report" / "good.html").read_text()
    assert "Table Bot" in page and "<img src='good.png'" in page and (tmp_path / "report" / "good.png").stat().st_size
    board = (tmp_path / "leaderboard.csv").read_text().splitlines()
    assert board[1].split(",")[1] == "Table Bot" and len(board) == len(results)   # the blank has no WER
