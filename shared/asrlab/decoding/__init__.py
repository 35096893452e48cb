"""Decoders for CTC and RNN-T models, written against symbol tables and small protocols.

CTC
    :class:`GreedyCTCDecoder` / :func:`ctc_greedy_ids` - best path;
    :class:`PrefixBeamSearchDecoder` - prefix beam search with optional word n-gram LM fusion.
RNN-T
    :func:`rnnt_greedy_search` - batched greedy search (at most ``max_symbols_per_frame`` per frame);
    :func:`rnnt_beam_search` - time-synchronous "modified" beam search (one symbol per frame at most).
Both (:mod:`asrlab.decoding.strategies`, what training and evaluation take)
    :class:`GreedyDecoder`, :class:`BeamDecoder` - decode :class:`CTCOutputs` or :class:`TransducerOutputs`.
"""
from asrlab.decoding.ctc_beam import Hypothesis, PrefixBeamSearchDecoder
from asrlab.decoding.ctc_greedy import GreedyCTCDecoder, ctc_greedy_ids
from asrlab.decoding.inputs import DecodingInputError
from asrlab.decoding.lm_fusion import WordBoundaryScorer
from asrlab.decoding.rnnt_beam import RNNTHypothesis, rnnt_beam_search
from asrlab.decoding.rnnt_greedy import rnnt_greedy_search
from asrlab.decoding.rnnt_protocol import Joiner, Predictor
from asrlab.decoding.strategies import (BeamDecoder, CTCOutputs, Decoder, GreedyDecoder, TransducerOutputs,
                                        make_decoder)

__all__ = [
    "BeamDecoder", "CTCOutputs", "Decoder", "GreedyDecoder", "TransducerOutputs", "make_decoder",
    "DecodingInputError", "GreedyCTCDecoder", "Hypothesis", "Joiner", "Predictor", "PrefixBeamSearchDecoder",
    "RNNTHypothesis", "WordBoundaryScorer", "ctc_greedy_ids", "rnnt_beam_search", "rnnt_greedy_search",
]
