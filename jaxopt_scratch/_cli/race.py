"""``jaxopt-scratch race``: several optimizers from one start on one problem, a table and a plot
of their paths (on a 2-D surface) and losses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._cli import options as _options
from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import progress as _progress

# Tutorial 3's showdown (docs/tutorial_claims.rst, P4); other optimizers default to 0.01.
RACE_LRS = {"sgd": 5e-4, "momentum": 5e-4, "rmsprop": 5e-3, "adam": 1e-2}


def _fmt_position(params: Any) -> str:
    leaves = jax.tree.leaves(params)
    if len(leaves) == 1 and np.size(leaves[0]) <= 2:
        values = np.ravel(np.asarray(leaves[0]))
        return "(" + ", ".join(f"{v:.4f}" for v in values) + ")"
    return "-"


def _race_lrs(specs: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    lrs = {n: RACE_LRS.get(n, 1e-2) for n in names}
    for spec in specs:
        name, sep, value = spec.rpartition("=")
        if not sep:
            lrs = {n: _options.number(value, "--lr") for n in names}
            continue
        if name.strip().lower() not in lrs:
            raise _options.UsageError(f"--lr {spec!r} names {name!r}, which is not racing; "
                                      f"racing: {', '.join(names)}")
        lrs[name.strip().lower()] = _options.number(value, f"--lr {name}")
    bad = {n: v for n, v in lrs.items() if v <= 0}
    if bad:
        raise _options.UsageError(f"learning rates must be > 0, got {bad}")
    return lrs


def race(args: argparse.Namespace) -> int:
    """Races optimizers on one problem: a table and a contour + loss-curve PNG."""
    problem = _options.problem(args.problem)
    names = _options.optimizer_names(args.optimizers)
    lrs = _race_lrs(args.lr, names)
    _options.check_outputs(args, "race.png")
    steps = args.steps if args.steps is not None else problem.num_steps
    tol = args.tol if args.tol is not None else problem.target_loss
    if args.clip < 0:
        raise _options.UsageError(
            f"--clip must be >= 0 (0 turns clipping off), got {args.clip}")
    params = problem.init_params()
    record = 1 if problem.is_2d else None
    bar = _progress.Progress(len(names) * steps, "race", not args.no_progress)
    curves, rows = {}, []
    try:
        for name in names:
            tx = _options.with_clip(_options.OPTIMIZERS[name](lrs[name]), args.clip)
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
    print(f"{_options.PROG} race: {problem.name}: {problem.description}")
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
    return _options.save(lambda: _plotting.plot_race(args.out, problem, curves, title), args.out)


def add_parser(sub: Any) -> None:
    p = _options.command(sub, "race", race, summary="optimizers x one landscape: table + PNG",
                         description="Run several optimizers from the same start; print final "
                         "loss, final position and steps to a tolerance; draw paths and losses.")
    _options.add_problem_args(p, "beale_like")
    p.add_argument("--lr", action="append", default=[], metavar="[NAME=]VALUE",
                   help="learning rate for one optimizer (repeatable) or for all; defaults: "
                   "tutorial 3's sgd=5e-4 momentum=5e-4 rmsprop=5e-3 adam=1e-2 (P4), others 1e-2")
    p.add_argument("--steps", type=_options.positive_int, default=None,
                   help="updates per optimizer (default: the problem's reference count)")
    p.add_argument("--clip", type=float, default=10.0,
                   help="clip each gradient coordinate to [-CLIP, CLIP] (tutorial 3); 0 = off")
    p.add_argument("--tol", type=float, default=None,
                   help="loss tolerance for 'steps to tol' (default: the problem's target)")
    _options.add_output_args(p, "race.png")
