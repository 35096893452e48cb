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
        context = list(context)
        state, scratch = self._kenlm.State(), self._kenlm.State()
        if context and context[0] == BOS:
            self.model.BeginSentenceWrite(state)
            context = context[1:]
        else:
            self.model.NullContextWrite(state)
        for w in context[max(0, len(context) - (self.order - 1)):]:
            self.model.BaseScore(state, w, scratch)
            state, scratch = scratch, state
        return float(self.model.BaseScore(state, word, scratch))

    def sentence_logprob(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a sentence; see :func:`asrlab.lm.base.sentence_logprob`."""
        return sentence_logprob(self, sentence, bos=bos, eos=eos)

    def __repr__(self) -> str:
        return f"KenLM(path={str(self.path)!r}, order={self.order})"


__all__ = ["KenLM", "kenlm_available"]
