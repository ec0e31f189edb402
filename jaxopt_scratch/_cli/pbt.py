"""``jaxopt-scratch pbt``: population-based training of one optimizer's learning rate.

The members start from learning rates drawn log-uniformly (a scrambled Sobol
sequence); every ``--interval`` steps the worst ``--fraction`` copy the best and
multiply their learning rate by 0.8 or 1.2 (staying within ``--lr-range``). The
command prints the final population's best members and the best member's
learning-rate schedule, and plots every member's schedule and loss.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from jaxopt_scratch._cli import budget as _budget
from jaxopt_scratch._cli import options as _options
from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._cli import tuning as _tuning
from jaxopt_scratch._engine import pbt as _pbt
from jaxopt_scratch._engine import spaces as _spaces
from jaxopt_scratch._engine import sweep as _sweep


def add_arguments(p: argparse.ArgumentParser, count: Callable[[str], int]) -> None:
    """The options of ``pbt`` besides the memory and the outputs."""
    p.add_argument("--problem", default="xor_a", help="problem name")
    p.add_argument("--lr-range", default="1e-4,1e-1", metavar="LOW,HIGH",
                   help="initial learning rates (log-uniform), and the bounds they stay in")
    p.add_argument("--optimizer", default="adam", help="the optimizer whose learning rate evolves")
    p.add_argument("--population", type=count, default=16,
                   help="members (each a learning rate drawn from --lr-range)")
    p.add_argument("--steps", type=count, default=None,
                   help="updates per member (default: the problem's reference count)")
    p.add_argument("--interval", type=count, default=None,
                   help="steps between two rounds of copying and perturbing (default: a tenth "
                   "of --steps)")
    p.add_argument("--fraction", type=float, default=0.25,
                   help="share of the members replaced every round, in (0, 0.5]")
    p.add_argument("--metric", default="loss", metavar="NAME[:min|max]",
                   help="rank by the loss (on the problem's validation split when it has one) "
                   "or a metric of the problem, such as accuracy (maximised)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial learning rates and of the rounds")


def run(args: argparse.Namespace, problem: Any, make: Callable[..., Any], low: float,
        high: float, save: Callable[[Callable[[], None]], int]) -> int:
    """Trains the population, prints the table and plots through ``save``.

    Raises:
        TuningError: For a bad option, BudgetError for a population too large for
            the memory budget (both before any training).
    """
    steps = args.steps if args.steps is not None else problem.num_steps
    interval = args.interval if args.interval is not None else max(steps // 10, 1)
    if args.population < 2:
        raise _tuning.TuningError(f"--population must be at least 2, got {args.population}")
    params = problem.init_params()
    ranking = _tuning.ranking(args.metric, problem, params, False)
    try:
        population = _pbt.pbt(interval, args.fraction, metric=None if ranking.name ==
                              "final_loss" else ranking.name, mode=ranking.mode, seed=args.seed)
    except ValueError as err:
        flag = "--interval" if "`interval`" in str(err) else "--fraction"
        raise _tuning.TuningError(f"{flag}: {err}") from None
    with _budget.refusal():
        result = _sweep.sweep(
            make, {"learning_rate": _spaces.loguniform(low, high)}, problem.loss_fn, params,
            steps, mode="sobol", num_samples=args.population, sample_seed=args.seed,
            sample_fn=problem.sample_fn, eval_batch=problem.eval_batch,
            metrics_fn=ranking.metrics_fn, eval_every=interval if ranking.metrics_fn else None,
            population=population, progress=False if args.no_progress else "pbt",
            **_budget.sweep_options(args))
    record = result.population
    scores = (result.final_losses if ranking.name == "final_loss"
              else result.final_metrics()[ranking.name])
    order = np.argsort(np.where(np.isnan(scores), np.inf,
                                scores if ranking.mode == "min" else -scores), kind="stable")
    lrs = record.hyperparams["learning_rate"]
    shown = "loss" if ranking.name == "final_loss" else ranking.name
    rows = [[str(m), f"{lrs[m, 0]:.3g}", f"{lrs[m, -1]:.3g}", f"{scores[m]:.4g}",
             str(int(record.lineage(m)[0])), str(int((record.parents[m] != m).sum()))]
            for m in order[:min(8, len(order))]]
    best = int(order[0])
    print(f"jaxopt-scratch pbt: {problem.name}: {problem.description}")
    print(f"{args.optimizer}, {args.population} members, learning rates from {low:g} .. "
          f"{high:g} (sobol, seed {args.seed}), {steps} updates; every {interval} steps the "
          f"worst {args.fraction:g} copy the best (by {shown}) and multiply their learning "
          f"rate by 0.8 or 1.2\n")
    _outputs.print_table(["member", "first lr", "last lr", f"final {shown}", "started as",
                          "times replaced"], rows)
    schedule = ", ".join(f"{v:.3g}" for v in record.schedule(best)["learning_rate"])
    print(f"\nbest member {best}: learning rate by interval (steps "
          f"{', '.join(map(str, record.steps))}): {schedule}")
    print(result.memory.describe())
    if args.no_plot:
        return 0
    from jaxopt_scratch._cli import plotting as _plotting

    title = f"{problem.name}, {args.optimizer}, {args.population} members, {steps} updates"
    return save(lambda: _plotting.plot_pbt(args.out, record, result.losses, best, steps, title))


def pbt(args: argparse.Namespace) -> int:
    """Population-based training of one optimizer's learning rate: a table and a PNG."""
    problem = _options.problem(args.problem)
    names = _options.optimizer_names(args.optimizer)
    if len(names) != 1:
        raise _options.UsageError(f"--optimizer takes one optimizer, got {args.optimizer!r}")
    low, high = _options.lr_range(args.lr_range)
    _options.check_outputs(args, "pbt.png")
    return run(args, problem, _options.OPTIMIZERS[names[0]], low, high,
               lambda plot: _options.save(plot, args.out))


def add_parser(sub: Any) -> None:
    p = _options.command(sub, "pbt", pbt,
                         summary="population-based training of a learning rate",
                         description="Train a population of one optimizer, every member with its "
                         "own learning rate, as one compiled program; every --interval steps the "
                         "worst members copy the best and perturb their learning rate (Jaderberg "
                         "et al. 2017). Print the best members and the best learning-rate "
                         "schedule; plot them.")
    add_arguments(p, _options.positive_int)
    _budget.add_arguments(p, _options.positive_int)
    _options.add_output_args(p, "pbt.png")
