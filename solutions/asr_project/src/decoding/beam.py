"""CTC prefix beam search with optional shallow fusion of a word n-gram language model.

A hypothesis is a token prefix; its probability sums over every alignment that collapses to it, kept as two
parts: ending in a blank (``p_blank``) and ending in its last token (``p_token``). When a token completes a
word (the next word starts, or the utterance ends) the LM adds ``lm_weight * ln P(word | history) +
word_bonus`` to the prefix's score.

Usage::

    ids = beam_search(log_probs, blank=28, beam_size=8)                            # no LM
    fusion = LMFusion(asrlab.lm.load_lm("lm.arpa"), lm_weight=0.5, word_bonus=1.0)
    ids = beam_search(log_probs, blank=28, beam_size=8, token_texts=tok.symbols, fusion=fusion)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

LN10 = math.log(10.0)
NEG_INF = -math.inf


def log_add(a: float, b: float) -> float:
    """ln(e^a + e^b) without overflow."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


@dataclass
class LMFusion:
    """Word LM shallow fusion: ``lm_weight * ln P(word | previous words) + word_bonus`` per completed word.

    Parameters
    ----------
    lm : an ``asrlab.lm`` model (``order`` and ``score(word, context)`` in log10), or None for the bonus only.
    lm_weight : the LM weight (alpha), >= 0.
    word_bonus : nats added per word (beta), offsets the LM's preference for short hypotheses.
    """

    lm: Any = None
    lm_weight: float = 0.5
    word_bonus: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    def word_score(self, word: str, history: tuple[str, ...]) -> float:
        """Score in nats of ``word`` after ``history`` (previous words, oldest first)."""
        if self.lm is None:
            return self.word_bonus
        context = ("<s>", *history)[-(self.lm.order - 1):] if self.lm.order > 1 else ()
        key = (word, context)
        if key not in self._cache:
            self._cache[key] = self.lm_weight * LN10 * self.lm.score(word, list(context)) + self.word_bonus
        return self._cache[key]

    def end_score(self, history: tuple[str, ...]) -> float:
        """Score in nats of the end of the sentence after ``history``."""
        if self.lm is None:
            return 0.0
        context = ("<s>", *history)[-(self.lm.order - 1):] if self.lm.order > 1 else ()
        return self.lm_weight * LN10 * self.lm.score("</s>", list(context))


def beam_search(log_probs: torch.Tensor, blank: int, beam_size: int = 8,
                token_texts: Sequence[str] | None = None, fusion: LMFusion | None = None,
                token_threshold: float = -12.0) -> list[int]:
    """The best token sequence under CTC prefix beam search.

    Parameters
    ----------
    log_probs : (T, C) per-frame log-probabilities of one utterance (valid frames only).
    blank : the blank index.
    beam_size : prefixes kept after each frame (1 keeps only the best).
    token_texts : the text of each token id (space marks a word boundary); needed with ``fusion``.
    fusion : word LM shallow fusion (:class:`LMFusion`), or None.
    token_threshold : tokens whose log-probability at a frame is below this are not tried there.

    Returns
    -------
    token ids of the best prefix, shape (L,).
    """
    if fusion is not None and token_texts is None:
        raise ValueError("LM fusion needs token_texts (the text each token id writes) to find word boundaries")
    ### BEGIN SOLUTION
    lp = log_probs.detach().float().cpu()
    texts = list(token_texts) if token_texts is not None else None
    # prefix -> [p_blank, p_token, lm score, words completed so far, partial word]
    beams: dict[tuple[int, ...], list[Any]] = {(): [0.0, NEG_INF, 0.0, (), ""]}
    rows = lp.tolist()
    top = torch.topk(lp, min(beam_size, lp.shape[1]), dim=-1).indices.tolist()  # (T, k)
    for t, row in enumerate(rows):
        candidates = sorted(set(top[t]) | {blank})
        candidates = [c for c in candidates if row[c] >= token_threshold or c == blank]
        nxt: dict[tuple[int, ...], list[Any]] = {}

        def entry(prefix: tuple[int, ...], parent: list[Any], token: int | None,
                  nxt: dict[tuple[int, ...], list[Any]] = nxt) -> list[Any]:
            if prefix not in nxt:
                lm_score, words, partial = parent[2], parent[3], parent[4]
                if token is not None and texts is not None:
                    lm_score, words, partial = _extend(lm_score, words, partial, texts[token], fusion)
                nxt[prefix] = [NEG_INF, NEG_INF, lm_score, words, partial]
            return nxt[prefix]

        for prefix, beam in beams.items():
            p_b, p_t = beam[0], beam[1]
            total = log_add(p_b, p_t)
            for c in candidates:
                p = row[c]
                if c == blank:
                    e = entry(prefix, beam, None)
                    e[0] = log_add(e[0], total + p)
                    continue
                extended = prefix + (c,)
                e = entry(extended, beam, c)
                if prefix and prefix[-1] == c:
                    e[1] = log_add(e[1], p_b + p)             # a repeat needs a blank in between
                    same = entry(prefix, beam, None)
                    same[1] = log_add(same[1], p_t + p)       # or it merges into the same token
                else:
                    e[1] = log_add(e[1], total + p)
        beams = dict(sorted(nxt.items(), key=lambda kv: -(log_add(kv[1][0], kv[1][1]) + kv[1][2]))[:beam_size])

    def final(beam: list[Any]) -> float:
        score = log_add(beam[0], beam[1]) + beam[2]
        if fusion is not None:
            words = beam[3]
            if beam[4]:
                score += fusion.word_score(beam[4], words)
                words = words + (beam[4],)
            score += fusion.end_score(words)
        return score

    return list(max(beams.items(), key=lambda kv: final(kv[1]))[0])
    ### END SOLUTION


def _extend(lm_score: float, words: tuple[str, ...], partial: str, text: str,
            fusion: LMFusion | None) -> tuple[float, tuple[str, ...], str]:
    """Append a token's text to (words, partial word); score each word it completes."""
    for ch in text:
        if ch == " ":
            if partial:
                if fusion is not None:
                    lm_score += fusion.word_score(partial, words)
                words, partial = words + (partial,), ""
        else:
            partial += ch
    return lm_score, words, partial
