"""Hidden grading tasks of the ``rnnt`` assignment (instructor side; never released).

One task per graded test cell of ``solutions/rnnt/rnnt.ipynb``:

* ``test_rnnt_forward`` / ``test_rnnt_backward`` -- ``(alpha, cost)`` / ``(beta, cost)`` compared with
  :mod:`asrlab.rnnt.reference` on the three published cases and on random lattices drawn from the run's
  secret seed: square and very unequal ``T`` / ``U``, no labels, one frame, a negative blank index, the
  blank first or last, repeated labels, and peaky logits on which probabilities underflow.
* ``test_encoder`` / ``test_predictor`` / ``test_joiner`` -- the student's classes are built in the sandbox by
  public adapters: output shapes and lengths of the encoder (and, without subsampling, outputs that do not
  depend on the batch's padding), the predictor's ``forward`` against its own
  ``step`` (start symbol, shift by one, batch-first state), and joiner logits compared with
  :class:`asrlab.models.Joiner` holding the same weights (lattice broadcasting and paired rows).
* ``test_greedy`` -- compared exactly with :func:`asrlab.decoding.rnnt_greedy_search` on seeded
  :class:`asrlab.models.RNNTModel` instances that the adapter builds in the sandbox exactly as the trusted
  reference does (no weights travel), with a blank bias that mixes blanks, several symbols per frame and
  frames that hit the ``max_symbols`` cap.
* ``test_trained_cer`` / ``test_trained_wer`` -- the submitted checkpoint ``rnnt_model.pt`` rebuilt as
  ``Transducer(**config)`` and decoded greedily on the hidden synthetic test split
  (:func:`asrlab_grade.hidden.librispeech_test`), CER <= 15 % and WER <= 30 % for full points.

Hidden inputs and the references that are more than a library call: ``asrlab_grade/cases/rnnt.py``; the
plausible wrong answers these cases catch: ``autograder/tests/test_rnnt_assignment.py``.
"""
from __future__ import annotations

from dataclasses import replace

from asrlab_grade.cases import rnnt as cases
from asrlab_grade.cases.common import librispeech_test_clean
from asrlab_grade.compare import ArrayClose, Exact
from asrlab_grade.compare_asr import LatticeClose, PredictorClose
from asrlab_grade.jitcache import LIBROSA_PRELOAD
from asrlab_grade.recipes import rnnt as recipes
from asrlab_grade.recipes import source
from asrlab_grade.task import Assignment, Band, FunctionTask, Limits, TrainingTask, asrlab_metric

LATTICE_ADAPTER = source(recipes.lattice_adapter)

LATTICE_FORBIDDEN = (
    "asrlab.rnnt.reference.forward", "asrlab.rnnt.reference.backward", "asrlab.rnnt.reference.loss",
    "asrlab.rnnt.reference.brute_force_loss", "asrlab.rnnt.lattice.forward_backward",
    "asrlab.rnnt.lattice.forward_variables",
)

GREEDY_FORBIDDEN = ("asrlab.decoding.rnnt_greedy.rnnt_greedy_search", "asrlab.decoding.rnnt_beam.rnnt_beam_search")

# Public recipe, run in the sandbox on the hidden waveforms: the training features, then greedy search.
EVALUATE = source(recipes.evaluate, recipes.library_greedy_search, name="evaluate")

# One trained transducer, two figures: CER and WER of the same transcripts.
TRAINED_CER = TrainingTask(grade_id="test_trained_cer", checkpoint="rnnt_model.pt", model_class="Transducer",
                           evaluate_source=EVALUATE, test_split=librispeech_test_clean, metric=asrlab_metric("cer"),
                           metric_name="CER %", bands=(Band(15.0, 1.0), Band(20.0, 0.5), Band(30.0, 0.25)),
                           skip_cells=("setup_install", "data", "train", "train_report", "evaluate",
                                       "alignment_figure"), timeout_s=240.0)
TRAINED_WER = replace(TRAINED_CER, grade_id="test_trained_wer", metric=asrlab_metric("wer"), metric_name="WER %",
                      bands=(Band(30.0, 1.0), Band(40.0, 0.5), Band(60.0, 0.25)))


ASSIGNMENT = Assignment(
    name="rnnt",
    tasks=(
        FunctionTask(grade_id="test_rnnt_forward", call="rnnt_forward", cases=cases.lattice_cases,
                     reference=cases.forward_reference, compare=LatticeClose("alpha"), adapter=LATTICE_ADAPTER,
                     forbidden=LATTICE_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="alpha[0, 0] = 0; alpha[t, u] = logaddexp(alpha[t-1, u] + log P(blank | t-1, u), "
                          "alpha[t, u-1] + log P(labels[u-1] | t, u-1)); cost = -(alpha[T-1, U] + "
                          "log P(blank | T-1, U))"),
        FunctionTask(grade_id="test_rnnt_backward", call="rnnt_backward", cases=cases.lattice_cases,
                     reference=cases.backward_reference, compare=LatticeClose("beta"), adapter=LATTICE_ADAPTER,
                     forbidden=LATTICE_FORBIDDEN, timeout_s=20.0, cpu_s=10.0,
                     hint="beta[T-1, U] = log P(blank | T-1, U); beta[t, u] = logaddexp(beta[t+1, u] + "
                          "log P(blank | t, u), beta[t, u+1] + log P(labels[u] | t, u)); cost = -beta[0, 0]"),
        FunctionTask(grade_id="test_encoder", call="Encoder", cases=cases.encoder_cases, reference=cases.encoder_reference,
                     compare=Exact(), adapter=source(recipes.encoder_adapter), timeout_s=20.0, cpu_s=10.0,
                     hint="subsample, run self.lstm with the subsampled lengths, project with self.proj; "
                          "return (outputs (B, T', D), lengths after subsampling)"),
        FunctionTask(grade_id="test_predictor", call="Predictor", cases=cases.predictor_cases,
                     reference=cases.predictor_reference, compare=PredictorClose(), adapter=source(recipes.predictor_adapter),
                     timeout_s=20.0, cpu_s=10.0,
                     hint="forward prepends self.start to every row; step embeds (N,) tokens, transposes the "
                          "batch-first state for nn.LSTM and back"),
        FunctionTask(grade_id="test_joiner", call="Joiner", cases=cases.joiner_cases, reference=cases.joiner_reference,
                     compare=ArrayClose(rtol=1e-5, atol=1e-5, dtype="kind"), adapter=source(recipes.joiner_adapter),
                     timeout_s=20.0, cpu_s=10.0,
                     hint="3-D enc (B, T', D) and pred (B, U+1, D) become (B, T', 1, D) and (B, 1, U+1, D); "
                          "logits = linear(tanh(enc + pred))"),
        FunctionTask(grade_id="test_greedy", call="greedy_decode", cases=cases.greedy_cases, reference=cases.greedy_reference,
                     compare=Exact(), adapter=source(recipes.greedy_adapter, recipes.seeded_model), forbidden=GREEDY_FORBIDDEN, timeout_s=20.0,
                     cpu_s=10.0,
                     hint="stay on frame t after a character (feed it to model.predictor.step), move on after a "
                          "blank or after max_symbols characters; start from the predictor output of model.blank"),
        TRAINED_CER,
        TRAINED_WER,
    ),
    ci_minutes=4.0,
    limits=Limits(notebook_wall_s=600.0, notebook_cpu_s=600, cell_timeout_s=120.0, memory_mb=4096,
                  disk_mb=256, max_restarts=6),
    preload=LIBROSA_PRELOAD,
)
