"""CTC prefix beam search with optional word n-gram LM fusion (Hannun et al., 2014, "first-pass LVCSR").

For every output prefix ``l`` (a token-id tuple, blanks removed) the search keeps two exact log-probabilities
over the frames seen so far:

* ``p_b(l)``  - all alignments of ``l`` whose last frame is blank,
* ``p_nb(l)`` - all alignments of ``l`` whose last frame emits the last token of ``l``.

Frame t with log-probabilities ``y`` updates them, for each kept prefix and each kept token ``c``::

    c == blank           : p_b(l)     += (p_b(l) + p_nb(l)) * y[blank]
    c == last token of l : p_nb(l)    += p_nb(l) * y[c]     (the repeat collapses into l)
                           p_nb(l + c) += p_b(l) * y[c]     (a blank separated the repeat: new token)
    otherwise            : p_nb(l + c) += (p_b(l) + p_nb(l)) * y[c]

(products and sums in the log domain). The LM never touches ``p_b``/``p_nb``: a prefix's rank is
``log(p_b + p_nb) + fusion(l)``, where ``fusion`` is the :class:`WordBoundaryScorer` total of the words the
prefix has completed (a word completes when a space follows a non-space symbol; the final word and ``</s>`` are
scored once the utterance ends), plus the provisional out-of-vocabulary penalty of the word being spelled
when ``oov_penalty`` is set. Keeping the two apart means prefixes that merge always add exact acoustic
probabilities.

Pruning
-------
* per frame: only tokens with probability >= ``prune_threshold`` and among the ``top_k`` most likely
  (the frame's most likely token is always kept);
* per step: the ``beam_size`` best prefixes survive (and, with ``beam_threshold``, only those within that
  many nats of the best).

Determinism
-----------
Prefixes are processed in rank order and tokens in ascending id order. Ranking sorts by score, highest first;
exact ties go to the token-id tuple that is smaller in Python's tuple order (lexicographic, a prefix of another
sequence first). The n-best list follows the same rule, so outputs are reproducible bit for bit.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import torch

from asrlab.decoding.inputs import (
    DecodingInputError,
    check_batch,
    check_log_probs,
    check_symbols,
    to_numpy_scores,
)
from asrlab.decoding.lm_fusion import WordBoundaryScorer
from asrlab.lm.base import WordLM

NEG_INF = float("-inf")
DEFAULT_BEAM_SIZE = 16
DEFAULT_PRUNE_THRESHOLD = 1e-3  # tokens below this per-frame probability are not tried


def _logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for Python floats, exact at -inf."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


@dataclass(frozen=True)
class Hypothesis:
    """One entry of an n-best list.

    Attributes
    ----------
    tokens : token ids of the transcript (no blanks).
    text : the joined symbols.
    score : ``acoustic_score + lm_score``, what the list is sorted by.
    acoustic_score : natural-log CTC probability of the prefix, ``log(p_b + p_nb)`` (summed over the
        alignments the search kept).
    lm_score : fusion part in nats: ``alpha * ln P_LM(words, </s>) + beta * n_words
        + oov_penalty * n_unknown_words``.
    """

    tokens: tuple[int, ...]
    text: str
    score: float
    acoustic_score: float
    lm_score: float


class _Words(NamedTuple):
    """Word-level view of a prefix: finished words, the word being spelled, their fusion score and the
    provisional penalty of the unfinished word (ranking uses ``fusion + pending``)."""

    done: tuple[str, ...]
    partial: str
    fusion: float
    pending: float = 0.0


class PrefixBeamSearchDecoder:
    """CTC prefix beam search with optional LM shallow fusion at word boundaries.

    Parameters
    ----------
    symbols : the string of every output index, e.g. ``["'", " ", "a", ..., "z", "_"]``.
    blank : index of the blank (default: the last symbol).
    space : index of the word separator (default: the index of ``" "`` if present). Needed with an LM.
    beam_size : prefixes kept after every frame.
    lm : word LM (:func:`asrlab.lm.load_lm`, :class:`asrlab.lm.NGramLM`) or ``None``.
    alpha : LM weight (used only with an ``lm``).
    beta : word-insertion bonus in nats per word (used only with an ``lm``; without one the search ranks
        prefixes by their CTC probability alone).
    prune_threshold : skip tokens whose probability in a frame is below this (``None``/0: keep all).
    top_k : try at most this many tokens per frame (``None``: no limit).
    nbest : how many hypotheses :meth:`search` returns (default ``beam_size``).
    score_eos : add the LM score of ``</s>`` at the end.
    beam_threshold : also drop prefixes scoring more than this many nats below the best one (``None``: off).
        Confident stretches then run with a handful of prefixes instead of ``beam_size``.
    oov_penalty : nats (<= 0) for every word outside the LM vocabulary, applied provisionally while such a
        word is being spelled; see :mod:`asrlab.decoding.lm_fusion`. 0 (default) turns it off.

    Examples
    --------
    >>> decoder = PrefixBeamSearchDecoder(symbols, beam_size=16, lm=load_lm("lm.arpa"), alpha=0.5, beta=1.0)
    >>> decoder(log_probs, lengths)          # (B, T, C), (B,) -> best transcripts      # doctest: +SKIP
    >>> decoder.search(log_probs[0, :n])     # (T, C) -> n-best list of Hypothesis      # doctest: +SKIP
    """

    def __init__(
        self,
        symbols: Sequence[str],
        blank: int | None = None,
        space: int | None = None,
        beam_size: int = DEFAULT_BEAM_SIZE,
        lm: WordLM | None = None,
        alpha: float = 0.5,
        beta: float = 1.0,
        prune_threshold: float | None = DEFAULT_PRUNE_THRESHOLD,
        top_k: int | None = None,
        nbest: int | None = None,
        score_eos: bool = True,
        oov_penalty: float = 0.0,
        beam_threshold: float | None = None,
    ) -> None:
        blank = len(symbols) - 1 if blank is None else blank
        if space is None and " " in symbols:
            space = list(symbols).index(" ")
        self.symbols = check_symbols(symbols, blank, space)
        self.blank, self.space = int(blank), (None if space is None else int(space))
        if not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        if prune_threshold is not None and not 0.0 <= prune_threshold < 1.0:
            raise ValueError(f"prune_threshold is a probability in [0, 1), got {prune_threshold!r}")
        if self.space is None and lm is not None:
            raise DecodingInputError("an LM needs word boundaries: pass space=<index of ' '> "
                                     "(no ' ' found in symbols)")
        if nbest is not None and (not isinstance(nbest, int) or nbest < 1):
            raise ValueError(f"nbest must be a positive int or None, got {nbest!r}")
        if beam_threshold is not None and not beam_threshold > 0:
            raise ValueError(f"beam_threshold is a positive number of nats or None, got {beam_threshold!r}")
        self.beam_size = beam_size
        self.beam_threshold = beam_threshold
        self.nbest = beam_size if nbest is None else int(nbest)
        self.top_k = top_k
        self.log_prune = math.log(prune_threshold) if prune_threshold else NEG_INF
        self.fusion = WordBoundaryScorer(lm, alpha=alpha, beta=beta if lm is not None else 0.0,
                                         score_eos=score_eos, oov_penalty=oov_penalty)

    # ------------------------------------------------------------------ batch API
    def decode_nbest(
        self, log_probs: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray | Sequence[int] | None = None
    ) -> list[list[Hypothesis]]:
        """Search every utterance of a batch.

        Parameters
        ----------
        log_probs : (B, T, C) log-softmax outputs (or (T, C)).
        lengths : (B,) valid frames per utterance (``None``: all T).

        Returns
        -------
        list[list[Hypothesis]]
            B n-best lists, best first.
        """
        scores, lens = check_batch(to_numpy_scores(log_probs), lengths, len(self.symbols))
        check_log_probs(scores, lens)
        return [self._search(scores[b, :length]) for b, length in enumerate(lens)]

    def decode(
        self, log_probs: torch.Tensor | np.ndarray, lengths: torch.Tensor | np.ndarray | Sequence[int] | None = None
    ) -> list[str]:
        """(B, T, C) log-probs and (B,) lengths -> the B best transcripts."""
        return [nbest[0].text for nbest in self.decode_nbest(log_probs, lengths)]

    __call__ = decode

    def search(self, log_probs: torch.Tensor | np.ndarray) -> list[Hypothesis]:
        """n-best list for one utterance of (T, C) log-probabilities, best first."""
        scores = to_numpy_scores(log_probs)
        if scores.ndim != 2:
            raise DecodingInputError(f"search() takes one utterance shaped (T, C), got {tuple(scores.shape)}; "
                                     "use decode_nbest() for a (B, T, C) batch")
        return self.decode_nbest(scores)[0]

    # ------------------------------------------------------------------ the algorithm
    def _all_frame_tokens(self, log_probs: np.ndarray) -> list[list[int]]:
        """:meth:`_frame_tokens` of every frame of (T, C) log-probabilities (vectorised without ``top_k``)."""
        if self.top_k is not None and self.top_k < log_probs.shape[1]:
            return [self._frame_tokens(frame) for frame in log_probs]
        kept = log_probs >= self.log_prune  # (T, C)
        empty = np.flatnonzero(~kept.any(axis=1))
        kept[empty, log_probs[empty].argmax(axis=1)] = True  # nothing above the threshold: the best only
        frames, ids = np.nonzero(kept)  # row-major: frames ascending, ids ascending within a frame
        ends = np.cumsum(np.bincount(frames, minlength=log_probs.shape[0])).tolist()
        ids_list = ids.tolist()
        return [ids_list[start:end] for start, end in zip([0] + ends[:-1], ends)]

    def _frame_tokens(self, frame: np.ndarray) -> list[int]:
        """Ids worth trying in this frame (C,), ascending: top-k and above the threshold, best always kept."""
        if self.top_k is not None and self.top_k < frame.shape[0]:
            candidates = np.argpartition(-frame, self.top_k - 1)[: self.top_k]
        else:
            candidates = np.arange(frame.shape[0])
        kept = candidates[frame[candidates] >= self.log_prune]
        if kept.size == 0:
            kept = np.array([int(frame.argmax())])
        return sorted(kept.tolist())

    def _extend_words(self, words: _Words, token: int) -> _Words:
        """Word-level view after appending ``token``; scores a word when a space completes it."""
        if token == self.space:
            if not words.partial:  # leading or doubled space: no new word
                return _Words(words.done, "", words.fusion)
            return _Words(words.done + (words.partial,), "",
                          words.fusion + self.fusion.word(words.partial, words.done))
        partial = words.partial + self.symbols[token]
        return _Words(words.done, partial, words.fusion, self.fusion.partial(partial))

    def _search(self, log_probs: np.ndarray) -> list[Hypothesis]:
        """Prefix beam search over (T, C) log-probabilities."""
        blank, logaddexp = self.blank, _logaddexp
        tree = _PrefixTree(len(self.symbols), _Words((), "", 0.0))
        children, last_token, num_symbols = tree.children, tree.last_token, len(self.symbols)
        # prefix -> [log p_b, log p_nb]; the empty prefix starts with all its mass on "blank so far". A prefix
        # is a node id >= 0, or ~(parent * C + token) < 0 for an extension not in the tree yet (most
        # extensions never survive a step, so nodes are only made for survivors).
        beam: list[tuple[int, list[float]]] = [(_PrefixTree.ROOT, [0.0, NEG_INF])]

        for tokens, row in zip(self._all_frame_tokens(log_probs), log_probs.tolist()):  # per frame: ids, (C,) scores
            nxt: dict[int, list[float]] = {}
            for prefix, (p_b, p_nb) in beam:
                p_total = logaddexp(p_b, p_nb)
                last = last_token[prefix]
                for c in tokens:
                    p = row[c]
                    if c == blank:
                        entry = nxt.get(prefix)
                        if entry is None:
                            nxt[prefix] = [p_total + p, NEG_INF]
                        else:
                            entry[0] = logaddexp(entry[0], p_total + p)
                        continue
                    key = prefix * num_symbols + c
                    extended = children.get(key, ~key)
                    # a repeated symbol only starts a new token after a blank; otherwise it extends l itself
                    gain = p_b + p if c == last else p_total + p
                    entry = nxt.get(extended)
                    if entry is None:
                        nxt[extended] = [NEG_INF, gain]
                    else:
                        entry[1] = logaddexp(entry[1], gain)
                    if c == last:
                        same = nxt.get(prefix)
                        if same is None:
                            nxt[prefix] = [NEG_INF, p_nb + p]
                        else:
                            same[1] = logaddexp(same[1], p_nb + p)
            beam = self._best(nxt, tree)

        finals = []
        for prefix, (p_b, p_nb) in beam:
            acoustic = _logaddexp(p_b, p_nb)
            w = tree.words[prefix]
            fused, done = w.fusion, w.done
            if w.partial:
                fused += self.fusion.word(w.partial, done)
                done = done + (w.partial,)
            fused += self.fusion.end(done)
            tokens = tree.tokens(prefix)
            finals.append(Hypothesis(tokens, "".join(self.symbols[i] for i in tokens), acoustic + fused, acoustic,
                                     fused))
        finals.sort(key=lambda h: (-h.score, h.tokens))
        return finals[: self.nbest]

    def _best(self, candidates: dict[int, list[float]], tree: "_PrefixTree") -> list[tuple[int, list[float]]]:
        """The ``beam_size`` best prefixes by acoustic + fusion score; ties -> smaller token tuple first.

        Prefixes with zero probability (a repeat with no blank in between yet) are dropped. The word view
        of a new prefix is only built when the prefix survives or ends a word (otherwise its score is its
        parent's fusion plus the partial word's penalty), which keeps the inner loop cheap.
        """
        scored = []
        words, extend, num_symbols = tree.words, self._extend_words, tree.num_symbols
        space, symbols = self.space, self.symbols
        partial_penalty = self.fusion.partial if self.fusion.checks_partial_words else None
        word_ends: dict[int, _Words] = {}  # views of new prefixes that end a word (scored once)
        for prefix, probs in candidates.items():
            total = _logaddexp(probs[0], probs[1])
            if total == NEG_INF:
                continue
            if prefix >= 0:
                w = words[prefix]
                score = total + w.fusion + w.pending
            else:
                parent_node, token = divmod(~prefix, num_symbols)
                parent = words[parent_node]
                if token == space:  # a word may end here: score it (memoised) and keep the view
                    w = word_ends[prefix] = extend(parent, space)
                    score = total + w.fusion
                else:  # same finished words as the parent; only the partial word's penalty can change
                    score = total + parent.fusion
                    if partial_penalty is not None:
                        score += partial_penalty(parent.partial + symbols[token])
            scored.append((-score, prefix))
        if len({item[0] for item in scored}) < len(scored):  # exact ties: order them by token tuple
            survivors = heapq.nsmallest(self.beam_size, scored, key=lambda item: (item[0], tree.tokens(item[1])))
        else:
            survivors = heapq.nsmallest(self.beam_size, scored)
        if self.beam_threshold is not None and survivors:
            cutoff = survivors[0][0] + self.beam_threshold  # scores are negated: larger = worse
            survivors = [item for item in survivors if item[0] <= cutoff]
        beam = []
        for _, prefix in survivors:
            probs = candidates[prefix]
            if prefix < 0:
                parent_node, token = divmod(~prefix, num_symbols)
                w = word_ends.get(prefix) or extend(words[parent_node], token)
                prefix = tree.add_child(parent_node, token, w)
            beam.append((prefix, probs))
        return beam


class _PrefixTree:
    """Every prefix the search creates, as a node id: children by (node, token), word views memoised.

    Extending or looking up a prefix is then O(1) (a tuple key would be copied and re-hashed, O(length),
    at every step); the token tuple of a node is built only for ties and the final n-best list.
    """

    ROOT = 0

    def __init__(self, num_symbols: int, root_words: _Words) -> None:
        self.num_symbols = num_symbols
        self.parent: list[int] = [-1]
        self.last_token: list[int | None] = [None]
        self.words: list[_Words] = [root_words]
        self.children: dict[int, int] = {}  # node * num_symbols + token -> child node

    def add_child(self, node: int, token: int, words: _Words) -> int:
        """Create the node of prefix ``node + (token,)`` with its word view; returns its id."""
        found = self.children[node * self.num_symbols + token] = len(self.parent)
        self.parent.append(node)
        self.last_token.append(token)
        self.words.append(words)
        return found

    def tokens(self, node: int) -> tuple[int, ...]:
        """The token ids of prefix ``node`` (or of a not yet created extension ``~(parent * C + token)``)."""
        if node < 0:
            parent, token = divmod(~node, self.num_symbols)
            return self.tokens(parent) + (token,)
        out = []
        while node != self.ROOT:
            out.append(self.last_token[node])
            node = self.parent[node]
        return tuple(reversed(out))
