"""Two one-thread trainings side by side against one two-thread training: which gets more done on two cores.

``asrlab-grade validate`` runs the solutions of two assignments at a time with one thread each
(``asrlab_grade.validate.MIN_SOLUTION_THREADS``); this measures why, on the model most assignments train.

Usage::

    python bench/parallel_training.py            # 15 s per measurement
    python bench/parallel_training.py --seconds 5

Each measurement times training steps (forward, backward, Adam) of a BiLSTM-CTC-sized model for ``--seconds``:
a 3-layer bidirectional LSTM of 256 units on (16, 300, 80) features, in fresh processes. The last line is
``ratio: X`` = steps per second of two one-thread processes together / of one two-thread process (above 1:
running two at a time with one thread each gets more done).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

STEP_CODE = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
lstm = torch.nn.LSTM(80, 256, num_layers=3, bidirectional=True, batch_first=True)
head = torch.nn.Linear(512, 29)
opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()])
x = torch.randn(16, 300, 80)                                      # (B, T, F)

def step():
    out, _ = lstm(x)                                              # (B, T, 2H)
    loss = head(out).log_softmax(-1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()

step()
start, steps = time.perf_counter(), 0
while time.perf_counter() - start < float(sys.argv[2]):
    step()
    steps += 1
print(json.dumps(steps / (time.perf_counter() - start)))
"""


def steps_per_second(threads: int, processes: int, seconds: float) -> list[float]:
    """Steps per second of each of ``processes`` training processes started together with ``threads`` each."""
    env_threads = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    runs = [subprocess.Popen([sys.executable, "-c", STEP_CODE, str(threads), str(seconds)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, **env_threads}) for _ in range(processes)]
    return [json.loads(run.communicate()[0]) for run in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="timed training per measurement")
    args = parser.parse_args()
    one = steps_per_second(1, 1, args.seconds)[0]
    two_threads = steps_per_second(2, 1, args.seconds)[0]
    side_by_side = steps_per_second(1, 2, args.seconds)
    print(f"one process, 1 thread:        {1e3 / one:7.0f} ms/step")
    print(f"one process, 2 threads:       {1e3 / two_threads:7.0f} ms/step")
    print(f"two processes, 1 thread each: {', '.join(f'{1e3 / s:.0f}' for s in side_by_side)} ms/step")
    print(f"ratio: {sum(side_by_side) / two_threads:.2f}")


if __name__ == "__main__":
    main()
