"""``jaxopt-scratch sweep``: a learning-rate sweep per optimizer, one compiled program each; the
best rate, the best loss and the width of the rates that reach a target, and a plot."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from jaxopt_scratch._cli import budget as _budget
from jaxopt_scratch._cli import options as _options
from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._cli import tuning as _tuning
from jaxopt_scratch._engine import results as _results
from jaxopt_scratch._engine import sweep as _sweep


def sweep(args: argparse.Namespace) -> int:
    """Learning-rate sweep per optimizer: best lr, best loss, width reaching a target; a PNG."""
    problem = _options.problem(args.problem)
    names = _options.optimizer_names(args.optimizers)
    try:
        lrs, lrs_note = _tuning.learning_rates(args.sample, *_options.lr_range(args.lr_range),
                                               args.num_lrs, args.num_samples)
        prune = _tuning.halving(args.prune)
        ranking = _tuning.ranking(args.metric, problem, problem.init_params(), bool(args.csv))
    except _tuning.TuningError as err:
        raise _options.UsageError(str(err)) from None
    steps = args.steps if args.steps is not None else problem.num_steps
    target = args.target if args.target is not None else problem.target_loss
    if args.clip < 0:
        raise _options.UsageError(
            f"--clip must be >= 0 (0 turns clipping off), got {args.clip}")
    _options.check_outputs(args, "sweep.png")
    # One seed: the problem's own start (P9's NumPy init for XOR); more: random inits.
    init = problem.init_params() if args.seeds == 1 else problem.init_params
    finals, rows, table, cost = {}, [], [], [0, 0]
    for name in names:
        make = _options.OPTIMIZERS[name]
        if args.clip > 0:
            def make(learning_rate, _inner=make):
                return _options.with_clip(_inner(learning_rate), args.clip)
        with _budget.refusal():
            result = _sweep.sweep(
                make, {"learning_rate": lrs}, problem.loss_fn, init, steps, seeds=args.seeds,
                sample_fn=problem.sample_fn, eval_batch=problem.eval_batch,
                metrics_fn=ranking.metrics_fn, **_budget.sweep_options(args),
                progress=False if args.no_progress else f"{name:>9}",
                prune=None if prune is None else dataclasses.replace(
                    prune, metric=None if ranking.name == "final_loss" else ranking.name,
                    mode=ranking.mode),
            )
        row, final = _tuning.sweep_row(name, lrs, result, target, ranking)
        rows.append(row)
        finals[name] = (final, ~np.isfinite(final))
        table += [(name, *values) for values in result.to_rows()]
        cost = [cost[0] + result.steps_run, cost[1] + result.losses.size]
    seeds_note = "" if args.seeds == 1 else f", mean over {args.seeds} random inits"
    print(f"{_options.PROG} sweep: {problem.name}: {problem.description}")
    target_note = f"; target: final loss <= {target:g}" if target is not None else ""
    print(f"{lrs_note}, {steps} updates{seeds_note}{target_note}")
    if prune is not None:
        print(f"successive halving (reduction {prune.reduction_factor}, rungs at "
              f"{', '.join(map(str, prune.rungs(steps)))} steps, by {args.metric}): "
              f"{cost[0]} of {cost[1]} steps trained")
    print(result.memory.describe())
    print()
    best_header = "best final loss" if ranking.name == "final_loss" else f"best {ranking.name}"
    _outputs.print_table(["optimizer", "best lr", best_header, "lrs reaching target",
                          "width (decades)", "diverged"], rows)
    widths = [float(r[4]) for r in rows]
    if target is not None and max(widths) > 0:
        top = rows[int(np.argmax(widths))][0]
        print(f"\nwidest learning-rate range reaching loss <= {target:g}: {top} "
              f"({max(widths):.2f} decades)")
    if args.csv:
        _results.write_csv(args.csv, ("optimizer", *result.columns), table)
        print(f"\nwrote {args.csv}")
    if args.no_plot:
        return 0
    from jaxopt_scratch._cli import plotting as _plotting

    title = f"{problem.name}, {steps} updates{seeds_note}"
    return _options.save(lambda: _plotting.plot_sweep(args.out, lrs, finals, target, title),
                         args.out)


def add_parser(sub: Any) -> None:
    p = _options.command(sub, "sweep", sweep, summary="learning-rate sweep per optimizer",
                         description="Sweep log-spaced learning rates for each optimizer as one "
                         "compiled program; print best lr, best final loss and the width (in "
                         "decades) of the learning rates that reach the target loss.")
    _options.add_problem_args(p, "xor_a")
    p.add_argument("--lr-range", default="1e-4,1e2", metavar="LOW,HIGH",
                   help="learning-rate range (inclusive, log-spaced)")
    p.add_argument("--num-lrs", type=int, default=64, help="number of learning rates")
    p.add_argument("--steps", type=_options.positive_int, default=None,
                   help="updates per run (default: the problem's reference count)")
    p.add_argument("--target", type=float, default=None,
                   help="target final loss (default: the problem's target)")
    p.add_argument("--seeds", type=_options.positive_int, default=5,
                   help="runs per learning rate, from random inits drawn with seeds 0..N-1 "
                   "(the table uses their mean final loss); 1 = the problem's own start "
                   "(P9's NumPy-seeded init for XOR)")
    p.add_argument("--clip", type=float, default=0.0,
                   help="clip gradients to [-CLIP, CLIP]; 0 = off")
    _budget.add_arguments(p, _options.positive_int)
    _tuning.add_arguments(p, _options.positive_int)
    _options.add_output_args(p, "sweep.png")
