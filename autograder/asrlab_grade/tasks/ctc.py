"""Hidden grading tasks of the ``ctc`` assignment (instructor side; never released).

Five function tasks, one per graded test cell of ``solutions/ctc/ctc.ipynb``:

* ``test_ctc_forward`` / ``test_ctc_backward`` / ``test_soft_alignment`` -- compared with
  :mod:`asrlab.ctc.reference` on random trellises drawn from the run's secret seed: many
  with repeated labels (the skip rule), peaky posteriors (log domain needed), the tightest
  possible length ``T = min_frames`` and too few frames (``-inf`` everywhere at the end).
* ``test_greedy`` -- compared exactly with :func:`asrlab.decoding.ctc_greedy_ids`; the
  inputs have long runs of repeated frames and repeats separated by a blank.
* ``test_beam_search`` -- the best transcript compared exactly with
  :class:`asrlab.decoding.PrefixBeamSearchDecoder` on fixed inputs (simulated posteriors of
  fixed sentences in which the LM changes the answer); the word LM is estimated in the
  sandbox by the public adapter from plain text the grader sends.

Hidden inputs and the references that are more than a library call: ``asrlab_grade/cases/ctc.py``;
the plausible wrong answers these cases catch: ``autograder/tests/test_ctc_assignment.py``.
"""
from __future__ import annotations

from asrlab_grade.cases import ctc as cases
from asrlab_grade.compare import ArrayClose, Exact, LogArrayClose
from asrlab_grade.recipes import ctc as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, FunctionTask, Limits, library

TRELLIS_FORBIDDEN = (
    "aten::ctc_loss", "aten::_ctc_loss",
    "asrlab.ctc.reference.forward", "asrlab.ctc.reference.backward", "asrlab.ctc.reference.soft_alignment",
    "asrlab.ctc.reference.log_likelihood", "asrlab.ctc.loss.ctc_loss",
)

ASSIGNMENT = Assignment(
    name="ctc",
    tasks=(
        FunctionTask(grade_id="test_ctc_forward", call="ctc_forward", cases=cases.peaky_trellis_cases,
                     reference=library("asrlab.ctc.reference.forward"), compare=LogArrayClose(rtol=1e-6, atol=1e-6),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="alpha[s, t] = logsumexp over the allowed predecessors at t-1 (s, s-1, and s-2 only "
                          "into a label that differs from the one two states back) + log_probs[t, ext[s]]"),
        FunctionTask(grade_id="test_ctc_backward", call="ctc_backward", cases=cases.peaky_trellis_cases,
                     reference=library("asrlab.ctc.reference.backward"), compare=LogArrayClose(rtol=1e-6, atol=1e-6),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="beta excludes the emission at frame t: beta[S-1, T-1] = beta[S-2, T-1] = 0 and "
                          "beta[s, t] = logsumexp over s' in (s, s+1, s+2 if allowed) of "
                          "beta[s', t+1] + log_probs[t+1, ext[s']]"),
        FunctionTask(grade_id="test_soft_alignment", call="soft_alignment", cases=cases.alignment_cases,
                     reference=library("asrlab.ctc.reference.soft_alignment"),
                     compare=ArrayClose(rtol=1e-5, atol=1e-7, dtype="kind", container="either"),
                     forbidden=TRELLIS_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="gamma = exp(alpha + beta - log P(labels)); every column sums to 1"),
        FunctionTask(grade_id="test_greedy", call="greedy_decode", cases=cases.greedy_cases,
                     reference=cases.greedy_reference, compare=Exact(), adapter=source(recipes.greedy_adapter),
                     forbidden=("asrlab.decoding.ctc_greedy.ctc_greedy_ids",
                                "asrlab.decoding.ctc_greedy.GreedyCTCDecoder.decode_ids",
                                "asrlab.ctc.reference.collapse_path"),
                     timeout_s=10.0, cpu_s=5.0,
                     hint="argmax per frame, merge runs of equal frames, then drop blanks "
                          "(a blank between two equal symbols keeps both)"),
        FunctionTask(grade_id="test_beam_search", call="prefix_beam_search", cases=cases.beam_cases,
                     reference=cases.beam_reference, compare=Exact(), adapter=source(recipes.beam_adapter),
                     forbidden=("asrlab.decoding.ctc_beam.PrefixBeamSearchDecoder._search",
                                "asrlab.decoding.ctc_beam.PrefixBeamSearchDecoder.decode_nbest"),
                     timeout_s=60.0, cpu_s=30.0,
                     hint="keep p_blank and p_non_blank per prefix, rank prefixes by log(p_b + p_nb) plus the "
                          "LM score of the words they have completed, and score the last word and </s> at the end"),
    ),
    ci_minutes=0.5,
    limits=Limits(notebook_wall_s=420.0, notebook_cpu_s=420, cell_timeout_s=120.0, memory_mb=3072,
                  disk_mb=128, max_restarts=6),
    hidden_packages=("asrlab.ctc",),   # the reference forward/backward: not even readable
)
