"""Hidden inputs and references of the ``ctc_training`` assignment's tasks (see ``tasks/ctc_training.py``).

Padded feature batches (non-zero padding, one-frame and empty utterances), SpecAugment settings with generator
seeds, recurrent-encoder weights, and ``CTCNet`` configurations for every encoder and subsampling factor.
"""
from __future__ import annotations

from typing import List

import numpy as np

from asrlab_grade.cases.common import padded_batch
from asrlab_grade.compare_augment import mask_structure
from asrlab_grade.task import Case

N_MELS = 80


# ----------------------------------------------------------------------------- normalization
def normalize_cases(rng: np.random.Generator) -> List[Case]:
    public = Case((padded_batch(np.random.default_rng(0), [7, 4], 3, 4.0, 10.0), np.array([7, 4])),
                  name="feats (2, 7, 3), lengths [7, 4], zero padding", hidden=False)
    specs = [  # (lengths, bands, scale, offset, padding value)
        ([50, 31, 12, 44], N_MELS, 3.0, -5.0, 0.0),
        ([20, 9, 15], 10, 2.0, 4.0, 100.0),            # padding that is not zero
        ([12, 1, 7, 12, 3], 6, 1.5, -2.0, -23.0),       # a one-frame utterance: variance 0
        ([16, 16, 16], 8, 1.0, 0.0, 0.0),              # no padding at all
        ([9, 0, 5], 4, 2.0, 1.0, 7.0),                 # an empty utterance
    ]
    cases = [public]
    for lengths, dim, scale, offset, pad in specs:
        cases.append(Case((padded_batch(rng, lengths, dim, scale, offset, pad), np.array(lengths, dtype=np.int64))))
    return cases


# ----------------------------------------------------------------------------- SpecAugment
SEEDS_PER_CASE = 10
REFERENCE_DRAWS = 200  # seeds the reference SpecAugment averages over for the expected mask widths


def spec_augment_cases(rng: np.random.Generator) -> List[Case]:
    def case(lengths, dim, settings, **kw):
        feats = padded_batch(rng, lengths, dim)
        seeds = rng.integers(0, 2**31, size=SEEDS_PER_CASE).tolist()
        return Case((feats, np.array(lengths, dtype=np.int64), settings, seeds), **kw)

    public_rng = np.random.default_rng(1)
    public = Case((padded_batch(public_rng, [30, 18], 20), np.array([30, 18]),
                   dict(freq_masks=2, freq_width=5, time_masks=2, time_width=6, mask_value=0.0), list(range(10))),
                  name="feats (2, 30, 20), lengths [30, 18], 2 x 5 bands, 2 x 6 frames", hidden=False)
    return [
        public,
        case([60, 41, 17, 55], 40, dict(freq_masks=2, freq_width=8, time_masks=2, time_width=10, mask_value=0.0)),
        case([80, 64, 80], N_MELS, dict(freq_masks=1, freq_width=27, time_masks=3, time_width=15, mask_value=-1.5)),
        case([50, 22, 35], 30, dict(freq_masks=0, freq_width=10, time_masks=2, time_width=12, mask_value=0.0)),
        case([45, 45, 30], 24, dict(freq_masks=3, freq_width=4, time_masks=0, time_width=12, mask_value=2.0)),
        case([40, 3, 5, 26], 16, dict(freq_masks=1, freq_width=5, time_masks=2, time_width=20, mask_value=0.0)),
    ]


def spec_augment_reference(feats: np.ndarray, lengths: np.ndarray, settings: dict, seeds: List[int]) -> dict:
    """The case itself plus the average masked frames and bands per utterance of asrlab's SpecAugment."""
    import torch
    from asrlab.features import SpecAugment

    augment = SpecAugment(settings["freq_masks"], settings["freq_width"], settings["time_masks"],
                          settings["time_width"], mask_value=settings["mask_value"]).train()
    x, lens = torch.as_tensor(feats), torch.as_tensor(lengths)
    frames = bands = 0.0
    for seed in range(REFERENCE_DRAWS):
        changed = (augment(x, lens, generator=torch.Generator().manual_seed(seed)) != x).numpy()
        for b, n in enumerate(lens.tolist()):
            f, w, _ = mask_structure(changed[b, :n])
            frames += f.sum()
            bands += w.sum()
    count = REFERENCE_DRAWS * len(lens)
    return {"feats": np.asarray(feats), "lengths": np.asarray(lengths), "settings": dict(settings),
            "frames": frames / count, "bands": bands / count}


# ----------------------------------------------------------------------------- the recurrent encoder
def lstm_weights(rng: np.random.Generator, input_dim: int, hidden: int, num_layers: int, bidirectional: bool) -> dict:
    """State dict of a RecurrentEncoder (= asrlab LSTMEncoder) as float32 arrays."""
    directions = 2 if bidirectional else 1
    weights = {}
    for prefix in ("forward_layers", "backward_layers")[:directions]:
        for i in range(num_layers):
            size = input_dim if i == 0 else directions * hidden
            for name, shape in (("weight_ih_l0", (4 * hidden, size)), ("weight_hh_l0", (4 * hidden, hidden)),
                                ("bias_ih_l0", (4 * hidden,)), ("bias_hh_l0", (4 * hidden,))):
                weights[f"{prefix}.{i}.{name}"] = rng.uniform(-0.6, 0.6, size=shape).astype(np.float32)
    return weights


def encoder_cases(rng: np.random.Generator) -> List[Case]:
    def case(dim, units, layers, bidirectional, lengths, case_rng=rng, **kw):
        config = dict(input_dim=dim, hidden_dim=units, num_layers=layers, bidirectional=bidirectional, dropout=0.0)
        feats = padded_batch(case_rng, lengths, dim)
        return Case((config, lstm_weights(case_rng, dim, units, layers, bidirectional), feats,
                     np.array(lengths, dtype=np.int64)), **kw)

    cases = [case(5, 4, 2, True, [11, 6, 8], case_rng=np.random.default_rng(2), hidden=False,
                  name="RecurrentEncoder(5, 4, num_layers=2, bidirectional=True), lengths [11, 6, 8]")]
    for dim, units, layers, bidirectional, lengths in [
        (6, 5, 1, True, [9, 3, 9, 1]),
        (4, 3, 2, False, [12, 5, 8]),
        (8, 6, 2, True, [20, 13, 7, 16, 2]),
        (3, 4, 3, True, [15, 10]),
        (5, 5, 1, True, [10]),                       # one utterance, no padding
        (7, 4, 2, True, [9, 9, 9]),                  # equal lengths
        (6, 4, 2, False, [14, 3, 9]),
    ]:
        cases.append(case(dim, units, layers, bidirectional, lengths))
    return cases


def encoder_reference(config: dict, weights: dict, feats: np.ndarray, lengths: np.ndarray) -> dict:
    import torch
    from asrlab.models import LSTMEncoder

    encoder = LSTMEncoder(config["input_dim"], config["hidden_dim"], config["num_layers"],
                          bidirectional=config["bidirectional"], dropout=0.0)
    encoder.load_state_dict({name: torch.as_tensor(w) for name, w in weights.items()})
    encoder.eval()
    with torch.no_grad():
        out, _ = encoder(torch.as_tensor(feats), torch.as_tensor(lengths))
    frames = torch.cat([out[b, :int(n)] for b, n in enumerate(lengths)]).numpy()
    return {"frames": frames, "bidirectional": bool(config["bidirectional"]), "hidden": int(config["hidden_dim"])}


# ----------------------------------------------------------------------------- the model
# One stage or none: an utterance gives the same outputs alone and in a zero-padded batch. Two stages do not
# (the second stage reads the first one's output at the first padded frame), so those cases skip that check.
PADDING_INVARIANT_SUBSAMPLING = (1, 2)


def model_cases(rng: np.random.Generator) -> List[Case]:
    def case(encoder, subsampling, lengths, dim=N_MELS, layers=2, case_rng=rng, **kw):
        config = dict(input_dim=dim, encoder=encoder, hidden_dim=12, num_layers=layers, dropout=0.1,
                      subsampling=subsampling, conv_channels=4)
        return Case((config, padded_batch(case_rng, lengths, dim), np.array(lengths, dtype=np.int64),
                     int(case_rng.integers(1 << 30))), **kw)

    cases = [case("bilstm", 2, [37, 20, 33, 9], case_rng=np.random.default_rng(3), hidden=False,
                  name="CTCNet(encoder='bilstm', subsampling=2), lengths [37, 20, 33, 9]")]
    for encoder, subsampling, lengths, dim, layers in [
        ("feedforward", 2, [41, 16, 29], N_MELS, 3),
        ("lstm", 2, [35, 34, 7, 22], N_MELS, 2),
        ("bilstm", 2, [24, 11, 1, 17, 24], 40, 2),
        ("bilstm", 4, [53, 30, 18, 47], N_MELS, 2),
        ("feedforward", 4, [26, 13, 9], 40, 2),
        ("lstm", 1, [19, 6, 12], 40, 1),
        ("bilstm", 1, [15, 8, 13], 24, 2),
    ]:
        cases.append(case(encoder, subsampling, lengths, dim, layers))
    return cases


def model_reference(config: dict, feats: np.ndarray, lengths: np.ndarray, seed: int) -> dict:
    import torch
    from asrlab.models import ConvSubsampling

    conv = ConvSubsampling(config["input_dim"], config["subsampling"], config["conv_channels"])
    out = conv.output_lengths(torch.as_tensor(lengths)).tolist()
    frames = int(conv.output_lengths(torch.tensor([feats.shape[1]]))[0])
    return {"lengths": out, "shape": [len(lengths), frames, 29],
            "padding_invariant": config["subsampling"] in PADDING_INVARIANT_SUBSAMPLING}
