"""Layer-wise (per-leaf) rescaling: the trust ratio of LARS and LAMB."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


def _norm_at_least(x: jax.Array, min_norm: jax.typing.ArrayLike) -> jax.Array:
    """The leaf's 2-norm (scaled, so it does not overflow), raised to ``min_norm``.

    Finite gradient at zero (see :func:`_tree_math.norm`).
    """
    n = _tree_math.norm(x)
    floor = jnp.asarray(min_norm, n.dtype)
    return jnp.where(n <= floor, floor, n)


def scale_by_trust_ratio(
    min_norm: jax.typing.ArrayLike = 0.0,
    trust_coefficient: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformation:
    r"""Scales each leaf's update by the ratio of the leaf's norm to the update's norm.

    .. math::

        u_\ell = g_\ell \cdot \eta\, \frac{\max(\|\theta_\ell\|, n_{min})}
                                          {\max(\|g_\ell\|, n_{min}) + \varepsilon}

    per leaf :math:`\ell` (a "layer"); the ratio is 1 where either norm is zero,
    so fresh zero-initialised leaves still move.

    Args:
        min_norm: :math:`n_{min} \ge 0`, a floor on both norms.
        trust_coefficient: :math:`\eta > 0` (LARS uses 0.001, LAMB 1).
        eps: :math:`\varepsilon \ge 0`, added to the update's norm.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_trust_ratio()
        >>> p, g = jnp.array([3.0, 4.0]), jnp.array([0.0, 0.5])
        >>> print(tx.update(g, tx.init(p), p)[0])  # |p| / |g| = 10
        [0. 5.]

    References:
        You, Gitman & Ginsburg, `Large Batch Training of Convolutional Networks
        <https://arxiv.org/abs/1708.03888>`_, 2017; You et al., `Large Batch
        Optimization for Deep Learning <https://arxiv.org/abs/1904.00962>`_, 2020.
    """
    _checks.check_nonnegative("min_norm", min_norm)
    _checks.check_interval("trust_coefficient", trust_coefficient, 0.0, None, low_open=True)
    _checks.check_nonnegative("eps", eps)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_trust_ratio", like=updates)

        def leaf(u, p):
            p_norm = _norm_at_least(p, min_norm)
            u_norm = _norm_at_least(u, min_norm)
            ratio = jnp.asarray(trust_coefficient, p_norm.dtype) * p_norm / (
                u_norm + jnp.asarray(eps, p_norm.dtype))
            ratio = jnp.where((p_norm == 0) | (u_norm == 0), jnp.ones_like(ratio), ratio)
            return u * ratio.astype(u.dtype)

        return jax.tree.map(leaf, updates, params), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)
