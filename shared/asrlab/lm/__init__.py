"""n-gram word language models: Kneser-Ney estimation, ARPA files, scoring (pure Python; KenLM optional).

>>> from asrlab.lm import estimate_kneser_ney, load_lm
>>> lm = estimate_kneser_ney(open("train.txt"), order=3)      # doctest: +SKIP
>>> lm.to_arpa("lm.arpa")                                     # doctest: +SKIP
>>> lm = load_lm("lm.arpa")            # KenLM when installed    doctest: +SKIP
>>> lm.score("cat", ["<s>", "the"])    # log10 P(cat | <s> the)  doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from asrlab.lm.arpa import ArpaFormatError, read_arpa, read_arpa_vocab, write_arpa
from asrlab.lm.base import BOS, EOS, UNK, WordLM, sentence_logprob
from asrlab.lm.kenlm_backend import KenLM, kenlm_available
from asrlab.lm.kneser_ney import estimate_kneser_ney
from asrlab.lm.ngram import NGramLM

BACKENDS = ("auto", "python", "kenlm")


def load_lm(path: str | Path, backend: str = "auto") -> WordLM:
    """Open a language model file for querying.

    Parameters
    ----------
    path : ARPA file (``.arpa`` or ``.arpa.gz``; KenLM binaries need ``backend="kenlm"``).
    backend : ``"auto"`` (KenLM when importable, else pure Python), ``"python"`` or ``"kenlm"``.

    Raises
    ------
    ValueError
        For an unknown backend name.
    """
    if backend not in BACKENDS:
        raise ValueError(f"load_lm: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "kenlm" or (backend == "auto" and kenlm_available()):
        return KenLM(path)
    return read_arpa(path)


__all__ = [
    "ArpaFormatError", "BOS", "EOS", "UNK", "KenLM", "NGramLM", "WordLM", "estimate_kneser_ney",
    "kenlm_available", "load_lm", "read_arpa", "read_arpa_vocab", "sentence_logprob", "write_arpa",
]
