"""``jaxopt-scratch sweep``'s tuning: ``--sample``, ``--num-samples``, ``--prune`` and ``--metric``
(each turns its text into arguments of :func:`jos.sweep` or raises :class:`TuningError`) and the
rows of its table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from jaxopt_scratch._engine import pruning as _pruning
from jaxopt_scratch._engine import spaces as _spaces


class TuningError(ValueError):
    """A bad tuning option; the message says what to change."""


def add_arguments(p: argparse.ArgumentParser, count: Callable[[str], int]) -> None:
    """``--sample``, ``--num-samples``, ``--prune``, ``--metric`` and ``--csv``."""
    p.add_argument("--sample", choices=("grid", "random", "sobol"), default="grid",
                   help="learning rates: a log-spaced grid, or drawn log-uniformly from the "
                   "range (random, or a scrambled Sobol sequence), seed 0")
    p.add_argument("--num-samples", type=count, default=None,
                   help="learning rates drawn by --sample random or sobol (default: --num-lrs)")
    p.add_argument("--prune", default="none", metavar="none|halving[:ETA[:MIN_STEPS]]",
                   help="successive halving: at steps MIN_STEPS * ETA^k keep the best 1/ETA "
                   "of the learning rates (default ETA 3, MIN_STEPS steps/ETA^2)")
    p.add_argument("--metric", default="loss", metavar="NAME[:min|max]",
                   help="rank (and prune) by the final loss or a metric of the problem, such "
                   "as accuracy (maximised)")
    p.add_argument("--csv", default=None, metavar="PATH",
                   help="also write every run (optimizer, lr, seed, final loss, metrics) as CSV")


def learning_rates(sample: str, low: float, high: float, num_lrs: int,
                   num_samples: int | None) -> tuple[np.ndarray, str]:
    """The learning rates of ``--sample`` (sorted) and a line describing them."""
    if sample == "grid":
        if num_samples is not None:
            raise TuningError("--num-samples is for --sample random or sobol; a grid takes "
                              "--num-lrs learning rates")
        if num_lrs < 2:
            raise TuningError(f"--num-lrs must be at least 2, got {num_lrs}")
        lrs = np.geomspace(low, high, num_lrs)
        return lrs, f"{len(lrs)} learning rates {lrs[0]:.3g} .. {lrs[-1]:.3g} (log-spaced)"
    count = num_samples if num_samples is not None else num_lrs
    table = _spaces.sample_hyperparams({"learning_rate": _spaces.loguniform(low, high)}, count,
                                       method=sample, seed=0)
    return np.sort(table["learning_rate"]), (
        f"{count} learning rates drawn log-uniformly from {low:g} .. {high:g} ({sample}, seed 0)")


def width_in_decades(learning_rates: np.ndarray, reached: np.ndarray) -> float:
    """The log10-length of the learning rates that reach the target.

    Each sorted learning rate owns the cell between the midpoints to its neighbours
    (in log10); on an even grid every cell is one grid step.
    """
    logs = np.log10(learning_rates)
    if logs.size < 2:
        return 0.0
    mids = (logs[1:] + logs[:-1]) / 2
    edges = np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]])
    return float(np.diff(edges)[reached].sum())


def halving(text: str) -> _pruning.Halving | None:
    """``none``, ``halving``, ``halving:ETA`` or ``halving:ETA:MIN_STEPS``."""
    name, *numbers = text.strip().lower().split(":")
    if name == "none" and not numbers:
        return None
    try:
        values = [int(n) for n in numbers]
        if name != "halving" or len(values) > 2:
            raise ValueError
        return _pruning.halving(*values)
    except ValueError:
        raise TuningError(f"--prune must be none, halving, halving:ETA or halving:ETA:MIN_STEPS "
                          f"with ETA >= 2 and MIN_STEPS >= 1, got {text!r}") from None


class Ranking(NamedTuple):
    """How a sweep ranks its configurations (``--metric``)."""

    name: str  # "final_loss" or a name metrics_fn returns
    mode: str  # "min" or "max"
    metrics_fn: Callable[..., dict[str, Any]] | None  # what the sweep evaluates, if anything


def _problem_metrics(problem: Any) -> Callable[..., dict[str, Any]] | None:
    if problem.metrics_fn is not None:
        return problem.metrics_fn
    if problem.accuracy_fn is not None:
        accuracy_fn = problem.accuracy_fn

        def metrics_fn(params, batch=None):
            return {"accuracy": accuracy_fn(params, batch)}

        return metrics_fn
    return None


def ranking(text: str, problem: Any, params: Any, want_metrics: bool) -> Ranking:
    """``loss`` or a metric of the problem, optionally ``NAME:max`` / ``NAME:min``.

    A metric whose name ends in ``accuracy`` is maximised unless told otherwise.
    ``want_metrics`` asks for the problem's metrics even when ranking by the loss
    (for ``--csv``).
    """
    name, _, mode = text.strip().partition(":")
    metrics_fn = _problem_metrics(problem)
    known = ["loss"]
    if metrics_fn is not None:
        known += sorted(set(metrics_fn(params, problem.eval_batch)) - {"loss"})
    if name not in known:
        raise TuningError(f"--metric {name!r} is not measured on {problem.name}; choose one of "
                          f"{', '.join(known)}")
    mode = mode or ("max" if name.endswith("accuracy") else "min")
    if mode not in ("min", "max"):
        raise TuningError(f"--metric {text!r}: the part after ':' must be min or max")
    use = metrics_fn if (name != "loss" or want_metrics) else None
    return Ranking("final_loss" if name == "loss" else name, mode, use)


def sweep_row(name: str, lrs: np.ndarray, result: Any, target: float | None,
              ranking: Ranking) -> tuple[list[str], np.ndarray]:
    """One optimizer's row of the sweep table, and its seed-averaged final losses."""
    final = result.config_final_losses()
    reached = (final <= target) if target is not None else np.zeros(len(lrs), bool)
    try:
        best = result.best(metric=ranking.name, mode=ranking.mode)
        best_lr, best_value = f"{best['learning_rate']:.3g}", f"{best[ranking.name]:.3g}"
    except ValueError:
        best_lr = best_value = "all diverged"
    span = (f"{lrs[reached].min():.3g} - {lrs[reached].max():.3g}" if reached.any() else "none")
    diverged = int((~np.isfinite(final)).sum())
    return [name, best_lr, best_value, span, f"{width_in_decades(lrs, reached):.2f}",
            f"{diverged}/{len(lrs)}"], final
