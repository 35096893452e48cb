"""A back-off n-gram word language model held in plain dictionaries (the content of an ARPA file).

The model stores, for every n-gram ``(w_1, ..., w_n)`` it knows, ``log10 P(w_n | w_1 .. w_{n-1})`` and, for
every n-gram that is itself a context of longer n-grams, a log10 back-off weight. A query backs off from the
longest known context:

    P(w | h) = P_stored(h w)                  if the n-gram h w is stored
             = bow(h) * P(w | h without its oldest word)   otherwise (bow(h) = 1 when h has none)

which is exactly how SRILM and KenLM read an ARPA file. Estimation lives in :mod:`asrlab.lm.kneser_ney`,
the file format in :mod:`asrlab.lm.arpa`.

Example
-------
>>> lm = estimate_kneser_ney(["the cat sat", "the cat ran"], order=2)   # doctest: +SKIP
>>> lm.score("cat", ["<s>", "the"])                                     # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from asrlab.lm.base import BOS, EOS, UNK, sentence_logprob, split_words

NGram = tuple[str, ...]

# What an ARPA reader (KenLM included) gives <unk> when the file does not list it.
MISSING_UNK_LOG10 = -100.0


class NGramLM:
    """A back-off n-gram language model (log10 probabilities, ARPA semantics).

    Parameters
    ----------
    logprobs : ``{ngram: log10 P(last word | earlier words)}`` for every stored n-gram of every order; all
        unigrams must be present (they define the vocabulary).
    backoffs : ``{ngram: log10 back-off weight}`` for the n-grams that are contexts of longer ones; missing
        entries mean a weight of 1 (log10 0.0).

    Raises
    ------
    ValueError
        If there are no unigrams, an n-gram is empty, or an n-gram of order n > 1 has no (n-1)-gram context
        stored (the model would not be a valid back-off model).
    """

    def __init__(self, logprobs: Mapping[NGram, float], backoffs: Mapping[NGram, float] | None = None) -> None:
        self.logprobs: dict[NGram, float] = dict(logprobs)
        self.backoffs: dict[NGram, float] = dict(backoffs or {})
        if any(len(g) == 0 for g in self.logprobs):
            raise ValueError("NGramLM: an n-gram key is the empty tuple; every n-gram needs at least one word")
        self.vocab: frozenset[str] = frozenset(g[0] for g in self.logprobs if len(g) == 1)
        if not self.vocab:
            raise ValueError("NGramLM: no unigrams given; the unigram table defines the vocabulary")
        self.order: int = max(len(g) for g in self.logprobs)
        for g in self.logprobs:
            if len(g) > 1 and g[:-1] not in self.logprobs:
                raise ValueError(
                    f"NGramLM: the {len(g)}-gram {' '.join(g)!r} has no stored context {' '.join(g[:-1])!r}; "
                    "a back-off model must store every prefix of its n-grams"
                )

    # ------------------------------------------------------------------ queries
    def __contains__(self, word: object) -> bool:
        return word in self.vocab

    def _known(self, word: str) -> str:
        return word if word in self.vocab else UNK

    def score(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 P(word | context) with back-off.

        Parameters
        ----------
        word : the predicted word; out-of-vocabulary words are scored as ``<unk>``.
        context : preceding words, oldest first; only the last ``order - 1`` matter. Start it with ``<s>`` to
            condition on the sentence start.

        Returns
        -------
        float
            log10 probability (``-99`` for ``<s>``, which is never predicted).
        """
        if not isinstance(word, str):
            raise TypeError(f"NGramLM.score: word must be a str, got {type(word).__name__}")
        w = self._known(word)
        context = list(context)
        history = tuple(self._known(c) for c in context[max(0, len(context) - (self.order - 1)):])
        penalty = 0.0
        # Longest context first; each time the n-gram is missing, pay the context's back-off weight.
        for start in range(len(history) + 1):
            h = history[start:]
            logp = self.logprobs.get(h + (w,))
            if logp is not None:
                return logp + penalty
            penalty += self.backoffs.get(h, 0.0)
        return MISSING_UNK_LOG10 + penalty  # only reachable for <unk> absent from the unigram table

    def sentence_logprob(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a sentence; see :func:`asrlab.lm.base.sentence_logprob`."""
        return sentence_logprob(self, sentence, bos=bos, eos=eos)

    def perplexity(self, sentences: Sequence[str]) -> float:
        """Per-token perplexity over sentences (each word and each ``</s>`` counts as a token)."""
        total, tokens = 0.0, 0
        for s in sentences:
            words = split_words(s)
            total += self.sentence_logprob(words)
            tokens += len(words) + 1
        if tokens == 0:
            raise ValueError("perplexity: no sentences given")
        return 10.0 ** (-total / tokens)

    def ngram_counts(self) -> list[int]:
        """Number of stored n-grams per order, ``[n_unigrams, n_bigrams, ...]``."""
        counts = [0] * self.order
        for g in self.logprobs:
            counts[len(g) - 1] += 1
        return counts

    def predictable_vocab(self) -> list[str]:
        """The words a distribution sums over: the vocabulary without ``<s>``, sorted."""
        return sorted(w for w in self.vocab if w != BOS)

    # ------------------------------------------------------------------ files
    @classmethod
    def from_arpa(cls, path: str | Path) -> "NGramLM":
        """Read an ARPA file; see :func:`asrlab.lm.arpa.read_arpa`."""
        from asrlab.lm.arpa import read_arpa

        return read_arpa(path)

    def to_arpa(self, path: str | Path) -> Path:
        """Write this model as an ARPA file; see :func:`asrlab.lm.arpa.write_arpa`."""
        from asrlab.lm.arpa import write_arpa

        return write_arpa(self, path)

    def __repr__(self) -> str:
        return f"NGramLM(order={self.order}, ngrams={self.ngram_counts()})"


__all__ = ["NGramLM", "BOS", "EOS", "UNK"]
