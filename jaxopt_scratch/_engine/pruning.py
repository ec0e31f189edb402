r"""Successive halving inside a sweep: the worst configurations stop at rungs, the rest go on.

:func:`halving` describes the rungs; :func:`sweep` applies them between chunks of
its compiled program. With reduction factor :math:`\eta` and minimum budget
:math:`r`, the rungs are at :math:`r, r\eta, r\eta^2, \dots` steps (below
``num_steps``), as in ASHA (Li et al., 2020); at each rung the configurations are
ranked by a metric (averaged over seeds) and the best
:math:`\max(1, \lfloor n/\eta \rfloor)` of the :math:`n` still running continue to the
next rung, the others stop. All decisions are made on the host between calls of
the one compiled chunk program; the survivors are regrouped (padded to the
device count) and continue from their own params and optimizer state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Halving:
    """Successive halving rungs (built by :func:`halving`)."""

    reduction_factor: int  # keep 1 / reduction_factor of the configurations at each rung
    min_steps: int | None  # the first rung; None: num_steps // reduction_factor**2
    metric: str | None  # None ranks by the loss; else a name returned by `metrics_fn`
    mode: str  # "min" or "max": which end of the metric is best

    def rungs(self, num_steps: int) -> tuple[int, ...]:
        """The steps at which configurations are ranked and the worst stopped."""
        eta = self.reduction_factor
        first = self.min_steps if self.min_steps is not None else num_steps // eta**2
        out, rung = [], max(first, 1)
        while rung < num_steps:
            out.append(rung)
            rung *= eta
        return tuple(out)

    def keep(self, alive: int) -> int:
        """How many of ``alive`` configurations continue past a rung."""
        return max(1, alive // self.reduction_factor)

    def survivors(self, scores: np.ndarray) -> np.ndarray:
        """The indices (ascending) of the configurations to keep; NaN and inf rank last."""
        sign = 1.0 if self.mode == "min" else -1.0
        ranked = np.where(np.isfinite(scores), sign * scores, np.inf)
        order = np.argsort(ranked, kind="stable")  # ties: the earlier configuration
        return np.sort(order[:self.keep(len(scores))])

    def alive_per_segment(self, num_configs: int, num_steps: int) -> list[int]:
        """Configurations running in each segment between rungs (and after the last one)."""
        counts = [num_configs]
        for _ in self.rungs(num_steps):
            counts.append(self.keep(counts[-1]))
        return counts


def halving(reduction_factor: int = 3, min_steps: int | None = None, *,
            metric: str | None = None, mode: str = "min") -> Halving:
    r"""Successive halving for :func:`sweep` (``prune=jos.halving(...)``).

    A budget of :math:`B` steps per configuration for :math:`n` configurations
    costs :math:`nB` steps in a full sweep; with rungs :math:`r, r\eta, \ldots` it
    costs :math:`n r + \lfloor n/\eta \rfloor (r\eta - r) + \ldots`, for the default
    :math:`r = B/\eta^2` and :math:`\eta = 3` about :math:`0.26\,nB`.

    Args:
        reduction_factor: :math:`\eta \ge 2`: a rung keeps the best
            :math:`\lfloor n/\eta \rfloor` of :math:`n` configurations (at least one).
        min_steps: The first rung :math:`r \ge 1`, in steps (default
            ``num_steps // reduction_factor**2``, so three rungs with the last at
            ``num_steps``). Must be a multiple of ``chunk_steps`` and of ``eval_every``
            when those are given.
        metric: The ranking: ``None`` for the loss (the loss the sweep reports as
            final, evaluated at the rung), or a name returned by ``metrics_fn``
            (then ``eval_every`` must divide ``min_steps``).
        mode: ``"min"`` or ``"max"``: whether low or high values of ``metric`` are good.

    Returns:
        A :class:`Halving`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> bowl = jos.problems.get("bowl")
        >>> lrs = {"learning_rate": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]}
        >>> result = jos.sweep(jos.sgd, lrs, bowl.loss_fn, bowl.init_params(), 27,
        ...                    prune=jos.halving(3, min_steps=3), progress=False)
        >>> result.stopped_at.tolist()     # rungs at 3 and 9 steps: 9 -> 3 -> 1 configurations
        [3, 3, 3, 3, 3, 3, 9, 9, 27]
        >>> result.best()["learning_rate"], result.steps_run, 9 * 27   # vs the full grid's steps
        (0.09, 63, 243)

    References:
        Jamieson & Talwalkar, "Non-stochastic best arm identification and hyperparameter
        optimization", AISTATS 2016 (successive halving). Li et al., "A system for
        massively parallel hyperparameter tuning", MLSys 2020 (ASHA's rungs).
    """
    if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, int) or (
            reduction_factor < 2):
        raise ValueError(f"`reduction_factor` must be a Python int >= 2, got {reduction_factor!r}.")
    if min_steps is not None and (isinstance(min_steps, bool) or not isinstance(min_steps, int)
                                  or min_steps < 1):
        raise ValueError(f"`min_steps` must be a Python int >= 1 or None, got {min_steps!r}.")
    if metric is not None and not isinstance(metric, str):
        raise TypeError(f"`metric` must be None (the loss) or a metric name, got {metric!r}.")
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
    return Halving(reduction_factor, min_steps, metric, mode)


def check_prune(prune: Any) -> Halving | None:
    if prune is not None and not isinstance(prune, Halving):
        raise TypeError(f"`prune` must be None or `jos.halving(...)`, got {prune!r}.")
    return prune
