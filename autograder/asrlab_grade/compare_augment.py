"""Comparator of SpecAugment results: properties of the masks, as SpecAugment has no single right answer.

The masks a student's ``spec_augment`` drew over several generator seeds must hold ``mask_value``, cover whole
frames or whole bands of each utterance's valid region, fit in the allowed number of spans of at most the
allowed width, leave padding and the input untouched, repeat for the same generator state, and mask on average
about as much as :class:`asrlab.features.SpecAugment` does (the reference computes that average).
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .compare import Verdict, unwrap

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


def _plausible(got: float, want: float) -> bool:
    low, high = WIDTH_RATIO
    return low * want - 0.5 <= got <= high * want + 0.5


def check_masks(got: Any, expected: Dict[str, Any]) -> Verdict:
    """Properties of the masks spec_augment drew (see the module docstring)."""
    if not isinstance(got, dict) or not {"outputs", "repeatable", "input_unchanged"} <= set(got):
        return Verdict(False, "the results could not be read")
    feats, lengths, s = expected["feats"], expected["lengths"], expected["settings"]
    outputs = unwrap(got["outputs"])
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
