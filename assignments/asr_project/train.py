"""Train the recognizer: ``python train.py [overrides]`` writes checkpoint/ and logs/ (TensorBoard).

    python train.py                                   # the budget's full run (ASRLAB_BUDGET=ci: a short CPU run)
    python train.py trainer.max_steps=20 data.overfit_batch=true trainer.print_every=1   # one batch: loss falls
    python train.py tokenizer=bpe decoder.lm_weight=0.8
"""
from __future__ import annotations

import sys

import hydra
from asrlab import course
from omegaconf import DictConfig


@hydra.main(config_path="configs", config_name="train", version_base=None)
def main(cfg: DictConfig) -> None:
    from src.training import run

    run(cfg)


def with_budget(argv: list[str]) -> list[str]:
    """``argv`` plus ``budget=<ASRLAB_BUDGET>`` unless a budget is chosen there already."""
    if any(a.startswith(("budget=", "+budget=")) for a in argv[1:]):
        return argv
    return [*argv, f"budget={course.budget()}"]


if __name__ == "__main__":
    sys.argv = with_budget(sys.argv)
    main()
