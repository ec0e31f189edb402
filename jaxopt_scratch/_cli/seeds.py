"""``jaxopt-scratch seeds``: recompute every table the tutorials print, with the library.

The tutorials and their claims are described in ``docs/tutorial_claims.rst``. Each
recomputation runs a tutorial's setup through :func:`jos.run` and formats the result
with the tutorial's own print format; a row *reproduces* when every field prints the
same characters as in the tutorial.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxopt_scratch._cli import claims as _claims
from jaxopt_scratch._cli import options as _options

Values = dict[str, tuple[float, ...]]


def _fmt(value: float, spec: str) -> str:
    if spec == "_tutorial0":  # tutorial 0 prints three significant digits, no exponent
        return f"{value:.{max(0, 2 - math.floor(math.log10(abs(value))))}f}" if value else "0"
    if spec == "_percent":
        return f"{100 * value:.0f}%"
    if spec == "d" and value is None:
        return "never"
    return format(int(value) if spec == "d" else value, spec).strip()


def _after(result) -> np.ndarray:
    """The loss after k updates, k = 0 .. num_steps."""
    return np.append(np.asarray(result.losses), float(result.final_loss))


def _path_rows(tx, problem_name: str, steps: int, label: str, at: tuple[int, ...]) -> Values:
    import jaxopt_scratch as jos

    problem = jos.problems.get(problem_name)
    result = jos.run(tx, problem.loss_fn, problem.init_params(), steps)
    path, after = np.asarray(result.trajectory), _after(result)
    return {f"{label} {k}": (path[k, 0], path[k, 1], after[k]) for k in at}


def _bowl_sgd() -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    return [("library", _path_rows(jos.sgd(0.1), "bowl", 14, "step", (0, 1, 2, 14)))]


def _ravine(momentum: float | None) -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    tx = jos.sgd(0.01, momentum=momentum)
    return [("library", _path_rows(tx, "ravine", 25, "step", (0, 5, 10, 15, 20, 25)))]


def _showdown() -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    problem = jos.problems.get("beale_like")
    racers = (("SGD lr 5e-4", jos.sgd(5e-4)), ("Momentum lr 5e-4", jos.sgd(5e-4, momentum=0.9)),
              ("RMSProp lr 5e-3", jos.rmsprop(5e-3, eps_in_sqrt=False)),
              ("Adam lr 1e-2", jos.adam(1e-2)))
    rows = {}
    for label, tx in racers:
        result = jos.run(jos.chain(jos.clip(10.0), tx), problem.loss_fn, problem.init_params(),
                         200, record_every=None)
        rows[label] = (float(result.final_loss), *np.asarray(result.params).tolist())
    return [("library", rows)]


def _theta_adam() -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    problem = jos.problems.get("theta_squared")
    path = np.asarray(jos.run(jos.adam(1e-3), problem.loss_fn, problem.init_params(), 1000)
                      .trajectory)
    # Tutorial 2 tests the gradient 2*theta from *before* update t, then stops after update t.
    small = np.flatnonzero(np.abs(2 * path[:-1]) < 1e-7)
    step = int(small[0]) + 1 if small.size else None
    return [("library", {"result": (step, path[step if step else -1])})]


def _linreg_adam() -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    problem = jos.problems.get("linear_regression")
    result = jos.run(jos.adam(1e-2), problem.loss_fn, problem.init_params(), 200)
    losses, path = np.asarray(result.losses), result.trajectory
    # Printed at epoch t: the loss before update t, and w, b after it.
    return [("library", {f"epoch {t}": (losses[t - 1], float(path["w"][t]), float(path["b"][t]))
                         for t in (50, 100, 150, 200)})]


def _xor() -> list[tuple[str, Values]]:
    import jaxopt_scratch as jos

    variants = []
    for setup in ("xor_a", "xor_b"):
        problem = jos.problems.get(setup)
        rows = {}
        for label, tx in (("Adam lr 0.01", jos.adam(0.01)), ("SGD lr 0.10", jos.sgd(0.1)),
                          ("Momentum lr 0.01", jos.sgd(0.01, momentum=0.9))):
            result = jos.run(tx, problem.loss_fn, problem.init_params(), 3000, record_every=None)
            rows[label] = (float(result.final_loss), float(problem.accuracy_fn(result.params)))
        variants.append((f"setup {setup[-1].upper()}", rows))
    return variants


NOTES = {
    "ravine_sgd": "note: x prints as -0.0000 or 0.0000 because XLA fuses p + (-lr) * g into one "
                  "fused multiply-add: after step 1, x is -2.1e-17 (float64) or +2.2e-8 (float32) "
                  "instead of NumPy's exact 0.0, and then shrinks geometrically.",
}

RECOMPUTE: dict[str, Callable[[], list[tuple[str, Values]]]] = {
    "bowl_sgd": _bowl_sgd,
    "ravine_sgd": lambda: _ravine(None),
    "ravine_momentum": lambda: _ravine(0.9),
    "showdown": _showdown,
    "theta_adam": _theta_adam,
    "linreg_adam": _linreg_adam,
    "xor": _xor,
}


def _show(fields, strings) -> str:
    return "  ".join(f"{f}={s}" for f, s in zip(fields, strings))


def main(args: argparse.Namespace) -> int:
    """Prints every tutorial table beside the library's values; returns 0."""
    if not args.float32:
        jax.config.update("jax_enable_x64", True)  # the tutorials' NumPy code runs in float64
    from jaxopt_scratch._engine import progress as _progress

    precision = "float32" if args.float32 else "float64"
    bar = _progress.Progress(len(_claims.EXPERIMENTS), "seeds", not args.no_progress,
                                   unit="table")
    computed = []
    try:
        for exp in _claims.EXPERIMENTS:
            computed.append(RECOMPUTE[exp.key]())
            bar.update(1)
    finally:
        bar.close()
    print(f"jaxopt-scratch seeds: every number the tutorials of docs/tutorial_claims.rst "
          f"print, recomputed with jaxopt_scratch ({precision}) and printed with the "
          f"tutorial's own format.\n"
          f"A row reproduces when every field prints the same characters.\n")
    total = matched = 0
    for exp, variants in zip(_claims.EXPERIMENTS, computed):
        print(f"tutorial {exp.tutorial}: {exp.title}")
        label_width = max(len(label) for label, _ in exp.rows)
        for label, printed in exp.rows:
            print(f"  {label:<{label_width}}  {'tutorial:':<13} {_show(exp.fields, printed)}")
            for variant, rows in variants:
                ours = tuple(_fmt(v, s) for v, s in zip(rows[label], exp.formats))
                same = ours == tuple(p.strip() for p in printed)
                total, matched = total + 1, matched + same
                mark = "reproduces" if same else "DIFFERS"
                print(f"  {'':<{label_width}}  {variant + ':':<13} {_show(exp.fields, ours)}"
                      f"   [{mark}]")
        if exp.key in NOTES:
            print(f"  {NOTES[exp.key]}")
        print()
    for tutorial, note in _claims.SILENT:
        print(f"tutorial {tutorial}: {note}")
    print(f"\n{matched} of {total} printed rows reproduce. True values for every setup: "
          f"docs/tutorial_claims.rst (P1-P9).")
    return 0


def add_parser(sub: Any) -> None:
    p = _options.command(sub, "seeds", main, summary="recompute the tutorials' printed tables",
                         description="Recompute every number the tutorials described in "
                         "docs/tutorial_claims.rst print, with this library, and show it beside "
                         "the printed value, marking which reproduce.")
    p.add_argument("--float32", action="store_true",
                   help="compute in float32 (default float64, like the tutorials' NumPy code)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
