r"""How a sweep cuts its work: groups of runs, chunks of steps, evaluation blocks, rungs, devices.

:func:`plan` fixes the shapes of the compiled programs of :func:`sweep`: a group of
runs is one ``vmap`` (a multiple of the device count, at most ``max_batch``), a
chunk is one call of the chunk program, a block is the number of steps between two
evaluations of ``metrics_fn`` inside a chunk, and the segments end at the rungs of
the pruning schedule, where the host decides which runs go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxopt_scratch._engine import distributed as _distributed
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import metrics as _metrics


class Plan(NamedTuple):
    """How the runs are cut: groups of runs (memory, devices) and chunks of steps."""

    max_group: int  # at most this many runs per compiled call, before padding
    num_devices: int  # groups are padded to a multiple of this
    block: int  # steps between two evaluations of `metrics_fn`
    blocks: int  # blocks per chunk
    chunk: int  # steps per compiled call (blocks * block)
    num_chunks: int
    stop: int | None  # num_steps when the last chunk is padded (its extra steps are no-ops)
    segments: tuple[int, ...]  # the chunk at which each segment ends: the rungs, then the end

    def group(self, runs: int) -> int:
        """Runs per compiled call when ``runs`` are training (a multiple of the device count)."""
        return math.ceil(min(self.max_group, runs) / self.num_devices) * self.num_devices


def plan(num_runs: int, num_steps: int, max_batch: Any, chunk_steps: Any, num_devices: int,
         eval_every: Any, rungs: tuple[int, ...]) -> Plan:
    """Plans the groups of runs, the chunks of steps, the evaluations and the rungs.

    The chunk is a multiple of ``eval_every`` and divides the first rung (so every
    rung, a multiple of it, falls between two chunks); unless ``chunk_steps`` fixes
    it, it is the largest such length up to about a twentieth of ``num_steps``.
    """
    cap = num_runs if max_batch is None else _loop.check_count("max_batch", max_batch, 1)
    span = max(num_steps, 1)
    given = chunk_steps is not None
    chunk = (_loop.check_count("chunk_steps", chunk_steps, 1) if given
             else _metrics.eval_block(num_steps, None))
    chunk = min(chunk, span)
    block = None if eval_every is None else min(_loop.check_count("eval_every", eval_every, 1),
                                                 span)
    if block is not None:
        if given and chunk % block:
            raise ValueError(f"`chunk_steps`={chunk} must be a multiple of `eval_every`={block} "
                             f"(metrics are evaluated inside the chunk program).")
        chunk = math.ceil(chunk / block) * block
    if rungs:
        unit = block or 1
        if rungs[0] % unit:
            raise ValueError(f"`eval_every`={unit} must divide the first rung of `prune` "
                             f"({rungs[0]} steps): change `eval_every` or `min_steps`.")
        if given and rungs[0] % chunk:
            raise ValueError(f"`chunk_steps`={chunk} must divide the first rung of `prune` "
                             f"({rungs[0]} steps): change `chunk_steps` or `min_steps`.")
        chunk = max(d for d in range(unit, max(chunk, unit) + 1, unit) if rungs[0] % d == 0)
    block = block or chunk
    num_chunks = math.ceil(num_steps / chunk)
    stop = num_steps if num_chunks * chunk != num_steps else None
    segments = tuple(r // chunk for r in rungs) + (num_chunks,)
    return Plan(cap, num_devices, block, chunk // block, chunk, num_chunks, stop, segments)


class Placement(NamedTuple):
    """Where arrays go: ``put(tree, split)`` shards along the runs, ``put(tree, same)`` replicates.

    ``fetch(array)`` brings a result back to the host, whole, on every process.
    """

    put: Callable[[Any, Any], Any]
    split: Any  # a NamedSharding along the runs axis, or None on one device
    same: Any  # a replicated NamedSharding, or None on one device
    fetch: Callable[[Any], Any]

    @classmethod
    def over(cls, devices: Sequence[jax.Device]) -> Placement:
        if len(devices) > 1:
            mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
            several = _distributed.spans_processes(devices)
            return cls(_distributed.put if several else jax.device_put,
                       jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs")),
                       jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()),
                       _distributed.fetch)
        return cls(lambda tree, sharding: tree, None, None, _distributed.fetch)  # one device: jit's
