"""Hand over from one optimizer to the next at given step counts: ``join_transforms``.

The boundaries may be traced; the active optimizer is chosen with ``lax.switch``
(under ``vmap`` with batched boundaries every branch runs and one result is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._schedules import decays as _decays

# --- join_transforms ----------------------------------------------------------------------------


class JoinTransformsState(NamedTuple):
    """State of :func:`join_transforms`."""

    count: jax.Array  # updates applied so far (int32, saturating); selects the active transform
    inner_states: tuple  # every transform's state; only the active one advances


def join_transforms(
    transforms: Sequence[_base.GradientTransformation],
    boundaries: Sequence[jax.typing.ArrayLike] | jax.Array,
) -> _base.GradientTransformation:
    r"""Switches from one optimizer to the next at given step counts.

    .. math:: u_t = T_i(g_t) \quad \text{for } b_i \le k < b_{i+1}, \qquad b_0 = 0

    where :math:`k` is the 0-based count of updates already applied. Every
    inner state is kept; only the active transform's state advances, so each
    optimizer's own step count (and its schedules) start at 0 when it takes
    over. Implemented with ``lax.switch``: outside ``vmap`` only the active
    optimizer runs; under ``vmap`` over the boundaries all of them run and one
    result is kept.

    Tutorial 4 (``docs/tutorial_claims.rst``) mentions the practice of training
    with Adam first and switching to SGD later; with this wrapper that is
    ``join_transforms([jos.adam(1e-3), jos.sgd(1e-2)], [1000])``.

    Args:
        transforms: :math:`n` transforms.
        boundaries: :math:`n - 1` non-decreasing step counts (a sequence or a
            1-D array; each may be traced).

    Returns:
        A transform whose state is :class:`JoinTransformsState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.join_transforms([jos.sgd(1.0), jos.sgd(0.1)], [2])
        >>> g, state = jnp.ones(1), tx.init(jnp.zeros(1))
        >>> for _ in range(3):
        ...     u, state = tx.update(g, state)
        ...     print(u)
        [-1.]
        [-1.]
        [-0.1]
    """
    transforms = list(transforms)
    if not transforms:
        raise ValueError("`transforms` of `join_transforms` must hold at least one transform.")
    for i, tx in enumerate(transforms):
        _combine.check_transform(tx, f"`join_transforms` transform {i}")
    bounds = _decays.stack_boundaries(boundaries, len(transforms) - 1, "join_transforms")

    def init_fn(params):
        return JoinTransformsState(count=_tree_math.zero_count(),
                                   inner_states=tuple(tx.init(params) for tx in transforms))

    def update_fn(updates, state, params=None, **extra_args):
        active = jnp.sum(state.count >= bounds.astype(jnp.int32)).astype(jnp.int32)
        old = state.inner_states

        def branch(i):
            def run(operands):
                u, states = operands
                new_u, new_s = _base.call_update(transforms[i], u, states[i], params, extra_args)
                states = states[:i] + (_tree_math.cast_like(new_s, states[i]),) + states[i + 1:]
                return _tree_math.cast_like(new_u, u), states

            return run

        branches = [branch(i) for i in range(len(transforms))]
        if isinstance(active, jax.core.Tracer):
            new_updates, inner_states = jax.lax.switch(active, branches, (updates, old))
        else:  # eager: run the active transform directly instead of compiling a switch
            new_updates, inner_states = branches[int(active)]((updates, old))
        return new_updates, JoinTransformsState(_tree_math.safe_increment(state.count), inner_states)

    return _base.GradientTransformation(init_fn, update_fn)

