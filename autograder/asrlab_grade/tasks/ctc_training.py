"""Hidden grading tasks of the ``ctc_training`` assignment (instructor side; never released).

Five tasks, one per graded test cell of ``solutions/ctc_training/ctc_training.ipynb``:

* ``test_normalize`` -- ``normalize_features`` compared with :func:`asrlab.features.utterance_cmvn` on padded
  batches, some with non-zero padding, a length-1 and a length-0 utterance.
* ``test_spec_augment`` -- SpecAugment has no single right answer, so the grader checks the properties of the
  masks over several generator seeds: masked cells hold ``mask_value``, every masked cell belongs to a whole frame
  or a whole band of the valid region, the masked frames (bands) can be covered by ``time_masks``
  (``freq_masks``) spans of at most the allowed width, padding and the input are untouched, the same generator
  state gives the same masks, and the average masked width is close to that of :class:`asrlab.features.SpecAugment`.
* ``test_encoder`` -- ``RecurrentEncoder`` loaded with weights drawn by the grader and compared, on the valid
  frames, with :class:`asrlab.models.LSTMEncoder` holding the same weights (its parameter names are the same);
  the halves are ordered [forward, backward] as the notebook says (the next layer's weights depend on it).
* ``test_model`` -- ``CTCNet`` for every encoder and subsampling factor: output shape, integer output lengths equal to
  :meth:`asrlab.models.ConvSubsampling.output_lengths`, log-probabilities normalized over the classes, and (for one
  convolution stage or none) the same outputs for an utterance in a padded batch and alone.
* ``test_trained_model`` -- the submitted ``ctc_bilstm.pt`` transcribes the hidden test split
  (:func:`asrlab_grade.hidden.librispeech_test`) with the public greedy recipe; WER bands 35 / 40 / 50 / 60 %.

Plausible wrong answers these cases catch are listed in ``autograder/tests/test_ctc_training_assignment.py``.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np

from asrlab_grade.compare import ArrayClose, Verdict
from asrlab_grade.jitcache import LIBROSA_PRELOAD
from asrlab_grade.recipes import ctc_training as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Band, Case, FunctionTask, Limits, TrainingTask, asrlab_metric

N_MELS = 80
# The training cells and every cell that needs the corpus or the trained models: not run while grading.
SKIP_CELLS = ("load_data", "pipeline_figure", "train_models", "evaluate_models", "compare", "baseline", "alignments")


def _array(x: Any) -> Any:
    """The ndarray inside a wire ``Tensorish``, or ``x`` itself."""
    from asrlab_grade.wire import Tensorish

    return x.array if isinstance(x, Tensorish) else x


def padded_batch(rng: np.random.Generator, lengths: List[int], dim: int, scale: float = 1.0, offset: float = 0.0,
                 pad: float = 0.0) -> np.ndarray:
    """(B, max(lengths), dim) float32 features; frames past each length hold ``pad``."""
    feats = (rng.normal(size=(len(lengths), max(max(lengths), 1), dim)) * scale + offset).astype(np.float32)
    for b, n in enumerate(lengths):
        feats[b, n:] = pad
    return feats


# ----------------------------------------------------------------------------- task 1: normalization
NORMALIZE_ADAPTER = source(recipes.normalize_adapter)


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


def normalize_reference(feats, lengths):
    import torch
    from asrlab.features import utterance_cmvn

    return utterance_cmvn(torch.as_tensor(feats), torch.as_tensor(lengths)).numpy()


# ----------------------------------------------------------------------------- task 2: SpecAugment
SPEC_AUGMENT_ADAPTER = source(recipes.spec_augment_adapter)
SEEDS_PER_CASE = 10
REFERENCE_DRAWS = 200  # seeds the reference SpecAugment averages over for the expected mask widths
WIDTH_RATIO = (0.5, 1.5)  # the average masked width may differ this much from the reference's (+- 0.5)


def runs(flags: np.ndarray) -> List[tuple]:
    """(start, end) of the runs of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def spans_needed(flags: np.ndarray, width: int) -> float:
    """Fewest spans of at most ``width`` cells that cover the True cells (inf when width is 0 and some are True)."""
    if width <= 0:
        return 0 if not flags.any() else float("inf")
    return sum(-(-(end - start) // width) for start, end in runs(flags))


def mask_structure(changed: np.ndarray) -> tuple:
    """Split the changed cells of one utterance's valid frames (T_b, F) into whole frames and whole bands.

    Returns (frames (T_b,) bool, bands (F,) bool, stray (T_b, F) bool: changed cells in neither).
    """
    frames = changed.all(axis=1) if changed.shape[1] else np.zeros(changed.shape[0], bool)
    rest = changed[~frames]
    bands = rest.all(axis=0) if rest.shape[0] else np.zeros(changed.shape[1], bool)
    stray = changed & ~frames[:, None] & ~bands[None, :]
    return frames, bands, stray


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


def spec_augment_reference(feats, lengths, settings, seeds):
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


def _plausible(got: float, want: float) -> bool:
    low, high = WIDTH_RATIO
    return low * want - 0.5 <= got <= high * want + 0.5


def check_masks(got, expected) -> Verdict:
    """Properties of the masks spec_augment drew (see the module docstring)."""
    if not isinstance(got, dict) or not {"outputs", "repeatable", "input_unchanged"} <= set(got):
        return Verdict(False, "the results could not be read")
    feats, lengths, s = expected["feats"], expected["lengths"], expected["settings"]
    outputs = _array(got["outputs"])
    if not isinstance(outputs, np.ndarray) or outputs.shape[1:] != feats.shape:
        shape = getattr(outputs, "shape", None)
        return Verdict(False, f"expected a masked copy of shape {list(feats.shape)}, got shape "
                              f"{list(shape[1:]) if shape is not None else '?'}")
    if not got["input_unchanged"]:
        return Verdict(False, "the input tensor was modified in place; return a masked copy")
    if not got["repeatable"]:
        return Verdict(False, "the same generator state gave different masks: draw every random number "
                              "with generator=generator")
    frames = bands = 0.0
    for out in outputs:
        changed = out != feats
        if not np.all(out[changed] == np.float32(s["mask_value"])):
            return Verdict(False, f"changed cells must hold mask_value={s['mask_value']}")
        for b, n in enumerate(lengths.tolist()):
            if changed[b, n:].any():
                return Verdict(False, f"an utterance of length {n} (padded to {feats.shape[1]}) had padded frames "
                                      "masked: time masks must lie inside the utterance and padding stays untouched")
            f, w, stray = mask_structure(changed[b, :n])
            if stray.any():
                return Verdict(False, "some masked cells are neither a whole frame nor a whole band of the "
                                      "utterance's valid frames")
            if spans_needed(f, s["time_width"]) > s["time_masks"]:
                return Verdict(False, f"masked frames {runs(f)} cannot come from {s['time_masks']} time mask(s) of "
                                      f"width <= {s['time_width']}")
            if spans_needed(w, s["freq_width"]) > s["freq_masks"]:
                return Verdict(False, f"masked bands {runs(w)} cannot come from {s['freq_masks']} frequency mask(s) "
                                      f"of width <= {s['freq_width']}")
            frames += f.sum()
            bands += w.sum()
    count = len(outputs) * len(lengths)
    for what, value, want in (("frames", frames / count, expected["frames"]), ("bands", bands / count,
                                                                              expected["bands"])):
        if not _plausible(value, want):
            return Verdict(False, f"on average {value:.1f} {what} per utterance are masked, but masks with widths "
                                  f"drawn uniformly from 0..max width give about {want:.1f}")
    return Verdict(True)


# ----------------------------------------------------------------------------- task 3: the recurrent encoder
ENCODER_ADAPTER = source(recipes.encoder_adapter)


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


def encoder_reference(config, weights, feats, lengths):
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


ENCODER_CLOSE = ArrayClose(rtol=1e-4, atol=1e-5, dtype="kind", container="either")


def check_encoder(got, expected) -> Verdict:
    """Valid frames close to the reference's, with a pointer to the backward direction when only it differs."""
    want = expected["frames"]
    verdict = ENCODER_CLOSE(got, want)
    if verdict.ok or not expected["bidirectional"]:
        return verdict
    arr, hidden = _array(got), expected["hidden"]
    if isinstance(arr, np.ndarray) and arr.shape == want.shape:
        if ENCODER_CLOSE(np.concatenate([arr[:, hidden:], arr[:, :hidden]], axis=1), want).ok:
            return Verdict(False, verdict.message + "; the two halves are swapped: concatenate [forward, backward]")
        if ENCODER_CLOSE(arr[:, :hidden], want[:, :hidden]).ok:
            return Verdict(False, verdict.message + "; the forward direction is right, the backward one is not: it "
                                                    "must start at each utterance's last valid frame and its output "
                                                    "must be reversed back within each length")
    return verdict


# ----------------------------------------------------------------------------- task 4: the model
MODEL_ADAPTER = source(recipes.model_adapter)
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


def model_reference(config, feats, lengths, seed):
    import torch
    from asrlab.models import ConvSubsampling

    conv = ConvSubsampling(config["input_dim"], config["subsampling"], config["conv_channels"])
    out = conv.output_lengths(torch.as_tensor(lengths)).tolist()
    frames = int(conv.output_lengths(torch.tensor([feats.shape[1]]))[0])
    return {"lengths": out, "shape": [len(lengths), frames, 29],
            "padding_invariant": config["subsampling"] in PADDING_INVARIANT_SUBSAMPLING}


CLASSES_CLOSE = ArrayClose(rtol=1e-4, atol=1e-4, dtype="any", container="either")
ALONE_CLOSE = ArrayClose(rtol=1e-4, atol=1e-4, dtype="any", container="either")


def _int_list(x: Any) -> tuple:
    """(list of ints, None) for an integer vector, else (None, a problem)."""
    arr = _array(x)
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        return None, "output lengths must be a (B,) tensor"
    if arr.dtype.kind not in "iu":
        return None, f"output lengths must be an integer tensor, got {arr.dtype} (use torch.div(..., rounding_mode='floor'))"
    return arr.tolist(), None


def check_model(got, expected) -> Verdict:
    if not isinstance(got, dict) or not {"log_probs", "lengths", "direct", "alone"} <= set(got):
        return Verdict(False, "the results could not be read")
    want = expected["lengths"]
    for key, what in (("direct", "output_lengths(lengths)"), ("lengths", "the lengths forward returns")):
        values, problem = _int_list(got[key])
        if problem:
            return Verdict(False, f"{what}: {problem}")
        if values != want:
            return Verdict(False, f"{what} are {values}, expected {want}: apply floor((T + 2p - k) / s) + 1 once per "
                                  "convolution stage, to every utterance's own length")
    log_probs = _array(got["log_probs"])
    if not isinstance(log_probs, np.ndarray) or list(log_probs.shape) != expected["shape"]:
        return Verdict(False, f"log_probs should have shape {expected['shape']} (batch, output frames, classes), "
                              f"got {list(getattr(log_probs, 'shape', []))}")
    for b, n in enumerate(want):
        sums = np.exp(log_probs[b, :n].astype(np.float64)).sum(axis=-1)
        verdict = CLASSES_CLOSE(sums, np.ones(n))
        if not verdict.ok:
            return Verdict(False, "exp(log_probs) must sum to 1 over the classes (the last axis) at every valid "
                                  f"frame: {verdict.message}; apply log_softmax(dim=-1)")
    if expected["padding_invariant"]:
        for b, (n, alone) in enumerate(zip(want, got["alone"])):
            alone = _array(alone)
            if not isinstance(alone, np.ndarray) or alone.shape != (n, log_probs.shape[2]):
                return Verdict(False, f"utterance {b} alone gave shape {list(getattr(alone, 'shape', []))}, expected "
                                      f"{[n, log_probs.shape[2]]}")
            verdict = ALONE_CLOSE(log_probs[b, :n], alone)
            if not verdict.ok:
                return Verdict(False, f"utterance {b} gives other log-probabilities in a padded batch than alone "
                                      f"({verdict.message}): move time next to the batch axis before merging channels "
                                      "and bands, and give the encoder the output lengths")
    return Verdict(True)


# ----------------------------------------------------------------------------- task 5: the trained model
# The public recipe: the same source as the notebook's `evaluate_recipe` cell (a test keeps them equal).
EVALUATE = source(recipes.evaluate, name="evaluate")


def hidden_test_split():
    from asrlab_grade.hidden import librispeech_test

    return librispeech_test("test-clean")


WER_BANDS = (Band(35.0, 1.0), Band(40.0, 0.75), Band(50.0, 0.5), Band(60.0, 0.25))

ASSIGNMENT = Assignment(
    name="ctc_training",
    tasks=(
        FunctionTask(grade_id="test_normalize", call="normalize_features", cases=normalize_cases,
                     reference=normalize_reference, adapter=NORMALIZE_ADAPTER,
                     compare=ArrayClose(rtol=1e-4, atol=1e-4, dtype="kind", container="either"),
                     forbidden=("asrlab.features.utterance_cmvn", "asrlab.features.GlobalCMVN.forward"),
                     timeout_s=20.0, cpu_s=10.0,
                     hint="statistics over the valid frames only (dim=1), population variance, padded frames 0"),
        FunctionTask(grade_id="test_spec_augment", call="spec_augment", cases=spec_augment_cases,
                     reference=spec_augment_reference, adapter=SPEC_AUGMENT_ADAPTER, compare=check_masks,
                     forbidden=("asrlab.features.SpecAugment.forward", "asrlab.features._mask_spans"),
                     timeout_s=30.0, cpu_s=20.0,
                     hint="per utterance: width uniform in 0..max width (time: at most the utterance's length), start "
                          "uniform so that the mask fits; all draws from `generator`"),
        FunctionTask(grade_id="test_encoder", call="RecurrentEncoder", cases=encoder_cases,
                     reference=encoder_reference, adapter=ENCODER_ADAPTER, compare=check_encoder,
                     forbidden=("asrlab.models.encoders.LSTMEncoder.forward", "asrlab.models.encoders.reverse_padded"),
                     timeout_s=30.0, cpu_s=20.0,
                     hint="the backward LSTM reads every utterance reversed within its own length, and its output is "
                          "reversed back before the concatenation [forward, backward]"),
        FunctionTask(grade_id="test_model", call="CTCNet", cases=model_cases, reference=model_reference,
                     adapter=MODEL_ADAPTER, compare=check_model,
                     forbidden=("asrlab.models.subsampling.ConvSubsampling.output_lengths",
                                "asrlab.models.subsampling._stage_length", "asrlab.models.ctc.CTCModel.forward",
                                "asrlab.models.ctc.CTCModel.encode"),
                     timeout_s=60.0, cpu_s=40.0,
                     hint="conv -> (B, T', C*F') with time moved next to the batch -> encoder(x, output lengths) -> "
                          "classifier -> log_softmax(dim=-1)"),
        TrainingTask(grade_id="test_trained_model", checkpoint="ctc_bilstm.pt", model_class="CTCNet",
                     evaluate_source=EVALUATE, test_split=hidden_test_split, metric=asrlab_metric("wer"),
                     metric_name="WER %", bands=WER_BANDS, skip_cells=SKIP_CELLS, timeout_s=300.0, cpu_s=300.0),
    ),
    ci_minutes=5.5,
    limits=Limits(notebook_wall_s=600.0, notebook_cpu_s=600, cell_timeout_s=120.0, memory_mb=4096,
                  disk_mb=256, max_restarts=6),
    preload=LIBROSA_PRELOAD,
)
