"""Constraints on the updates: NaNs replaced by zeros, parameters kept non-negative."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import tree_math as _tree_math

# optax's name for the (empty) state of `keep_params_nonnegative`; the same class.
NonNegativeParamsState = _base.EmptyState


class ZeroNansState(NamedTuple):
    """State of :func:`zero_nans`."""

    found_nan: Any  # per leaf: whether the last update had a NaN there (bool scalar), like params


def zero_nans() -> _base.GradientTransformation:
    r"""Replaces every NaN in the updates by zero and records, per leaf, whether it did.

    .. math:: u_i = \begin{cases} 0 & g_i \text{ is NaN} \\ g_i & \text{otherwise}\end{cases}

    ``state.found_nan`` mirrors the params tree with one bool per leaf, True if
    that leaf's last update contained a NaN; the transform itself never reads
    it. Infinities pass through (use :func:`apply_if_finite` to skip them).

    Returns:
        A transform whose state is :class:`ZeroNansState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.zero_nans()
        >>> g = {"a": jnp.array([1.0, jnp.nan]), "b": jnp.array([jnp.inf])}
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(u["a"], u["b"], bool(state.found_nan["a"]), bool(state.found_nan["b"]))
        [1. 0.] [inf] True False
    """

    def init_fn(params):
        return ZeroNansState(found_nan=jax.tree.map(lambda _: jnp.asarray(False), params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        if jax.tree.structure(updates) != jax.tree.structure(state.found_nan):
            raise ValueError(
                "`zero_nans`: the updates tree does not match the state built by `init`.\n"
                f"  updates: {jax.tree.structure(updates)}\n"
                f"  state:   {jax.tree.structure(state.found_nan)}\n"
                "Call `init` with params of the same structure as the gradients."
            )
        found = jax.tree.map(lambda g: jnp.any(jnp.isnan(g)), updates)
        cleaned = jax.tree.map(lambda g: jnp.where(jnp.isnan(g), jnp.zeros_like(g), g), updates)
        return cleaned, ZeroNansState(found_nan=found)

    return _base.GradientTransformation(init_fn, update_fn)


def keep_params_nonnegative() -> _base.GradientTransformation:
    r"""Shortens the updates so that the parameters stay at or above zero.

    .. math:: u_i = \begin{cases} -\theta_i & \theta_i + g_i < 0 \\ g_i & \text{otherwise}\end{cases}

    A coordinate that would cross zero lands exactly on zero. Put it last in a
    chain (after the learning rate), so that it sees the final step. Params
    that are already negative are moved to zero.

    Returns:
        A transform whose state is :class:`NonNegativeParamsState` (the empty
        state); it needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.chain(jos.sgd(1.0), jos.keep_params_nonnegative())
        >>> p = jnp.array([0.5, 2.0])
        >>> u, _ = tx.update(jnp.array([1.0, 1.0]), tx.init(p), p)
        >>> print(jos.apply_updates(p, u))
        [0. 1.]

    .. note::
        A NaN update stays NaN (``NaN < 0`` is False), as in optax.
    """

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "keep_params_nonnegative")

        def leaf(p, g):
            if p is None or g is None:  # optax keeps None leaves of either tree as None
                return None
            return jnp.where(p + g.astype(p.dtype) < 0, -p.astype(g.dtype), g)

        try:
            out = jax.tree.map(leaf, params, updates, is_leaf=lambda x: x is None)
        except ValueError as err:
            raise ValueError(
                "`keep_params_nonnegative`: the updates tree does not match the params tree.\n"
                f"  updates: {jax.tree.structure(updates)}\n"
                f"  params:  {jax.tree.structure(params)}\n"
                "Pass the params the updates were computed for."
            ) from err
        return out, state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)
