"""Errors raised by the corpus readers; every message names the file and how to fix it."""
from __future__ import annotations

from pathlib import Path

from asrlab.errors import AsrlabError

# How to obtain each corpus; used in "root does not exist" messages.
HOW_TO_GET = {
    "librispeech": (
        "generate a synthetic one with `asrlab data synth librispeech --out {root} --hours 2 --seed 0`, "
        "or download the real corpus with `asrlab data fetch librispeech-dev-clean` and pass the path it prints"
    ),
    "hvb": (
        "generate a synthetic one with `asrlab data synth hvb --out {root}`, "
        "or run `asrlab data fetch hvb-minified` for where to place the real data.h5 and labels.npz"
    ),
    "customdir": "create it with an audio/ folder of <id>.wav or <id>.flac files and an optional transcriptions/ folder of <id>.txt files",
}


class CorpusError(AsrlabError, ValueError):
    """A corpus on disk is malformed (missing transcript, bad container, unknown split, ...)."""


class CorpusNotFoundError(CorpusError, FileNotFoundError):
    """The corpus root does not exist."""


def require_root(root: str | Path, corpus: str) -> Path:
    """Return ``root`` as a Path or raise :class:`CorpusNotFoundError` saying how to create it."""
    root = Path(root).expanduser()
    if not root.is_dir():
        hint = HOW_TO_GET[corpus].format(root=root)
        raise CorpusNotFoundError(f"{root}: corpus directory does not exist; {hint}")
    return root
