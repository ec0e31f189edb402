r"""Hyperparameter sweeps: every configuration (and seed) trained by one ``jit(vmap(scan))``.

The numeric hyperparameters of a sweep reach ``make_optimizer`` as tracers, so
one compiled program trains every configuration at once. Long sweeps run in
chunks of steps (so a progress bar can advance and pruning can stop the worst
runs between chunks) and in groups of configurations (``max_batch``, so memory
stays bounded); both reuse the one compiled chunk program. With several devices
the configuration axis is sharded across them.

This module checks and plans the work and decides between chunks; the compiled
programs and the steps that call them are in ``programs.py``, the plan in
``planner.py``, the search spaces (``spaces.py``), the params and loss adapters
(``adapters.py``), the metrics (``metrics.py``), the pruning rungs (``pruning.py``),
population-based training (``pbt.py``), checkpoints (``checkpoint.py``) and the
result (``results.py``) have their own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._engine import adapters as _adapters
from jaxopt_scratch._engine import checkpoint as _checkpoint
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import memory as _memory
from jaxopt_scratch._engine import metrics as _metrics
from jaxopt_scratch._engine import pbt as _pbt
from jaxopt_scratch._engine import planner as _planner
from jaxopt_scratch._engine import programs as _programs
from jaxopt_scratch._engine import progress as _progress
from jaxopt_scratch._engine import pruning as _pruning
from jaxopt_scratch._engine import results as _results
from jaxopt_scratch._engine import spaces as _spaces

SweepResult = _results.SweepResult


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


def _validate(make_optimizer, hyperparams, loss_fn, num_steps, mode, seeds, batches, sample_fn,
              num_samples, sample_seed, metrics_fn, prune, population):
    """Step 1: checks the arguments; returns the configuration table, the seeds and the data mode."""
    _checks.check_transform_factory("make_optimizer", make_optimizer)
    table = _spaces.table(hyperparams, mode, num_samples, sample_seed)
    seed_list = _seeds(seeds)
    _metrics.check_metrics_fn(metrics_fn)
    rankings = {"prune": _pruning.check_prune(prune),
                "population": _pbt.check_population(population, prune)}
    for who, ranking in rankings.items():
        if ranking is not None and ranking.metric is not None and metrics_fn is None:
            raise ValueError(f"`{who}` ranks by the metric {ranking.metric!r}, but no "
                             f"`metrics_fn` computes it. Pass `metrics_fn`, or `metric=None`.")
    return table, seed_list, _loop.check_data(loss_fn, num_steps, batches, sample_fn)


def _rung(task: _programs.Task, prune: _pruning.Halving, alive: np.ndarray, carry: Any,
          finals: np.ndarray, step: int, num_seeds: int) -> tuple[np.ndarray, Any]:
    """Step 4 (pruning only): ranks the running configurations at ``step``; stops the worst.

    Returns the runs that go on and their carry.
    """
    scores = _scores(task, "prune", prune.metric, alive, finals, step)
    configs = scores.reshape(-1, num_seeds).mean(axis=1)
    keep = np.zeros(len(configs), bool)
    keep[prune.survivors(configs)] = True
    keep = np.repeat(keep, num_seeds)
    stopped = _programs.take(carry[:2], np.flatnonzero(~keep))
    task.record.stop(alive[~keep], step, finals[~keep],
                     *jax.tree.map(task.placement.fetch, stopped))
    return alive[keep], _programs.take(carry, np.flatnonzero(keep))


def _scores(task: _programs.Task, who: str, metric: str | None, alive: np.ndarray,
            finals: np.ndarray, step: int) -> np.ndarray:
    """The ``alive`` runs' ``metric`` at ``step`` (their loss for ``None``), to rank them."""
    if metric is None:
        return finals
    if metric in task.record.metrics:
        return task.record.metrics[metric][alive, step // task.plan.block - 1]
    raise ValueError(f"`{who}` ranks by {metric!r}, which `metrics_fn` does not return;"
                     f" it returns {', '.join(task.record.metrics)}.")


def sweep(
    make_optimizer: Callable[..., _base.GradientTransformation],
    hyperparams: Mapping[str, Any],
    loss_fn: _loop.LossFn,
    init_params: Any,
    num_steps: int,
    *,
    mode: str = "grid",
    seeds: int | Sequence[int] | None = None,
    batches: Any = None,
    sample_fn: _loop.SampleFn | None = None,
    eval_batch: Any = None,
    max_batch: int | str | None = None,
    chunk_steps: int | None = None,
    progress: bool | str = True,
    devices: Sequence[jax.Device] | None = None,
    has_aux: bool = False,
    metrics_fn: _metrics.MetricsFn | None = None,
    eval_every: int | None = None,
    diagnostics: bool | Sequence[str] = False,
    num_samples: int | None = None,
    sample_seed: int = 0,
    prune: _pruning.Halving | None = None,
    population: _pbt.PBT | None = None,
    checkpoint_dir: str | None = None,
    memory_budget: int | str | None = None,
    eval_params: bool = True,
) -> SweepResult:
    r"""Trains every configuration of a search space, as one compiled program.

    For each configuration :math:`h` and seed :math:`s` it runs exactly
    :func:`run`\ ``(make_optimizer(**h), loss_fn, params, num_steps, ...)`` with
    ``init_key, data_key = jax.random.split(jax.random.key(s))``: the params are
    ``init_params(init_key)`` when ``init_params`` is a function (else the given
    pytree, shared by all runs) and ``data_key`` is :func:`run`'s ``key``. Every
    configuration with the same seed sees the same batches. As in :func:`run`,
    optimizers that need the loss (``value=``, ``grad=``, ``value_fn=``, such as
    :func:`lbfgs` or :func:`polyak_sgd`) or a ``key=`` get it at every step, and the
    params may be any pytree (an equinox module, a flax nnx state: only their float
    arrays are trained) and the final loss follows :func:`run`'s rule (on
    ``eval_batch``, else the whole data set if ``loss_fn`` takes no batch, else the
    last step's batch).

    The runs are ``jax.vmap``-ed, so ``make_optimizer`` receives each numeric
    hyperparameter as a scalar tracer; the chunk program ``jit(vmap(scan))`` is
    compiled once and reused for every chunk of ``chunk_steps`` steps and every
    group of ``max_batch`` runs (the last ones padded). When every run has the same
    seed (the default), the seed is not batched: each step's minibatch is drawn
    once for the whole group, and a layer whose input is that batch multiplies it
    by every run's weights in one matrix product. With several devices
    (``devices``, default all local ones) each group is sharded along the runs
    with a ``NamedSharding`` over a 1-D mesh, padded to a multiple of the device
    count; the results equal the single-device ones. NaN and infinite runs are
    kept and flagged in ``diverged``; the sweep never stops for them.

    ``metrics_fn(params, eval_batch)`` is evaluated inside the chunk program after
    every ``eval_every`` steps (and after the last step); ``diagnostics`` records
    the gradient norm, the update norm and the learning rate applied at every step
    (see :mod:`metrics`). With ``prune=jos.halving(...)`` the configurations are
    ranked at the rungs of successive halving and the worst stop there; the others
    continue in the same compiled program, regrouped (one compile per group size; the
    later rungs' sizes compile in background threads while the first rung runs).

    Optimizers that train at one point and evaluate at another (Schedule-Free,
    SAM, lookahead; see :func:`jaxopt_scratch.contrib.eval_params`) are judged
    where they evaluate: by default the final losses, the losses at the rungs of
    ``prune`` and ``population`` and ``metrics_fn`` use their evaluation params, so
    the ranking of Schedule-Free runs is by the loss of the averaged params. The
    per-step ``losses`` and the returned ``params`` are the training ones.

    Args:
        make_optimizer: ``make_optimizer(**config) -> GradientTransformation``; a
            module-level function is compiled once per process.
        hyperparams: ``{name: axis}``; names are ``make_optimizer``'s keywords. An
            axis is a 1-D sequence of numbers, or for ``mode="random"``/``"sobol"``
            also a distribution (:func:`loguniform`, :func:`uniform`, :func:`randint`)
            or a single number.
        loss_fn: As in :func:`run`.
        init_params: A params pytree, or a function of a PRNG key returning one.
        num_steps: Updates per run (a Python int ``>= 0``).
        mode: ``"grid"`` (product of the axes, the last varying fastest), ``"zip"``
            (axes of equal length, taken together), ``"random"`` or ``"sobol"``
            (``num_samples`` draws, see :func:`sample_hyperparams`).
        seeds: ``None`` (seed 0 only), a count ``n`` (seeds ``0..n-1``) or a list of ints.
        batches: Minibatches with a leading steps axis, shared by all runs.
        sample_fn: A function of a PRNG key returning one minibatch.
        eval_batch: The batch of the final loss and of ``metrics_fn``.
        max_batch: At most this many runs per compiled call (memory bound);
            default all of them; ``"auto"``: as many as fit ``memory_budget``, from
            the compiled programs' memory analysis (see :mod:`memory`).
        chunk_steps: Steps per compiled call; default about a twentieth of
            ``num_steps`` (a multiple of ``eval_every``, dividing the first rung).
        progress: Show a progress bar on stderr (tqdm if installed); a string is its label.
        devices: Devices to shard the runs over; default ``jax.devices()`` (every
            process's, after ``jax.distributed.initialize``).
        has_aux: ``loss_fn`` returns ``(loss, aux)``; ``aux`` is dropped.
        metrics_fn: ``metrics_fn(params, batch) -> {name: scalar}``, called with
            ``eval_batch`` (``None`` if not given); in :attr:`SweepResult.metrics`.
        eval_every: Steps between evaluations of ``metrics_fn`` (default: every chunk).
        diagnostics: ``True`` for every per-step diagnostic, or some of
            ``"grad_norm"``, ``"update_norm"``, ``"learning_rate"``.
        num_samples: Configurations to draw for ``mode="random"``/``"sobol"``.
        sample_seed: The seed of those draws (same seed, same configurations).
        prune: ``None``, or :func:`halving` to stop the worst configurations early.
        population: ``None``, or :func:`pbt` to train the runs as a population
            (:attr:`SweepResult.population` holds its history; ``hyperparams`` the
            values each run ended with).
        checkpoint_dir: Save the whole sweep there after every chunk (orbax-checkpoint,
            an optional dependency); called again with the same arguments, ``sweep``
            resumes from the latest save and returns the uninterrupted result, bit for bit.
        memory_budget: Bytes (or ``"4GB"``) the sweep may use, for ``max_batch="auto"``
            (default half the free memory); with an int ``max_batch`` it is checked. A
            sweep that does not fit raises :class:`MemoryBudgetError` before it starts.
        eval_params: Evaluate the final loss, the rungs' losses and ``metrics_fn`` at
            the optimizer's evaluation params when it defines them (default), or at the
            training params (``False``), as in :func:`run`.

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
        make_optimizer, hyperparams, loss_fn, num_steps, mode, seeds, batches, sample_fn,
        num_samples, sample_seed, metrics_fn, prune, population)
    num_configs = len(next(iter(table.values()))) if table else 1
    num_seeds = len(seed_list)
    num_runs = num_configs * num_seeds
    run_hp = {n: np.repeat(v, num_seeds) for n, v in table.items()}
    run_seeds = np.tile(seed_list, num_configs)
    devices = list(jax.devices() if devices is None else devices)
    rounds = prune or population  # the steps where the host ranks the runs
    rungs = rounds.rungs(num_steps) if rounds is not None else ()
    auto = isinstance(max_batch, str)
    if auto and max_batch != "auto":
        raise ValueError(f"`max_batch` must be a Python int >= 1, None (all runs) or 'auto' (as "
                         f"many as fit `memory_budget`), got {max_batch!r}.")
    plan = _planner.plan(num_runs, num_steps, None if auto else max_batch, chunk_steps,
                         len(devices), eval_every, rungs)
    placement = _planner.Placement.over(devices)
    # The same test as for a mask function: a callable pytree (an equinox module) is params.
    init_fn = init_params if _combine.is_mask_fn(init_params) else None
    if init_fn is None:
        trained, held, static = _adapters.split(init_params)
        shared = (trained, held)
    else:
        static, shared = _static_part(init_fn), None
    binding = _adapters.Binding(static, bool(has_aux),
                                _adapters.final_rule(loss_fn, batch_mode, eval_batch))
    spec = _programs.Spec(make_optimizer, loss_fn, sample_fn, batch_mode, num_steps, init_fn,
                          binding, metrics_fn, _metrics.check_diagnostics(diagnostics),
                          _adapters.check_eval_params(eval_params))
    eval_steps = (_metrics.eval_steps(num_steps, plan.block) if metrics_fn is not None
                  else np.zeros(0, np.int64))
    task = _programs.Task(spec, plan, placement, run_hp, run_seeds,
                          *placement.put((shared, batches, eval_batch), placement.same),
                          _results.Recorder(num_runs, num_steps, eval_steps))
    memory = None
    if auto or memory_budget is not None:  # measured from the compiled programs, run nothing
        memory = _memory.fit_sweep(task, num_runs, None if auto else max_batch, memory_budget,
                                   devices, bool(progress))
        task = task._replace(plan=plan._replace(max_group=memory.group))
        plan = task.plan

    alive = np.arange(num_runs)  # the runs still training, configuration-major
    counts = (prune.alive_per_segment(num_configs, num_steps) if prune
              else [num_configs] * len(plan.segments))
    evolution = population and _pbt.PopulationRecorder(population, _pbt.bounds(hyperparams),
                                                       run_hp, run_seeds)
    bounds = [0, *plan.segments]
    steps = [min(b * plan.chunk, num_steps) for b in bounds]
    total = _work(counts, steps, num_steps, plan, num_seeds)
    label = progress if isinstance(progress, str) else "sweep"
    bar = _progress.Progress(total, label, bool(progress))
    carry, start = None, 0  # (trained, held, state) of the alive runs, stacked; chunks done
    saver = _checkpoint.checkpointer(
        checkpoint_dir, placement.fetch, task.record, run_hp, evolution,
        make_optimizer=make_optimizer, hyperparams=table, loss_fn=loss_fn,
        init_params=init_params, num_steps=num_steps, seeds=seed_list, batches=batches,
        sample_fn=sample_fn, eval_batch=eval_batch, has_aux=has_aux, metrics_fn=metrics_fn,
        diagnostics=spec.diagnostics, prune=prune, population=population,
        eval_params=spec.evaluate,
        plan=plan._replace(max_group=0))
    # The later rungs' group sizes compile in the background while the first one runs.
    sizes = [plan.group(n * num_seeds) for n in counts]
    ahead: dict[int, Any] = {}  # {group size: its compiling thread}

    def started(group_carry):  # once, when the first segment has its carry
        if "launched" not in ahead:
            ahead["launched"] = None
            ahead.update(_programs.compile_ahead(
                task, sorted(set(sizes[1:]) - {sizes[0]}, reverse=True), group_carry))
    try:
        if saver and (found := saver.resume(lambda: jax.eval_shape(
                lambda h, s: _programs.init_program(spec, h, s, task.shared),
                {n: v[:1] for n, v in run_hp.items()}, run_seeds[:1]))):
            start, alive, carry = found
            bar.update(_work(counts, steps, min(start * plan.chunk, num_steps), plan, num_seeds))
        for k, end in enumerate(plan.segments):
            if end < start:  # finished before the checkpoint
                continue
            if sizes[k] in ahead:
                ahead.pop(sizes[k]).join()
            carry, finals = _programs.run_segment(task, alive, carry, max(bounds[k], start),
                                                  end, bar, saver, started)
            if k == len(plan.segments) - 1:
                task.record.stop(alive, num_steps, finals,
                                 *jax.tree.map(placement.fetch, carry[:2]))
            elif evolution:  # every run goes on, from its source's state
                carry = _programs.take(carry, evolution.round(_scores(
                    task, "population", population.metric, alive, finals, steps[k + 1]),
                    steps[k + 1], run_hp))
            else:
                alive, carry = _rung(task, prune, alive, carry, finals, steps[k + 1], num_seeds)
    finally:
        bar.close()
        if saver:
            saver.close()
    result = task.record.result({**run_hp, "seed": run_seeds}, num_configs, num_seeds,
                                prune is not None,
                                lambda trained, held: _adapters.combine(trained, held, static))
    return dataclasses.replace(result, population=evolution and evolution.record(),
                               memory=memory)


def _work(counts: list[int], steps: list[int], upto: int, plan: _planner.Plan,
          num_seeds: int) -> int:
    """Group-steps of a sweep up to step ``upto`` (its progress bar counts them)."""
    return sum(math.ceil(n * num_seeds / plan.group(n * num_seeds)) * (min(hi, upto) - lo)
               for n, lo, hi in zip(counts, steps, steps[1:]) if lo < upto)


def _static_part(init_fn: Callable[[jax.Array], Any]) -> _adapters.Static | None:
    """The non-array part of ``init_fn(key)``'s params, from an abstract evaluation."""
    found = []

    def probe(key):
        trained, held, static = _adapters.split(init_fn(key))
        found.append(static)
        return trained, held

    jax.eval_shape(probe, jax.random.key(0))
    return found[0]
