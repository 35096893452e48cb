"""Word and character error rates.

Definitions follow jiwer (and sclite): the error rate of a set of utterances is the total number of
edits (substitutions + deletions + insertions of a minimum edit-distance alignment) divided by the
total number of reference units -- not the mean of per-utterance rates. Words are whitespace-separated
tokens; characters are those of the transcript with leading and trailing whitespace removed (inner
spaces count as characters, as in jiwer's CER).

Empty references, which jiwer rejects, are allowed: every hypothesis unit counts as an insertion.
An utterance with an empty reference therefore has rate 0.0 when the hypothesis is empty too and
``inf`` otherwise (n errors / 0 units); inside a corpus its insertions simply add to the total edits.

Usage::

    from asrlab.metrics import wer, cer, word_errors, per_utterance_wer

    wer("the cat sat", "the cat sad")                  # 0.333...
    wer(refs, hyps)                                    # corpus level: total edits / total words
    wer(refs, hyps, normalize=True)                    # compare normalize_transcript() forms
    word_errors(refs, hyps)                            # ErrorStats(hits=..., substitutions=..., ...)
    per_utterance_wer(refs, hyps)                      # [0.0, 0.25, ...]
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorStats:
    """Counts of a minimum edit-distance alignment between reference and hypothesis units.

    Attributes
    ----------
    hits, substitutions, deletions, insertions : alignment operation counts.
    """

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        """Edit distance: substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def ref_len(self) -> int:
        """Number of reference units: hits + substitutions + deletions."""
        return self.hits + self.substitutions + self.deletions

    @property
    def rate(self) -> float:
        """errors / ref_len; 0.0 for an empty reference with no errors, ``inf`` with insertions."""
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.ref_len

    def __add__(self, other: ErrorStats) -> ErrorStats:
        return ErrorStats(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


def _pairs(
    ref: str | Sequence[str], hyp: str | Sequence[str], normalize: bool | Callable[[str], str]
) -> tuple[list[str], list[str]]:
    """Validate and (optionally) normalize one pair or two parallel lists of transcripts."""
    if isinstance(ref, str) != isinstance(hyp, str):
        raise TypeError("ref and hyp must both be strings or both be lists of strings, got "
                        f"{type(ref).__name__} and {type(hyp).__name__}")
    refs, hyps = ([ref], [hyp]) if isinstance(ref, str) else (list(ref), list(hyp))
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses; pass one hypothesis per reference")
    for name, texts in (("ref", refs), ("hyp", hyps)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"{name}[{i}] is a {type(text).__name__}, not a str; decode token ids to text first")
    if normalize:
        if callable(normalize):
            fn = normalize
        else:
            from asrlab.text.normalize import normalize_transcript as fn  # the course's one normalization rule
        refs, hyps = [fn(t) for t in refs], [fn(t) for t in hyps]
    return refs, hyps


def _align(refs: list[str], hyps: list[str], unit: str) -> list[ErrorStats]:
    """Per-pair ErrorStats from jiwer's alignment (``unit`` is ``"word"`` or ``"char"``)."""
    import jiwer  # lazy: rapidfuzz-backed, only needed when scoring

    split: Callable[[str], list] = str.split if unit == "word" else (lambda s: list(s.strip()))
    stats: list[ErrorStats | None] = [None] * len(refs)
    scored = []  # indices of pairs jiwer can score (non-empty reference)
    for i, (ref, hyp) in enumerate(zip(refs, hyps)):
        if split(ref):
            scored.append(i)
        else:
            stats[i] = ErrorStats(insertions=len(split(hyp)))
    if scored:
        process = jiwer.process_words if unit == "word" else jiwer.process_characters
        # Hand jiwer single-space-separated words so its tokenization and ours cannot differ (tabs, newlines).
        prep: Callable[[str], str] = (lambda s: " ".join(s.split())) if unit == "word" else (lambda s: s)
        out = process([prep(refs[i]) for i in scored], [prep(hyps[i]) for i in scored])
        for i, chunks in zip(scored, out.alignments):
            counts = {"equal": 0, "substitute": 0, "delete": 0, "insert": 0}
            for c in chunks:
                counts[c.type] += max(c.ref_end_idx - c.ref_start_idx, c.hyp_end_idx - c.hyp_start_idx)
            stats[i] = ErrorStats(counts["equal"], counts["substitute"], counts["delete"], counts["insert"])
    return stats  # type: ignore[return-value]


def word_errors(
    ref: str | Sequence[str], hyp: str | Sequence[str], normalize: bool | Callable[[str], str] = False
) -> ErrorStats:
    """Total word-level ErrorStats of one pair or of two parallel lists.

    Parameters
    ----------
    ref, hyp : a reference and a hypothesis string, or two equally long lists of them.
    normalize : ``True`` applies :func:`asrlab.text.normalize_transcript` to both sides (case, punctuation,
        apostrophes, whitespace); a callable ``str -> str`` is applied instead.
    """
    return sum(_align(*_pairs(ref, hyp, normalize), "word"), ErrorStats())


def char_errors(
    ref: str | Sequence[str], hyp: str | Sequence[str], normalize: bool | Callable[[str], str] = False
) -> ErrorStats:
    """Total character-level ErrorStats; arguments as :func:`word_errors`."""
    return sum(_align(*_pairs(ref, hyp, normalize), "char"), ErrorStats())


def wer(ref: str | Sequence[str], hyp: str | Sequence[str], normalize: bool | Callable[[str], str] = False) -> float:
    """Word error rate: total word edits / total reference words (see :func:`word_errors`)."""
    return word_errors(ref, hyp, normalize).rate


def cer(ref: str | Sequence[str], hyp: str | Sequence[str], normalize: bool | Callable[[str], str] = False) -> float:
    """Character error rate: total character edits / total reference characters."""
    return char_errors(ref, hyp, normalize).rate


def per_utterance_word_errors(
    refs: Sequence[str], hyps: Sequence[str], normalize: bool | Callable[[str], str] = False
) -> list[ErrorStats]:
    """Word-level ErrorStats of every pair; their sum is :func:`word_errors` of the lists."""
    return _align(*_pairs(list(refs), list(hyps), normalize), "word")


def per_utterance_char_errors(
    refs: Sequence[str], hyps: Sequence[str], normalize: bool | Callable[[str], str] = False
) -> list[ErrorStats]:
    """Character-level ErrorStats of every pair."""
    return _align(*_pairs(list(refs), list(hyps), normalize), "char")


def per_utterance_wer(
    refs: Sequence[str], hyps: Sequence[str], normalize: bool | Callable[[str], str] = False
) -> list[float]:
    """Word error rate of every pair (use them to find the best and worst utterances)."""
    return [s.rate for s in per_utterance_word_errors(refs, hyps, normalize)]


def per_utterance_cer(
    refs: Sequence[str], hyps: Sequence[str], normalize: bool | Callable[[str], str] = False
) -> list[float]:
    """Character error rate of every pair."""
    return [s.rate for s in per_utterance_char_errors(refs, hyps, normalize)]
