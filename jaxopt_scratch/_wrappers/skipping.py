"""Skip decisions for :class:`MultiSteps` (``should_skip_update_fn``): non-finite or large updates."""

from __future__ import annotations

import functools
from typing import Any, Protocol

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ShouldSkipUpdateFunction(Protocol):
    """``f(updates, gradient_step, params) -> (skip, skip_state)``, for :class:`MultiSteps`.

    ``skip`` is a bool scalar (True drops this micro-step's updates);
    ``skip_state`` is any pytree, stored in ``MultiStepsState.skip_state`` for
    monitoring (it must have the same structure at every step).
    """

    def __call__(self, updates: _base.Updates, gradient_step: jax.typing.ArrayLike,
                 params: _base.Params | None) -> tuple[jax.Array, Any]: ...


def _total(values: list[jax.Array], dtype: Any) -> jax.Array:
    return functools.reduce(jnp.add, values, jnp.zeros([], dtype))


def skip_not_finite(
    updates: _base.Updates,
    gradient_step: jax.typing.ArrayLike,
    params: _base.Params | None,
) -> tuple[jax.Array, dict]:
    r"""Skips the micro-step if any update is NaN or infinite.

    Args:
        updates: The proposed updates.
        gradient_step: Unused (the :class:`ShouldSkipUpdateFunction` signature).
        params: Unused.

    Returns:
        ``(should_skip, {"should_skip": should_skip, "num_not_finite": n})``
        with ``n`` the number of non-finite elements (int32 scalar).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> skip, info = jos.skip_not_finite({"a": jnp.array([1.0, jnp.inf, jnp.nan])}, 0, None)
        >>> print(bool(skip), int(info["num_not_finite"]))
        True 2
        >>> ms = jos.MultiSteps(jos.sgd(0.1), 2, should_skip_update_fn=jos.skip_not_finite)
    """
    del gradient_step, params
    counts = [jnp.sum(~jnp.isfinite(x), dtype=jnp.int32) for x in jax.tree.leaves(updates)]
    num_not_finite = _total(counts, jnp.int32)
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(
    updates: _base.Updates,
    gradient_step: jax.typing.ArrayLike,
    params: _base.Params | None,
    max_squared_norm: jax.typing.ArrayLike,
) -> tuple[jax.Array, dict]:
    r"""Skips the micro-step unless :math:`\|u\|_2^2 <` ``max_squared_norm`` (and NaN skips).

    .. math:: \text{skip} = \lnot\bigl(\textstyle\sum_i |u_i|^2 < m\bigr)

    Bind the threshold with ``functools.partial(jos.skip_large_updates,
    max_squared_norm=m)`` to pass it to :class:`MultiSteps`.

    Args:
        updates: The proposed updates.
        gradient_step: Unused (the :class:`ShouldSkipUpdateFunction` signature).
        params: Unused.
        max_squared_norm: :math:`m \ge 0`, the largest accepted squared global
            norm (exclusive); may be traced.

    Returns:
        ``(should_skip, {"should_skip": should_skip, "norm_squared": s})``
        with ``s`` the squared global norm.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> skip, info = jos.skip_large_updates(jnp.array([3.0, 4.0]), 0, None, 30.0)
        >>> print(bool(skip), float(info["norm_squared"]))
        False 25.0

    .. note::
        The squares are summed in at least float32 (optax sums in the updates'
        dtype, so bfloat16 updates lose precision there).
    """
    del gradient_step, params
    _checks.check_nonnegative("max_squared_norm", max_squared_norm)
    dtype = _tree_math.scalar_dtype(updates) if jax.tree.leaves(updates) else jnp.float32
    squares = [jnp.sum(_tree_math.abs_sq(_tree_math.upcast(x))).astype(dtype)
               for x in jax.tree.leaves(updates)]
    norm_sq = _total(squares, dtype)
    should_skip = ~(norm_sq < jnp.asarray(max_squared_norm, dtype))  # True for a NaN norm too
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}
