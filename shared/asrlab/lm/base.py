"""What a word language model must offer the decoders, and the sentence score built on it.

Every language model in asrlab (the pure-Python :class:`~asrlab.lm.ngram.NGramLM` and the optional
:class:`~asrlab.lm.kenlm_backend.KenLM`) follows the ARPA conventions:

* scores are **log10** probabilities (multiply by ``ln(10)`` to get natural logs);
* the sentence start is the word ``<s>`` (a context only, it is never predicted), the sentence end is ``</s>``
  and every out-of-vocabulary word is scored as ``<unk>``.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"

# ARPA files give <s> this log10 probability: "never predicted" without writing -inf.
ARPA_NEVER_LOG10 = -99.0


@runtime_checkable
class WordLM(Protocol):
    """A word n-gram language model queried one word at a time.

    Attributes
    ----------
    order : the n of the n-gram model; contexts longer than ``order - 1`` words are truncated.
    """

    order: int

    def score(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 P(word | context); ``context`` lists the preceding words, oldest first (put ``<s>`` first to
        condition on the sentence start)."""
        ...

    def __contains__(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary (otherwise it is scored as ``<unk>``)."""
        ...


def split_words(sentence: str | Sequence[str]) -> list[str]:
    """Whitespace-split a sentence, or check an already split one.

    Raises
    ------
    TypeError
        If ``sentence`` is neither a string nor a sequence of strings.
    """
    if isinstance(sentence, str):
        return sentence.split()
    words = list(sentence)
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        raise TypeError(f"sentence must be a string or a list of word strings; got a {type(bad[0]).__name__} in it")
    return words


def sentence_logprob(lm: WordLM, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
    """log10 probability of a whole sentence: the sum of each word's score given all words before it.

    Parameters
    ----------
    lm : any :class:`WordLM`.
    sentence : a whitespace-separated string or a list of words.
    bos : condition the first word on ``<s>``.
    eos : add the score of ``</s>`` after the last word.

    Returns
    -------
    float
        The log10 probability (``sum_i log10 P(w_i | w_<i)``).
    """
    words = split_words(sentence)
    context: list[str] = [BOS] if bos else []
    total = 0.0
    for word in words + ([EOS] if eos else []):
        total += lm.score(word, context)
        context.append(word)
    return total
