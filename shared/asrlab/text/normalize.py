"""Transcript normalization shared by the tokenizers, the corpus readers and the metrics.

The course compares hypotheses and references only after both went through
:func:`normalize_transcript`, so "Don't!" and "don't" score as the same word.

Usage::

    from asrlab.text import normalize_transcript
    normalize_transcript("  Hello,  WORLD -- it’s me!")   # "hello world it's me"
"""
from __future__ import annotations

import re
import unicodedata

# Typographic apostrophes and primes that stand for the ASCII apostrophe in real transcripts.
APOSTROPHE_VARIANTS = "\u2019\u2018\u02bc\u0060\u00b4\u2032"
_APOSTROPHE_TABLE = str.maketrans({ch: "'" for ch in APOSTROPHE_VARIANTS})
_NOT_ALLOWED = re.compile(r"[^a-z' ]")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """Map accented letters to their base letter (``"café"`` -> ``"cafe"``) via Unicode NFKD."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_transcript(text: str) -> str:
    """Case-fold a transcript and reduce it to the course alphabet: ``a-z``, apostrophe, space.

    The rule, applied in order:

    1. accents are removed (``é`` -> ``e``) and the text is case-folded;
    2. typographic apostrophes (``’`` and friends) become ``'``;
    3. every other character outside ``a-z``, ``'`` and whitespace (punctuation, digits, symbols)
       becomes a space, so ``"well-known"`` -> ``"well known"`` rather than ``"wellknown"``;
    4. runs of whitespace collapse to one space; leading/trailing spaces are stripped.

    Parameters
    ----------
    text : str
        Raw transcript in any case, e.g. a LibriSpeech line ``"HE HOPED THERE WOULD BE STEW"``.

    Returns
    -------
    str
        The normalized transcript (possibly empty).
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize_transcript expects a str, got {type(text).__name__}")
    text = strip_accents(text).casefold().translate(_APOSTROPHE_TABLE)
    text = _NOT_ALLOWED.sub(" ", _SPACES.sub(" ", text))
    return _SPACES.sub(" ", text).strip()
