r"""Moment updates with optax's public signatures (``jos.update_moment``, ...).

Thin front ends over the library's own formulas in ``tree_math`` (the EMA and
the bias correction live there once), with optax 0.2.8's arguments: ``order`` is
required, leaves may be NumPy arrays or Python scalars, and a ``None`` update
gives a ``None`` result whatever the moment holds.

.. note::
    Dtypes follow the library's policy rather than optax's promotion: the
    average is formed in at least float32 and returned in the moment's dtype, so
    a bfloat16 moment stays bfloat16 (and a float32 moment of bfloat16 updates
    stays float32), and the bias correction :math:`1-\beta^t` is computed as
    ``-expm1(t log1p(-(1-beta)))``, exact to float32 rounding where optax's
    ``1 - beta**t`` loses up to about 1e-4 relative for ``beta = 0.999``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math


def _is_none(x: Any) -> bool:
    return x is None


def none_safe(fn: Callable[[Any, Any], Any], updates: Any, moments: Any) -> Any:
    """``fn(updates, moments)`` over whole trees, but ``None`` where an update is ``None``."""
    if not any(x is None for x in jax.tree.leaves(updates, is_leaf=_is_none)):
        return fn(jax.tree.map(jnp.asarray, updates), jax.tree.map(jnp.asarray, moments))
    return jax.tree.map(lambda g, m: None if g is None else fn(jnp.asarray(g), jnp.asarray(m)),
                        updates, moments, is_leaf=_is_none)


def _check_order(order: Any) -> None:
    if isinstance(order, bool) or not isinstance(order, (int, float)) or order <= 0:
        raise ValueError(
            f"`order` must be a positive Python number (1 for a mean, 2 for a second moment), "
            f"got {order!r}. It is structural: it cannot be traced."
        )


def _powered(updates: Any, moments: Any, order: Any, elementwise_norm: bool) -> Any:
    """``g**order`` (or ``|g|**order``) formed in the dtype the EMA will use."""

    def leaf(g, m):
        g = _tree_math.cast(g, _tree_math.promote_types(g.dtype, _tree_math.moment_dtype(m.dtype)))
        if elementwise_norm and jnp.iscomplexobj(g):
            half = order / 2
            return _tree_math.abs_sq(g) ** (int(half) if float(half).is_integer() else half)
        return g**order

    return jax.tree.map(leaf, updates, moments)


def update_moment(updates: Any, moments: Any, decay: jax.typing.ArrayLike, order: int) -> Any:
    r"""Exponential moving average of the ``order``-th power of the updates.

    .. math::
        m \leftarrow \beta\, m + (1 - \beta)\, g^{k}

    with :math:`\beta` = ``decay`` and :math:`k` = ``order``. For complex updates
    :math:`g^k` is the complex power; see :func:`update_moment_per_elem_norm`
    for :math:`|g|^k`.

    Args:
        updates: The new values :math:`g` (a ``None`` leaf gives ``None``).
        moments: The running averages :math:`m`, shaped like ``updates``.
        decay: :math:`\beta \in [0, 1]` (may be a tracer).
        order: The power :math:`k`, a positive Python number (static).

    Returns:
        The new averages, in each moment's dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.update_moment(jnp.array([2.0]), jnp.array([0.0]), 0.5, 2))
        [2.]
    """
    _check_order(order)
    if order == 1:
        return none_safe(lambda g, m: _tree_math.update_moment(g, m, decay, 1), updates, moments)
    return none_safe(
        lambda g, m: _tree_math.update_moment(_powered(g, m, order, False), m, decay, 1),
        updates, moments)


def update_moment_per_elem_norm(updates: Any, moments: Any, decay: jax.typing.ArrayLike,
                                order: int) -> Any:
    r"""Exponential moving average of the ``order``-th power of each element's modulus.

    .. math::
        m \leftarrow \beta\, m + (1 - \beta)\, |g|^{k}

    (for real updates :math:`g^k`, as optax). With ``order=2`` this is the
    second moment of Adam and RMSProp, real-valued for complex updates.

    Args:
        updates: The new values :math:`g` (a ``None`` leaf gives ``None``).
        moments: The running averages :math:`m`, shaped like ``updates``.
        decay: :math:`\beta \in [0, 1]` (may be a tracer).
        order: The power :math:`k`, a positive Python number (static).

    Returns:
        The new averages, in each moment's dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.update_moment_per_elem_norm(jnp.array([3j]), jnp.array([0.0]), 0.5, 2))
        [4.5]
    """
    _check_order(order)
    if order == 2:  # the library's own second moment: |g|^2 formed in at least float32
        return none_safe(lambda g, m: _tree_math.update_moment(g, m, decay, 2), updates, moments)
    return none_safe(
        lambda g, m: _tree_math.update_moment(_powered(g, m, order, True), m, decay, 1),
        updates, moments)


def update_infinity_moment(updates: Any, moments: Any, decay: jax.typing.ArrayLike,
                           eps: jax.typing.ArrayLike) -> Any:
    r"""Exponentially weighted infinity norm (AdaMax's second moment).

    .. math::
        u \leftarrow \max(|g| + \varepsilon,\ \beta\, u)

    Args:
        updates: The new values :math:`g` (a ``None`` leaf gives ``None``).
        moments: The running maxima :math:`u`, shaped like ``updates``.
        decay: :math:`\beta \in [0, 1]` (may be a tracer).
        eps: :math:`\varepsilon \ge 0`, added to :math:`|g|` (may be a tracer).

    Returns:
        The new maxima, in each moment's dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.update_infinity_moment(jnp.array([-1.0, 0.5]), jnp.array([0.0, 2.0]),
        ...                                  0.5, 0.0))
        [1. 1.]

    References:
        Kingma & Ba, 2015, Adam: A Method for Stochastic Optimization (Section 7.1, Algorithm 2).
    """

    def leaves(g, u):
        def leaf(g, u):
            wide = _tree_math.moment_dtype(u.dtype)
            real = jnp.finfo(wide).dtype
            g = jnp.abs(_tree_math.cast(g, _tree_math.promote_types(g.dtype, wide)))
            new = jnp.maximum(_tree_math.cast(g, real) + jnp.asarray(eps, real),
                              jnp.asarray(decay, real) * _tree_math.cast(u, real))
            return _tree_math.cast(new, u.dtype)

        return jax.tree.map(leaf, g, u)

    return none_safe(leaves, updates, moments)


def bias_correction(moment: Any, decay: jax.typing.ArrayLike,
                    count: jax.typing.ArrayLike) -> Any:
    r"""Divides every leaf by :math:`1 - \beta^t`, undoing an EMA's bias towards its start.

    Args:
        moment: The average :math:`m_t` (any dtype; the result keeps it).
        decay: The EMA's :math:`\beta \in [0, 1)` (may be a tracer).
        count: The number of averaged steps :math:`t \ge 1` (may be a tracer).

    Returns:
        :math:`m_t / (1 - \beta^t)`, leafwise.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.bias_correction(jnp.array([0.1]), 0.9, 1))
        [1.]

    References:
        Kingma & Ba, 2015, Adam: A Method for Stochastic Optimization (Section 3).
    """
    return _tree_math.bias_correction(jax.tree.map(jnp.asarray, moment), decay, count)
