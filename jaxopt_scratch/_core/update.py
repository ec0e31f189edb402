"""Applying updates to parameters."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math


def _fits(update_shape: tuple, param_shape: tuple) -> bool:
    """Whether an update of ``update_shape`` broadcasts onto ``param_shape`` unchanged."""
    try:
        return jnp.broadcast_shapes(param_shape, update_shape) == param_shape
    except ValueError:
        return False


def apply_updates(params: Any, updates: Any) -> Any:
    r"""Returns :math:`\theta + u` leafwise, each result in its param's dtype.

    Only adds: the descent sign was already applied by
    :func:`scale_by_learning_rate`. The sum is formed in the wider of the two
    dtypes and then cast back, so a float32 update on bfloat16 params is rounded
    once. ``None`` leaves pass through: a ``None`` param stays ``None``, and a
    param whose update is ``None`` is returned as it is (so the non-array fields
    of an equinox model, whose updates are ``None``, come through untouched).
    ``optax.apply_updates`` gives the same result on our updates, and this
    function accepts optax's.

    Args:
        params: The current parameters.
        updates: Updates with the same tree structure.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.apply_updates({"w": jnp.ones(2)}, {"w": jnp.array([-0.5, 0.5])})["w"]
        Array([0.5, 1.5], dtype=float32)
    """

    def leaf(path, p, u):
        if p is None or u is None:
            return p
        p, u = jnp.asarray(p), jnp.asarray(u)
        if not _fits(u.shape, p.shape):  # say so here, not in a broadcasting error from jnp
            raise ValueError(
                f"`apply_updates`: the update for leaf {jax.tree_util.keystr(path) or '<root>'} "
                f"has shape {u.shape}, which does not fit its param's shape {p.shape}. Pass "
                f"updates computed from gradients of these same params."
            )
        dt = _tree_math.promote_types(p.dtype, u.dtype)
        return _tree_math.cast(_tree_math.cast(p, dt) + _tree_math.cast(u, dt), p.dtype)

    try:
        return jax.tree_util.tree_map_with_path(leaf, params, updates, is_leaf=lambda x: x is None)
    except (ValueError, TypeError) as err:
        if jax.tree.structure(params) == jax.tree.structure(updates):
            raise  # not a structure problem: let the original error through
        raise ValueError(
            f"`apply_updates`: the `updates` tree does not match the `params` tree.\n"
            f"  params:  {jax.tree.structure(params)}\n"
            f"  updates: {jax.tree.structure(updates)}\n"
            f"Pass updates computed from gradients of these same params."
        ) from err
