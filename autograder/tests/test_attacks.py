"""The attack suite: adversarial submissions graded in one run, each with its expected outcome.

Every attack targets some tasks; those must score 0 (or the stated partial score), the
other tasks must keep their full marks, and the run must go on for everyone.
"""
from __future__ import annotations

import copy
import os
import pickle
import re
import socket
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import ATTACKS, grade_id, run_autograde, submit, task_messages, task_points, with_answers

FULL = {"test_softmax": 2.0, "test_best_path": 2.0, "test_model": 2.0}
# The grader package's own hidden task modules (shown empty in every sandbox).
GRADE_TASKS = str(Path(__import__("asrlab_grade").__file__).parent / "tasks")


def parse_attack(text: str) -> Tuple[Dict[str, str], Dict[str, List[str]], Dict[str, str]]:
    """(expected scores, expected message fragments, answer sources) of an attack file."""
    expect = dict(kv.split("=") for kv in re.search(r"^# expect: (.*)$", text, re.M).group(1).split())
    messages: Dict[str, List[str]] = {}
    for gid, frag in re.findall(r"^# message: (\w+)=(.*)$", text, re.M):
        messages.setdefault(gid, []).append(frag.strip())
    answers = {}
    for block in re.split(r"^# %% ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        answers[name.strip()] = body
    return expect, messages, answers


class _Listener:
    """A local TCP server: the network attack must not reach it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant(mark: str) -> List[Path]:
    """Files outside the sandbox's allowlist that no sandbox may see (removed afterwards)."""
    planted = []
    for folder in (Path("/tmp"), Path.home(), Path("/srv")):
        try:
            folder.mkdir(exist_ok=True)
            path = folder / f".asrlab-planted-{mark}"
            path.write_bytes(b"planted secret " * 8)
            planted.append(path)
        except OSError:
            pass
    return planted


def _host_traces(mark: str) -> List[str]:
    """Files and processes of the attacks that outlived their job on this machine."""
    found = [str(p) for d in ("/tmp", "/dev/shm") for p in Path(d).glob(f"asrlab-*-{mark}")]
    for proc in Path("/proc").iterdir():
        try:
            if f"asrlab-survivor-{mark}".encode() in (proc / "cmdline").read_bytes():
                found.append(f"process {proc.name}")
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory, course, student_nb, release_nb, checkpoint):
    base = tmp_path_factory.mktemp("attacks")
    subs, out = base / "submitted", base / "out"
    marker = base / "marker"
    listener = _Listener()
    mark = os.urandom(6).hex()
    planted = _plant(mark)
    fill = {"__COURSE__": str(course), "__SUBS__": str(subs), "__OUT__": str(out),
            "__MARKER__": str(marker), "__PORT__": str(listener.port), "__MARK__": mark,
            "__GRADE_TASKS__": GRADE_TASKS,
            "__PLANTED__": repr([str(p) for p in planted])}
    expected: Dict[str, Tuple[Dict[str, str], Dict[str, List[str]]]] = {}
    for path in sorted(ATTACKS.glob("*.py")):
        text = path.read_text()
        for k, v in fill.items():
            text = text.replace(k, v)
        expect, messages, answers = parse_attack(text)
        submit(subs, path.stem, with_answers(student_nb, answers), checkpoint)
        expected[path.stem] = (expect, messages)

    full = {"test_softmax": "full", "test_best_path": "full", "test_model": "full"}
    zero = {k: "0" for k in full}
    submit(subs, "victim", student_nb, checkpoint)
    expected["victim"] = (full, {})
    # Test cells deleted, or edited to pass and to claim more points.
    nb = copy.deepcopy(student_nb)
    nb["cells"] = [c for c in nb["cells"] if not grade_id(c) or not grade_id(c).startswith("test_")]
    submit(subs, "deleted_tests", nb, checkpoint)
    expected["deleted_tests"] = (full, {})
    nb = copy.deepcopy(student_nb)
    for c in nb["cells"]:
        if (grade_id(c) or "").startswith("test_"):
            c["source"] = "pass"
            c["metadata"]["nbgrader"]["points"] = 100
    submit(subs, "edited_tests", nb, checkpoint)
    expected["edited_tests"] = (full, {})
    # Metadata stripped by an editor, and cells shuffled.
    nb = copy.deepcopy(student_nb)
    for c in nb["cells"]:
        c["metadata"] = {}
    submit(subs, "stripped_metadata", nb, checkpoint)
    expected["stripped_metadata"] = (full, {})
    nb = copy.deepcopy(student_nb)
    nb["cells"] = nb["cells"][::-1]
    submit(subs, "reordered_cells", nb, checkpoint)
    expected["reordered_cells"] = (full, {})
    # Broken files.
    for name, raw, msg in [("corrupt_json", b'{"cells": [', "not valid notebook JSON"),
                           ("empty_file", b"", "is empty"),
                           ("not_a_notebook", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a notebook"),
                           ("json_not_notebook", b"[1, 2, 3]", "not a Jupyter notebook")]:
        submit(subs, name, None, raw=raw)
        expected[name] = (zero, {k: [msg] for k in zero})
    # Checkpoints: missing, and a pickle that would run a command when unpickled.
    submit(subs, "missing_checkpoint", student_nb)
    expected["missing_checkpoint"] = (dict(full, test_model="0"), {"test_model": ["was not submitted"]})
    folder = submit(subs, "evil_checkpoint", student_nb)
    (folder / "demo_model.pt").write_bytes(pickle.dumps(_Evil(str(marker))))
    expected["evil_checkpoint"] = (dict(full, test_model="0"), {"test_model": ["could not be evaluated"]})

    # A cell whose source is not text, JSON nested too deeply, a checkpoint over the size limit.
    nb = copy.deepcopy(student_nb)
    for c in nb["cells"]:
        if grade_id(c) == "softmax_answer":
            c["source"] = ["def softmax(x):\n", 42, {"a": None}]
    submit(subs, "source_not_text", nb, checkpoint)
    expected["source_not_text"] = (dict(full, test_softmax="0"), {"test_softmax": ["not defined"]})
    submit(subs, "deep_json", None, raw=b'{"cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    expected["deep_json"] = (zero, {k: ["nests its JSON too deeply"] for k in zero})
    folder = submit(subs, "huge_checkpoint", student_nb)
    with (folder / "demo_model.pt").open("wb") as f:
        f.truncate(40 * 2**20)   # sparse: over half the demo's 64 MB scratch
    expected["huge_checkpoint"] = (dict(full, test_model="0"), {"test_model": ["MB, more than the 32 MB"]})

    # A checkpoint whose config smuggles data (a lookup table) instead of constructor arguments.
    import torch
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["config"] = dict(ckpt["config"], answers={str(i): i % 3 for i in range(400)})
    folder = submit(subs, "config_lookup", student_nb)
    torch.save(ckpt, folder / "demo_model.pt")
    expected["config_lookup"] = (dict(full, test_model="0"), {"test_model": ["'answers', which TinyClassifier() does not take"]})

    # Symbolic links to the solution notebook and to a file outside the submission.
    folder = subs / "symlinks" / "demo"
    folder.mkdir(parents=True)
    (folder / "demo.ipynb").symlink_to(course / "solutions" / "demo" / "demo.ipynb")
    (folder / "demo_model.pt").symlink_to(checkpoint)
    expected["symlinks"] = (zero, {"test_softmax": ["symbolic link"]})

    secrets = {"ASRLAB_GRADE_HIDDEN_SEED": "4242", "ASRLAB_TEST_SECRET": f"secret-{mark}"}
    saved = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        results = run_autograde(course, subs, out)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        for path in planted:
            path.unlink()
    time.sleep(2)  # a survivor would write its late files by now
    yield results, expected, marker, listener, out, mark, planted
    for path in Path("/tmp").glob(f"asrlab-*-{mark}"):
        path.unlink()


def _expected_points(spec: str, max_points: float) -> float:
    return max_points if spec == "full" else float(spec)


def _names() -> List[str]:
    return sorted([p.stem for p in ATTACKS.glob("*.py")] + [
        "victim", "deleted_tests", "edited_tests", "stripped_metadata", "reordered_cells",
        "corrupt_json", "empty_file", "not_a_notebook", "json_not_notebook",
        "missing_checkpoint", "evil_checkpoint", "config_lookup", "symlinks", "source_not_text",
        "deep_json", "huge_checkpoint"])


@pytest.mark.parametrize("name", _names())
def test_attack_outcome(attack_run, name: str) -> None:
    results, expected, *_ = attack_run
    assert name in results, f"{name} was not graded (the run must go on for every submission)"
    r = results[name]
    assert not r.get("grader_error"), r.get("error")
    assert r["max_score"] == 6.0, "the points come from the release, never from the submission"
    expect, messages = expected[name]
    points, msgs = task_points(r), task_messages(r)
    for gid, spec in expect.items():
        want = _expected_points(spec, FULL[gid])
        assert points.get(gid) == pytest.approx(want), \
            f"{name}: {gid} scored {points.get(gid)}, expected {want}; messages: {msgs.get(gid)}\nnotes: {r['notebooks'][0]['notes'] if r['notebooks'] else r.get('error')}"
    for gid, frags in messages.items():
        for frag in frags:
            text = msgs.get(gid, "") + (r.get("error") or "")
            assert frag in text, f"{name}: message of {gid} lacks {frag!r}: {text[:500]}"


def test_malformed_cell_is_explained(attack_run) -> None:
    results, *_ = attack_run
    notes = "\n".join(results["source_not_text"]["notebooks"][0]["notes"])
    assert "other than text as source" in notes and "Download a fresh copy" in notes


def test_no_side_effects(attack_run) -> None:
    results, _, marker, listener, out, mark, planted = attack_run
    assert not marker.exists(), "a sandbox wrote outside its scratch folder"
    assert not Path("/tmp/asrlab-attack-owned").exists()
    assert listener.hits == 0, "a sandbox reached the network"
    rows = (out / "grades.csv").read_text().splitlines()
    assert not any("attacker" in row for row in rows)
    assert len(rows) == 1 + len(results)
    assert not _host_traces(mark), "a process or file of a sandbox outlived its job"


def test_planted_files_exist_on_the_host(attack_run) -> None:
    """The planted files were really there (else 'planted_files' would prove nothing)."""
    *_, planted = attack_run
    assert {p.parent for p in planted} >= {Path("/tmp"), Path.home()}


def test_sandbox_isolation_reported(attack_run) -> None:
    """Every submission ran under bwrap in its own namespaces, and the result says so."""
    results, *_ = attack_run
    iso = results["victim"]["notebooks"][0]["isolation"]
    assert iso["bwrap"] is True and iso["namespaces"] == "user,pid,net,ipc,uts,mount"


def test_feedback_never_shows_hidden_inputs(attack_run) -> None:
    results, _, _, _, out, *_ = attack_run
    fb = (out / "feedback" / "nan_overflow" / "demo.md").read_text()
    assert "hidden case" in fb and "float64[4, 7]" in fb, "shapes and dtypes are shown"
    assert "tracing softmax" not in (out / "feedback" / "print_flood" / "demo.md").read_text()
    html = (out / "feedback" / "always_equal" / "demo.html").read_text()
    assert "<pre>" in html and "test_softmax" in html


AUDIT_LAYER_ATTACKS = ("read_secrets", "write_files", "network", "fork_bomb", "tamper_grader",
                       "forbidden_aliases", "exits")


def test_audit_hook_alone_stops_the_attacks(tmp_path, course, student_nb, checkpoint):
    """Without the sandbox (``--insecure``) the audit hook still holds the line."""
    subs, out, marker = tmp_path / "submitted", tmp_path / "out", tmp_path / "marker"
    listener = _Listener()
    fill = {"__COURSE__": str(course), "__SUBS__": str(subs), "__OUT__": str(out),
            "__MARKER__": str(marker), "__PORT__": str(listener.port), "__GRADE_TASKS__": GRADE_TASKS}
    expected = {}
    for name in AUDIT_LAYER_ATTACKS:
        text = (ATTACKS / f"{name}.py").read_text()
        for k, v in fill.items():
            text = text.replace(k, v)
        expect, _, answers = parse_attack(text)
        submit(subs, name, with_answers(student_nb, answers), checkpoint)
        expected[name] = expect
    submit(subs, "victim", student_nb, checkpoint)
    results = run_autograde(course, subs, out, "--insecure")
    for name, expect in expected.items():
        r = results[name]
        assert r["notebooks"][0]["isolation"]["bwrap"] is False
        points, msgs = task_points(r), task_messages(r)
        for gid, spec in expect.items():
            assert points[gid] == pytest.approx(_expected_points(spec, FULL[gid])), f"{name}/{gid}: {msgs[gid]}"
    assert not marker.exists() and listener.hits == 0


def test_planted_files_leak_without_the_sandbox(tmp_path, course, student_nb, checkpoint):
    """The 'planted_files' attack does detect a leak: with --insecure, native reads get through."""
    mark = os.urandom(6).hex()
    planted = _plant(mark)
    try:
        text = (ATTACKS / "planted_files.py").read_text().replace(
            "__PLANTED__", repr([str(p) for p in planted]))
        _, _, answers = parse_attack(text)
        submit(tmp_path / "submitted", "planted_files", with_answers(student_nb, answers), checkpoint)
        results = run_autograde(course, tmp_path / "submitted", tmp_path / "out", "--insecure")
    finally:
        for path in planted:
            path.unlink()
    messages = task_messages(results["planted_files"])["test_softmax"]
    assert "torch.from_file" in messages and "exists" in messages, messages


def test_grader_introspection_needs_review(attack_run) -> None:
    """Answer cells that reach for the grader are flagged for a person, the score is untouched."""
    results, _, _, _, out, *_ = attack_run
    flags = "\n".join(results["tamper_grader"]["needs_review"])
    assert "asrlab_grade" in flags and "(gc)" in flags and "ctypes" in flags
    assert results["tamper_grader"]["score"] == 6.0, "a flag alone never costs points"
    assert "_posixsubprocess" in "\n".join(results["outlive_job"]["needs_review"])
    for clean in ("victim", "deleted_tests", "stripped_metadata"):
        assert results[clean]["needs_review"] == [], results[clean]["needs_review"]
    import csv
    with (out / "grades.csv").open() as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert "gc" in rows["tamper_grader"]["needs_review"] and rows["victim"]["needs_review"] == ""
