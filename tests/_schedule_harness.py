"""Shared checks for the schedule test files: vmap-vs-loop, one trace, optax oracle.

A *spec* is ``(build, base, sweeps, static)``: ``build(**kwargs)`` returns a
schedule, ``base`` holds one value per numeric argument, ``sweeps`` maps each
numeric argument to the values to sweep (degenerate ones included), and
``static`` holds structural keyword arguments passed unchanged.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

INT32_MAX = np.iinfo(np.int32).max
# Every count from 0 (the first update) well past each spec's boundaries, plus the
# saturated end of the int32 step counter.
COUNTS = np.concatenate([np.arange(48), [INT32_MAX - 1, INT32_MAX]]).astype(np.int32)

# jit fuses float32 operations differently from eager dispatch (up to a few ulp);
# 2e-6 relative plus 1e-6 absolute (values are O(1)) is about 10 ulp.
RTOL, ATOL = 2e-6, 1e-6


def vmap_and_loop(build, base, static, arg, values):
    """The schedule over COUNTS for each value of ``arg``: jit(vmap) over traced
    values, and a Python loop over the concrete values."""
    counts = jnp.asarray(COUNTS)

    def curve(v):
        return build(**{**base, arg: v}, **static)(counts)

    batched = jax.jit(jax.vmap(curve))(jnp.asarray(values))
    looped = np.stack([np.asarray(build(**{**base, arg: v}, **static)(counts)) for v in values])
    return np.asarray(batched), looped


def check_vmap_matches_loop(spec, arg):
    build, base, sweeps, static = spec
    batched, looped = vmap_and_loop(build, base, static, arg, sweeps[arg])
    # Growth (a decay rate above 1 with no end value) may overflow to inf at the
    # int32 maximum, as the formula says; NaN is never acceptable.
    assert not np.any(np.isnan(batched)), f"NaN when sweeping {arg}"
    np.testing.assert_allclose(batched, looped, rtol=RTOL, atol=ATOL, err_msg=arg)
    return batched


def check_one_trace(spec):
    """jit with *every* numeric argument as an argument compiles once for new values."""
    build, base, sweeps, static = spec
    counts = jnp.asarray(COUNTS)
    chex.clear_trace_counter()  # the counter is keyed by the function's code, shared across specs

    @jax.jit
    @chex.assert_max_traces(n=1)
    def curve(kwargs):
        return build(**kwargs, **static)(counts)

    first = {k: jnp.asarray(v[0]) for k, v in sweeps.items()}
    last = {k: jnp.asarray(v[-1]) for k, v in sweeps.items()}
    a, b = curve({**{k: jnp.asarray(v) for k, v in base.items()}, **first}), curve(
        {**{k: jnp.asarray(v) for k, v in base.items()}, **last})
    assert a.dtype == jnp.float32 and b.dtype == jnp.float32
    return a, b


def optax_curve(schedule, counts=COUNTS):
    """An optax schedule over ``counts``, one scalar count at a time (some optax
    schedules accept only scalars) and under standard promotion (optax mixes
    Python floats with int32 counts, which strict promotion rejects)."""
    with jax.numpy_dtype_promotion("standard"):
        return np.asarray(jax.vmap(schedule)(jnp.asarray(counts)))

