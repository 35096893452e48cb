"""Learning-rate schedules, stepped once per optimizer step.

* ``"onecycle"`` -- ``torch.optim.lr_scheduler.OneCycleLR`` (the CTC assignment's choice:
  warm up from ``lr / div_factor`` to ``lr``, cosine-anneal to ``lr / (div_factor * final_div_factor)``);
* ``"warmup_linear"`` -- linear warm-up from 0 to ``lr`` over ``warmup_steps``, then linear decay to
  ``final_lr_ratio * lr`` at ``total_steps``;
* ``"constant"`` -- ``lr`` throughout.

Usage::

    scheduler = make_scheduler(optimizer, "warmup_linear", total_steps=1000, warmup_steps=100)
"""
from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

SCHEDULERS = ("onecycle", "warmup_linear", "constant")
# OneCycle settings of the CTC training assignment.
ONECYCLE_DIV_FACTOR = 5.0
ONECYCLE_FINAL_DIV_FACTOR = 10.0
ONECYCLE_PCT_START = 0.3


def warmup_linear_factor(step: int, total_steps: int, warmup_steps: int, final_lr_ratio: float) -> float:
    """Multiplier of the base lr at ``step`` for the warm-up + linear-decay schedule."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return 1.0 - (1.0 - final_lr_ratio) * progress


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    kind: str,
    total_steps: int,
    warmup_steps: int = 0,
    final_lr_ratio: float = 0.0,
    pct_start: float = ONECYCLE_PCT_START,
) -> LRScheduler:
    """Build the schedule ``kind`` (one of :data:`SCHEDULERS`) for ``total_steps`` optimizer steps.

    The base learning rate is the optimizer's ``lr`` (OneCycle's peak).
    """
    if kind not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {kind!r}")
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}; is the training loader empty?")
    if kind == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start,
                          div_factor=ONECYCLE_DIV_FACTOR, final_div_factor=ONECYCLE_FINAL_DIV_FACTOR)
    if kind == "warmup_linear":
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps}")
        if not 0.0 <= final_lr_ratio <= 1.0:
            raise ValueError(f"final_lr_ratio must be in [0, 1], got {final_lr_ratio}")
        return LambdaLR(optimizer, lambda step: warmup_linear_factor(step, total_steps, warmup_steps, final_lr_ratio))
    return LambdaLR(optimizer, lambda step: 1.0)
