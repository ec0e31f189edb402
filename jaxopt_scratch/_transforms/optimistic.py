"""Optimistic gradients: extrapolate with the previous gradient (for min-max games)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByOptimisticGradientState(NamedTuple):
    """State of :func:`scale_by_optimistic_gradient` (optax's fields)."""

    is_initial_step: jax.Array  # bool scalar: True until the first update
    previous_gradient: _base.Updates  # g_{t-1}, shaped like params, >= float32


def scale_by_optimistic_gradient(
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
) -> _base.GradientTransformation:
    r"""Generalised optimistic gradient: :math:`u_t = (\alpha + \beta)\, g_t - \beta\, g_{t-1}`.

    :math:`\alpha = \beta = 1` is optimistic gradient descent, :math:`2 g_t -
    g_{t-1}`, which approximates the extra-gradient method with one gradient
    per step. At the first step :math:`g_0 := g_1`, so :math:`u_1 = \alpha g_1`.

    Args:
        alpha: :math:`\alpha`, the weight of the current gradient (may be traced).
        beta: :math:`\beta`, the weight of the correction :math:`g_t - g_{t-1}`.

    Returns:
        A transform whose state is :class:`ScaleByOptimisticGradientState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_optimistic_gradient()
        >>> s = tx.init(jnp.zeros(1))
        >>> u1, s = tx.update(jnp.array([1.0]), s)
        >>> u2, s = tx.update(jnp.array([3.0]), s)
        >>> print(u1, u2)  # alpha g_1, then 2 * 3 - 1
        [1.] [5.]

    References:
        Mokhtari, Ozdaglar & Pattathil, `A Unified Analysis of Extra-gradient and
        Optimistic Gradient Methods for Saddle Point Problems: Proximal Point
        Approach <https://arxiv.org/abs/1901.08511>`_, 2020 (eq. 6);
        Daskalakis et al., `Training GANs with Optimism
        <https://arxiv.org/abs/1711.00141>`_, 2018.
    """
    _checks.check_interval("alpha", alpha)
    _checks.check_interval("beta", beta)

    def init_fn(params):
        return ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(True),
            previous_gradient=_tree_math.zeros_like_state(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.previous_gradient,
                                        "scale_by_optimistic_gradient")

        def leaf(g, prev):
            g = _tree_math.upcast(g)
            prev = jnp.where(state.is_initial_step, g, _tree_math.cast(prev, g.dtype))
            a = jnp.asarray(alpha, jnp.finfo(g.dtype).dtype)
            b = jnp.asarray(beta, jnp.finfo(g.dtype).dtype)
            return _tree_math.cast(a + b, g.dtype) * g - _tree_math.cast(b, g.dtype) * prev

        out = jax.tree.map(leaf, updates, state.previous_gradient)
        new_state = ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(False),
            previous_gradient=_tree_math.cast_like(updates, state.previous_gradient))
        return _tree_math.cast_like(out, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
