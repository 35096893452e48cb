"""One decoder protocol for every model of the course: a decoder turns a batch of model outputs into
token ids per utterance.

Model outputs come in two kinds, and an objective (:mod:`asrlab.train.objectives`) says which its
model gives:

* :class:`CTCOutputs` -- per-frame scores ``(B, T, C)`` and lengths ``(B,)`` (CTC and multi-task models);
* :class:`TransducerOutputs` -- encoder output ``(B, T, D)``, lengths ``(B,)``, and the model's
  predictor and joiner (RNN-T).

Two strategies decode either kind: :class:`GreedyDecoder` (best path / greedy search) and
:class:`BeamDecoder` (prefix beam search with optional word-LM fusion for CTC; modified beam search
for RNN-T). Training and evaluation take a decoder as an object, or its name::

    trainer.evaluate(test_loader, decoder=BeamDecoder(blank=28, symbols=tok.symbols, lm=lm, alpha=0.5))
    trainer.evaluate(test_loader, decoder="beam")                 # make_decoder("beam", ...) from the tokenizer

    ids = GreedyDecoder(blank=28)(CTCOutputs(log_probs, lengths))    # list[list[int]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, Union

import torch

from asrlab.decoding.ctc_beam import DEFAULT_BEAM_SIZE, PrefixBeamSearchDecoder
from asrlab.decoding.ctc_greedy import ctc_greedy_ids
from asrlab.decoding.rnnt_beam import DEFAULT_RNNT_BEAM_SIZE, rnnt_beam_search
from asrlab.decoding.rnnt_greedy import DEFAULT_MAX_SYMBOLS_PER_FRAME, rnnt_greedy_search
from asrlab.decoding.rnnt_protocol import Joiner, Predictor

DECODER_NAMES = ("greedy", "beam")


@dataclass(frozen=True)
class CTCOutputs:
    """What a CTC model gives a decoder: ``scores`` (B, T, C) log-probs (or logits for greedy) and
    ``lengths`` (B,) valid frames."""

    scores: torch.Tensor
    lengths: torch.Tensor | None = None


@dataclass(frozen=True)
class TransducerOutputs:
    """What an RNN-T model gives a decoder: ``encoder_out`` (B, T, D), ``lengths`` (B,), and the
    ``predictor`` / ``joiner`` of :mod:`asrlab.decoding.rnnt_protocol`."""

    encoder_out: torch.Tensor
    lengths: torch.Tensor | None
    predictor: Predictor
    joiner: Joiner


ModelOutputs = Union[CTCOutputs, TransducerOutputs]


class Decoder(Protocol):
    """``decoder(outputs) -> list[list[int]]``: token ids per utterance, best hypothesis."""

    def __call__(self, outputs: ModelOutputs) -> list[list[int]]: ...


def _unknown(decoder: Any, outputs: Any) -> TypeError:
    return TypeError(f"{type(decoder).__name__} decodes CTCOutputs or TransducerOutputs, got "
                     f"{type(outputs).__name__}; an objective's outputs(model, feats, lengths) makes them")


@dataclass(frozen=True)
class GreedyDecoder:
    """Best path for CTC (:func:`~asrlab.decoding.ctc_greedy_ids`); greedy search for RNN-T
    (:func:`~asrlab.decoding.rnnt_greedy_search`, at most ``max_symbols_per_frame`` per frame)."""

    blank: int
    max_symbols_per_frame: int = DEFAULT_MAX_SYMBOLS_PER_FRAME

    def __call__(self, outputs: ModelOutputs) -> list[list[int]]:
        if isinstance(outputs, CTCOutputs):
            return ctc_greedy_ids(outputs.scores.float(), outputs.lengths, self.blank)
        if isinstance(outputs, TransducerOutputs):
            return rnnt_greedy_search(outputs.encoder_out.float(), outputs.lengths, outputs.predictor,
                                      outputs.joiner, blank=self.blank,
                                      max_symbols_per_frame=self.max_symbols_per_frame)
        raise _unknown(self, outputs)


@dataclass(frozen=True)
class BeamDecoder:
    """Beam search: CTC prefix beam search (:class:`~asrlab.decoding.PrefixBeamSearchDecoder`, word-LM
    fusion with ``lm``, ``alpha``, ``beta``; needs ``symbols``) or RNN-T modified beam search
    (:func:`~asrlab.decoding.rnnt_beam_search`; no LM).

    ``beam_size=None`` takes each search's own default (16 for CTC, 4 for RNN-T).
    """

    blank: int
    symbols: Sequence[str] = ()
    beam_size: int | None = None
    lm: Any = None
    alpha: float = 0.5
    beta: float = 1.0

    def __call__(self, outputs: ModelOutputs) -> list[list[int]]:
        if isinstance(outputs, CTCOutputs):
            if not self.symbols:
                raise ValueError("BeamDecoder needs the symbol table for CTC prefix beam search: "
                                 "BeamDecoder(blank, symbols=tokenizer.symbols)")
            search = PrefixBeamSearchDecoder(list(self.symbols), blank=self.blank, lm=self.lm, alpha=self.alpha,
                                             beta=self.beta, beam_size=self.beam_size or DEFAULT_BEAM_SIZE)
            return [list(nbest[0].tokens) for nbest in search.decode_nbest(outputs.scores.float(), outputs.lengths)]
        if isinstance(outputs, TransducerOutputs):
            if self.lm is not None:
                raise ValueError("LM fusion is implemented for CTC prefix beam search only; "
                                 "decode the transducer with BeamDecoder(blank, beam_size=...) and no lm")
            nbest = rnnt_beam_search(outputs.encoder_out.float(), outputs.lengths, outputs.predictor, outputs.joiner,
                                     blank=self.blank, beam_size=self.beam_size or DEFAULT_RNNT_BEAM_SIZE)
            return [list(hyps[0].tokens) for hyps in nbest]
        raise _unknown(self, outputs)


def make_decoder(decoder: Union[str, Decoder], blank: int, symbols: Sequence[str] = (),
                 beam_size: int | None = None) -> Decoder:
    """A decoder object from a name (``"greedy"``, ``"beam"``) and the tokenizer's ``blank`` and
    ``symbols``; a decoder object is returned as it is."""
    if not isinstance(decoder, str):
        if not callable(decoder):
            raise TypeError(f"a decoder is a name {DECODER_NAMES} or a callable decoder(outputs), got {decoder!r}")
        return decoder
    if decoder == "greedy":
        return GreedyDecoder(blank)
    if decoder == "beam":
        return BeamDecoder(blank, symbols=tuple(symbols), beam_size=beam_size)
    raise ValueError(f"decoding method must be one of {DECODER_NAMES} or a decoder object, got {decoder!r}")
