"""One decoder protocol: GreedyDecoder and BeamDecoder decode CTC and transducer outputs alike."""
from __future__ import annotations

import pytest
import torch

from asrlab.decoding import (BeamDecoder, CTCOutputs, GreedyDecoder, PrefixBeamSearchDecoder, TransducerOutputs,
                             ctc_greedy_ids, make_decoder, rnnt_beam_search, rnnt_greedy_search)
from asrlab.lm import estimate_kneser_ney
from asrlab.text import CharTokenizer
from test_decoding_rnnt import BLANK as RNNT_BLANK, ENC_DIM, _model

TOK = CharTokenizer()


@pytest.fixture(scope="module")
def ctc_outputs() -> CTCOutputs:
    torch.manual_seed(0)
    log_probs = (3.0 * torch.randn(3, 20, len(TOK))).log_softmax(-1)  # (B, T, C)
    return CTCOutputs(log_probs, torch.tensor([20, 14, 7]))


@pytest.fixture(scope="module")
def transducer_outputs() -> TransducerOutputs:
    predictor, joiner = _model(seed=3)
    torch.manual_seed(1)
    return TransducerOutputs(torch.randn(2, 9, ENC_DIM), torch.tensor([9, 6]), predictor, joiner)


def test_greedy_decodes_both_kinds_like_the_searches(ctc_outputs, transducer_outputs):
    assert GreedyDecoder(TOK.blank)(ctc_outputs) == ctc_greedy_ids(ctc_outputs.scores, ctc_outputs.lengths, TOK.blank)
    t = transducer_outputs
    want = rnnt_greedy_search(t.encoder_out, t.lengths, t.predictor, t.joiner, blank=RNNT_BLANK, max_symbols_per_frame=2)
    assert GreedyDecoder(RNNT_BLANK, max_symbols_per_frame=2)(t) == want


def test_beam_decodes_both_kinds_like_the_searches_lm_fusion_included(ctc_outputs, transducer_outputs):
    lm = estimate_kneser_ney(["the cat sat", "a cat ran"], order=2)
    search = PrefixBeamSearchDecoder(TOK.symbols, blank=TOK.blank, beam_size=5, lm=lm, alpha=0.7, beta=0.5)
    want = [list(n[0].tokens) for n in search.decode_nbest(ctc_outputs.scores, ctc_outputs.lengths)]
    assert BeamDecoder(TOK.blank, TOK.symbols, beam_size=5, lm=lm, alpha=0.7, beta=0.5)(ctc_outputs) == want
    t = transducer_outputs
    nbest = rnnt_beam_search(t.encoder_out, t.lengths, t.predictor, t.joiner, blank=RNNT_BLANK, beam_size=3)
    assert BeamDecoder(RNNT_BLANK, beam_size=3)(t) == [list(h[0].tokens) for h in nbest]


def test_misuse_gets_a_message_that_says_what_to_do(ctc_outputs, transducer_outputs):
    with pytest.raises(ValueError, match="symbols=tokenizer.symbols"):
        BeamDecoder(TOK.blank)(ctc_outputs)
    with pytest.raises(ValueError, match="CTC prefix beam search only"):
        BeamDecoder(RNNT_BLANK, lm=estimate_kneser_ney(["a b"], order=2))(transducer_outputs)
    with pytest.raises(TypeError, match="CTCOutputs or TransducerOutputs"):
        GreedyDecoder(0)((torch.zeros(1, 2, 3), None))
    with pytest.raises(ValueError, match="one of"):
        make_decoder("viterbi", blank=0)


def test_make_decoder_builds_from_a_name_and_passes_objects_through():
    assert make_decoder("greedy", blank=28) == GreedyDecoder(28)
    assert make_decoder("beam", blank=28, symbols=TOK.symbols, beam_size=4) == BeamDecoder(28, tuple(TOK.symbols), 4)
    custom = BeamDecoder(28, tuple(TOK.symbols), 2)
    assert make_decoder(custom, blank=0) is custom
