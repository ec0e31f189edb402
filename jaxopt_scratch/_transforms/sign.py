"""Methods that use only the signs of gradients: signSGD's direction and Rprop's step sizes."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


def scale_by_sign() -> _base.GradientTransformation:
    r"""Replaces every update by its sign: :math:`u_t = \operatorname{sign}(g_t)`.

    Zero stays zero and NaN stays NaN.

    Returns:
        A stateless transform (:class:`EmptyState`).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_sign()
        >>> print(tx.update(jnp.array([0.3, -7.0, 0.0]), tx.init(jnp.zeros(3)))[0])
        [ 1. -1.  0.]

    References:
        Bernstein et al., `signSGD: Compressed Optimisation for Non-Convex
        Problems <https://arxiv.org/abs/1802.04434>`_, 2018 (Algorithm 1).
    """

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.sign, updates), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)


class ScaleByRpropState(NamedTuple):
    """State of :func:`scale_by_rprop` (optax's fields)."""

    step_sizes: _base.Updates  # per-entry step size, shaped like params, >= float32
    prev_updates: _base.Updates  # the previous outgoing update (0 after a sign change)


def scale_by_rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> _base.GradientTransformation:
    r"""Rprop (iRprop-): per-entry step sizes that grow while the gradient keeps its sign.

    With :math:`s = \operatorname{sign}(g_t)\operatorname{sign}(u_{t-1})` per entry:

    .. math::

        \Delta_t &= \begin{cases}
            \operatorname{clip}(\eta_+ \Delta_{t-1}, \Delta_{min}, \Delta_{max}) & s > 0 \\
            \operatorname{clip}(\eta_- \Delta_{t-1}, \Delta_{min}, \Delta_{max}) & s < 0 \\
            \Delta_{t-1} & s = 0 \end{cases} \\
        u_t &= \begin{cases} 0 & s < 0 \\ \Delta_t \operatorname{sign}(g_t) & \text{otherwise} \end{cases}

    starting from :math:`\Delta_0` = ``learning_rate`` and :math:`u_0 = 0`.
    After a sign change the entry pauses for one step (:math:`u_t = 0`, so the
    next :math:`s` is 0). The output is a step to *subtract* (chain
    :func:`scale_by_learning_rate` with 1, as :func:`rprop` does); its size
    does not depend on :math:`|g_t|`.

    Args:
        learning_rate: :math:`\Delta_0 \ge 0`, the initial step size (it sets
            the state in ``init``; it may be traced, but it is not a schedule).
        eta_minus: :math:`\eta_- \ge 0` (usually below 1), applied after a sign change.
        eta_plus: :math:`\eta_+ \ge 0` (usually above 1), applied while the sign holds.
        min_step_size: :math:`\Delta_{min} \ge 0`.
        max_step_size: :math:`\Delta_{max} \ge \Delta_{min}`.

    Returns:
        A transform whose state is :class:`ScaleByRpropState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_rprop(0.1)
        >>> s = tx.init(jnp.zeros(2))
        >>> u, s = tx.update(jnp.array([3.0, -4.0]), s)
        >>> u, s = tx.update(jnp.array([5.0, 4.0]), s)
        >>> print(u)  # sign kept: 0.1 * 1.2; sign flipped: pause
        [0.12 0.  ]

    References:
        Riedmiller & Braun, `A Direct Adaptive Method for Faster Backpropagation
        Learning: the RPROP Algorithm <https://ieeexplore.ieee.org/document/298623>`_,
        1993; Igel & Huesken, `Empirical evaluation of the improved Rprop learning
        algorithms <https://doi.org/10.1016/S0925-2312(01)00700-7>`_, 2003 (iRprop-).

    .. note::
        Two deviations from optax 0.2.8, both pinned by tests. (1) optax returns
        the *previous* step's update (its first update is 0 and every later one
        lags by a step, google-deepmind/optax#1725); we return :math:`u_t`, as
        the paper and ``torch.optim.Rprop`` do. The states agree exactly, so an
        optax state carries over. (2) :math:`s` multiplies the two *signs*;
        optax multiplies the values, which underflows to 0 for gradients below
        ~1e-32 in float32 (the entry then stops adapting). Ours is invariant to
        rescaling the gradient.
    """
    if callable(learning_rate):
        raise TypeError(
            "`learning_rate` of Rprop is the initial step size, a number (the step sizes then "
            "adapt by themselves), got a schedule; pass e.g. `learning_rate=0.01`.")
    for name, value in (("learning_rate", learning_rate), ("eta_minus", eta_minus),
                        ("eta_plus", eta_plus), ("min_step_size", min_step_size),
                        ("max_step_size", max_step_size)):
        _checks.check_nonnegative(name, value)
    low, high = _checks.concrete_value(min_step_size), _checks.concrete_value(max_step_size)
    if low is not None and high is not None and (low > high).any():
        raise ValueError(
            f"`max_step_size` ({max_step_size!r}) must be at least `min_step_size` "
            f"({min_step_size!r}).")

    def init_fn(params):
        return ScaleByRpropState(step_sizes=_tree_math.full_like_state(params, learning_rate),
                                 prev_updates=_tree_math.zeros_like_state(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.step_sizes, "scale_by_rprop")

        def leaf(g, step, prev):
            direction = jnp.sign(_tree_math.cast(g, step.dtype))
            s = direction * jnp.sign(prev)
            factor = jnp.where(s > 0, jnp.asarray(eta_plus, step.dtype),
                               jnp.asarray(eta_minus, step.dtype))
            clipped = jnp.clip(step * factor, jnp.asarray(min_step_size, step.dtype),
                               jnp.asarray(max_step_size, step.dtype))
            step = jnp.where(s == 0, step, clipped)
            return step, jnp.where(s < 0, jnp.zeros_like(step), step * direction)

        pairs = jax.tree.map(leaf, updates, state.step_sizes, state.prev_updates)
        step_sizes = jax.tree.map(lambda _, p: p[0], updates, pairs)
        out = jax.tree.map(lambda _, p: p[1], updates, pairs)
        new_state = ScaleByRpropState(step_sizes=step_sizes, prev_updates=out)
        return _tree_math.cast_like(out, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
