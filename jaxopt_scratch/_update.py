"""Applying updates to parameters."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch import _tree


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

    def leaf(p, u):
        if p is None or u is None:
            return p
        p = jnp.asarray(p)
        dt = _tree.promote_types(p.dtype, jnp.result_type(u))
        return (p.astype(dt) + jnp.asarray(u).astype(dt)).astype(p.dtype)

    return jax.tree.map(leaf, params, updates, is_leaf=lambda x: x is None)
