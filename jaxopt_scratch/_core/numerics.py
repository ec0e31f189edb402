r"""Numerically safe scalars and parameter averages: norms with a floor, counters, Polyak averaging.

Same names, arguments and results as optax 0.2.8 (``optax.safe_norm``,
``optax.safe_increment``, ``optax.incremental_update``, ...), built on the
library's own formulas in ``tree_math``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import tree_moments as _tree_moments


def _norm_dtype(dtype: Any) -> jnp.dtype:
    """The dtype ``jnp.linalg.norm`` returns: the real counterpart of an inexact dtype."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.finfo(dtype).dtype
    return jnp.dtype(jnp.float32)


def safe_norm(
    x: jax.typing.ArrayLike,
    min_norm: jax.typing.ArrayLike,
    ord: float | str | None = None,
    axis: None | tuple[int, ...] | int = None,
    keepdims: bool = False,
) -> jax.Array:
    r"""``max(norm(x), min_norm)`` with a finite gradient where the norm is small.

    .. math::
        \mathrm{safe\_norm}(x) = \max(\|x\|_{ord}, n_{\min})

    The plain expression has a NaN gradient at :math:`x = 0` (JAX differentiates
    both branches of the maximum, and :math:`\nabla\|x\|` is :math:`0/0` there);
    here the gradient is 0 wherever the floor is taken. The default (``ord=None``)
    is the 2-norm (Frobenius for matrices), computed without overflow.

    Args:
        x: An array.
        min_norm: The floor :math:`n_{\min} \ge 0` (may be a tracer).
        ord: The order of the norm, as in :func:`jax.numpy.linalg.norm`.
        axis: The axis or axes to reduce, as in :func:`jax.numpy.linalg.norm`.
        keepdims: Keep the reduced axes with size one.

    Returns:
        The floored norm, in ``x``'s real dtype.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.safe_norm(jnp.array([3.0, 4.0]), 1.0), jos.safe_norm(jnp.zeros(2), 1.0))
        5.0 1.0
        >>> print(jax.grad(lambda x: jos.safe_norm(x, 1.0))(jnp.zeros(2)))
        [0. 0.]
    """
    x = jnp.asarray(x)
    dtype = _norm_dtype(x.dtype)

    def measure(y):
        if ord is None:
            return _tree_math.cast(_tree_math.norm(y, axis=axis, keepdims=True), dtype)
        return jnp.linalg.norm(y, ord=ord, axis=axis, keepdims=True)

    out = _floored(measure, x, jnp.asarray(min_norm, dtype))
    if keepdims:
        return out
    return jnp.squeeze(out, axis=axis)


def _floored(measure: Any, x: jax.Array, floor: jax.Array) -> jax.Array:
    """``max(measure(x), floor)``, with ``x`` replaced by ones where the floor wins.

    Replacing ``x`` keeps the non-differentiable point of ``measure`` (0) out of
    the branch that is differentiated, so the gradient is 0 there, not NaN.
    """
    small = measure(x) <= floor
    return jnp.where(small, floor, measure(jnp.where(small, jnp.ones_like(x), x)))


def safe_root_mean_squares(x: jax.typing.ArrayLike, min_rms: jax.typing.ArrayLike) -> jax.Array:
    r"""``max(rms(x), min_rms)`` with a finite gradient where the RMS is small.

    .. math::
        \max\Big(\sqrt{\tfrac{1}{n}\textstyle\sum_i |x_i|^2},\ r_{\min}\Big)

    Args:
        x: An array.
        min_rms: The floor :math:`r_{\min} \ge 0` (may be a tracer).

    Returns:
        A scalar in ``x``'s real dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.safe_root_mean_squares(jnp.array([3.0, 4.0]), 0.1))
        3.535534
    """
    x = jnp.asarray(x)
    dtype = _norm_dtype(x.dtype)
    root_n = jnp.sqrt(jnp.asarray(x.size, dtype))

    def rms(y):
        return _tree_math.cast(_tree_math.norm(y), dtype) / root_n

    return _floored(rms, x, jnp.asarray(min_rms, dtype))


def safe_increment(count: jax.typing.ArrayLike) -> jax.typing.ArrayLike:
    r"""``count + 1``, staying at the dtype's largest value instead of wrapping around.

    Args:
        count: An integer or floating-point counter.

    Returns:
        The incremented counter, in ``count``'s dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.safe_increment(jnp.asarray(1, jnp.int32))
        Array(2, dtype=int32)
        >>> jos.safe_increment(jnp.asarray(2**31 - 1, jnp.int32))
        Array(2147483647, dtype=int32)
    """
    dtype = jnp.result_type(count)
    if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
        raise ValueError(
            f"`count` must have an integer or floating-point dtype, got {dtype}. Use an int32 "
            f"counter such as `jnp.zeros([], jnp.int32)`."
        )
    return _tree_math.safe_increment(jnp.asarray(count))


safe_int32_increment = safe_increment  # optax's older name, kept as the same function


def global_norm(updates: Any) -> jax.Array:
    r"""The 2-norm of a whole tree: :math:`\sqrt{\sum_i |x_i|^2}` over every element.

    The same as :func:`jos.tree.norm` (``optax.global_norm`` is deprecated in its
    favour; this one does not warn). In at least float32, and finite whenever the
    norm itself is representable.

    Args:
        updates: A pytree of arrays.

    Returns:
        A scalar.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
        5.0
    """
    return _tree_math.global_norm(jax.tree.map(jnp.asarray, updates))


def incremental_update(new_tensors: Any, old_tensors: Any,
                       step_size: jax.typing.ArrayLike) -> Any:
    r"""Polyak averaging: :math:`\bar\theta \leftarrow s\,\theta + (1 - s)\,\bar\theta`.

    An exponential moving average of parameters, kept for evaluation: the
    library's one EMA formula, with :math:`s` weighting the *new* values (so a
    small step size is used as given, not rounded through :math:`1 - (1 - s)`).
    ``None`` leaves of ``new_tensors`` stay ``None``.

    Args:
        new_tensors: The latest values :math:`\theta`.
        old_tensors: The running average :math:`\bar\theta`, with the same structure.
        step_size: :math:`s \in [0, 1]` (may be a tracer).

    Returns:
        The new average, in the promotion of each pair of leaves' dtypes (as optax).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.incremental_update(jnp.array([1.0]), jnp.array([0.0]), 0.25))
        [0.25]

    References:
        Polyak & Juditsky, 1992, Acceleration of Stochastic Approximation by Averaging.
    """

    def average(new, old):
        def promoted(n, o):
            return _tree_math.cast(n, _tree_math.promote_types(n.dtype, o.dtype))

        # m <- d m + (1 - d) g with m = new, g = old and d = s: s * new + (1 - s) * old.
        return _tree_math.update_moment(old, jax.tree.map(promoted, new, old), step_size)

    return _tree_moments.none_safe(average, new_tensors, old_tensors)


def periodic_update(new_tensors: Any, old_tensors: Any, steps: jax.typing.ArrayLike,
                    update_period: jax.typing.ArrayLike) -> Any:
    r"""Returns ``new_tensors`` every ``update_period`` steps, else ``old_tensors``.

    A slow copy of the parameters (a target network) refreshed when
    ``steps % update_period == 0``.

    Args:
        new_tensors: The latest values.
        old_tensors: The slow copy, with the same structure.
        steps: The number of updates made so far (may be a tracer).
        update_period: How many steps between refreshes, at least 1 (may be a tracer).

    Returns:
        ``new_tensors`` or ``old_tensors``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.periodic_update(jnp.ones(1), jnp.zeros(1), 6, 3),
        ...       jos.periodic_update(jnp.ones(1), jnp.zeros(1), 7, 3))
        [1.] [0.]

    References:
        Mnih et al., 2015, Human-level control through deep reinforcement learning (Methods).
    """
    refresh = jnp.mod(steps, update_period) == 0
    return jax.lax.cond(refresh, lambda: new_tensors, lambda: old_tensors)
