"""asrlab.models: shapes, lengths, padding invariance, predictor step API, weights_only checkpoints."""
from __future__ import annotations

import pytest
import torch

from asrlab.decoding import rnnt_beam_search, rnnt_greedy_search
from asrlab.models import (
    ConvSubsampling, CTCModel, MultiTaskCTC, RNNTModel, load_model, masked_mean, model_from_config, save_model,
)

FEAT_DIM = 16
VOCAB = 29
BLANK = 28


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_ctc(encoder: str = "bilstm", subsampling: int = 1) -> CTCModel:
    torch.manual_seed(0)
    return CTCModel(FEAT_DIM, VOCAB, BLANK, encoder, hidden_dim=24, num_layers=2, dropout=0.0, subsampling=subsampling,
                    conv_channels=4)


@pytest.mark.parametrize("encoder", ["feedforward", "lstm", "bilstm"])
@pytest.mark.parametrize("subsampling", [1, 2, 4])
def test_ctc_model_shapes_and_lengths(encoder: str, subsampling: int) -> None:
    model = tiny_ctc(encoder, subsampling).eval()
    feats, lengths = torch.randn(3, 37, FEAT_DIM), torch.tensor([37, 20, 5])
    log_probs, out_lengths = model(feats, lengths)
    assert log_probs.shape[0] == 3 and log_probs.shape[2] == VOCAB
    assert int(out_lengths.max()) == log_probs.shape[1]  # the longest utterance fills the output
    assert torch.all(out_lengths <= lengths)
    expected = {1: [37, 20, 5], 2: [19, 10, 3], 4: [10, 5, 2]}[subsampling]  # ceil(T / 2) per stage
    assert out_lengths.tolist() == expected
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(()), atol=1e-5)


def test_subsampling_lengths_match_the_convolution() -> None:
    sub = ConvSubsampling(FEAT_DIM, factor=4, channels=2)
    for frames in range(1, 30):
        out, lengths = sub(torch.randn(1, frames, FEAT_DIM), torch.tensor([frames]))
        assert out.shape[1] == int(lengths[0]) and out.shape[2] == sub.output_dim
    with pytest.raises(ValueError, match="subsampling factor"):
        ConvSubsampling(FEAT_DIM, factor=3)


@pytest.mark.parametrize("encoder", ["lstm", "bilstm"])
def test_padding_does_not_change_an_utterance(encoder: str) -> None:
    """Packed sequences: an utterance gets the same outputs alone and inside a longer padded batch."""
    model = tiny_ctc(encoder).eval()
    short = torch.randn(1, 12, FEAT_DIM)
    alone, _ = model(short, torch.tensor([12]))
    batch = torch.zeros(2, 30, FEAT_DIM)
    batch[0, :12] = short[0]
    batch[1] = torch.randn(30, FEAT_DIM)
    padded, _ = model(batch, torch.tensor([12, 30]))
    assert torch.allclose(alone[0], padded[0, :12], atol=1e-5)


def test_wrong_feature_dim_is_named() -> None:
    with pytest.raises(ValueError, match="input_dim"):
        tiny_ctc()(torch.randn(2, 10, FEAT_DIM + 1), torch.tensor([10, 10]))
    with pytest.raises(ValueError, match="blank"):
        CTCModel(FEAT_DIM, VOCAB, blank=VOCAB)
    with pytest.raises(ValueError, match="unknown encoder"):
        CTCModel(FEAT_DIM, VOCAB, BLANK, encoder="gru")


def tiny_rnnt() -> RNNTModel:
    torch.manual_seed(0)
    return RNNTModel(FEAT_DIM, VOCAB, BLANK, encoder_dim=16, encoder_layers=1, predictor_dim=16, predictor_layers=2,
                     joint_dim=12, dropout=0.0, subsampling=2).eval()


def test_rnnt_lattice_shape() -> None:
    model = tiny_rnnt()
    logits, enc_lengths = model(torch.randn(2, 21, FEAT_DIM), torch.tensor([21, 9]), torch.randint(0, BLANK, (2, 4)))
    assert logits.shape == (2, 11, 5, VOCAB)
    assert enc_lengths.tolist() == [11, 5]


def test_predictor_step_matches_teacher_forcing() -> None:
    """Stepping token by token (the decoders' API) gives the same outputs as the training forward."""
    predictor = tiny_rnnt().predictor
    tokens = torch.randint(0, BLANK, (3, 5))
    forced = predictor(tokens)  # (3, 6, D)
    state = predictor.initial_state(3)
    assert all(s.shape[0] == 3 for s in state)  # batch first, as asrlab.decoding requires
    inputs = torch.cat([torch.full((3, 1), BLANK), tokens], dim=1)
    for u in range(6):
        out, state = predictor.step(inputs[:, u], state)
        assert torch.allclose(out, forced[:, u], atol=1e-5)


def test_rnnt_model_works_with_the_decoders() -> None:
    model = tiny_rnnt()
    enc, enc_lengths = model.encoder(torch.randn(2, 16, FEAT_DIM), torch.tensor([16, 7]))
    greedy = rnnt_greedy_search(enc, enc_lengths, model.predictor, model.joiner, blank=model.blank)
    beams = rnnt_beam_search(enc, enc_lengths, model.predictor, model.joiner, blank=model.blank, beam_size=3)
    assert len(greedy) == 2 and len(beams) == 2
    assert all(0 <= t < BLANK for hyp in greedy for t in hyp)
    assert all(len(h.tokens) <= n for hyps, n in zip(beams, enc_lengths.tolist()) for h in hyps)  # <= 1 symbol/frame


def test_masked_mean_ignores_padding() -> None:
    x = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [4.0], [6.0]]])
    assert masked_mean(x, torch.tensor([2, 3])).flatten().tolist() == [2.0, 4.0]


def test_multitask_outputs() -> None:
    torch.manual_seed(0)
    model = MultiTaskCTC(FEAT_DIM, 48, 0, num_task_types=5, num_dialog_acts=7, hidden_dim=8, num_layers=1).eval()
    out = model(torch.randn(3, 10, FEAT_DIM), torch.tensor([10, 6, 3]))
    assert out["log_probs"].shape == (3, 10, 48)
    assert out["task_type"].shape == (3, 5) and out["dialog_acts"].shape == (3, 7) and out["sentiment"].shape == (3, 3)
    assert torch.allclose(out["sentiment"].exp().sum(-1), torch.ones(3), atol=1e-5)
    targets = {"task_type": torch.tensor([0, 4, 2]), "dialog_acts": torch.randint(0, 2, (3, 7)).float(),
               "sentiment": torch.softmax(torch.randn(3, 3), -1)}
    losses = model.heads.losses(out, **targets)
    assert set(losses) == {"task_type", "dialog_acts", "sentiment"} and all(torch.isfinite(v) for v in losses.values())
    # soft-label cross-entropy is minimized (equals the target entropy) when predictions equal the targets
    perfect = {**out, "sentiment": targets["sentiment"].log()}
    entropy = -(targets["sentiment"] * targets["sentiment"].log()).sum(-1).mean()
    assert torch.allclose(model.heads.losses(perfect, **targets)["sentiment"], entropy, atol=1e-6)


@pytest.mark.parametrize("build", [tiny_ctc, tiny_rnnt,
                                   lambda: MultiTaskCTC(FEAT_DIM, 48, 0, 5, 7, hidden_dim=8, num_layers=1)])
def test_checkpoint_round_trip_weights_only(build, tmp_path) -> None:
    model = build().eval()
    path = save_model(model, tmp_path / "model.pt")
    raw = torch.load(path, weights_only=True)  # plain data only
    assert set(raw) == {"config", "state_dict"}
    loaded = load_model(path).eval()
    assert type(loaded) is type(model) and loaded.config == model.config
    assert type(model_from_config(model.config)) is type(model)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    with pytest.raises(ValueError, match="arch"):
        model_from_config({**model.config, "arch": "transformer"})


def test_lstm_encoder_equals_a_packed_bidirectional_lstm() -> None:
    """Reversing within lengths gives exactly what torch's packed BiLSTM computes, weights being equal."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from asrlab.models import LSTMEncoder

    torch.manual_seed(0)
    encoder = LSTMEncoder(FEAT_DIM, 8, num_layers=2, bidirectional=True).eval()
    reference = torch.nn.LSTM(FEAT_DIM, 8, num_layers=2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for layer in range(2):
            for suffix, lstm in (("", encoder.forward_layers[layer]), ("_reverse", encoder.backward_layers[layer])):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(reference, f"{name}_l{layer}{suffix}").copy_(getattr(lstm, f"{name}_l0"))
    x, lengths = torch.randn(3, 11, FEAT_DIM), torch.tensor([11, 4, 7])
    ours, _ = encoder(x, lengths)
    packed, _ = reference(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=11)
    assert torch.allclose(ours, expected, atol=1e-5)  # valid frames equal, padding 0 in both
