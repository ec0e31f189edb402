r"""Hyperparameter sweeps: every configuration (and seed) trained by one ``jit(vmap(scan))``.

The numeric hyperparameters of a sweep reach ``make_optimizer`` as tracers, so
one compiled program trains every configuration at once. Long sweeps run in
chunks of steps (so a progress bar can advance) and in groups of
configurations (``max_batch``, so memory stays bounded); both reuse the one
compiled chunk program. With several devices the configuration axis is
sharded across them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import progress as _progress


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not results
class SweepResult:
    """What :func:`sweep` returns; one *run* is one configuration with one seed.

    Runs are ordered configuration-major: run ``r`` is configuration
    ``r // num_seeds`` with seed number ``r % num_seeds``.

    Attributes:
        hyperparams: The table, ``{name: (runs,) array}``, including ``"seed"``.
        losses: ``(runs, num_steps)``: the loss each update starts from (as in :func:`run`).
        final_losses: ``(runs,)``: the loss after the last update.
        params: The final params, every leaf with a leading ``runs`` axis (NumPy).
        diverged: ``(runs,)`` bools: a loss or a final parameter was NaN or infinite.
            Such runs are kept, not dropped.
        num_configs: The number of configurations.
        num_seeds: The number of seeds per configuration.
    """

    hyperparams: dict[str, np.ndarray]
    losses: np.ndarray
    final_losses: np.ndarray
    params: Any
    diverged: np.ndarray
    num_configs: int
    num_seeds: int

    @property
    def names(self) -> tuple[str, ...]:
        """The swept hyperparameter names (without ``"seed"``)."""
        return tuple(n for n in self.hyperparams if n != "seed")

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :meth:`to_rows`."""
        return (*self.names, "seed", "final_loss", "diverged")

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

    def best(self) -> dict[str, Any]:
        """The configuration with the lowest seed-averaged final loss, ignoring diverged ones.

        Returns:
            ``{**hyperparameters, "final_loss": mean final loss, "index": config index}``.

        Raises:
            ValueError: If every configuration diverged.
        """
        scores = self.config_final_losses()
        if not np.isfinite(scores).any():
            raise ValueError(
                "Every configuration of the sweep diverged (NaN or infinite loss); there is no "
                "best one. Try smaller learning rates or fewer steps."
            )
        index = int(np.argmin(scores))
        return {**self.configs()[index], "final_loss": float(scores[index]), "index": index}

    def to_rows(self) -> list[tuple[Any, ...]]:
        """One tuple of Python values per run, in the order of :attr:`columns`."""
        cols = [self.hyperparams[n].tolist() for n in self.names]
        cols += [self.hyperparams["seed"].tolist(), self.final_losses.tolist(),
                 self.diverged.tolist()]
        return list(zip(*cols))

    def to_dicts(self) -> list[dict[str, Any]]:
        """One ``{column: value}`` dict of Python values per run."""
        return [dict(zip(self.columns, row)) for row in self.to_rows()]


def _table(hyperparams: Mapping[str, Any], mode: str) -> dict[str, np.ndarray]:
    """The configurations as ``{name: (configs,) array}`` (product or zip of the axes)."""
    if not isinstance(hyperparams, Mapping):
        raise TypeError(
            f"`hyperparams` must be a dict mapping names to 1-D sequences of numbers, "
            f"for example {{'learning_rate': [1e-3, 1e-2]}}; got {hyperparams!r}."
        )
    axes = {}
    for name, values in hyperparams.items():
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1 or arr.size == 0 or arr.dtype == bool or not (
            np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
        ):
            raise TypeError(
                f"`hyperparams[{name!r}]` must be a non-empty 1-D sequence of real numbers "
                f"(they are traced), got {values!r}. Structural options (bools, strings, "
                f"dtypes) cannot be swept in one program: fix them inside `make_optimizer`, "
                f"or call `sweep` once per value."
            )
        axes[name] = arr
    if mode == "grid":
        grids = np.meshgrid(*axes.values(), indexing="ij") if axes else []
        return {n: g.reshape(-1) for n, g in zip(axes, grids)}
    if mode == "zip":
        lengths = {n: a.size for n, a in axes.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"`mode`='zip' needs every hyperparameter axis to have the same length, got "
                f"{lengths}. Use `mode`='grid' for the product of the axes."
            )
        return axes
    raise ValueError(f"`mode` must be 'grid' or 'zip', got {mode!r}.")


def _seeds(seeds: Any) -> np.ndarray:
    if seeds is None:
        return np.zeros(1, np.int32)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        _loop.check_count("seeds", seeds, 1)
        return np.arange(seeds, dtype=np.int32)
    arr = np.asarray(seeds)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"`seeds` must be a count (int >= 1) or a non-empty sequence of ints, got {seeds!r}."
        )
    return arr.astype(np.int32)


def _init(make_optimizer, init_fn, hp, seed, params):
    init_key, data_key = jax.random.split(jax.random.key(seed))
    if init_fn is not None:
        params = init_fn(init_key)
    return params, make_optimizer(**hp).init(params), data_key


_init_program = jax.jit(
    jax.vmap(_init, in_axes=(None, None, 0, 0, None)),
    static_argnums=(0, 1),
)


def _chunk(make_optimizer, loss_fn, sample_fn, mode, length, stop,
           hp, params, state, data_key, start, batches):
    (params, state), losses = _loop.train_steps(
        make_optimizer(**hp), loss_fn, mode, sample_fn, params, state, start, length,
        batches=batches, data_key=data_key, stop=stop,
    )
    return params, state, losses


_chunk_program = jax.jit(
    jax.vmap(_chunk, in_axes=(None,) * 6 + (0, 0, 0, 0, None, None)),
    static_argnums=(0, 1, 2, 3, 4, 5),
)


def _final(loss_fn, params, eval_batch):
    return _loop.call_loss(loss_fn, params, eval_batch, "full" if eval_batch is None else "batches")


_final_program = jax.jit(jax.vmap(_final, in_axes=(None, 0, None)), static_argnums=(0,))


def _pad_rows(tree: Any, size: int) -> Any:
    """Pads axis 0 to ``size`` by repeating the last row (valid values, no NaN)."""
    return jax.tree.map(lambda x: np.concatenate([x, np.repeat(x[-1:], size - len(x), 0)]), tree)


def _validate(make_optimizer, hyperparams, loss_fn, num_steps, mode, seeds, batches, sample_fn):
    """Step 1: checks the arguments; returns the configuration table, the seeds and the data mode."""
    _checks.check_transform_factory("make_optimizer", make_optimizer)
    table = _table(hyperparams, mode)
    seed_list = _seeds(seeds)
    return table, seed_list, _loop.check_data(loss_fn, num_steps, batches, sample_fn)


class _Plan(NamedTuple):
    """How the runs are cut: groups of runs (memory, devices) and chunks of steps (progress)."""

    num_runs: int  # configurations times seeds
    group: int  # runs per compiled call: a multiple of the device count
    num_groups: int  # the last group is padded with copies of the last run
    chunk: int  # steps per compiled call
    num_chunks: int
    stop: int | None  # num_steps when the last chunk is padded (its extra steps are no-ops)


def _plan(num_runs: int, num_steps: int, max_batch: Any, chunk_steps: Any,
          num_devices: int) -> _Plan:
    """Step 2: plans the groups of runs and the chunks of steps."""
    group = num_runs if max_batch is None else min(_loop.check_count("max_batch", max_batch, 1),
                                                   num_runs)
    group = math.ceil(group / num_devices) * num_devices
    chunk = _loop.check_count("chunk_steps", chunk_steps, 1) if chunk_steps is not None else (
        max(1, math.ceil(num_steps / 20)))
    chunk = min(chunk, max(num_steps, 1))
    num_chunks = math.ceil(num_steps / chunk)
    stop = num_steps if num_chunks * chunk != num_steps else None
    return _Plan(num_runs, group, math.ceil(num_runs / group), chunk, num_chunks, stop)


class _Placement(NamedTuple):
    """Where arrays go: ``put(tree, split)`` shards along the runs, ``put(tree, same)`` replicates."""

    put: Callable[[Any, Any], Any]
    split: Any  # a NamedSharding along the runs axis, or None on one device
    same: Any  # a replicated NamedSharding, or None on one device

    @classmethod
    def over(cls, devices: Sequence[jax.Device]) -> _Placement:
        if len(devices) > 1:
            mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
            return cls(jax.device_put,
                       jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs")),
                       jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
        return cls(lambda tree, sharding: tree, None, None)  # one device: leave it to jit


class _Task(NamedTuple):
    """What every group of runs trains (the same for all groups)."""

    make_optimizer: Callable[..., _base.GradientTransformation]
    loss_fn: _loop.LossFn
    sample_fn: _loop.SampleFn | None
    mode: str  # the data mode: "full", "batches" or "sample"
    num_steps: int
    init_fn: Callable[[jax.Array], Any] | None  # `init_params` if it is a function of a key
    shared_params: Any  # `init_params` if it is a pytree (shared by every run), else None
    batches: Any
    eval_batch: Any


def _run_group(task: _Task, plan: _Plan, hp: dict[str, jax.Array], seeds: jax.Array,
               bar: _progress.Progress) -> tuple[np.ndarray, np.ndarray, Any]:
    """Step 3: trains one group of runs chunk by chunk; returns ``(losses, final losses, params)``."""
    params, state, data_key = _init_program(
        task.make_optimizer, task.init_fn, hp, seeds, task.shared_params)
    chunks = []
    for c in range(plan.num_chunks):
        params, state, chunk_losses = _chunk_program(
            task.make_optimizer, task.loss_fn, task.sample_fn, task.mode, plan.chunk, plan.stop,
            hp, params, state, data_key, np.int32(c * plan.chunk), task.batches,
        )
        chunks.append(np.asarray(chunk_losses))  # waits for the chunk: the bar is honest
        bar.update(min(plan.chunk, task.num_steps - c * plan.chunk))
    losses = np.concatenate(chunks, axis=1) if chunks else np.zeros((plan.group, 0))
    finals = np.asarray(_final_program(task.loss_fn, params, task.eval_batch))
    return losses, finals, jax.tree.map(np.asarray, params)


def _collect(outputs: list[tuple[np.ndarray, np.ndarray, Any]], run_hp: dict[str, np.ndarray],
             run_seeds: np.ndarray, num_configs: int, num_seeds: int,
             num_steps: int) -> SweepResult:
    """Step 4: joins the groups, drops the padding and flags the diverged runs."""
    num_runs = num_configs * num_seeds
    losses, finals, params = zip(*outputs)
    all_losses = np.concatenate(losses)[:num_runs, :num_steps]
    final_losses = np.concatenate(finals)[:num_runs]
    final_params = jax.tree.map(lambda *xs: np.concatenate(xs)[:num_runs], *params)
    finite = np.isfinite(all_losses).all(axis=1) & np.isfinite(final_losses)
    for leaf in jax.tree.leaves(final_params):
        finite &= np.isfinite(leaf.reshape(num_runs, -1)).all(axis=1)
    return SweepResult(
        hyperparams={**run_hp, "seed": run_seeds}, losses=all_losses, final_losses=final_losses,
        params=final_params, diverged=~finite, num_configs=num_configs, num_seeds=num_seeds,
    )


def sweep(
    make_optimizer: Callable[..., _base.GradientTransformation],
    hyperparams: Mapping[str, Sequence[float] | np.ndarray],
    loss_fn: _loop.LossFn,
    init_params: Any,
    num_steps: int,
    *,
    mode: str = "grid",
    seeds: int | Sequence[int] | None = None,
    batches: Any = None,
    sample_fn: _loop.SampleFn | None = None,
    eval_batch: Any = None,
    max_batch: int | None = None,
    chunk_steps: int | None = None,
    progress: bool | str = True,
    devices: Sequence[jax.Device] | None = None,
) -> SweepResult:
    r"""Trains every configuration of a hyperparameter grid, as one compiled program.

    For each configuration :math:`h` and seed :math:`s` it runs exactly
    :func:`run`\ ``(make_optimizer(**h), loss_fn, params, num_steps, ...)`` with
    ``init_key, data_key = jax.random.split(jax.random.key(s))``: the params are
    ``init_params(init_key)`` when ``init_params`` is a function (else the given
    pytree, shared by all runs) and ``data_key`` is :func:`run`'s ``key``. Every
    configuration with the same seed sees the same batches.

    The runs are ``jax.vmap``-ed, so ``make_optimizer`` receives each numeric
    hyperparameter as a scalar tracer; the chunk program ``jit(vmap(scan))`` is
    compiled once and reused for every chunk of ``chunk_steps`` steps and every
    group of ``max_batch`` runs (the last ones padded). With several devices
    (``devices``, default all local ones) each group is sharded along the runs
    with a ``NamedSharding`` over a 1-D mesh, padded to a multiple of the device
    count; the results equal the single-device ones. NaN and infinite runs are
    kept and flagged in ``diverged``; the sweep never stops for them.

    Args:
        make_optimizer: ``make_optimizer(**config) -> GradientTransformation``; a
            module-level function is compiled once per process.
        hyperparams: ``{name: 1-D numbers}``; names are ``make_optimizer``'s keywords.
        loss_fn: As in :func:`run`.
        init_params: A params pytree, or a function of a PRNG key returning one.
        num_steps: Updates per run (a Python int ``>= 0``).
        mode: ``"grid"`` (product of the axes, the last varying fastest) or
            ``"zip"`` (axes of equal length, taken together).
        seeds: ``None`` (seed 0 only), a count ``n`` (seeds ``0..n-1``) or a list of ints.
        batches: Minibatches with a leading steps axis, shared by all runs.
        sample_fn: A function of a PRNG key returning one minibatch.
        eval_batch: The batch for the final loss (default ``loss_fn(params)``).
        max_batch: At most this many runs per compiled call (memory bound);
            default all of them.
        chunk_steps: Steps per compiled call; default about a twentieth of ``num_steps``.
        progress: Show a progress bar on stderr (tqdm if installed); a string is its label.
        devices: Devices to shard the runs over; default ``jax.local_devices()``.

    Returns:
        A :class:`SweepResult`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> bowl = jos.problems.get("bowl")
        >>> result = jos.sweep(jos.sgd, {"learning_rate": [0.01, 0.1, 2.0]}, bowl.loss_fn,
        ...                    bowl.init_params(), 50, progress=False)
        >>> result.best()["learning_rate"]
        0.1
        >>> print(result.diverged)    # lr 2 multiplies x and y by 1 - 2 * 2 = -3 per step
        [False False  True]
    """
    table, seed_list, batch_mode = _validate(
        make_optimizer, hyperparams, loss_fn, num_steps, mode, seeds, batches, sample_fn)
    num_configs = len(next(iter(table.values()))) if table else 1
    num_seeds = len(seed_list)
    run_hp = {n: np.repeat(v, num_seeds) for n, v in table.items()}
    run_seeds = np.tile(seed_list, num_configs)
    devices = list(jax.local_devices() if devices is None else devices)
    plan = _plan(num_configs * num_seeds, num_steps, max_batch, chunk_steps, len(devices))
    placement = _Placement.over(devices)
    init_fn = init_params if callable(init_params) else None
    shared_params = None if init_fn is not None else init_params
    task = _Task(make_optimizer, loss_fn, sample_fn, batch_mode, num_steps, init_fn,
                 *placement.put((shared_params, batches, eval_batch), placement.same))

    hp_padded = _pad_rows(run_hp, plan.num_groups * plan.group)
    seeds_padded = _pad_rows(run_seeds, plan.num_groups * plan.group)
    outputs = []
    label = progress if isinstance(progress, str) else "sweep"
    bar = _progress.Progress(plan.num_groups * num_steps, label, bool(progress))
    try:
        for g in range(plan.num_groups):
            rows = slice(g * plan.group, (g + 1) * plan.group)
            hp = placement.put({n: jnp.asarray(v[rows]) for n, v in hp_padded.items()},
                               placement.split)
            group_seeds = placement.put(jnp.asarray(seeds_padded[rows]), placement.split)
            outputs.append(_run_group(task, plan, hp, group_seeds, bar))
    finally:
        bar.close()
    return _collect(outputs, run_hp, run_seeds, num_configs, num_seeds, num_steps)
