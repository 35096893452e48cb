"""Query an ARPA (or KenLM binary) model with the ``kenlm`` package, behind the same :class:`WordLM` API.

``kenlm`` is optional (``pip install kenlm`` compiles C++); :func:`load_lm` uses it when importable and falls
back to the pure-Python :class:`~asrlab.lm.ngram.NGramLM` otherwise. KenLM stores probabilities as float32, so
its scores agree with :class:`NGramLM` read from the same file to about 1e-5.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from asrlab.lm.arpa import ArpaFormatError, read_arpa_vocab
from asrlab.lm.base import BOS, sentence_logprob


def kenlm_available() -> bool:
    """Whether the optional ``kenlm`` package can be imported."""
    try:
        import kenlm  # noqa: F401
    except ImportError:
        return False
    return True


class KenLM:
    """A :class:`~asrlab.lm.base.WordLM` backed by ``kenlm.Model``.

    Parameters
    ----------
    path : ARPA file (plain or gzipped) or KenLM binary.

    Raises
    ------
    ImportError
        If ``kenlm`` is not installed (the message says how to install it or what to use instead).
    FileNotFoundError
        If ``path`` does not exist.
    """

    def __init__(self, path: str | Path) -> None:
        try:
            import kenlm
        except ImportError:
            raise ImportError("KenLM backend needs the 'kenlm' package: pip install kenlm "
                              "(or read the ARPA file with asrlab.lm.read_arpa instead)") from None
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"KenLM: no language model file at {path}")
        self._kenlm = kenlm
        self.model: Any = kenlm.Model(str(path))
        self.order: int = int(self.model.order)
        self.path = path
        self._vocab: frozenset[str] | None = None
        # KenLM state after each context seen so far (truncated to order - 1 words): a query then costs one
        # BaseScore call on the context's cached state instead of one per context word.
        self._states: dict[tuple[str, ...], Any] = {}

    def __contains__(self, word: object) -> bool:
        return word in self.model

    @property
    def vocab(self) -> frozenset[str]:
        """The model's words, read from the ARPA unigram section on first use (empty for KenLM binaries)."""
        if self._vocab is None:
            try:
                self._vocab = read_arpa_vocab(self.path)
            except ArpaFormatError:
                self._vocab = frozenset()
        return self._vocab

    def score(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 P(word | context); ``context`` starting with ``<s>`` conditions on the sentence start."""
        if not isinstance(word, str):
            raise TypeError(f"KenLM.score: word must be a str, got {type(word).__name__}")
        return float(self.model.BaseScore(self.state(context), word, self._kenlm.State()))

    def state(self, context: Sequence[str] = ()) -> Any:
        """The ``kenlm.State`` after ``context`` (``<s>`` first: the sentence start), cached per context.

        Only the last ``order - 1`` words matter (an earlier ``<s>`` is dropped with them, as in
        :meth:`asrlab.lm.NGramLM.score`).
        """
        context = tuple(context)
        bos = bool(context) and context[0] == BOS
        words = context[1:] if bos else context
        words = words[max(0, len(words) - (self.order - 1)):]
        key = ((BOS,) if bos and len(words) == len(context) - 1 else ()) + words
        found = self._states.get(key)
        if found is None:
            if words:
                found = self._kenlm.State()
                self.model.BaseScore(self.state(key[:-1]), words[-1], found)
            else:
                found = self._kenlm.State()
                (self.model.BeginSentenceWrite if key == (BOS,) else self.model.NullContextWrite)(found)
            self._states[key] = found
        return found

    def sentence_logprob(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a sentence; see :func:`asrlab.lm.base.sentence_logprob`."""
        return sentence_logprob(self, sentence, bos=bos, eos=eos)

    def __repr__(self) -> str:
        return f"KenLM(path={str(self.path)!r}, order={self.order})"


__all__ = ["KenLM", "kenlm_available"]
