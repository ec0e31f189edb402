"""The ``jaxopt-scratch`` command: ``race``, ``sweep``, ``lr-find``, ``pbt`` and ``seeds``
(``python -m jaxopt_scratch``).

User errors (unknown problem or optimizer, bad range, bad flag, an output path that
cannot be written) print ONE line ``jaxopt-scratch: error: ...`` on stderr and exit
with code 2, without a traceback, before any training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._cli import budget as _budget
from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._cli import pbt as _pbt
from jaxopt_scratch._cli import tuning as _tuning
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import progress as _progress
from jaxopt_scratch._engine import results as _results
from jaxopt_scratch._engine import sweep as _sweep
from jaxopt_scratch._engine.problems import registry as _registry
from jaxopt_scratch._optimizers import adam as _adam
from jaxopt_scratch._optimizers import basic as _basic
from jaxopt_scratch._transforms import clipping as _clipping

PROG = "jaxopt-scratch"


class UsageError(Exception):
    """A bad command line; reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the usage too
        raise UsageError(message)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default once: not when the help already names it, nor None, [] or a bare flag."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _momentum(learning_rate):
    return _basic.sgd(learning_rate, momentum=0.9)


def _nesterov(learning_rate):
    return _basic.sgd(learning_rate, momentum=0.9, nesterov=True)


def _rmsprop(learning_rate):
    # Tutorials 3 and 4's RMSProp (docs/tutorial_claims.rst): decay 0.9, eps 1e-8 outside the root.
    return _basic.rmsprop(learning_rate, eps_in_sqrt=False)


# Module-level factories, so that repeated sweeps reuse the compiled programs.
OPTIMIZERS: dict[str, Callable[..., Any]] = {
    "sgd": _basic.sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adagrad": _basic.adagrad,
    "adam": _adam.adam,
    "adamw": _adam.adamw,
    "nadam": _adam.nadam,
    "amsgrad": _adam.amsgrad,
    "adamax": _adam.adamax,
    "lion": _adam.lion,
}
OPTIMIZER_HELP = ("momentum = sgd with heavy-ball 0.9; nesterov = its Nesterov form; "
                  "rmsprop = decay 0.9, eps outside the sqrt (the tutorials' form)")
# Tutorial 3's showdown (docs/tutorial_claims.rst, P4); other optimizers default to 0.01.
RACE_LRS = {"sgd": 5e-4, "momentum": 5e-4, "rmsprop": 5e-3, "adam": 1e-2}
FOUR = "sgd,momentum,rmsprop,adam"


def _problem(name: str) -> _registry.Problem:
    key = name.strip().lower().replace("-", "_")
    known = _registry.names()
    if key not in known:
        raise UsageError(f"unknown problem {name!r}; known problems: {', '.join(known)}")
    return _registry.get(key)


def _optimizer_names(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown or not names:
        raise UsageError(f"unknown optimizer {', '.join(map(repr, unknown)) or repr(text)}; "
                         f"known optimizers: {', '.join(OPTIMIZERS)}")
    if len(set(names)) != len(names):
        raise UsageError(f"optimizer listed twice in {text!r}")
    return names


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what} must be finite, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _with_clip(tx: Any, clip: float) -> Any:
    return _combine.chain(_clipping.clip(clip), tx) if clip > 0 else tx


def _fmt_position(params: Any) -> str:
    leaves = jax.tree.leaves(params)
    if len(leaves) == 1 and np.size(leaves[0]) <= 2:
        values = np.ravel(np.asarray(leaves[0]))
        return "(" + ", ".join(f"{v:.4f}" for v in values) + ")"
    return "-"


def _check_outputs(args: argparse.Namespace, example: str) -> None:
    """``--out`` (unless ``--no-plot``) and ``--csv`` can be written: checked before any work."""
    try:
        if not args.no_plot:
            _outputs.check_figure(args.out, example)
        if getattr(args, "csv", None):
            _outputs.check_table(args.csv)
    except _outputs.OutputError as err:
        raise UsageError(str(err)) from None


def _save(plot: Callable[[], None], out: str) -> int:
    from jaxopt_scratch._cli import plotting as _plotting

    try:
        plot()
    except _plotting.PlottingUnavailable as err:
        print(f"{PROG}: not writing {out}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: error: cannot write {out}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"\nwrote {out}")
    return 0


def _race_lrs(specs: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    lrs = {n: RACE_LRS.get(n, 1e-2) for n in names}
    for spec in specs:
        name, sep, value = spec.rpartition("=")
        if not sep:
            lrs = {n: _number(value, "--lr") for n in names}
            continue
        if name.strip().lower() not in lrs:
            raise UsageError(f"--lr {spec!r} names {name!r}, which is not racing; "
                             f"racing: {', '.join(names)}")
        lrs[name.strip().lower()] = _number(value, f"--lr {name}")
    bad = {n: v for n, v in lrs.items() if v <= 0}
    if bad:
        raise UsageError(f"learning rates must be > 0, got {bad}")
    return lrs


def race(args: argparse.Namespace) -> int:
    """Races optimizers on one problem: a table and a contour + loss-curve PNG."""
    problem = _problem(args.problem)
    names = _optimizer_names(args.optimizers)
    lrs = _race_lrs(args.lr, names)
    _check_outputs(args, "race.png")
    steps = args.steps if args.steps is not None else problem.num_steps
    tol = args.tol if args.tol is not None else problem.target_loss
    if args.clip < 0:
        raise UsageError(f"--clip must be >= 0 (0 turns clipping off), got {args.clip}")
    params = problem.init_params()
    record = 1 if problem.is_2d else None
    bar = _progress.Progress(len(names) * steps, "race", not args.no_progress)
    curves, rows = {}, []
    try:
        for name in names:
            tx = _with_clip(OPTIMIZERS[name](lrs[name]), args.clip)
            result = _loop.run(tx, problem.loss_fn, params, steps,
                               sample_fn=problem.sample_fn, record_every=record)
            after = np.append(np.asarray(result.losses), float(result.final_loss))
            reached = np.flatnonzero(after <= tol) if tol is not None else np.zeros(0, int)
            path = np.asarray(result.trajectory) if problem.is_2d else None
            row = [name, f"{lrs[name]:g}", f"{after[-1]:.6g}", _fmt_position(result.params),
                   str(reached[0]) if reached.size else "never"]
            if args.clip > 0 and path is not None:
                grads = np.asarray(jax.vmap(jax.grad(problem.loss_fn))(jnp.asarray(path[:-1])))
                row.append(str(int((np.abs(grads) > args.clip).any(axis=1).sum())))
            rows.append(row)
            curves[f"{name} (lr {lrs[name]:g})"] = (path, after)
            bar.update(steps)
    finally:
        bar.close()
    clip_note = f", gradients clipped to [-{args.clip:g}, {args.clip:g}]" if args.clip > 0 else ""
    print(f"{PROG} race: {problem.name}: {problem.description}")
    tol_note = f"; tolerance: loss <= {tol:g}" if tol is not None else ""
    print(f"{steps} updates{clip_note}{tol_note}\n")
    header = ["optimizer", "lr", "final loss", "final position", "steps to tol"]
    if args.clip > 0 and problem.is_2d:
        header.append("clipped steps")
    _outputs.print_table(header, rows)
    if args.no_plot:
        return 0
    from jaxopt_scratch._cli import plotting as _plotting

    title = f"{problem.name}, {steps} updates{clip_note}"
    return _save(lambda: _plotting.plot_race(args.out, problem, curves, title), args.out)


def _lr_range(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"--lr-range must be LOW,HIGH (for example 1e-4,1e2), got {text!r}")
    low, high = (_number(p, "--lr-range") for p in parts)
    if not 0 < low < high:
        raise UsageError(f"--lr-range needs 0 < LOW < HIGH, got {text!r}")
    return low, high


def sweep(args: argparse.Namespace) -> int:
    """Learning-rate sweep per optimizer: best lr, best loss, width reaching a target; a PNG."""
    problem = _problem(args.problem)
    names = _optimizer_names(args.optimizers)
    try:
        lrs, lrs_note = _tuning.learning_rates(args.sample, *_lr_range(args.lr_range),
                                               args.num_lrs, args.num_samples)
        prune = _tuning.halving(args.prune)
        ranking = _tuning.ranking(args.metric, problem, problem.init_params(), bool(args.csv))
    except _tuning.TuningError as err:
        raise UsageError(str(err)) from None
    steps = args.steps if args.steps is not None else problem.num_steps
    target = args.target if args.target is not None else problem.target_loss
    if args.clip < 0:
        raise UsageError(f"--clip must be >= 0 (0 turns clipping off), got {args.clip}")
    _check_outputs(args, "sweep.png")
    # One seed: the problem's own start (P9's NumPy init for XOR); more: random inits.
    init = problem.init_params() if args.seeds == 1 else problem.init_params
    finals, rows, table, cost = {}, [], [], [0, 0]
    for name in names:
        make = OPTIMIZERS[name]
        if args.clip > 0:
            def make(learning_rate, _inner=make):
                return _with_clip(_inner(learning_rate), args.clip)
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
    print(f"{PROG} sweep: {problem.name}: {problem.description}")
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
    return _save(lambda: _plotting.plot_sweep(args.out, lrs, finals, target, title), args.out)


def lr_find(args: argparse.Namespace) -> int:
    """Learning-rate range test per optimizer: suggested lr, loss curve; a PNG."""
    problem = _problem(args.problem)
    names = _optimizer_names(args.optimizers)
    low, high = _lr_range(args.lr_range)
    if args.steps < 2:
        raise UsageError(f"--steps must be at least 2 for a range test, got {args.steps}")
    _check_outputs(args, "lr_find.png")
    from jaxopt_scratch._cli import lr_find as _lr_find

    return _lr_find.run(args, problem, {n: OPTIMIZERS[n] for n in names}, low, high,
                        lambda plot: _save(plot, args.out))


def pbt(args: argparse.Namespace) -> int:
    """Population-based training of one optimizer's learning rate: a table and a PNG."""
    problem = _problem(args.problem)
    names = _optimizer_names(args.optimizer)
    if len(names) != 1:
        raise UsageError(f"--optimizer takes one optimizer, got {args.optimizer!r}")
    low, high = _lr_range(args.lr_range)
    _check_outputs(args, "pbt.png")
    return _pbt.run(args, problem, OPTIMIZERS[names[0]], low, high,
                    lambda plot: _save(plot, args.out))


def _parser() -> _Parser:
    parser = _Parser(prog=PROG, description=(
        "Race and sweep the tutorials' optimizers (docs/tutorial_claims.rst) with "
        "jaxopt_scratch. Problems: "
        + ", ".join(_registry.names()) + "."))
    sub = parser.add_subparsers(dest="command", metavar="{race,sweep,lr-find,pbt,seeds}")
    _add_race(sub)
    _add_sweep(sub)
    _add_lr_find(sub)
    _add_pbt(sub)
    _add_seeds(sub)
    return parser


def _command(sub: Any, name: str, func: Callable[[argparse.Namespace], int], summary: str,
             description: str) -> argparse.ArgumentParser:
    """A subcommand that runs ``func(args)``, its defaults shown in ``--help``."""
    p = sub.add_parser(name, formatter_class=_HelpFormatter, help=summary,
                       description=description)
    p.set_defaults(func=func)
    return p


def _add_problem_args(p: argparse.ArgumentParser, problem: str) -> None:
    """``--problem`` and ``--optimizers`` (race and sweep)."""
    p.add_argument("--problem", default=problem, help="problem name")
    p.add_argument("--optimizers", default=FOUR, help=f"comma-separated; {OPTIMIZER_HELP}")


def _add_output_args(p: argparse.ArgumentParser, out: str) -> None:
    """``--out``, ``--no-plot`` and ``--no-progress`` (race and sweep)."""
    p.add_argument("--out", default=out,
                   help="figure to write, exactly this path; its extension (.png, .pdf, .svg, "
                   ".jpg) gives the format")
    p.add_argument("--no-plot", action="store_true", help="print the table only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_race(sub: Any) -> None:
    p = _command(sub, "race", race, summary="optimizers x one landscape: table + PNG",
                 description="Run several optimizers from the same start; print final "
                 "loss, final position and steps to a tolerance; draw paths and losses.")
    _add_problem_args(p, "beale_like")
    p.add_argument("--lr", action="append", default=[], metavar="[NAME=]VALUE",
                   help="learning rate for one optimizer (repeatable) or for all; defaults: "
                   "tutorial 3's sgd=5e-4 momentum=5e-4 rmsprop=5e-3 adam=1e-2 (P4), others 1e-2")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="updates per optimizer (default: the problem's reference count)")
    p.add_argument("--clip", type=float, default=10.0,
                   help="clip each gradient coordinate to [-CLIP, CLIP] (tutorial 3); 0 = off")
    p.add_argument("--tol", type=float, default=None,
                   help="loss tolerance for 'steps to tol' (default: the problem's target)")
    _add_output_args(p, "race.png")


def _add_sweep(sub: Any) -> None:
    p = _command(sub, "sweep", sweep, summary="learning-rate sweep per optimizer",
                 description="Sweep log-spaced learning rates for each optimizer as one "
                 "compiled program; print best lr, best final loss and the width (in "
                 "decades) of the learning rates that reach the target loss.")
    _add_problem_args(p, "xor_a")
    p.add_argument("--lr-range", default="1e-4,1e2", metavar="LOW,HIGH",
                   help="learning-rate range (inclusive, log-spaced)")
    p.add_argument("--num-lrs", type=int, default=64, help="number of learning rates")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="updates per run (default: the problem's reference count)")
    p.add_argument("--target", type=float, default=None,
                   help="target final loss (default: the problem's target)")
    p.add_argument("--seeds", type=_positive_int, default=5,
                   help="runs per learning rate, from random inits drawn with seeds 0..N-1 "
                   "(the table uses their mean final loss); 1 = the problem's own start "
                   "(P9's NumPy-seeded init for XOR)")
    p.add_argument("--clip", type=float, default=0.0, help="clip gradients to [-CLIP, CLIP]; 0 = off")
    _budget.add_arguments(p, _positive_int)
    _tuning.add_arguments(p, _positive_int)
    _add_output_args(p, "sweep.png")


def _add_pbt(sub: Any) -> None:
    p = _command(sub, "pbt", pbt, summary="population-based training of a learning rate",
                 description="Train a population of one optimizer, every member with its own "
                 "learning rate, as one compiled program; every --interval steps the worst "
                 "members copy the best and perturb their learning rate (Jaderberg et al. "
                 "2017). Print the best members and the best learning-rate schedule; plot them.")
    _pbt.add_arguments(p, _positive_int)
    _budget.add_arguments(p, _positive_int)
    _add_output_args(p, "pbt.png")


def _add_lr_find(sub: Any) -> None:
    p = _command(sub, "lr-find", lr_find, summary="learning-rate range test per optimizer",
                 description="Train once per optimizer while the learning rate grows "
                 "exponentially every update (Smith 2017; fastai's LR finder); print the "
                 "learning rate where the smoothed loss falls fastest and plot the curves.")
    _add_problem_args(p, "xor_a")
    p.add_argument("--lr-range", default="1e-6,10", metavar="LOW,HIGH",
                   help="first and last learning rate")
    p.add_argument("--steps", type=_positive_int, default=200,
                   help="updates, one learning rate each")
    p.add_argument("--seeds", type=_positive_int, default=3,
                   help="runs from random inits drawn with seeds 0..N-1, averaged; 1 = the "
                   "problem's own start")
    _add_output_args(p, "lr_find.png")


def _add_seeds(sub: Any) -> None:
    p = _command(sub, "seeds", _seeds_command, summary="recompute the tutorials' printed tables",
                 description="Recompute every number the tutorials described in "
                 "docs/tutorial_claims.rst print, with this library, and show it beside "
                 "the printed value, marking which reproduce.")
    p.add_argument("--float32", action="store_true",
                   help="compute in float32 (default float64, like the tutorials' NumPy code)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _seeds_command(args: argparse.Namespace) -> int:
    from jaxopt_scratch._cli import seeds as _seeds

    return _seeds.main(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jaxopt-scratch``; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: race, sweep, lr-find, pbt or seeds (see --help)")
        return args.func(args)
    except (UsageError, _tuning.TuningError, _budget.BudgetError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
