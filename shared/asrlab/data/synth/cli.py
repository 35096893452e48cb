"""``asrlab data synth``: generate an offline synthetic speech corpus.

Usage::

    asrlab data synth librispeech --out data/synth-libri [--hours 2] [--seed 0] [--workers N]
    asrlab data synth hvb --out data/synth-hvb [--hours 1] [--seed 0] [--speakers 40]
    asrlab data synth custom --out data/synth-custom [--n 20] [--no-transcripts]

Prints a table of utterances, hours, speakers and vocabulary per split. Running the same command
again over a finished corpus returns at once.
"""
from __future__ import annotations

import argparse
import sys
import time

CORPORA = ("librispeech", "hvb", "custom")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="rendering processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace a corpus generated with other parameters")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asrlab.data.synth.corpus import DEFAULT_CUSTOM_UTTERANCES, DEFAULT_HVB_HOURS, DEFAULT_HVB_SPEAKERS, DEFAULT_LIBRISPEECH_HOURS

    sub = parser.add_subparsers(dest="synth_corpus", required=True, metavar="{" + ",".join(CORPORA) + "}")
    libri = sub.add_parser("librispeech", help="read book sentences, 16 kHz FLAC in LibriSpeech layout")
    libri.add_argument("--hours", type=float, default=DEFAULT_LIBRISPEECH_HOURS, help=f"total audio (default {DEFAULT_LIBRISPEECH_HOURS})")
    _common(libri)
    hvb = sub.add_parser("hvb", help="banking calls, 8 kHz data.h5 + labels.npz (HarperValleyBank minified)")
    hvb.add_argument("--hours", type=float, default=DEFAULT_HVB_HOURS, help=f"total audio (default {DEFAULT_HVB_HOURS})")
    hvb.add_argument("--speakers", type=int, default=DEFAULT_HVB_SPEAKERS, help=f"distinct speakers (default {DEFAULT_HVB_SPEAKERS})")
    _common(hvb)
    custom = sub.add_parser("custom", help="audio/<id>.wav + transcriptions/<id>.txt")
    custom.add_argument("--n", type=int, default=DEFAULT_CUSTOM_UTTERANCES, help=f"utterances (default {DEFAULT_CUSTOM_UTTERANCES})")
    custom.add_argument("--format", choices=("wav", "flac", "mixed"), default="wav", help="audio file format; mixed: wav and flac in turn (default wav)")
    custom.add_argument("--no-transcripts", action="store_true", help="leave out the transcriptions/ folder")
    _common(custom)


def run(args: argparse.Namespace) -> int:
    from asrlab.data.synth.corpus import CorpusExistsError, make_custom, make_hvb, make_librispeech

    common = {"seed": args.seed, "workers": args.workers, "progress": not args.quiet, "overwrite": args.overwrite}
    start = time.perf_counter()
    try:
        if args.synth_corpus == "librispeech":
            summary = make_librispeech(args.out, hours=args.hours, **common)
        elif args.synth_corpus == "hvb":
            summary = make_hvb(args.out, hours=args.hours, speakers=args.speakers, **common)
        else:
            summary = make_custom(args.out, n=args.n, with_transcripts=not args.no_transcripts, audio_format=args.format, **common)
    except (CorpusExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.table())
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
