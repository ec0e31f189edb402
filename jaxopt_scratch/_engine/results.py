r"""What a sweep returns (:class:`SweepResult`) and how it is filled (:class:`Recorder`).

The result is plain NumPy: tables of hyperparameters, loss curves, evaluation
metrics and diagnostics with one row per run, plus rankings (:meth:`SweepResult.best`)
and exports (:meth:`SweepResult.to_csv`, :meth:`SweepResult.to_dataframe`).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import numpy as np

RESERVED = ("seed", "final_loss", "diverged", "stopped_at")


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not results
class SweepResult:
    """What :func:`sweep` returns; one *run* is one configuration with one seed.

    Runs are ordered configuration-major: run ``r`` is configuration
    ``r // num_seeds`` with seed number ``r % num_seeds``.

    Attributes:
        hyperparams: The table, ``{name: (runs,) array}``, including ``"seed"``.
        losses: ``(runs, num_steps)``: the loss each update starts from (as in :func:`run`);
            NaN after a run's ``stopped_at``.
        final_losses: ``(runs,)``: the loss after the last update (at ``stopped_at``).
        params: The final params, every array leaf with a leading ``runs`` axis (NumPy).
        diverged: ``(runs,)`` bools: a loss or a final parameter was NaN or infinite.
            Such runs are kept, not dropped.
        num_configs: The number of configurations.
        num_seeds: The number of seeds per configuration.
        metrics: ``{name: (runs, evaluations) array}`` from ``metrics_fn``; NaN after a
            run's ``stopped_at``.
        eval_steps: ``(evaluations,)``: the step after which each evaluation was made.
        diagnostics: ``{name: (runs, num_steps) array}``: per-step optimizer diagnostics.
        stopped_at: ``(runs,)`` ints: the steps each run trained (``num_steps`` unless pruned).
        pruned: Whether the sweep used ``prune`` (adds the ``stopped_at`` column).
        population: With ``population=jos.pbt(...)``, the population's history (a
            :class:`PopulationRecord`: each member's hyperparameter schedule and lineage).
        memory: With ``max_batch="auto"`` or a ``memory_budget``, the
            :class:`MemoryEstimate` the group size was chosen from.
    """

    hyperparams: dict[str, np.ndarray]
    losses: np.ndarray
    final_losses: np.ndarray
    params: Any
    diverged: np.ndarray
    num_configs: int
    num_seeds: int
    metrics: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    eval_steps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    diagnostics: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    stopped_at: np.ndarray | None = None
    pruned: bool = False
    population: Any = None
    memory: Any = None

    def __post_init__(self):
        if self.stopped_at is None:
            object.__setattr__(self, "stopped_at",
                               np.full(len(self.final_losses), self.losses.shape[1], np.int64))

    @property
    def names(self) -> tuple[str, ...]:
        """The swept hyperparameter names (without ``"seed"``)."""
        return tuple(n for n in self.hyperparams if n != "seed")

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :meth:`to_rows`: hyperparameters, seed, final loss, final metrics."""
        return (*self.names, "seed", "final_loss", "diverged", *self.metrics,
                *(("stopped_at",) if self.pruned else ()))

    @property
    def steps_run(self) -> int:
        """The updates made by all runs together (the cost of the sweep)."""
        return int(self.stopped_at.sum())

    def configs(self) -> list[dict[str, float]]:
        """The configurations, in order, as ``{name: value}`` dicts of Python numbers."""
        if not self.names:
            return [{} for _ in range(self.num_configs)]
        first = slice(0, None, self.num_seeds)
        return [dict(zip(self.names, row)) for row in
                zip(*(self.hyperparams[n][first].tolist() for n in self.names))]

    def config_final_losses(self) -> np.ndarray:
        """``(num_configs,)``: the final loss averaged over seeds; ``inf`` if any seed diverged."""
        final = np.where(self.diverged, np.inf, self.final_losses)
        return final.reshape(self.num_configs, self.num_seeds).mean(axis=1)

    def final_metrics(self) -> dict[str, np.ndarray]:
        """``{name: (runs,)}``: each metric at each run's last evaluation (at or before its stop)."""
        last = np.searchsorted(self.eval_steps, self.stopped_at, side="right") - 1
        rows = np.arange(len(self.stopped_at))
        return {name: np.where(last >= 0, values[rows, np.maximum(last, 0)], np.nan)
                for name, values in self.metrics.items()}

    def config_scores(self, metric: str = "final_loss", mode: str = "min") -> np.ndarray:
        """``(num_configs,)``: ``metric`` averaged over seeds, the worst value where it cannot win.

        A configuration that diverged (any seed) or was stopped by pruning gets
        ``inf`` (``mode="min"``) or ``-inf`` (``mode="max"``).
        """
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}.")
        if metric == "final_loss":
            values = self.final_losses
        elif metric in self.metrics:
            values = self.final_metrics()[metric]
        else:
            raise ValueError(f"`metric`={metric!r} was not recorded; recorded: "
                             f"{', '.join(('final_loss', *self.metrics))}.")
        worst = np.inf if mode == "min" else -np.inf
        lost = self.diverged | ~np.isfinite(values) | (self.stopped_at < self.stopped_at.max())
        values = np.where(lost, worst, values)
        return values.reshape(self.num_configs, self.num_seeds).mean(axis=1)

    def best(self, metric: str = "final_loss", mode: str = "min") -> dict[str, Any]:
        """The configuration with the best seed-averaged ``metric``, ignoring diverged ones.

        Args:
            metric: ``"final_loss"`` or a name of :attr:`metrics` (its last evaluation).
            mode: ``"min"`` or ``"max"``: whether low or high values are best.

        Returns:
            ``{**hyperparameters, "final_loss": mean final loss, metric: its mean (if
            not the loss), "index": config index}``. With pruning only the
            configurations that ran every step compete.

        Raises:
            ValueError: If every configuration diverged, or ``metric`` was not recorded.
        """
        scores = self.config_scores(metric, mode)
        if not np.isfinite(scores).any():
            raise ValueError(
                "Every configuration of the sweep diverged (NaN or infinite loss); there is no "
                "best one. Try smaller learning rates or fewer steps."
            )
        index = int(np.argmin(scores) if mode == "min" else np.argmax(scores))
        final = self.final_losses.reshape(self.num_configs, self.num_seeds).mean(axis=1)
        out = {**self.configs()[index], "final_loss": float(final[index])}
        if metric != "final_loss":
            out[metric] = float(scores[index])
        return {**out, "index": index}

    def to_rows(self) -> list[tuple[Any, ...]]:
        """One tuple of Python values per run, in the order of :attr:`columns`."""
        cols = [self.hyperparams[n].tolist() for n in self.names]
        cols += [self.hyperparams["seed"].tolist(), self.final_losses.tolist(),
                 self.diverged.tolist()]
        cols += [v.tolist() for v in self.final_metrics().values()]
        if self.pruned:
            cols.append(self.stopped_at.tolist())
        return list(zip(*cols))

    def to_dicts(self) -> list[dict[str, Any]]:
        """One ``{column: value}`` dict of Python values per run."""
        return [dict(zip(self.columns, row)) for row in self.to_rows()]

    def to_csv(self, path: str) -> None:
        """Writes :meth:`to_rows` with a header of :attr:`columns` (no pandas needed).

        Args:
            path: The file to write (overwritten).
        """
        write_csv(path, self.columns, self.to_rows())

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame`` of :meth:`to_rows`, one row per run (pandas is optional).

        Raises:
            ImportError: If pandas is not installed, naming the extra that installs it.
        """
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError(
                "SweepResult.to_dataframe needs pandas, an optional dependency: install the "
                "extra with `python3 -m pip install 'jaxopt_scratch[pandas]'` (or use "
                "`to_csv`/`to_dicts`, which need nothing)."
            ) from err
        return pd.DataFrame.from_records(self.to_rows(), columns=list(self.columns))


def write_csv(path: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV file (overwritten): the header, then one line per row."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _to_host(x: Any) -> Any:
    """NumPy for data, the JAX array itself for PRNG keys (NumPy has no key dtype)."""
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return x
    return np.asarray(x)


def _concat(parts: list[Any]) -> Any:
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return jax.numpy.concatenate(parts)


class Recorder:
    """Host buffers a sweep fills group by group, chunk by chunk; :meth:`result` builds the result."""

    def __init__(self, num_runs: int, num_steps: int, eval_steps: np.ndarray):
        self.num_runs, self.num_steps, self.eval_steps = num_runs, num_steps, eval_steps
        self.losses = np.full((num_runs, num_steps), np.nan, np.float32)
        self.diagnostics: dict[str, np.ndarray] = {}
        self.metrics: dict[str, np.ndarray] = {}
        self.final_losses = np.full(num_runs, np.nan, np.float32)
        self.stopped_at = np.full(num_runs, num_steps, np.int64)
        self._params: list[tuple[np.ndarray, Any]] = []

    def _buffer(self, table: dict[str, np.ndarray], name: str, width: int, dtype: Any) -> np.ndarray:
        if name not in table:
            table[name] = np.full((self.num_runs, width), np.nan, np.result_type(dtype, np.float32))
        return table[name]

    def steps(self, rows: np.ndarray, start: int, losses: np.ndarray,
              diagnostics: dict[str, np.ndarray]) -> None:
        """Per-step values of the runs ``rows`` from step ``start`` (padding steps dropped)."""
        end = min(start + losses.shape[1], self.num_steps)
        self.losses = self.losses.astype(np.result_type(self.losses, losses), copy=False)
        self.losses[rows, start:end] = losses[:len(rows), :end - start]
        for name, values in diagnostics.items():
            buf = self._buffer(self.diagnostics, name, self.num_steps, values.dtype)
            buf[rows, start:end] = values[:len(rows), :end - start]

    def evaluations(self, rows: np.ndarray, first: int, metrics: dict[str, np.ndarray]) -> None:
        """Evaluations ``first, first + 1, ...`` of the runs ``rows`` (extra ones dropped)."""
        for name, values in metrics.items():
            if name in RESERVED:
                raise ValueError(f"`metrics_fn` returned {name!r}, a column name of the "
                                 f"result ({', '.join(RESERVED)}); rename it.")
            buf = self._buffer(self.metrics, name, len(self.eval_steps), values.dtype)
            end = min(first + values.shape[1], len(self.eval_steps))
            buf[rows, first:end] = values[:len(rows), :end - first]

    def stop(self, rows: np.ndarray, step: int, final_losses: np.ndarray, trained: Any,
             held: Any) -> None:
        """The runs ``rows`` end at ``step`` with these final losses and params (split in two)."""
        self.stopped_at[rows] = step
        self.final_losses = self.final_losses.astype(
            np.result_type(self.final_losses, final_losses), copy=False)
        self.final_losses[rows] = final_losses[:len(rows)]
        self._params.append((rows, jax.tree.map(lambda x: _to_host(x)[:len(rows)],
                                                (trained, held))))
        if step < self.num_steps:
            self.losses[rows, step:] = np.nan
            for values in self.diagnostics.values():
                values[rows, step:] = np.nan
            later = self.eval_steps > step
            for values in self.metrics.values():
                values[np.ix_(rows, later)] = np.nan

    def result(self, hyperparams: dict[str, np.ndarray], num_configs: int, num_seeds: int,
               pruned: bool, rebuild: Callable[[Any, Any], Any]) -> SweepResult:
        """The :class:`SweepResult`; ``rebuild(trained, held)`` puts the params together."""
        rows = np.concatenate([r for r, _ in self._params])
        order = np.argsort(rows, kind="stable")
        trees = [t for _, t in self._params]
        trained, held = jax.tree.map(lambda *xs: _concat(list(xs))[order], *trees)
        finite = np.isfinite(self.final_losses)
        ran = np.arange(self.num_steps) < self.stopped_at[:, None]
        finite &= np.where(ran, np.isfinite(self.losses), True).all(axis=1)
        for leaf in jax.tree.leaves(trained):
            finite &= np.isfinite(np.asarray(leaf).reshape(self.num_runs, -1)).all(axis=1)
        return SweepResult(
            hyperparams=hyperparams, losses=self.losses, final_losses=self.final_losses,
            params=rebuild(trained, held), diverged=~finite, num_configs=num_configs,
            num_seeds=num_seeds, metrics=self.metrics, eval_steps=self.eval_steps,
            diagnostics=self.diagnostics, stopped_at=self.stopped_at, pruned=pruned,
        )
