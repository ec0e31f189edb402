"""``jaxopt-scratch lr-find``: the learning-rate range test for each optimizer, a table and a plot."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from jaxopt_scratch._cli import options as _options
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


def lr_find(args: argparse.Namespace) -> int:
    """Learning-rate range test per optimizer: suggested lr, loss curve; a PNG."""
    problem = _options.problem(args.problem)
    names = _options.optimizer_names(args.optimizers)
    low, high = _options.lr_range(args.lr_range)
    if args.steps < 2:
        raise _options.UsageError(
            f"--steps must be at least 2 for a range test, got {args.steps}")
    _options.check_outputs(args, "lr_find.png")
    return run(args, problem, {n: _options.OPTIMIZERS[n] for n in names}, low, high,
               lambda plot: _options.save(plot, args.out))


def add_parser(sub: Any) -> None:
    p = _options.command(sub, "lr-find", lr_find,
                         summary="learning-rate range test per optimizer",
                         description="Train once per optimizer while the learning rate grows "
                         "exponentially every update (Smith 2017; fastai's LR finder); print the "
                         "learning rate where the smoothed loss falls fastest and plot the "
                         "curves.")
    _options.add_problem_args(p, "xor_a")
    p.add_argument("--lr-range", default="1e-6,10", metavar="LOW,HIGH",
                   help="first and last learning rate")
    p.add_argument("--steps", type=_options.positive_int, default=200,
                   help="updates, one learning rate each")
    p.add_argument("--seeds", type=_options.positive_int, default=3,
                   help="runs from random inits drawn with seeds 0..N-1, averaged; 1 = the "
                   "problem's own start")
    _options.add_output_args(p, "lr_find.png")
