"""Shallow fusion of a word language model at word boundaries (the "alpha / beta" scheme).

A character decoder that has just completed a word ``w`` after the words ``h`` adds, in natural-log units::

    alpha * ln P_LM(w | <s> h) + beta

``alpha`` weights the LM against the acoustic model, ``beta`` is a word-insertion bonus that offsets the LM's
preference for short outputs. At the end of the utterance the unfinished last word is scored the same way and,
when ``score_eos`` is set, ``alpha * ln P_LM(</s> | <s> h)`` is added too. LM scores (log10, ARPA convention)
are converted with ``ln(10)``.

Out-of-vocabulary words (optional, ``oov_penalty`` < 0): a completed word the LM does not know gets
``oov_penalty`` nats on top of its (``<unk>``) LM score. While a word is still being spelled, a partial word
that no vocabulary word starts with is given the same penalty *provisionally* (it is replaced by the real
score once the word completes), so misspellings leave the beam before they crowd out real words.
"""
from __future__ import annotations

import math
from typing import Iterable

from asrlab.lm.base import BOS, EOS, WordLM

LN10 = math.log(10.0)


class WordBoundaryScorer:
    """Weighted LM score of completed words, memoised on (truncated context, word).

    Parameters
    ----------
    lm : any :class:`~asrlab.lm.base.WordLM`, or ``None`` for "bonus only" (then only ``beta`` counts).
    alpha : LM weight (>= 0).
    beta : word-insertion bonus in nats per word.
    score_eos : also score ``</s>`` once the utterance ends.
    oov_penalty : nats added for each word outside the LM vocabulary (<= 0; 0 turns the check off).
    vocabulary : the LM's words, for the partial-word check (default: ``lm.vocab`` when the LM has one).
    """

    def __init__(
        self,
        lm: WordLM | None,
        alpha: float = 0.5,
        beta: float = 1.0,
        score_eos: bool = True,
        oov_penalty: float = 0.0,
        vocabulary: Iterable[str] | None = None,
    ) -> None:
        if lm is not None and not (hasattr(lm, "score") and hasattr(lm, "order")):
            raise TypeError(f"lm must offer .order and .score(word, context) (an asrlab.lm model); "
                            f"got {type(lm).__name__}")
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha (LM weight) must be a finite number >= 0, got {alpha}")
        if not math.isfinite(beta):
            raise ValueError(f"beta (word bonus) must be finite, got {beta}")
        if not math.isfinite(oov_penalty) or oov_penalty > 0:
            raise ValueError(f"oov_penalty must be a finite number <= 0 (nats per unknown word), got {oov_penalty}")
        if oov_penalty and lm is None:
            raise ValueError("oov_penalty needs an lm: without one every word is out of vocabulary")
        self.lm = lm
        self.oov_penalty = float(oov_penalty)
        words = vocabulary if vocabulary is not None else getattr(lm, "vocab", None)
        # Every prefix of every real word (not <s>, </s>, <unk>): the spellings that can still become a word.
        self._word_prefixes: frozenset[str] | None = None
        if self.oov_penalty and words is not None:
            self._word_prefixes = frozenset(
                w[:i] for w in words if not (w.startswith("<") and w.endswith(">")) for i in range(1, len(w) + 1)
            )
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.score_eos = score_eos
        self._history_len = max(int(lm.order) - 1, 0) if lm is not None else 0
        self._cache: dict[tuple[tuple[str, ...], str], float] = {}

    def _lm_nats(self, word: str, words_before: tuple[str, ...]) -> float:
        """alpha * ln P(word | <s> words_before), memoised."""
        if self.lm is None or self.alpha == 0.0:
            return 0.0
        context = (BOS, *words_before)
        context = context[max(0, len(context) - self._history_len):] if self._history_len else ()
        key = (context, word)
        cached = self._cache.get(key)
        if cached is None:
            cached = self.alpha * LN10 * self.lm.score(word, context)
            self._cache[key] = cached
        return cached

    @property
    def checks_partial_words(self) -> bool:
        """Whether :meth:`partial` can penalise unfinished words."""
        return self._word_prefixes is not None

    def word(self, word: str, words_before: tuple[str, ...]) -> float:
        """Fusion score (nats) for completing ``word`` after ``words_before``."""
        score = self._lm_nats(word, words_before) + self.beta
        if self.oov_penalty and word not in self.lm:  # type: ignore[operator]
            score += self.oov_penalty
        return score

    def partial(self, partial_word: str) -> float:
        """Provisional penalty (nats) for a word still being spelled: ``oov_penalty`` if no word starts so."""
        if self._word_prefixes is None or not partial_word or partial_word in self._word_prefixes:
            return 0.0
        return self.oov_penalty

    def end(self, words: tuple[str, ...]) -> float:
        """Fusion score (nats) for ending the sentence after ``words`` (the last word already scored)."""
        return self._lm_nats(EOS, words) if self.score_eos else 0.0
