"""The ``asrlab`` command line.

Usage::

    asrlab data synth librispeech --out data/synth-libri --hours 2 --seed 0
    asrlab data synth hvb --out data/synth-hvb
    asrlab data fetch librispeech-dev-clean
    asrlab baseline --root data/synth-libri --split test-clean
    asrlab demo

Each command lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
those modules keep heavy imports (torch, librosa) inside ``run`` so ``asrlab --help`` is instant.
A known error (:class:`asrlab.errors.AsrlabError`: a missing corpus, an unknown split, a bad file) is
printed as one line, ``asrlab: error: ...``, with exit status 2; ``--traceback`` shows where it came from.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

import asrlab
from asrlab.errors import AsrlabError

# command path -> (module, one-line help)
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("data", "synth"): ("asrlab.data.synth.cli", "generate an offline synthetic speech corpus"),
    ("data", "fetch"): ("asrlab.data.fetch", "download and unpack a corpus listed in datasets.yaml"),
    ("baseline",): ("asrlab.baseline", "run the pocketsphinx recognizer over a split and print WER/CER"),
    ("demo",): ("asrlab.demo", "generate both synthetic corpora, print statistics and the baseline"),
}


ENVIRONMENT = """environment variables:
  ASRLAB_BUDGET        training budget of the course notebooks: full (default) or ci (short CPU runs)
  ASRLAB_CACHE         download cache of `asrlab data fetch` (default ~/.cache/asrlab, /content/asrlab_data
                       on Colab)
  ASRLAB_DATA          where the course corpora are generated (default: data/ in the download cache)
  ASRLAB_LIBRISPEECH   a LibriSpeech-layout corpus to use instead of the synthetic course corpus
  ASRLAB_HVB           a HarperValleyBank-layout corpus to use instead of the synthetic one"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asrlab", description="asrlab speech-recognition course tools",
                                     epilog=ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"asrlab {asrlab.__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the traceback of a known error too")
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {(): parser.add_subparsers(dest="command", required=True)}
    for path, (module_name, help_text) in COMMANDS.items():
        for depth in range(1, len(path)):  # create intermediate groups such as "data"
            prefix = path[:depth]
            if prefix not in groups:
                group_parser = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                groups[prefix] = group_parser.add_subparsers(dest=f"command_{depth}", required=True)
        sub = groups[path[:-1]].add_parser(path[-1], help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        import_module(module_name).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(import_module(args._module).run(args) or 0)
    except AsrlabError as e:
        if args.traceback:
            raise
        print(f"asrlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
