"""``jaxopt-scratch lr-find``: the learning-rate range test for each optimizer, a table and a plot."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._engine import lr_find as _lr_find


def run(args: argparse.Namespace, problem: Any, makers: dict[str, Callable[..., Any]],
        low: float, high: float, save: Callable[[Callable[[], None]], int]) -> int:
    """Runs the test per optimizer, prints the table, and plots through ``save``."""
    steps = args.steps
    init = problem.init_params() if args.seeds == 1 else problem.init_params
    curves, rows = {}, []
    for name, make in makers.items():
        found = _lr_find.lr_find(
            make, problem.loss_fn, init, start_learning_rate=low, end_learning_rate=high,
            num_steps=steps, seeds=args.seeds, sample_fn=problem.sample_fn,
            progress=False if args.no_progress else f"{name:>9}")
        curves[name] = (found.learning_rates, found.losses, found.suggestion)
        at_min = int(np.argmin(found.losses)) if found.losses.size else None
        rows.append([name, f"{found.suggestion:.3g}",
                     f"{found.learning_rates[at_min]:.3g}" if at_min is not None else "-",
                     f"{found.losses[at_min]:.4g}" if at_min is not None else "-",
                     f"{found.learning_rates[-1]:.3g}" if found.losses.size else "-"])
    seeds_note = "" if args.seeds == 1 else f", mean over {args.seeds} random inits"
    print(f"jaxopt-scratch lr-find: {problem.name}: {problem.description}")
    print(f"learning rate from {low:g} to {high:g} over {steps} updates (exponential){seeds_note};"
          f" smoothed loss (EMA 0.98), cut where it passes 4x its minimum\n")
    _outputs.print_table(["optimizer", "suggested lr", "lr at min loss", "min loss", "last lr"],
                      rows)
    if args.no_plot:
        return 0
    from jaxopt_scratch._cli import plotting as _plotting

    title = f"{problem.name}, {steps} updates{seeds_note}"
    return save(lambda: _plotting.plot_lr_find(args.out, curves, title))
