r"""Sweeps over the devices of several processes (``jax.distributed``): global arrays in and out.

With ``jax.distributed.initialize`` every process runs the same sweep; the runs
are sharded over ``jax.devices()``, the devices of every process. Host values
(hyperparameters, seeds, data) become global arrays with :func:`put`, each
process filling the shards it holds from its own (identical) copy; results come
back with :func:`fetch`, which gathers every process's shards, so each process
ends with the whole result. On one process both are the ordinary
``jax.device_put`` and ``np.asarray``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np


def spans_processes(devices: Sequence[jax.Device]) -> bool:
    """Whether ``devices`` include another process's devices."""
    return any(d.process_index != jax.process_index() for d in devices)


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _put_leaf(x: Any, sharding: jax.sharding.Sharding) -> jax.Array:
    if _is_key(x):
        impl = str(jax.random.key_impl(x))
        return jax.random.wrap_key_data(_put_leaf(jax.random.key_data(x), sharding), impl=impl)
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return jax.device_put(x, sharding)  # already global: a reshard, run by every process
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def put(tree: Any, sharding: jax.sharding.Sharding) -> Any:
    """``tree``'s leaves as global arrays with ``sharding`` (the same value on every process)."""
    return jax.tree.map(lambda x: _put_leaf(x, sharding), tree)


def fetch(x: Any) -> Any:
    """A (possibly global) array as a host array, the whole of it, on every process.

    PRNG key arrays stay JAX arrays (NumPy has no key dtype), with every key local.
    """
    if _is_key(x):
        impl = str(jax.random.key_impl(x))
        return jax.random.wrap_key_data(fetch(jax.random.key_data(x)), impl=impl)
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
