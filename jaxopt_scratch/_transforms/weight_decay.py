"""Weight decay added to the updates (decoupled from any adaptive denominator)."""

from __future__ import annotations

from typing import NamedTuple

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math


class AddDecayedWeightsState(NamedTuple):
    """State of :func:`add_decayed_weights` with a scheduled weight decay."""

    count: jax.Array  # updates applied so far (int32 scalar); the schedule sees this


def add_decayed_weights(
    weight_decay: _base.ScalarOrSchedule = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Adds :math:`\lambda\,\theta` to the updates: :math:`u_t = g_t + \lambda_t\, \theta_{t-1}`.

    Placed *after* an adaptive transform and before
    :func:`scale_by_learning_rate`, this is decoupled weight decay (AdamW): the
    decay bypasses Adam's denominator but is still multiplied by the learning
    rate (PyTorch's ``AdamW`` convention; the paper's schedule multiplier
    :math:`\eta_t`). Placed *before* :func:`scale_by_adam` it would be L2
    regularisation, which Adam's denominator rescales.

    Args:
        weight_decay: :math:`\lambda \ge 0`, a scalar (may be traced) or a
            schedule of the 0-based step count.
        mask: A pytree of bools like ``params`` or a function of ``params``
            returning one; leaves marked False get no decay (typically biases
            and norm scales). Structural.

    Returns:
        A transform whose state is :class:`EmptyState` (or
        :class:`AddDecayedWeightsState` for a scheduled decay), wrapped in
        :func:`masked` when a mask is given. A ``None`` in the updates (for a
        leaf or a whole subtree of the params) stays ``None``, as in optax.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.add_decayed_weights(0.1)
        >>> p = jnp.array([2.0, -1.0])
        >>> print(tx.update(jnp.zeros(2), tx.init(p), p)[0])
        [ 0.2 -0.1]

    References:
        Loshchilov & Hutter, `Decoupled Weight Decay Regularization
        <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    _checks.check_nonnegative("weight_decay", weight_decay)
    scheduled = callable(weight_decay)

    def init_fn(params):
        _tree_math.check_float_params(params)
        return AddDecayedWeightsState(count=_tree_math.zero_count()) if scheduled else _base.EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        is_none = lambda x: x is None
        if any(is_none(g) for g in jax.tree.leaves(updates, is_leaf=is_none)):
            # A None update (a leaf or a whole subtree without gradient) stays None, as in optax.
            _tree_math.check_params_given(params, "add_decayed_weights")
            _tree_math.check_prefix(
                updates, params, "`add_decayed_weights`: the updates tree does not match the "
                "params.", ("updates", "params"), "Pass the params the updates were computed for.")
        else:
            _tree_math.check_params_given(params, "add_decayed_weights", like=updates)
        if scheduled:
            decay = _base.evaluate_schedule(weight_decay, state.count, "weight_decay")
            state = AddDecayedWeightsState(count=_tree_math.safe_increment(state.count))
        else:
            decay = weight_decay
        decayed = _tree_math.scale_tree(params, decay)  # the decay cast once per dtype, not per leaf
        out = jax.tree.map(lambda g, d: None if g is None else g + _tree_math.cast(d, g.dtype),
                           updates, decayed, is_leaf=is_none)
        return out, state

    tx = _base.GradientTransformation(init_fn, update_fn)
    return tx if mask is None else _combine.masked(tx, mask)
