r"""The compiled programs of a sweep and the steps that call them, group by group, chunk by chunk.

:func:`sweep` (``sweep.py``) validates and plans; this module holds what runs:

* three ``jit(vmap(...))`` programs, specialised on a :class:`Spec`:
  :data:`init_program` (params and optimizer state of a group of runs),
  :data:`chunk_program` (``chunk`` steps of training and the metrics between them)
  and :data:`final_program` (the final loss), both evaluated at the optimizer's
  evaluation params unless ``Spec.evaluate`` is false;
* :func:`run_segment`, which trains the running runs from one rung to the next:
  the runs are cut into :func:`groups` (one compiled call each, padded to the
  group size) and every group advances one chunk (:func:`run_chunk`) before the
  next chunk starts, so that after each chunk all runs are at the same step (where
  a checkpoint is taken).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._engine import adapters as _adapters
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import metrics as _metrics
from jaxopt_scratch._engine import planner as _planner
from jaxopt_scratch._engine import progress as _progress
from jaxopt_scratch._engine import results as _results


class Spec(NamedTuple):
    """What every compiled program of a sweep is specialised on (hashable: a static argument)."""

    make_optimizer: Callable[..., _base.GradientTransformation]
    loss_fn: _loop.LossFn
    sample_fn: _loop.SampleFn | None
    mode: str  # the data mode: "full", "batches" or "sample"
    num_steps: int
    init_fn: Callable[[jax.Array], Any] | None  # `init_params` if it is a function of a key
    binding: _adapters.Binding  # the params' static part, has_aux, the final-loss rule
    metrics_fn: _metrics.MetricsFn | None
    diagnostics: tuple[str, ...]  # per-step optimizer diagnostics to record
    evaluate: bool = True  # the loss and metrics at the optimizer's evaluation params


def keys(seed: jax.Array) -> jax.Array:
    """``(init_key, data_key)`` of a run, as :func:`sweep` documents them."""
    return jax.random.split(jax.random.key(seed))


def _init(spec, hp, seed, shared):
    if spec.init_fn is None:
        trained, held = shared
    else:
        trained, held, _ = _adapters.split(spec.init_fn(keys(seed)[0]))
    return trained, held, spec.make_optimizer(**hp).init(trained)


init_program = jax.jit(jax.vmap(_init, in_axes=(None, 0, 0, None)), static_argnums=0)


def _chunk(spec, block, blocks, stop, hp, seed, trained, held, state, start, batches, eval_batch):
    tx = spec.make_optimizer(**hp)
    value = spec.binding.loss(spec.loss_fn, held)
    trace = _metrics.step_trace(spec.diagnostics, hp) if spec.diagnostics else None
    data_key = keys(seed)[1]

    def train_block(carry, b):  # `block` steps, then one evaluation of the metrics
        carry, out = _loop.train_steps(
            tx, value, spec.mode, spec.sample_fn, *carry, start + b * block, block,
            batches=batches, data_key=data_key, stop=stop, trace=trace)
        evaluated = {}
        if spec.metrics_fn is not None:
            point = _adapters.evaluation_point(spec.evaluate, *carry)
            params = _adapters.combine(point, held, spec.binding.static)
            evaluated = _metrics.evaluate(spec.metrics_fn, params, eval_batch)
        return carry, (out, evaluated)

    if blocks == 1:  # no outer loop: the same program as before metrics existed
        (trained, state), out = train_block((trained, state), 0)
        out = jax.tree.map(lambda x: x[None], out)
    else:
        (trained, state), out = jax.lax.scan(train_block, (trained, state),
                                             jnp.arange(blocks, dtype=jnp.int32))
    (losses, diagnostics), evaluated = (out[0] if trace else (out[0], {})), out[1]
    steps = jax.tree.map(lambda x: x.reshape(-1), (losses, diagnostics))  # (blocks * block,)
    return trained, state, *steps, evaluated


def _chunk_over(seed_axis):
    return jax.jit(
        jax.vmap(_chunk, in_axes=(None,) * 4 + (0, seed_axis, 0, 0, 0, None, None, None)),
        static_argnums=(0, 1, 2, 3),
    )


# One seed per run; and the common case of one seed for every run of a group (a sweep
# with `seeds=1`), where the seed is not batched: each step's batch is drawn once for
# the whole group (not once per run), and a layer's input shared by every run makes
# its product with the runs' weights one matrix product instead of a batch of small
# ones. Same batches and results; about a third less CPU per step on the digits MLP.
chunk_program = _chunk_over(0)
shared_seed_chunk_program = _chunk_over(None)


def _final(spec, step, trained, held, state, seed, batches, eval_batch):
    value = spec.binding.loss(spec.loss_fn, held)
    no_batch = spec.mode == "batches" and spec.num_steps == 0
    return _adapters.final_loss(
        value, spec.binding.final, _adapters.evaluation_point(spec.evaluate, trained, state),
        eval_batch,
        None if no_batch else lambda: _adapters.batch_at(
            spec.mode, jnp.maximum(step - 1, 0), batches, spec.sample_fn, keys(seed)[1]))


final_program = jax.jit(jax.vmap(_final, in_axes=(None, None, 0, 0, 0, 0, None, None)),
                        static_argnums=0)


class Task(NamedTuple):
    """What every group of runs trains, and where its results go."""

    spec: Spec
    plan: _planner.Plan
    placement: _planner.Placement
    run_hp: dict[str, np.ndarray]  # {name: (runs,)}
    run_seeds: np.ndarray  # (runs,)
    shared: Any  # (trained, held) of `init_params` if it is a pytree, else None (placed)
    batches: Any  # placed
    eval_batch: Any  # placed
    record: _results.Recorder

    @property
    def one_seed(self) -> bool:
        """Whether every run has the same seed (then the groups share it, unbatched)."""
        return bool(np.all(self.run_seeds == self.run_seeds[0]))

    def chunk(self) -> Any:
        """The chunk program of this task's groups (:data:`shared_seed_chunk_program` if
        :attr:`one_seed`)."""
        return shared_seed_chunk_program if self.one_seed else chunk_program


class Group(NamedTuple):
    """The runs of one compiled call, padded to the group size (the last run repeated)."""

    rows: np.ndarray  # the runs, unpadded
    where: np.ndarray  # (group size,): their positions among the alive runs, padded
    hp: Any  # {name: (group size,)}, placed
    seeds: Any  # (group size,), placed
    seed: Any  # the seed of every run, placed replicated, if `Task.one_seed`; else None


def groups(task: Task, alive: np.ndarray) -> list[Group]:
    """The ``alive`` runs cut into groups of :meth:`Plan.group` runs."""
    size, put, split = task.plan.group(len(alive)), task.placement.put, task.placement.split
    out = []
    for g in range(0, len(alive), size):
        rows = alive[g:g + size]
        where = np.concatenate([np.arange(g, g + len(rows)),
                                np.full(size - len(rows), g + len(rows) - 1)])
        # device_put, not jnp.asarray: no small compile per shape (jnp.asarray stages one).
        hp = put({n: jax.device_put(v[alive[where]]) for n, v in task.run_hp.items()}, split)
        seed = (put(jax.device_put(task.run_seeds[0]), task.placement.same)
                if task.one_seed else None)
        out.append(Group(rows, where, hp, put(jax.device_put(task.run_seeds[alive[where]]),
                                              split), seed))
    return out


def run_chunk(task: Task, group: Group, carry: Any, c: int, bar: _progress.Progress) -> Any:
    """Step 3: chunk ``c`` of one group's runs, recorded; returns their new carry."""
    plan, spec, fetch = task.plan, task.spec, task.placement.fetch
    trained, held, state = carry
    start = c * plan.chunk
    trained, state, losses, diagnostics, evaluated = task.chunk()(
        spec, plan.block, plan.blocks, plan.stop, group.hp,
        group.seeds if group.seed is None else group.seed, trained, held, state,
        np.int32(start), task.batches, task.eval_batch)
    task.record.steps(group.rows, start, fetch(losses),  # waits: the bar is honest
                      jax.tree.map(fetch, diagnostics))
    task.record.evaluations(group.rows, c * plan.blocks, jax.tree.map(fetch, evaluated))
    bar.update(min(plan.chunk, spec.num_steps - start))
    return trained, held, state


def take(tree: Any, index: Any) -> Any:
    """The runs ``index`` (an index array or a slice) of every leaf.

    Every run in order is ``tree`` itself. Arrays on the host's CPU device are
    indexed with NumPy (no compile: a rung of a cold sweep would otherwise compile
    one gather per carry shape and index length, seconds for a small problem);
    others (accelerators, sharded or key arrays) in one compiled gather for the
    whole tree, never leaf by leaf.
    """
    leaves = jax.tree.leaves(tree)
    runs = len(leaves[0]) if leaves else 0
    if isinstance(index, slice):
        index = np.arange(*index.indices(runs))
    index = np.asarray(index)
    if len(index) == runs and np.array_equal(index, np.arange(runs)):
        return tree
    if all(_on_host_cpu(x) and not getattr(x, "weak_type", False) for x in leaves):
        return jax.tree.map(lambda x: jax.device_put(np.asarray(x)[index]), tree)
    return _gather(tree, index)


def _on_host_cpu(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return True
    return (isinstance(x, jax.Array) and not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
            and len(x.sharding.device_set) == 1
            and next(iter(x.sharding.device_set)).platform == "cpu")


@jax.jit
def _gather(tree: Any, index: jax.Array) -> Any:
    return jax.tree.map(lambda x: x[index], tree)


def join(parts: list[Any]) -> Any:
    """The groups' carries, one after the other along the runs (one compiled program)."""
    return parts[0] if len(parts) == 1 else _join(parts)


@jax.jit
def _join(parts: list[Any]) -> Any:
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


def run_segment(task: Task, alive: np.ndarray, carry: Any, first: int, end: int,
                bar: _progress.Progress, save: Callable[..., None] | None,
                started: Callable[[Any], None] | None = None) -> tuple[Any, np.ndarray]:
    """Trains the ``alive`` runs over chunks ``first..end-1``, every group one chunk at a time.

    ``carry`` is the ``(trained, held, state)`` of every alive run, stacked (``None``
    initialises them); ``started(carry of the first group)`` is called before the
    first chunk. After each chunk every run is at the same step, where
    ``save(chunks done, alive, carry)`` may checkpoint the sweep. Returns the carry
    of every alive run and their losses after the last chunk (for the rungs).
    """
    cut = groups(task, alive)
    put, split = task.placement.put, task.placement.split
    carries = [init_program(task.spec, g.hp, g.seeds, task.shared) if carry is None
               else put(take(carry, g.where), split) for g in cut]
    if started is not None:
        started(carries[0])

    def stacked():  # the real runs of every group, in the order of `alive`
        parts = [take(cr, slice(0, len(g.rows))) for g, cr in zip(cut, carries)]
        return join(parts)

    for c in range(first, end):
        carries = [run_chunk(task, g, cr, c, bar) for g, cr in zip(cut, carries)]
        if save is not None:
            save(c + 1, alive, stacked())
    step = np.int32(min(end * task.plan.chunk, task.spec.num_steps))
    finals = [task.placement.fetch(final_program(task.spec, step, *cr, g.seeds,
                                                 task.batches, task.eval_batch))[:len(g.rows)]
              for g, cr in zip(cut, carries)]
    return stacked(), np.concatenate(finals)


def lower_group(task: Task, size: int, carry: Any) -> tuple[Any, Any]:
    """The chunk program and the final-loss program of a group of ``size`` runs, lowered.

    Nothing runs or traces the optimizer's ``init``: the hyperparameters, seeds and
    carry are abstract, shaped as another group's ``carry`` but with ``size`` runs
    and placed along the runs as :func:`groups` and :func:`take` place them; the
    data are the task's own arrays.
    """
    spec, plan, split = task.spec, task.plan, task.placement.split

    def runs(shape: tuple[int, ...], dtype: Any) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct((size, *shape), dtype, sharding=split)

    hp = {n: runs((), jax.dtypes.canonicalize_dtype(v.dtype)) for n, v in task.run_hp.items()}
    seeds = runs((), jnp.int32)
    seed = (jax.ShapeDtypeStruct((), jnp.int32, sharding=task.placement.same)
            if task.one_seed else seeds)
    carry = jax.tree.map(lambda c: runs(c.shape[1:], c.dtype), carry)
    return (task.chunk().lower(spec, plan.block, plan.blocks, plan.stop, hp, seed, *carry,
                               np.int32(0), task.batches, task.eval_batch),
            final_program.lower(spec, np.int32(0), *carry, seeds, task.batches,
                                task.eval_batch))


def compile_ahead(task: Task, sizes: Iterable[int], carry: Any) -> dict[int, threading.Thread]:
    """Compiles the programs of groups of ``sizes`` runs in background threads.

    ``carry`` is the carry of a group of runs (any size), for its shapes.

    A pruned sweep trains smaller groups after each rung, and each group size is
    a new compile of the chunk program (seconds on a CPU). Compiling them while
    the first rung compiles and trains overlaps that work on a machine with idle
    cores; JAX keeps the executables, so the later calls find them compiled. Join
    a size's thread before its first call (so a compile is never done twice); a
    failure here is ignored (the call then compiles, and reports any error).
    """
    def work(size):
        try:
            for lowered in lower_group(task, size, carry):
                lowered.compile()
        except Exception:  # noqa: BLE001, S110 (the real call compiles and raises)
            pass

    threads = {size: threading.Thread(target=work, args=(size,), daemon=True,
                                      name=f"jos-sweep-compile-{size}") for size in sizes}
    for thread in threads.values():
        thread.start()
    return threads
