"""asrlab_grade.hidden: the hidden test splits of training tasks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asrlab import course
from asrlab_grade import hidden, secret

TINY = {"hours": 0.03, "words_per_list": 3}


@pytest.fixture
def tiny_profiles(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv(course.BUDGET_ENV, "ci")
    monkeypatch.setenv(course.DATA_ENV, str(tmp_path / "public"))
    monkeypatch.setenv(hidden.CACHE_ENV, str(tmp_path / "hidden"))
    monkeypatch.delenv(hidden.HIDDEN_SEED_ENV, raising=False)
    monkeypatch.setattr(secret, "_active", secret.fresh())
    monkeypatch.setitem(course.LIBRISPEECH_PROFILES, "ci", TINY)
    return tmp_path


def test_hidden_split_is_plain_data_from_another_corpus(tiny_profiles: Path):
    waveforms, texts = hidden.librispeech_test()
    assert len(waveforms) == len(texts) > 0
    assert all(type(w) is np.ndarray and w.dtype == np.float32 and w.ndim == 1 and w.size > 1600 for w in waveforms)
    assert all(t == t.lower() and t.strip() for t in texts)
    assert hidden.librispeech_root().is_relative_to(tiny_profiles / "hidden")

    from asrlab.data import LibriSpeech
    public = {u["text"].lower() for u in LibriSpeech(course.librispeech(progress=False), "test-clean")}
    assert not public & set(texts), "the hidden split must not repeat the public corpus's sentences"
    assert hidden.librispeech_test(limit=2)[1] == texts[:2]


def test_the_hidden_seed_is_configurable_and_checked(monkeypatch):
    monkeypatch.setenv(hidden.HIDDEN_SEED_ENV, "12")
    assert hidden.hidden_seed() == 12
    for bad in ("0", "-3", "abc"):
        monkeypatch.setenv(hidden.HIDDEN_SEED_ENV, bad)
        with pytest.raises(ValueError, match=hidden.HIDDEN_SEED_ENV):
            hidden.hidden_seed()


def test_no_hidden_seed_without_a_course_secret(monkeypatch):
    monkeypatch.delenv(hidden.HIDDEN_SEED_ENV, raising=False)
    monkeypatch.setattr(secret, "_active", None)
    with pytest.raises(RuntimeError, match="no course secret"):
        hidden.hidden_seed()
    seeds = set()
    for _ in range(3):
        monkeypatch.setattr(secret, "_active", secret.fresh())
        seeds.add(hidden.hidden_seed())
    assert len(seeds) == 3 and all(0 < s < 2**31 for s in seeds)


def test_course_secret_is_made_once_outside_the_course(tmp_path, monkeypatch):
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    monkeypatch.setattr(secret, "CONFIG_DIR", tmp_path / "config")
    path = secret.secret_path(tmp_path / "course")
    assert path.is_relative_to(tmp_path / "config") and not path.exists()
    first = secret.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) >= 64
    assert secret.load_or_create(path) == first, "later runs read the same secret"
    assert secret.secret_path(tmp_path / "other") != path, "one secret per course"
    path.write_text("short")
    with pytest.raises(ValueError, match="too short"):
        secret.load_or_create(path)
