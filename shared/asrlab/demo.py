"""The main job on the embedded synthetic data: make both corpora, show them, score a baseline.

Usage::

    asrlab demo                       # ./data/synth-libri (2 h) and ./data/synth-hvb, then pocketsphinx
    asrlab demo --out /tmp/asr --hours 0.5 --baseline-limit 50

Steps: generate the LibriSpeech-style and HarperValleyBank-style corpora (a no-op when they already
exist with the same parameters), print their statistics, then run the pocketsphinx recognizer over
the synthetic ``test-clean`` split and print its WER/CER: the figure the course's models must beat.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("data")
DEFAULT_LIBRISPEECH_HOURS = 2.0
DEFAULT_HVB_HOURS = 1.0
DEFAULT_BASELINE_SPLIT = "test-clean"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the corpora go (default: ./data)")
    parser.add_argument("--hours", type=float, default=DEFAULT_LIBRISPEECH_HOURS,
                        help=f"LibriSpeech-style hours (default: {DEFAULT_LIBRISPEECH_HOURS})")
    parser.add_argument("--hvb-hours", type=float, default=DEFAULT_HVB_HOURS,
                        help=f"HarperValleyBank-style hours (default: {DEFAULT_HVB_HOURS})")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--baseline-limit", type=int, default=None,
                        help="decode only the first N test utterances with pocketsphinx (default: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the pocketsphinx baseline")


def run(args: argparse.Namespace) -> int:
    from asrlab.data.layout import scan_librispeech
    from asrlab.data.synth import make_hvb, make_librispeech

    libri_root, hvb_root = args.out / "synth-libri", args.out / "synth-hvb"
    print(f"== LibriSpeech-style corpus: {libri_root}")
    print(make_librispeech(libri_root, hours=args.hours, seed=args.seed, workers=args.workers))
    print(f"\n== HarperValleyBank-style corpus: {hvb_root}")
    print(make_hvb(hvb_root, hours=args.hvb_hours, seed=args.seed, workers=args.workers))
    if args.no_baseline:
        return 0

    from asrlab.baseline import DEFAULT_WORKERS, run_pocketsphinx

    utterances = scan_librispeech(libri_root, DEFAULT_BASELINE_SPLIT)[: args.baseline_limit]
    print(f"\n== Outside baseline: pocketsphinx on {DEFAULT_BASELINE_SPLIT} ({len(utterances)} utterances)")
    result = run_pocketsphinx(utterances, workers=args.workers or DEFAULT_WORKERS)
    print(f"WER {100 * result.wer:.2f}%   CER {100 * result.cer:.2f}%   "
          f"({result.seconds:.1f} s for {result.audio_seconds:.0f} s of audio)")
    return 0
