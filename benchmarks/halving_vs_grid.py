"""Successive halving against the full grid on the bundled problems (issue 15, item 4).

For each case, one ``jos.sweep`` over 27 log-spaced learning rates trains every
configuration for the problem's reference number of steps, and one with
``prune=jos.halving(3)`` (rungs at steps/9 and steps/3: 27 -> 9 -> 3 configurations).
Printed: the best learning rate and final loss of each (the validation loss where the
problem has an ``eval_batch``), their relative difference, the steps trained (the sum
over runs of ``stopped_at``) and the wall time of each call (compiles included).

    python3 benchmarks/halving_vs_grid.py            # every case
    python3 benchmarks/halving_vs_grid.py digits mlp # some of them
"""

from __future__ import annotations

import sys
import time

import numpy as np

import jaxopt_scratch as jos

CASES = {  # name: (problem, optimizer, learning-rate range, steps (None: the problem's), seeds)
    "xor_a": ("xor_a", "adam", (1e-4, 1e1), None, 1),
    "xor_b": ("xor_b", "adam", (1e-4, 1e1), None, 1),
    "xor_a_sgd": ("xor_a", "sgd", (1e-3, 1e2), None, 1),
    "linear_regression": ("linear_regression", "sgd", (1e-4, 1e0), None, 1),
    "ill_conditioned": ("ill_conditioned", "adam", (1e-4, 1e1), None, 1),
    "rosenbrock": ("rosenbrock", "adam", (1e-4, 1e0), None, 1),
    "beale": ("beale", "adam", (1e-4, 1e0), None, 1),
    "mlp": ("mlp", "adam", (1e-5, 1e-1), 243, 1),
    "digits": ("digits", "adam", (1e-4, 1e0), None, 2),
}


def measure(name: str) -> str:
    problem_name, optimizer, (low, high), steps, seeds = CASES[name]
    problem = jos.problems.get(problem_name)
    steps = steps or problem.num_steps
    init = problem.init_params if seeds > 1 else problem.init_params()
    args = (getattr(jos, optimizer), {"learning_rate": np.geomspace(low, high, 27)},
            problem.loss_fn, init, steps)
    kwargs = {"sample_fn": problem.sample_fn, "eval_batch": problem.eval_batch, "seeds": seeds,
              "progress": False}
    start = time.perf_counter()
    full = jos.sweep(*args, **kwargs)
    middle = time.perf_counter()
    halved = jos.sweep(*args, prune=jos.halving(3), **kwargs)
    end = time.perf_counter()
    best, found = full.best(), halved.best()
    relative = found["final_loss"] / best["final_loss"] - 1
    return (f"{name:18s} {optimizer:5s} {steps:5d} steps | grid lr {best['learning_rate']:.3g} "
            f"loss {best['final_loss']:.6g} | halving lr {found['learning_rate']:.3g} loss "
            f"{found['final_loss']:.6g} ({relative:+.2%}) | steps {halved.steps_run}/"
            f"{full.steps_run} = {halved.steps_run / full.steps_run:.3f} | wall "
            f"{middle - start:.1f} s vs {end - middle:.1f} s")


if __name__ == "__main__":
    for case in sys.argv[1:] or CASES:
        print(measure(case), flush=True)
