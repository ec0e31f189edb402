"""Step-size schedules: constant, polynomial, exponential, piecewise, cosine, and joins.

A schedule is a function ``schedule(count) -> value``. ``count`` is the 0-based
number of updates already applied: the first update sees ``count = 0``. Every
numeric argument of every factory here may be a JAX tracer (a ``jit`` argument
or a ``vmap`` axis), including step counts and boundaries: no Python control
flow touches them. Each schedule casts the integer count to float once, and
returns a float32 scalar (float64 under ``jax_enable_x64``), or an array shaped
like ``count`` when given an array of counts.

Degenerate lengths (zero steps) give the limiting value without NaN, also when
traced; negative lengths raise ``ValueError`` when they are concrete (a traced
negative length is treated as zero).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core.tree_math import as_float


def steps(count: jax.typing.ArrayLike) -> jax.Array:
    """The integer step count as a float, cast once per schedule evaluation."""
    return as_float(count)


def cosine_half_wave(x: jax.Array) -> jax.Array:
    r"""The cosine ramp :math:`\tfrac12(1 + \cos \pi x)`: 1 at ``x = 0``, 0 at ``x = 1``."""
    return 0.5 * (1 + jnp.cos(jnp.pi * x))


def as_vector(x: Any) -> jax.Array:
    """A sequence of scalars (some possibly traced) or an array, as one 1-D array."""
    if isinstance(x, (list, tuple)):
        return jnp.stack([jnp.asarray(v) for v in x]) if x else jnp.zeros([0], jnp.int32)
    return jnp.asarray(x)


def check_length(name: str, value: Any) -> None:
    """A step count or length: a concrete value must be ``>= 0``."""
    _checks.check_nonnegative(
        name, value, hint="A length is a number of steps; use 0 for none."
    )


def constant_schedule(value: jax.typing.ArrayLike) -> _base.Schedule:
    r"""A schedule that always returns ``value``: :math:`s(k) = v`.

    Args:
        value: The value :math:`v`; may be traced.

    Returns:
        A function of the 0-based count :math:`k` returning :math:`v` (shaped like ``count``).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> print(jos.constant_schedule(0.1)(7))
        0.1
    """
    _checks.check_interval("value", value)

    def schedule(count):
        return jnp.broadcast_to(as_float(value), jnp.shape(count))

    return schedule


def polynomial_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    power: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
) -> _base.Schedule:
    r"""Polynomial interpolation from ``init_value`` to ``end_value``.

    .. math::

        s(k) = (v_0 - v_1)\Bigl(1 - \frac{\min(\max(k - b, 0), T)}{T}\Bigr)^{p} + v_1

    Before :math:`b` the value is :math:`v_0`; after :math:`b + T` it is :math:`v_1`.
    As in optax, ``transition_steps = 0`` gives the constant :math:`v_0` and a
    negative ``transition_begin`` counts as 0.

    Args:
        init_value: :math:`v_0`.
        end_value: :math:`v_1`.
        power: :math:`p \ge 0`; 1 is linear.
        transition_steps: :math:`T \ge 0`, the number of steps of the transition.
        transition_begin: :math:`b`, the count at which the transition starts.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.polynomial_schedule(1.0, 0.0, power=2, transition_steps=10)
        >>> print(sched(0), sched(5), sched(10), sched(99))
        1.0 0.25 0.0 0.0
    """
    for name, v in (("init_value", init_value), ("end_value", end_value),
                    ("transition_begin", transition_begin)):
        _checks.check_interval(name, v)
    _checks.check_nonnegative("power", power, hint="A negative power blows up at the end value.")
    check_length("transition_steps", transition_steps)

    def schedule(count):
        v0, v1, p = as_float(init_value), as_float(end_value), as_float(power)
        t_len = jnp.maximum(as_float(transition_steps), 0)
        t = jnp.clip(steps(count) - jnp.maximum(as_float(transition_begin), 0), 0, t_len)
        remaining = 1 - _tree_math.safe_div(t, t_len, 0.0)
        value = (v0 - v1) * remaining**p + v1
        return jnp.where(t_len > 0, value, v0)

    return schedule


def linear_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
) -> _base.Schedule:
    r"""Linear interpolation: :func:`polynomial_schedule` with power 1.

    .. math:: s(k) = v_0 + (v_1 - v_0)\,\frac{\min(\max(k - b, 0), T)}{T}

    Args:
        init_value: :math:`v_0`.
        end_value: :math:`v_1`.
        transition_steps: :math:`T \ge 0`; 0 gives the constant :math:`v_0` (optax's choice).
        transition_begin: :math:`b`; negative counts as 0.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.linear_schedule(0.0, 1.0, transition_steps=4, transition_begin=2)
        >>> print([float(sched(k)) for k in range(8)])
        [0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def exponential_decay(
    init_value: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> _base.Schedule:
    r"""Exponential decay by ``decay_rate`` every ``transition_steps`` steps.

    .. math::

        s(k) = v_0\, r^{(k - b)/T} \quad (k > b), \qquad s(k) = v_0 \quad (k \le b)

    With ``staircase`` the exponent is :math:`\lfloor (k - b)/T \rfloor`. If
    ``end_value`` is given the value is clipped at it from below when
    :math:`r < 1` (from above when :math:`r \ge 1`). As in optax,
    ``transition_steps = 0`` or ``decay_rate = 0`` gives the constant :math:`v_0`
    and a negative ``transition_begin`` counts as 0.

    Args:
        init_value: :math:`v_0`.
        transition_steps: :math:`T \ge 0`.
        decay_rate: :math:`r \ge 0`; below 1 decays, above 1 grows.
        transition_begin: :math:`b`.
        staircase: Structural; decay in discrete jumps.
        end_value: Optional bound; ``None`` (structural) means no bound.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.exponential_decay(1.0, transition_steps=2, decay_rate=0.5,
        ...                               staircase=True)
        >>> print([float(sched(k)) for k in range(6)])
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    _checks.check_interval("init_value", init_value)
    _checks.check_interval("transition_begin", transition_begin)
    _checks.check_interval("end_value", end_value)
    check_length("transition_steps", transition_steps)
    _checks.check_nonnegative("decay_rate", decay_rate,
                              hint="Use a rate in (0, 1) to decay, above 1 to grow.")

    def schedule(count):
        v0, rate = as_float(init_value), jnp.maximum(as_float(decay_rate), 0)
        t_len = as_float(transition_steps)
        elapsed = steps(count) - jnp.maximum(as_float(transition_begin), 0)
        exponent = _tree_math.safe_div(elapsed, t_len, 0.0)
        if staircase:
            exponent = jnp.floor(exponent)
        # The exponent is clipped at 0 (only elapsed > 0 is selected): no 0 ** negative;
        # v0 = 0 stays 0 even where rate ** exponent overflows to inf.
        decayed = jnp.where((elapsed <= 0) | (v0 == 0), v0,
                            v0 * rate ** jnp.maximum(exponent, 0))
        if end_value is not None:
            v1 = as_float(end_value)
            decayed = jnp.where(rate < 1, jnp.maximum(decayed, v1), jnp.minimum(decayed, v1))
        return jnp.where((t_len > 0) & (rate != 0), decayed, v0)

    return schedule


def boundaries_and_scales_vectors(boundaries_and_scales: Any) -> tuple[jax.Array, jax.Array]:
    """A dict ``{boundary: scale}`` (sorted by boundary) or a pair of 1-D arrays, as two vectors.

    Checked when concrete: one scale per boundary, boundaries and scales ``>= 0``.
    """
    if isinstance(boundaries_and_scales, Mapping):
        items = sorted(boundaries_and_scales.items())
        boundaries, scales = [b for b, _ in items], [c for _, c in items]
    elif isinstance(boundaries_and_scales, (tuple, list)) and len(boundaries_and_scales) == 2:
        boundaries, scales = boundaries_and_scales
    else:
        raise TypeError(
            "`boundaries_and_scales` must be a dict `{boundary: scale}` or a pair "
            f"`(boundaries, scales)` of 1-D arrays, got {boundaries_and_scales!r}."
        )
    boundaries, scales = as_vector(boundaries), as_vector(scales)
    if boundaries.ndim != 1 or boundaries.shape != scales.shape:
        raise ValueError(
            "`boundaries_and_scales` needs one scale per boundary (two 1-D arrays of "
            f"equal length), got shapes {boundaries.shape} and {scales.shape}."
        )
    _checks.check_nonnegative("boundaries_and_scales", boundaries,
                              hint="Its boundaries are step counts, so they must be >= 0.")
    _checks.check_nonnegative("boundaries_and_scales", scales,
                              hint="A negative scale would flip the sign of the step.")
    return boundaries, scales


def piecewise_constant_schedule(
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: Mapping[int, Any] | tuple[Any, Any] | None = None,
) -> _base.Schedule:
    r"""Step decay: multiply the value by a scale at each boundary.

    .. math:: s(k) = v_0 \prod_{i:\ k \ge b_i} c_i

    A scale applies from its boundary on (at :math:`k = b_i` it is already applied).

    Args:
        init_value: :math:`v_0`.
        boundaries_and_scales: optax's dict ``{boundary: scale}`` (boundaries
            are Python ints, scales may be traced), or a pair ``(boundaries,
            scales)`` of equal-length 1-D arrays, both of which may be traced.
            ``None`` gives a constant. Boundaries :math:`b_i \ge 0`, scales
            :math:`c_i \ge 0`; the order does not matter.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.1})
        >>> print([float(sched(k)) for k in range(6)])
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    _checks.check_interval("init_value", init_value)
    if boundaries_and_scales is None:
        return constant_schedule(init_value)
    boundaries, scales = boundaries_and_scales_vectors(boundaries_and_scales)

    def schedule(count):
        k, b, c = steps(count), as_float(boundaries), as_float(scales)
        value = jnp.broadcast_to(as_float(init_value), k.shape)
        for i in range(b.shape[0]):  # static length; multiplied in boundary order like optax
            value = value * jnp.where(k >= b[i], c[i], 1)
        return value

    return schedule


def cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    decay_steps: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> _base.Schedule:
    r"""Cosine annealing from ``init_value`` to ``alpha * init_value`` over ``decay_steps``.

    .. math::

        s(k) = v_0 \Bigl[(1 - \alpha)\Bigl(\tfrac12\bigl(1 + \cos(\pi \min(k, D)/D)\bigr)\Bigr)^{e}
        + \alpha\Bigr]

    ``decay_steps = 0`` is the limit :math:`D \to 0^+`: :math:`v_0` at :math:`k = 0`,
    then :math:`\alpha v_0` (optax raises instead).

    Args:
        init_value: :math:`v_0`.
        decay_steps: :math:`D \ge 0`.
        alpha: :math:`\alpha`, the final value as a fraction of :math:`v_0`.
        exponent: :math:`e > 0`; larger values decay earlier.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.cosine_decay_schedule(1.0, decay_steps=4, alpha=0.1)
        >>> print([round(float(sched(k)), 4) for k in range(6)])
        [1.0, 0.8682, 0.55, 0.2318, 0.1, 0.1]

    References:
        Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
        <https://arxiv.org/abs/1608.03983>`_, 2017.
    """
    _checks.check_interval("init_value", init_value)
    _checks.check_interval("alpha", alpha)
    _checks.check_interval("exponent", exponent, 0.0, None, low_open=True)
    check_length("decay_steps", decay_steps)

    def schedule(count):
        k, d_len = steps(count), jnp.maximum(as_float(decay_steps), 0)
        done = jnp.where(k > 0, 1.0, 0.0).astype(k.dtype)
        progress = _tree_math.safe_div(jnp.clip(k, 0, d_len), d_len, done)
        a = as_float(alpha)
        cosine = cosine_half_wave(progress)
        return as_float(init_value) * ((1 - a) * cosine ** as_float(exponent) + a)

    return schedule


def stack_boundaries(boundaries: Sequence[Any] | jax.Array, n: int, who: str) -> jax.Array:
    """Boundaries as one 1-D array of length ``n``; checks order when concrete."""
    b = as_vector(boundaries)
    if b.shape != (n,):
        raise ValueError(
            f"`{who}` needs one boundary fewer than transforms/schedules ({n}), got "
            f"boundaries of shape {b.shape}. Give the step counts at which to switch."
        )
    check_length("boundaries", b)
    concrete = _checks.concrete_value(b)
    if concrete is not None and np.any(np.diff(concrete) < 0):
        raise ValueError(
            f"`boundaries` of `{who}` must be non-decreasing step counts, got {concrete}."
        )
    return b


def join_schedules(
    schedules: Sequence[Callable[[jax.Array], Any]],
    boundaries: Sequence[jax.typing.ArrayLike] | jax.Array,
) -> _base.Schedule:
    r"""Runs schedules one after another, switching at the given step counts.

    .. math:: s(k) = s_i(k - b_i) \quad \text{for } b_i \le k < b_{i+1}, \qquad b_0 = 0

    Each schedule sees the count *relative to its own start*. At :math:`k = b_i`
    the next schedule already runs (with relative count 0).

    Args:
        schedules: :math:`n` schedules.
        boundaries: :math:`n - 1` non-decreasing step counts :math:`b_1, \dots`,
            a sequence or a 1-D array; each may be traced.

    Returns:
        A function of the 0-based count :math:`k`. An integer count stays an
        integer for the inner schedules.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.join_schedules(
        ...     [jos.linear_schedule(0.0, 1.0, 2), jos.constant_schedule(0.5)], [2])
        >>> print([float(sched(k)) for k in range(4)])
        [0.0, 0.5, 0.5, 0.5]
    """
    schedules = list(schedules)
    if not schedules or not all(callable(s) for s in schedules):
        raise TypeError(f"`schedules` must be a non-empty list of schedules, got {schedules!r}.")
    bounds = stack_boundaries(boundaries, len(schedules) - 1, "join_schedules")

    def schedule(count):
        count = jnp.asarray(count)
        out = as_float(schedules[0](count))
        for i, inner in enumerate(schedules[1:]):
            b = bounds[i].astype(count.dtype)
            out = jnp.where(count < b, out, as_float(inner(count - b)))
        return out

    return schedule
