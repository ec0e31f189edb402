r"""Population-based training inside a sweep: the best runs are copied, their copies explore.

:func:`pbt` describes the schedule; :func:`sweep` (``population=jos.pbt(...)``)
trains every run of the search space as one *member* of a population in its
compiled chunk program. Every ``interval`` steps, between two calls of that
program, the members are ranked by a metric; each member of the bottom
``fraction`` takes the params and optimizer state of a member of the top
``fraction`` (*exploit*: one gather of the stacked states on device) and that
member's hyperparameters multiplied by a factor drawn from ``factors``, clipped
to the search space (*explore*). The hyperparameters are traced inputs of the
chunk program, so nothing is recompiled.

Each member's history is kept in a :class:`PopulationRecord`: the
hyperparameters every slot used in every interval and the slot each one copied
from. :meth:`PopulationRecord.lineage` follows a member's final state back to the
start, :meth:`PopulationRecord.schedule` gives the piecewise-constant
hyperparameters along it and :meth:`PopulationRecord.replay` turns them into an
optimizer that :func:`run` trains to the same params.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._engine import spaces as _spaces
from jaxopt_scratch._wrappers import inject as _inject

Bounds = dict[str, tuple[float, float, bool]]  # name -> (low, high, integer)


@dataclasses.dataclass(frozen=True)
class PBT:
    """Population-based training for :func:`sweep` (built by :func:`pbt`)."""

    interval: int  # steps between two exploit/explore rounds
    fraction: float  # the bottom fraction copies the top fraction, in (0, 0.5]
    factors: tuple[float, ...]  # explore: multiply each hyperparameter by one of these
    metric: str | None  # None ranks by the loss; else a name returned by `metrics_fn`
    mode: str  # "min" or "max": which end of the metric is best
    seed: int  # the NumPy seed of the choices of parents and factors

    def rungs(self, num_steps: int) -> tuple[int, ...]:
        """The steps after which the population is ranked, copied and perturbed."""
        return tuple(range(self.interval, num_steps, self.interval))

    def exploit(self, scores: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(sources, losers)``: the slot each member continues from, and who was replaced.

        The ``ceil(fraction * n)`` worst members (NaN ranks worst) each take a
        member of as many best ones, drawn at random; ties keep the earlier member.
        """
        n = len(scores)
        sign = 1.0 if self.mode == "min" else -1.0
        order = np.argsort(np.where(np.isnan(scores), np.inf, sign * scores), kind="stable")
        quantile = min(math.ceil(self.fraction * n), n // 2)
        sources = np.arange(n)
        losers = order[n - quantile:] if quantile else order[:0]
        if quantile:
            rng = self._rng(step, 0)
            sources[losers] = order[:quantile][rng.integers(0, quantile, size=quantile)]
        return sources, np.sort(losers)

    def explore(self, values: Mapping[str, np.ndarray], losers: np.ndarray, bounds: Bounds,
                step: int) -> dict[str, np.ndarray]:
        """The copied ``values`` with the ``losers``' entries multiplied and clipped."""
        rng = self._rng(step, 1)
        out = {}
        for name, column in values.items():
            column = np.array(column, copy=True)
            low, high, integer = bounds[name]
            factor = np.asarray(self.factors)[rng.integers(0, len(self.factors), len(losers))]
            moved = np.clip(column[losers] * factor, low, high)
            column[losers] = np.round(moved) if integer else moved
            out[name] = column
        return out

    def _rng(self, step: int, stream: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, step, stream))


def pbt(interval: int, fraction: float = 0.25, factors: tuple[float, ...] = (0.8, 1.2), *,
        metric: str | None = None, mode: str = "min", seed: int = 0) -> PBT:
    r"""Population-based training for :func:`sweep` (``population=jos.pbt(...)``).

    After every ``interval`` steps :math:`t`, with the :math:`n` members ranked by
    ``metric`` and :math:`q = \lceil \mathrm{fraction} \cdot n \rceil` (at most
    :math:`n/2`), each of the :math:`q` worst members :math:`i` picks one of the
    :math:`q` best, :math:`j`, and continues from

    .. math::

        \theta_i \leftarrow \theta_j, \qquad s_i \leftarrow s_j, \qquad
        h_i \leftarrow \mathrm{clip}(h_j \cdot f, h_{\min}, h_{\max}),
        \quad f \in \mathrm{factors}

    (params, optimizer state and each hyperparameter, with its own factor;
    integer hyperparameters are rounded). The bounds are the search space's:
    the smallest and largest value of a list, the range of a distribution.
    The members keep their own seeds (their data order).

    Args:
        interval: Steps between two rounds, a Python int ``>= 1``.
        fraction: The share of the population replaced each round, in ``(0, 0.5]``.
        factors: The multipliers explore draws from, each ``> 0``.
        metric: ``None`` ranks by the loss at the round (as ``halving`` does); a name
            returned by ``metrics_fn`` ranks by it (``eval_every`` must divide ``interval``).
        mode: ``"min"`` or ``"max"``: whether low or high values of ``metric`` are good.
        seed: The NumPy seed of the draws (same seed, same population history).

    Returns:
        A :class:`PBT`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> bowl = jos.problems.get("bowl")
        >>> result = jos.sweep(jos.sgd, {"learning_rate": [0.001, 0.01, 0.1, 0.2]},
        ...                    bowl.loss_fn, bowl.init_params(), 20, progress=False,
        ...                    population=jos.pbt(5, fraction=0.25, factors=(0.5, 2.0)))
        >>> record = result.population
        >>> record.steps.tolist()       # a round after every 5 steps
        [0, 5, 10, 15]
        >>> record.parents[0].tolist()  # slot 0 (lr 0.001, the worst) took slot 3's state at 5
        [0, 3, 0, 0]
        >>> record.hyperparams["learning_rate"][0].tolist()  # 0.2 * 2.0, clipped to the grid
        [0.001, 0.2, 0.2, 0.2]
        >>> record.lineage(0).tolist()  # who trained slot 0's final params, interval by interval
        [3, 0, 0, 0]

    References:
        Jaderberg et al., "Population based training of neural networks", arXiv:1711.09846,
        2017 (truncation selection: exploit; perturbation by 0.8 or 1.2: explore).
    """
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"`interval` must be a Python int >= 1 (steps), got {interval!r}.")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (
            0 < fraction <= 0.5):
        raise ValueError(f"`fraction` must be a number in (0, 0.5] (the bottom and top shares "
                         f"cannot overlap), got {fraction!r}.")
    factors = tuple(factors)
    if not factors or any(isinstance(f, bool) or not isinstance(f, (int, float)) or not
                          (math.isfinite(f) and f > 0) for f in factors):
        raise ValueError(f"`factors` must be a non-empty sequence of finite numbers > 0, "
                         f"got {factors!r}.")
    if metric is not None and not isinstance(metric, str):
        raise TypeError(f"`metric` must be None (the loss) or a metric name, got {metric!r}.")
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be a Python int, got {seed!r}.")
    return PBT(interval, float(fraction), tuple(float(f) for f in factors), metric, mode, seed)


def check_population(population: Any, prune: Any) -> PBT | None:
    if population is None:
        return None
    if not isinstance(population, PBT):
        raise TypeError(f"`population` must be None or `jos.pbt(...)`, got {population!r}.")
    if prune is not None:
        raise ValueError("`prune` and `population` cannot be combined: halving stops runs that "
                         "PBT would copy from. Pass one of them.")
    return population


def bounds(hyperparams: Mapping[str, Any]) -> Bounds:
    """``{name: (low, high, integer)}``: where explore may move each hyperparameter."""
    out = {}
    for name, axis in hyperparams.items():
        if isinstance(axis, _spaces.RandInt):
            out[name] = (float(axis.low), float(axis.high - 1), True)
        elif isinstance(axis, (_spaces.Uniform, _spaces.LogUniform)):
            out[name] = (axis.low, axis.high, False)
        else:
            values = np.asarray(axis)
            out[name] = (float(values.min()), float(values.max()),
                         bool(np.issubdtype(values.dtype, np.integer)))
    return out


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays
class PopulationRecord:
    """The history of a PBT population (``SweepResult.population``).

    Slots are the runs of the sweep; interval ``k`` covers the steps
    ``steps[k]`` to ``steps[k + 1]`` (or the end).

    Attributes:
        steps: ``(intervals,)``: the first step of each interval (``0, interval, ...``).
        hyperparams: ``{name: (runs, intervals)}``: the value each slot trained with.
        parents: ``(runs, intervals)``: the slot whose params and optimizer state each
            slot started the interval from (itself unless it was replaced).
        seeds: ``(runs,)``: each slot's seed (its initial params and its data order).
    """

    steps: np.ndarray
    hyperparams: dict[str, np.ndarray]
    parents: np.ndarray
    seeds: np.ndarray

    def lineage(self, member: int) -> np.ndarray:
        """``(intervals,)``: the slot that trained ``member``'s final state in each interval."""
        out = np.empty(len(self.steps), np.int64)
        slot = int(member)
        for k in range(len(self.steps) - 1, -1, -1):
            out[k] = slot
            slot = int(self.parents[slot, k])
        return out

    def schedule(self, member: int) -> dict[str, np.ndarray]:
        """``{name: (intervals,)}``: the hyperparameters along ``member``'s lineage."""
        slots = self.lineage(member)
        k = np.arange(len(self.steps))
        return {name: values[slots, k] for name, values in self.hyperparams.items()}

    def replay(self, make_optimizer: Callable[..., _base.GradientTransformation],
               member: int) -> _base.GradientTransformation:
        r"""An optimizer that retraces ``member``'s lineage in :func:`run`.

        It is ``inject_hyperparams(make_optimizer)`` with each hyperparameter a
        piecewise-constant schedule of :meth:`schedule`. Run it from the params of
        ``seeds[lineage(member)[0]]`` (the first ancestor); the data of interval
        ``k`` is that of seed ``seeds[lineage(member)[k]]``, which is the same for
        every seed with ``batches`` or a full batch.
        """
        boundaries = jnp.asarray(self.steps[1:], jnp.int32)

        def piecewise(values):
            values = jnp.asarray(values)

            def schedule(count):
                return values[jnp.searchsorted(boundaries, count, side="right")]

            return schedule

        return _inject.inject_hyperparams(make_optimizer)(
            **{name: piecewise(v) for name, v in self.schedule(member).items()})


class PopulationRecorder:
    """Host bookkeeping of a PBT sweep: applies rounds to the table and records them."""

    def __init__(self, population: PBT, space_bounds: Bounds, run_hp: dict[str, np.ndarray],
                 seeds: np.ndarray):
        self.population, self.bounds, self.seeds = population, space_bounds, seeds
        self.steps = [0]
        self.parents = [np.arange(len(seeds))]
        self.values = [dict(run_hp)]

    def round(self, scores: np.ndarray, step: int, run_hp: dict[str, np.ndarray]) -> np.ndarray:
        """Ranks the members at ``step``; updates ``run_hp`` in place; returns the sources."""
        sources, losers = self.population.exploit(scores, step)
        copied = {name: values[sources] for name, values in run_hp.items()}
        run_hp.update(self.population.explore(copied, losers, self.bounds, step))
        self.steps.append(step)
        self.parents.append(sources)
        self.values.append(dict(run_hp))
        return sources

    def record(self) -> PopulationRecord:
        names = self.values[0]
        return PopulationRecord(
            steps=np.asarray(self.steps, np.int64),
            hyperparams={n: np.stack([v[n] for v in self.values], axis=1) for n in names},
            parents=np.stack(self.parents, axis=1), seeds=np.asarray(self.seeds))

