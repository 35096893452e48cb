"""Training: one loop for CTC, RNN-T and multi-task models.

* :class:`Trainer`, :class:`TrainConfig`, :class:`EvalResult` -- fit / evaluate / overfit_batch / checkpoints;
* :class:`CTCObjective`, :class:`RNNTObjective`, :class:`MultiTaskObjective` -- the per-model-kind parts;
* :func:`make_loader` -- length-bucketed, dynamically padded batches;
* :class:`FeatureFrontend` -- log-Mel, normalization and SpecAugment on the training device;
* :func:`make_scheduler` -- OneCycle, linear warm-up + decay, constant;
* :class:`History`, :func:`plot_history`, :func:`plot_histories`, :func:`print_history` -- curves and tables;
* :func:`seed_everything` -- deterministic runs;
* :func:`train_or_load` -- train once and save the checkpoint, then load it (the notebooks' training cells).
"""
from asrlab.train.cache import TrainedModel, train_or_load
from asrlab.train.data import RandomBatchSampler, make_loader
from asrlab.train.frontend import FeatureFrontend
from asrlab.train.history import History, plot_histories, plot_history, print_history
from asrlab.train.objectives import CTCObjective, MultiTaskObjective, Objective, RNNTObjective, objective_for
from asrlab.train.precision import Precision, resolve_precision
from asrlab.train.schedulers import SCHEDULERS, make_scheduler
from asrlab.train.seed import seed_everything
from asrlab.train.trainer import EvalResult, TrainConfig, Trainer

__all__ = [
    "CTCObjective", "EvalResult", "FeatureFrontend", "History", "MultiTaskObjective", "Objective", "Precision",
    "RNNTObjective", "RandomBatchSampler", "SCHEDULERS", "TrainConfig", "TrainedModel", "Trainer", "make_loader",
    "make_scheduler", "objective_for", "plot_histories", "plot_history", "print_history", "resolve_precision",
    "seed_everything", "train_or_load",
]
