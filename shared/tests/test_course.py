"""asrlab.course: the training budget, per-budget settings and the course corpora."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asrlab import course
from asrlab.data.synth.lexicon import load_lexicon
from asrlab.data.synth.sentences import TEMPLATES, book_vocabulary

TINY = {"hours": 0.02, "words_per_list": 3}


def test_budget_defaults_to_full_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv(course.BUDGET_ENV, raising=False)
    assert course.budget() == "full" and course.pick(full=30, ci=8) == 30
    monkeypatch.setenv(course.BUDGET_ENV, " CI ")
    assert course.budget() == "ci" and course.pick(full=30, ci=8) == 8


def test_an_unknown_budget_names_the_choices(monkeypatch):
    monkeypatch.setenv(course.BUDGET_ENV, "fast")
    with pytest.raises(ValueError, match="'full', 'ci'"):
        course.budget()


def test_head_keeps_the_first_entries_of_every_open_list():
    lex = load_lexicon()
    small = lex.head(3)
    assert small.things == lex.things[:3] and small.names == lex.names[:3] and len(small.adverbs) == 3
    assert small.vocabulary() < lex.vocabulary()
    with pytest.raises(ValueError, match="positive"):
        lex.head(0)


def test_librispeech_is_made_once_with_the_budget_profile(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(course.DATA_ENV, str(tmp_path))
    monkeypatch.setenv(course.BUDGET_ENV, "ci")
    monkeypatch.delenv(course.REAL_DATA_ENV["librispeech"], raising=False)
    monkeypatch.setitem(course.LIBRISPEECH_PROFILES, "ci", TINY)
    root = course.librispeech(progress=False)
    assert root == tmp_path / "synth-libri-ci-0"
    manifest = json.loads((root / "synth.json").read_text())
    assert manifest["params"]["words_per_list"] == 3
    stamp = (root / "synth.json").stat().st_mtime_ns
    assert course.librispeech(progress=False) == root and (root / "synth.json").stat().st_mtime_ns == stamp

    # No word of an open list beyond its first three entries is spoken (unless a template says it anyway).
    words = {w.lower() for f in root.rglob("*.trans.txt") for line in f.read_text().splitlines()
             for w in line.split()[1:]}
    lex = load_lexicon()
    template_words = set(re.findall(r"[a-z']+", re.sub(r"\{\w+\}", " ", " ".join(TEMPLATES))))
    dropped = ({n.singular for n in lex.things[3:] + lex.people[3:] + lex.places[3:]}
               | set(lex.adjectives[3:]) | set(lex.adverbs[3:]) | set(lex.names[3:])) - template_words \
        - lex.head(3).vocabulary()
    assert words and words <= book_vocabulary() | {w for w in words if w.endswith("'s")}
    assert words.isdisjoint(dropped), sorted(words & dropped)[:5]


def test_real_data_is_used_when_configured_and_checked(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(course.REAL_DATA_ENV["hvb"], str(tmp_path))
    assert course.hvb() == tmp_path
    monkeypatch.setenv(course.REAL_DATA_ENV["hvb"], str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="ASRLAB_HVB"):
        course.hvb()


_MAKER_THAT_LOGS = """
import sys, time
from pathlib import Path
from asrlab import course
from asrlab.data import synth

def make(root, seed, progress, **profile):   # stands in for the synthesizer: logs when it runs
    log = Path(sys.argv[2])
    with open(log, "a") as f:
        f.write("start\\n")
    time.sleep(0.5)
    with open(log, "a") as f:
        f.write("end\\n")

synth.make_librispeech = make
course.librispeech(root=sys.argv[1], budget_name="ci", progress=False)
"""


def test_processes_that_ask_for_a_corpus_at_once_make_it_one_after_the_other(tmp_path):
    """Two notebooks (or validate's parallel solutions) starting on a fresh machine must not write the same
    corpus folder at the same time: the second waits for the first (and then finds the corpus made)."""
    import subprocess
    import sys

    log = tmp_path / "log"
    runs = [subprocess.Popen([sys.executable, "-c", _MAKER_THAT_LOGS, str(tmp_path / "corpus"), str(log)])
            for _ in range(2)]
    assert [r.wait(timeout=120) for r in runs] == [0, 0]
    assert log.read_text().split() == ["start", "end", "start", "end"]
