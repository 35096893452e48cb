"""pocketsphinx baseline: recognition of clean synthetic speech, scoring, workers, CLI, bad input."""
import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from asrlab import audio  # noqa: E402
from asrlab.baseline import BaselineResult, add_arguments, model_paths, run, run_pocketsphinx  # noqa: E402
from asrlab.data.librispeech import scan_librispeech  # noqa: E402
from asrlab.data.utterance import Utterance  # noqa: E402
from asrlab.metrics import cer, wer  # noqa: E402

TINY_HOURS = 0.003  # floors to the minimum corpus: 2 speakers x 2 utterances per evaluation split
DECODED = 2  # decode only the shortest utterances: pocketsphinx runs at about real time on one core


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    """A minimal synthetic LibriSpeech-layout corpus from the course's generator."""
    from asrlab.data.synth import make_librispeech

    root = tmp_path_factory.mktemp("synth-libri")
    make_librispeech(root, hours=TINY_HOURS, seed=0, workers=1, progress=False, overwrite=True)
    return root


@pytest.fixture(scope="module")
def shortest(tiny_corpus) -> list[Utterance]:
    utts = scan_librispeech(tiny_corpus, "test-clean")
    return sorted(utts, key=lambda u: audio.duration(u.audio_path))[:DECODED]


@pytest.fixture(scope="module")
def serial_result(shortest) -> tuple[list[Utterance], BaselineResult]:
    return shortest, run_pocketsphinx(shortest, workers=1)


def _single_utterance_split(root: Path, utt: Utterance, split: str = "test-one") -> str:
    """Copy one utterance into its own LibriSpeech split so the CLI decodes just it."""
    speaker, chapter, _ = utt.utt_id.split("-")
    chapter_dir = root / split / speaker / chapter
    chapter_dir.mkdir(parents=True)
    shutil.copy(utt.audio_path, chapter_dir / Path(utt.audio_path).name)
    (chapter_dir / f"{speaker}-{chapter}.trans.txt").write_text(f"{utt.utt_id} {utt.text}\n")
    return split


def test_model_files_ship_with_the_wheel():
    paths = model_paths()
    assert (paths["hmm"] / "mdef").is_file() and paths["lm"].is_file() and paths["dict"].is_file()


def test_recognizes_clean_speech_and_scores_it(serial_result):
    utts, result = serial_result
    assert result.n == DECODED and len(result.hypotheses) == DECODED
    assert all(hyp.split() for hyp in result.hypotheses)  # words came out
    refs = [u.text for u in utts]  # upper case, as LibriSpeech writes them
    # Scores are the case-insensitive corpus-level rates of exactly these hypotheses.
    assert result.wer == pytest.approx(wer([r.lower() for r in refs], result.hypotheses))
    assert result.cer == pytest.approx(cer([r.lower() for r in refs], result.hypotheses))
    assert result.wer < 1.0 and result.cer < 0.8
    assert result.audio_seconds == pytest.approx(sum(audio.duration(u.audio_path) for u in utts), rel=1e-3)
    assert result.seconds > 0 and result.real_time_factor > 0


def test_worker_process_gives_the_same_hypothesis(serial_result):
    # Decoded in a fresh spawned process instead of after another utterance in this one.
    utts, serial = serial_result
    parallel = run_pocketsphinx(utts[1:], workers=2)
    assert parallel.hypotheses == serial.hypotheses[1:]


@pytest.mark.slow
def test_hypotheses_do_not_depend_on_order_or_workers(serial_result):
    # Reversed and shared between two processes, every utterance sees a different decoding history.
    utts, serial = serial_result
    parallel = run_pocketsphinx(utts[::-1], workers=2)
    assert parallel.hypotheses == serial.hypotheses[::-1]
    assert parallel.wer == pytest.approx(serial.wer) and parallel.n == serial.n


def test_cli_prints_scores_and_writes_hypotheses(serial_result, tmp_path, capsys):
    utt, hyp = serial_result[0][0], serial_result[1].hypotheses[0]
    split = _single_utterance_split(tmp_path, utt)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "hyps.txt"
    args = parser.parse_args(["--root", str(tmp_path), "--split", split, "--workers", "1", "--output", str(out)])
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert f"WER         {100 * wer(utt.text.lower(), hyp):.2f}%" in printed
    assert "CER" in printed and "real-time factor" in printed
    assert out.read_text() == f"{utt.utt_id} {hyp}\n"


def test_bad_input_is_rejected_with_the_reason(tmp_path):
    with pytest.raises(ValueError, match="no utterances"):
        run_pocketsphinx([])
    no_text = Utterance("1-2-0003", tmp_path / "a.flac", None, "1")
    with pytest.raises(ValueError, match="1-2-0003: the baseline needs an audio file and a transcript"):
        run_pocketsphinx([no_text])
    silent = tmp_path / "silent.flac"
    audio.save(silent, np.zeros(1600, dtype=np.float32), audio.SAMPLE_RATE)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_pocketsphinx([Utterance("x", silent, "A", "1")], workers=0)
