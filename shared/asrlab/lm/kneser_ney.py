"""Estimate an n-gram word LM with interpolated modified Kneser-Ney smoothing (Chen & Goodman, 1998).

Recipe (the one KenLM's ``lmplz`` follows, so the two agree closely on the same text):

1. Every sentence becomes ``<s> w_1 .. w_k </s>``; n-grams of every order 1..N are collected.
2. Adjusted counts ``c'``: the highest order keeps raw counts; a lower-order n-gram keeps its raw count when it
   starts with ``<s>`` (nothing can precede it) and otherwise gets its *continuation count*, the number of
   distinct words seen immediately to its left.
3. Per order, three discounts from the counts-of-counts ``n_k`` (n-grams with ``c' = k``):
   ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``, ``D3+ = 3 - 4Y n4/n3``. When a count
   of counts is zero or a discount falls outside ``(0, k)`` (tiny corpora), :data:`FALLBACK_DISCOUNTS` is used.
4. Interpolation, for context ``h`` (``h'`` = ``h`` without its oldest word)::

       P(w | h) = max(c'(h w) - D(c'(h w)), 0) / sum_v c'(h v)  +  gamma(h) P(w | h')
       gamma(h) = sum_v D(c'(h v)) / sum_v c'(h v)

   ending in the uniform distribution ``1 / |V|`` over the vocabulary ``V`` = seen words + ``</s>`` +
   ``<unk>`` (``<s>`` is a context only and gets log10 probability -99).
5. The interpolated model is stored in back-off form: a seen n-gram keeps its interpolated probability and
   ``bow(h) = gamma(h)``. For an unseen word the back-off query then returns ``gamma(h) P(w | h')``, which is
   exactly the interpolated value, so every context's distribution sums to one over ``V``.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from asrlab.lm.base import ARPA_NEVER_LOG10, BOS, EOS, UNK, split_words
from asrlab.lm.ngram import NGram, NGramLM

# Discounts (D1, D2, D3+) for an order whose counts-of-counts cannot give valid ones.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
MAX_ORDER = 6


def kneser_ney_discounts(adjusted_counts: Iterable[int]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts (D1, D2, D3+) from one order's adjusted counts.

    Falls back to :data:`FALLBACK_DISCOUNTS` when a count of counts n1..n4 is zero or a discount leaves the
    valid range ``0 < D_k < k``.
    """
    coc = Counter(c for c in adjusted_counts if c <= 4)
    n1, n2, n3, n4 = (coc.get(k, 0) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if not all(0.0 < d < k for k, d in enumerate(discounts, start=1)):
        return FALLBACK_DISCOUNTS
    return discounts


def _count_ngrams(sentences: Iterable[str | Sequence[str]], order: int) -> list[Counter]:
    """Raw counts per order: ``counts[n-1][ngram]`` for padded sentences ``<s> .. </s>``."""
    counts: list[Counter] = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = split_words(sentence)
        if not words:
            continue  # an empty line says nothing about word order
        for reserved in (BOS, EOS, UNK):
            if reserved in words:
                raise ValueError(f"estimate_kneser_ney: training text contains the reserved token {reserved!r}; "
                                 "remove it (the estimator adds <s>/</s> itself and derives <unk>)")
        padded = (BOS, *words, EOS)
        for n in range(1, order + 1):
            counts[n - 1].update(padded[i:i + n] for i in range(len(padded) - n + 1))
    return counts


def _adjusted_counts(raw: list[Counter]) -> list[dict[NGram, int]]:
    """Kneser-Ney adjusted counts (raw for the top order and for n-grams starting with <s>)."""
    order = len(raw)
    adjusted: list[dict[NGram, int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(raw[order - 1])
    for n in range(order - 1, 0, -1):  # n = length of the lower-order n-grams
        left_contexts: Counter = Counter(g[1:] for g in raw[n])  # distinct (n+1)-grams ending in each n-gram
        adjusted[n - 1] = {g: (c if g[0] == BOS else left_contexts[g]) for g, c in raw[n - 1].items()}
    return adjusted


def estimate_kneser_ney(
    sentences: Iterable[str | Sequence[str]],
    order: int = 3,
    discounts: Sequence[tuple[float, float, float]] | None = None,
) -> NGramLM:
    """Estimate an interpolated modified Kneser-Ney n-gram LM from text.

    Parameters
    ----------
    sentences : one sentence per item, a whitespace-separated string or a list of words (already normalised:
        the model is case-sensitive). Empty sentences are skipped.
    order : n of the n-gram model, 1..6.
    discounts : optional fixed ``(D1, D2, D3+)`` per order (index 0 = unigrams); by default estimated from the
        counts of counts.

    Returns
    -------
    NGramLM
        The model in back-off (ARPA) form.

    Raises
    ------
    ValueError
        For an order outside 1..6, text with no words, reserved tokens in the text, or a wrong ``discounts``.
    """
    if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"estimate_kneser_ney: order must be an int in 1..{MAX_ORDER}, got {order!r}")
    raw = _count_ngrams(sentences, order)
    if not raw[0]:
        raise ValueError("estimate_kneser_ney: the training text has no words; pass non-empty sentences")
    adjusted = _adjusted_counts(raw)
    if discounts is None:
        # <s> is never predicted, so its unigram does not take part in the unigram discounts.
        per_order = [kneser_ney_discounts(c for g, c in adj.items() if g != (BOS,)) for adj in adjusted]
    else:
        per_order = [tuple(float(d) for d in ds) for ds in discounts]
        if len(per_order) != order or any(len(ds) != 3 or not all(0 <= d for d in ds) for ds in per_order):
            raise ValueError(f"estimate_kneser_ney: discounts must give {order} triples (D1, D2, D3+) of "
                             f"non-negative numbers, one per order; got {discounts!r}")

    probs: dict[NGram, float] = {}  # interpolated probabilities (linear domain) of every stored n-gram
    gammas: dict[NGram, float] = {}  # back-off weights (linear domain) of every context
    for n in range(1, order + 1):
        d1, d2, d3 = per_order[n - 1]
        by_context: dict[NGram, list[tuple[str, int]]] = defaultdict(list)
        for g, c in adjusted[n - 1].items():
            if g != (BOS,):
                by_context[g[:-1]].append((g[-1], c))
        if n == 1:
            vocab_size = len(by_context[()]) + (0 if (UNK,) in adjusted[0] else 1)  # seen words + </s> + <unk>
            lower = {(w,): 1.0 / vocab_size for w, _ in by_context[()]}
            lower[(UNK,)] = 1.0 / vocab_size
        for h, followers in by_context.items():
            total = sum(c for _, c in followers)
            discount_mass = 0.0
            for w, c in followers:
                d = d1 if c == 1 else d2 if c == 2 else d3
                discount_mass += min(d, c)
            gamma = discount_mass / total
            gammas[h] = gamma
            for w, c in followers:
                d = d1 if c == 1 else d2 if c == 2 else d3
                lower_p = lower[(w,)] if n == 1 else probs[h[1:] + (w,)]
                probs[h + (w,)] = max(c - d, 0.0) / total + gamma * lower_p
        if n == 1:
            probs.setdefault((UNK,), gammas[()] * lower[(UNK,)])

    logprobs = {g: _log10(p) for g, p in probs.items()}
    logprobs[(BOS,)] = ARPA_NEVER_LOG10
    # Only n-grams that are contexts of longer n-grams carry a back-off weight (the empty context is the
    # uniform-distribution weight, folded into the unigram probabilities above).
    backoffs = {h: _log10(g) for h, g in gammas.items() if h and len(h) < order}
    return NGramLM(logprobs, backoffs)


def _log10(p: float) -> float:
    return math.log10(p) if p > 0.0 else ARPA_NEVER_LOG10


__all__ = ["estimate_kneser_ney", "kneser_ney_discounts", "FALLBACK_DISCOUNTS"]
