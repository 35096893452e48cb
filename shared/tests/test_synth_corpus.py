"""Generated corpora on disk: layouts, labels, audio sanity, determinism, idempotence, CLI."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf

from asrlab.data.synth import LIBRISPEECH_SPLITS, CorpusExistsError, make_custom, make_hvb, make_librispeech
from asrlab.data.synth import cli as synth_cli
from asrlab.data.synth.banking import DIALOG_ACTS, TASK_TYPES, TRANSCRIPT_CHARS


def _librispeech_items(root: Path, split: str) -> list[tuple[Path, str, str]]:
    """(audio path, speaker dir name, transcript) for every trans.txt line of a split."""
    items = []
    for trans in sorted((root / split).glob("*/*/*.trans.txt")):
        for line in trans.read_text().splitlines():
            utt_id, text = line.split(" ", 1)
            items.append((trans.parent / f"{utt_id}.flac", trans.parent.parent.name, text))
    return items


def _params(root: Path) -> dict:
    """The generation parameters recorded in the corpus manifest (the fixtures' arguments)."""
    return json.loads((root / "synth.json").read_text())["params"]


def _noise_floor(wav: np.ndarray) -> float:
    """RMS of the quietest 10 % of 20 ms frames relative to the loudest: high when noise fills the pauses."""
    frames = wav[: len(wav) // 320 * 320].reshape(-1, 320)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float(np.percentile(rms, 10) / rms.max())


# --------------------------------------------------------------------------- LibriSpeech


def test_librispeech_layout_and_transcripts(synth_librispeech: Path):
    root = synth_librispeech
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(LIBRISPEECH_SPLITS)
    for split in LIBRISPEECH_SPLITS:
        items = _librispeech_items(root, split)
        assert items, split
        flacs = sorted((root / split).glob("*/*/*.flac"))
        assert sorted(p for p, _, _ in items) == flacs  # one trans line per audio file and back
        for path, speaker, text in items:
            spk, chapter, utt = path.stem.split("-")
            assert spk == speaker == path.parent.parent.name and chapter == path.parent.name
            assert spk.isdigit() and chapter.isdigit() and re.fullmatch(r"\d{4}", utt)
            assert re.fullmatch(r"[A-Z']+( [A-Z']+)*", text)


def test_librispeech_speakers_are_disjoint_and_numerous(synth_librispeech: Path):
    speakers = {split: {p.name for p in (synth_librispeech / split).iterdir()} for split in LIBRISPEECH_SPLITS}
    all_ids = [s for ids in speakers.values() for s in ids]
    assert len(all_ids) == len(set(all_ids)) >= 8
    assert len(speakers["train-clean"]) >= 4 and all(len(speakers[s]) >= 2 for s in LIBRISPEECH_SPLITS[1:])


def test_librispeech_audio_is_16k_nonsilent_and_as_long_as_its_text(synth_librispeech: Path):
    chars, seconds = [], []
    for path, _, text in _librispeech_items(synth_librispeech, "train-clean"):
        info = sf.info(str(path))
        assert info.samplerate == 16000 and info.channels == 1 and info.format == "FLAC"
        wav, _ = sf.read(str(path), dtype="float32")
        assert np.abs(wav).max() > 0.2
        chars.append(len(text))
        seconds.append(len(wav) / 16000)
        assert 0.5 < len(wav) / 16000 / max(len(text), 1) * 15 < 2.0  # ~15 characters per second of speech
    assert np.corrcoef(chars, seconds)[0, 1] > 0.8


def test_test_other_is_noisy_and_clean_splits_are_not(synth_librispeech: Path):
    floors = {
        split: np.median([_noise_floor(sf.read(str(p), dtype="float32")[0]) for p, _, _ in _librispeech_items(synth_librispeech, split)])
        for split in ("test-clean", "test-other")
    }
    assert floors["test-clean"] < 0.01 < floors["test-other"]


def test_librispeech_manifest_and_idempotent_rerun(synth_librispeech: Path):
    manifest = json.loads((synth_librispeech / "synth.json").read_text())
    assert manifest["complete"] and manifest["corpus"] == "librispeech" and manifest["version"] >= 1
    counted = sum(len(_librispeech_items(synth_librispeech, s)) for s in LIBRISPEECH_SPLITS)
    assert sum(s["utterances"] for s in manifest["summary"]["splits"].values()) == counted
    before = {p: p.stat().st_mtime_ns for p in synth_librispeech.rglob("*.flac")}
    summary = make_librispeech(synth_librispeech, progress=False, **_params(synth_librispeech))  # nothing to do
    assert {p: p.stat().st_mtime_ns for p in synth_librispeech.rglob("*.flac")} == before
    assert summary.utterances == counted and summary.speakers >= 8 and summary.vocabulary > 50
    assert "train-clean" in summary.table() and "total" in str(summary)
    with pytest.raises(CorpusExistsError, match="different parameters"):
        make_librispeech(synth_librispeech, hours=0.05, seed=manifest["params"]["seed"], progress=False)


def test_refuses_a_foreign_nonempty_directory_and_bad_arguments(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CorpusExistsError, match="not empty"):
        make_librispeech(tmp_path, hours=0.01, progress=False)
    with pytest.raises(ValueError, match="hours"):
        make_librispeech(tmp_path / "new", hours=0, progress=False)
    with pytest.raises(ValueError, match="workers"):
        make_hvb(tmp_path / "new", hours=0.01, workers=0, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- HarperValleyBank


def test_hvb_files_load_with_plain_numpy_and_h5py(synth_hvb: Path):
    labels = np.load(synth_hvb / "labels.npz")  # allow_pickle defaults to False
    n = len(labels["human_transcripts"])
    assert labels["human_transcripts"].dtype.kind == "U" and labels["task_types"].dtype.kind == "U"
    assert labels["dialog_acts"].dtype.kind == "U" and labels["speaker_ids"].dtype.kind == "i"
    assert labels["sentiments"].dtype == np.float32 and labels["sentiments"].shape == (n, 3)
    assert np.allclose(labels["sentiments"].sum(axis=1), 1.0, atol=1e-6)
    with h5py.File(synth_hvb / "data.h5", "r") as f:
        waves = f["waveforms"]
        assert sorted(waves.keys(), key=int) == [str(i) for i in range(n)]
        for i in range(n):
            wav = waves[str(i)][:]
            assert wav.dtype == np.float32 and wav.ndim == 1 and np.abs(wav).max() > 0.1
            assert 0.3 < len(wav) / 8000 < 20


def test_hvb_labels_are_valid_and_speakers_allow_a_speaker_split(synth_hvb: Path):
    labels = np.load(synth_hvb / "labels.npz")
    texts = labels["human_transcripts"]
    assert all(TRANSCRIPT_CHARS.match(t) and t == t.lower() for t in texts)
    assert any(len(t.split()) < 4 for t in texts) and sum(len(t.split()) >= 4 for t in texts) > len(texts) / 2
    assert set(labels["task_types"]) <= set(TASK_TYPES) and len(set(labels["task_types"])) > 1
    assert {a for acts in labels["dialog_acts"] for a in acts.split(",")} <= set(DIALOG_ACTS)
    speakers = set(labels["speaker_ids"].tolist())
    assert len(speakers) == _params(synth_hvb)["speakers"]


@pytest.mark.slow  # the unmarked render test in test_synth_speech.py checks worker independence per chunk
def test_hvb_is_identical_for_another_worker_count(synth_hvb: Path, tmp_path: Path):
    again = make_hvb(tmp_path / "hvb", progress=False, workers=1, **_params(synth_hvb))  # the fixture used 2
    a, b = np.load(synth_hvb / "labels.npz"), np.load(again.root / "labels.npz")
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key
    with h5py.File(synth_hvb / "data.h5", "r") as fa, h5py.File(again.root / "data.h5", "r") as fb:
        assert all(np.array_equal(fa["waveforms"][k][:], fb["waveforms"][k][:]) for k in fa["waveforms"])


# --------------------------------------------------------------------------- custom directory and determinism


def test_custom_directory_is_byte_identical_per_seed(tmp_path: Path):
    first = make_custom(tmp_path / "a", n=2, seed=5, progress=False)
    second = make_custom(tmp_path / "b", n=2, seed=5, progress=False, workers=1)
    other = make_custom(tmp_path / "c", n=2, seed=6, progress=False, with_transcripts=False)
    ids = sorted(p.stem for p in (first.root / "audio").glob("*.wav"))
    assert len(ids) == 2 and sorted(p.stem for p in (first.root / "transcriptions").glob("*.txt")) == ids
    for utt in ids:
        assert (first.root / "audio" / f"{utt}.wav").read_bytes() == (second.root / "audio" / f"{utt}.wav").read_bytes()
        assert (first.root / "transcriptions" / f"{utt}.txt").read_text() == (second.root / "transcriptions" / f"{utt}.txt").read_text()
        assert (first.root / "audio" / f"{utt}.wav").read_bytes() != (other.root / "audio" / f"{utt}.wav").read_bytes()
    assert not (other.root / "transcriptions").exists()
    text = (first.root / "transcriptions" / f"{ids[0]}.txt").read_text().strip()
    assert re.fullmatch(r"[a-z']+( [a-z']+)*", text)


# --------------------------------------------------------------------------- command line


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="asrlab data synth")
    synth_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_generates_prints_a_summary_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture):
    out = tmp_path / "custom"
    assert synth_cli.run(_parse(["custom", "--out", str(out), "--n", "2", "--quiet", "--format", "flac"])) == 0
    printed = capsys.readouterr().out
    assert "utterances" in printed and "vocabulary" in printed and "total" in printed
    assert len(list((out / "audio").glob("*.flac"))) == 2
    assert synth_cli.run(_parse(["custom", "--out", str(out), "--n", "3", "--quiet"])) == 2
    assert "different parameters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["librispeech"])  # --out is required


def test_an_interrupted_run_is_cleaned_up_and_redone(tmp_path: Path):
    root = tmp_path / "custom"
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "half-written.wav").write_bytes(b"RIFF")
    (root / "synth.json").write_text(json.dumps({"generator": "asrlab.data.synth", "corpus": "custom", "complete": False}))
    summary = make_custom(root, n=1, progress=False)
    assert sorted(p.name for p in (root / "audio").iterdir()) == ["utt0000.wav"]
    assert summary.utterances == 1 and json.loads((root / "synth.json").read_text())["complete"]


def test_custom_directory_with_new_rates_noise_and_mixed_formats(tmp_path: Path):
    from asrlab import audio

    plain = make_custom(tmp_path / "plain", n=4, seed=3, progress=False, audio_format="mixed", words_per_list=10)
    noisy = make_custom(tmp_path / "noisy", n=4, seed=3, progress=False, audio_format="mixed", words_per_list=10,
                        with_transcripts=False, rate_scale=(0.6, 0.6), snr_db=(5.0, 5.0))
    names = sorted(p.name for p in (noisy.root / "audio").iterdir())
    assert names == ["utt0000.wav", "utt0001.flac", "utt0002.wav", "utt0003.flac"]
    assert not (noisy.root / "transcriptions").exists()
    for name in names:
        slow, _ = audio.load(noisy.root / "audio" / name, sample_rate=16000)
        fast, _ = audio.load(plain.root / "audio" / name, sample_rate=16000)
        assert len(slow) > 1.3 * len(fast), name  # rate x0.6: the same sentence takes much longer
    with pytest.raises(ValueError, match="audio_format"):
        make_custom(tmp_path / "bad", n=1, audio_format="mp3", progress=False)
    with pytest.raises(ValueError, match="snr_db"):
        make_custom(tmp_path / "bad", n=1, snr_db=(20.0, 5.0), progress=False)
