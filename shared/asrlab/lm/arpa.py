"""Read and write n-gram models in the ARPA text format (the format SRILM, KenLM and pyctcdecode use).

Layout::

    \\data\\
    ngram 1=<number of unigrams>
    ngram 2=<number of bigrams>

    \\1-grams:
    <log10 prob>\\t<word>\\t<log10 back-off weight, optional>
    ...

    \\2-grams:
    <log10 prob>\\t<word 1> <word 2>\\t<log10 back-off weight, optional>
    ...

    \\end\\

Numbers are written with Python's shortest round-trip representation, so ``read_arpa(write_arpa(lm))``
returns exactly the same scores (writing is also deterministic: n-grams sorted within each order).
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import IO

from asrlab.errors import AsrlabError
from asrlab.lm.ngram import NGram, NGramLM

_HEADER_LINE = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION_LINE = re.compile(r"^\\(\d+)-grams:$")


class ArpaFormatError(AsrlabError, ValueError):
    """An ARPA file that does not follow the format; the message names the file and line."""


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")


def write_arpa(lm: NGramLM, path: str | Path) -> Path:
    """Write ``lm`` as an ARPA file (gzip-compressed when ``path`` ends in ``.gz``).

    Returns
    -------
    Path
        The written path.
    """
    if not isinstance(lm, NGramLM):
        raise TypeError(f"write_arpa: expected an NGramLM, got {type(lm).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    by_order: list[list[NGram]] = [[] for _ in range(lm.order)]
    for g in lm.logprobs:
        by_order[len(g) - 1].append(g)
    with _open_text(path, "w") as f:
        f.write("\n\\data\\\n")
        for n, grams in enumerate(by_order, start=1):
            f.write(f"ngram {n}={len(grams)}\n")
        for n, grams in enumerate(by_order, start=1):
            f.write(f"\n\\{n}-grams:\n")
            for g in sorted(grams):
                line = f"{lm.logprobs[g]!r}\t{' '.join(g)}"
                if g in lm.backoffs:
                    line += f"\t{lm.backoffs[g]!r}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
    return path


def read_arpa(path: str | Path) -> NGramLM:
    """Read an ARPA file (plain or ``.gz``) into an :class:`NGramLM`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ArpaFormatError
        If the file is not valid ARPA (missing ``\\data\\`` header, bad numbers, wrong n-gram counts, missing
        ``\\end\\``); the message gives the file and line number.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_arpa: no ARPA file at {path}")
    expected: dict[int, int] = {}
    logprobs: dict[NGram, float] = {}
    backoffs: dict[NGram, float] = {}
    seen: dict[int, int] = {}
    state, n = "preamble", 0  # preamble -> header -> ngrams -> end

    def fail(lineno: int, why: str) -> ArpaFormatError:
        return ArpaFormatError(f"{path}:{lineno}: {why}")

    with _open_text(path, "r") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            if state == "preamble":
                if line == "\\data\\":
                    state = "header"
                continue  # text before \data\ is a comment by convention
            if line == "\\end\\":
                state = "end"
                break
            section = _SECTION_LINE.match(line)
            if section:
                n = int(section.group(1))
                if n not in expected:
                    raise fail(lineno, f"section \\{n}-grams: has no 'ngram {n}=' line in the \\data\\ header")
                state, seen[n] = "ngrams", 0
                continue
            if state == "header":
                m = _HEADER_LINE.match(line)
                if not m:
                    raise fail(lineno, f"expected 'ngram N=count' in the \\data\\ header, got {line!r}")
                expected[int(m.group(1))] = int(m.group(2))
                continue
            fields = line.split()
            if len(fields) not in (n + 1, n + 2):
                raise fail(lineno, f"a {n}-gram line needs a log10 probability, {n} word(s) and an optional "
                                   f"back-off weight; got {len(fields)} fields in {line!r}")
            try:
                logp = float(fields[0])
                bow = float(fields[n + 1]) if len(fields) == n + 2 else None
            except ValueError:
                raise fail(lineno, f"probability/back-off weight is not a number in {line!r}") from None
            gram = tuple(fields[1:n + 1])
            logprobs[gram] = logp
            if bow is not None:
                backoffs[gram] = bow
            seen[n] += 1
    if state == "preamble":
        raise ArpaFormatError(f"{path}: no \\data\\ header; is this an ARPA file? (binary KenLM files need kenlm)")
    if state != "end":
        raise ArpaFormatError(f"{path}: missing the closing \\end\\ line (truncated file?)")
    for order, count in expected.items():
        if seen.get(order, 0) != count:
            raise ArpaFormatError(f"{path}: header announces {count} {order}-grams but the file lists "
                                  f"{seen.get(order, 0)}")
    try:
        return NGramLM(logprobs, backoffs)
    except ValueError as err:
        raise ArpaFormatError(f"{path}: {err}") from None


def read_arpa_vocab(path: str | Path) -> frozenset[str]:
    """The words of an ARPA file's unigram section, without loading the higher orders.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ArpaFormatError
        If the file has no ``\\1-grams:`` section (e.g. a KenLM binary).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_arpa_vocab: no ARPA file at {path}")
    words: set[str] = set()
    in_unigrams = False
    try:
        with _open_text(path, "r") as f:
            for line in f:
                line = line.strip()
                if line == "\\1-grams:":
                    in_unigrams = True
                elif in_unigrams:
                    if line.startswith("\\"):
                        return frozenset(words)
                    fields = line.split()
                    if len(fields) >= 2:
                        words.add(fields[1])
    except UnicodeDecodeError:
        pass  # binary file
    if not in_unigrams:
        raise ArpaFormatError(f"{path}: no \\1-grams: section (binary KenLM files do not list their vocabulary)")
    return frozenset(words)


__all__ = ["read_arpa", "read_arpa_vocab", "write_arpa", "ArpaFormatError"]
