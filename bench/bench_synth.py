"""Throughput of synthetic corpus generation against raw eSpeak synthesis, measured in the same run.

Usage::

    python bench/bench_synth.py                 # 2 hours of LibriSpeech-style speech, all cores
    python bench/bench_synth.py --hours 0.5 --workers 2

The peer is eSpeak alone: one process synthesizing the same kind of sentences to memory, with no
resampling, noise, file writing or process management. The pipeline's real-time factor divided by
(peer factor x workers) is its parallel efficiency; the projected time for 2 hours is checked
against the course goal of one minute.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from asrlab.data.synth import make_librispeech
from asrlab.data.synth.espeak import synthesize
from asrlab.data.synth.render import default_workers
from asrlab.data.synth.sentences import BookSentences
from asrlab.data.synth.speakers import sample_speakers

PEER_UTTERANCES = 60
TARGET_SECONDS_FOR_2H = 60.0


def peer_realtime_factor(count: int = PEER_UTTERANCES) -> float:
    """Seconds of audio per wall second for plain eSpeak synthesis in this process."""
    rng = np.random.default_rng(123)
    speakers = sample_speakers(8, rng)
    texts = [BookSentences(rng).utterance() for _ in range(count)]
    synthesize("warm up", speakers[0].voice)  # loads the dictionary outside the timing
    audio_seconds, start = 0.0, time.perf_counter()
    for i, text in enumerate(texts):
        wav, sr = synthesize(text, speakers[i % len(speakers)].voice)
        audio_seconds += len(wav) / sr
    return audio_seconds / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    workers = args.workers or default_workers()

    peer = peer_realtime_factor()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = make_librispeech(f"{tmp}/libri", hours=args.hours, seed=0, workers=workers, progress=False)
        wall = time.perf_counter() - start
    ours = summary.hours * 3600.0 / wall
    projected = 2 * 3600.0 / ours
    print(f"peer  eSpeak only, 1 process     : {peer:8.1f} x real time")
    print(f"ours  make_librispeech, {workers} workers : {ours:8.1f} x real time  ({summary.hours:.3f} h in {wall:.1f} s)")
    print(f"ratio ours / peer                : {ours / peer:8.2f}  (parallel efficiency {ours / (peer * workers):.0%})")
    verdict = "meets" if projected < TARGET_SECONDS_FOR_2H else "misses"
    print(f"projected time for 2 h           : {projected:8.1f} s  ({verdict} the {TARGET_SECONDS_FOR_2H:.0f} s goal)")


if __name__ == "__main__":
    main()
