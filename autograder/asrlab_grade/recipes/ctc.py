"""Recipes of the ``ctc`` assignment: adapters and evaluation code run in the sandbox.

See :mod:`asrlab_grade.recipes`; the tasks are in ``asrlab_grade/tasks/ctc.py``.
"""
from __future__ import annotations


def greedy_adapter(greedy_decode, log_probs, blank):
    ids = greedy_decode(log_probs, blank=blank)
    if hasattr(ids, "tolist"):          # a numpy array or a tensor of ids is fine too
        ids = ids.tolist()
    return [int(i) for i in ids]


def beam_adapter(prefix_beam_search, log_probs, lm_text, lm_order, beam_size, alpha, beta, min_prob):
    from asrlab.lm import estimate_kneser_ney
    lm = estimate_kneser_ney(lm_text, order=lm_order)
    return prefix_beam_search(log_probs, lm, beam_size=beam_size, alpha=alpha, beta=beta, min_prob=min_prob)
