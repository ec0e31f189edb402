"""Layer-wise (per-leaf) rescaling: the trust ratio of LARS and LAMB; by a block's norm or RMS."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

ScaleByTrustRatioState = _base.EmptyState  # optax 0.2.8's name for the empty state


def _norm_at_least(x: jax.Array, min_norm: jax.typing.ArrayLike, rms: bool = False) -> jax.Array:
    """The leaf's 2-norm (scaled, so it does not overflow), raised to ``min_norm``.

    ``rms=True`` divides the norm by the square root of the leaf's size first
    (the root-mean-square). Finite gradient at zero (see :func:`_tree_math.norm`).
    """
    n = _tree_math.norm(x)
    if rms:  # the size is static: a Python branch, no traced value involved
        n = n / jnp.sqrt(jnp.asarray(max(x.size, 1), n.dtype))
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


def _block_scaling(who: str, min_scale: jax.typing.ArrayLike, rms: bool) -> _base.GradientTransformation:
    """``u_l * max(size(theta_l), min_scale)`` per leaf, size the 2-norm or the RMS."""
    _checks.check_nonnegative("min_scale", min_scale)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, who, like=updates)

        def leaf(u, p):
            return u * _norm_at_least(p, min_scale, rms).astype(u.dtype)

        return jax.tree.map(leaf, updates, params), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)


def scale_by_param_block_norm(min_scale: jax.typing.ArrayLike = 1e-3) -> _base.GradientTransformation:
    r"""Multiplies each leaf's update by the 2-norm of that leaf's parameters.

    .. math:: u_\ell = g_\ell \cdot \max(\|\theta_\ell\|_2,\ s_{min})

    A block is one leaf (a weight matrix, a bias vector). The norm is computed
    in at least float32 without overflow; the floor keeps zero-initialised
    blocks moving. With :func:`scale_by_adam` before it and a learning rate
    after it, this is the relative step of Fromage-like optimizers.

    Args:
        min_scale: :math:`s_{min} \ge 0`, the smallest factor; may be traced.

    Returns:
        A stateless transform (:class:`EmptyState`) that needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_param_block_norm()
        >>> p = {"w": jnp.array([3.0, 4.0]), "b": jnp.zeros(1)}
        >>> u, _ = tx.update({"w": jnp.ones(2), "b": jnp.ones(1)}, tx.init(p), p)
        >>> print(u["w"], u["b"])   # |w| = 5; b is all zeros, so the floor 1e-3 applies
        [5. 5.] [0.001]
    """
    return _block_scaling("scale_by_param_block_norm", min_scale, rms=False)


def scale_by_param_block_rms(min_scale: jax.typing.ArrayLike = 1e-3) -> _base.GradientTransformation:
    r"""Multiplies each leaf's update by the root-mean-square of that leaf's parameters.

    .. math::

        u_\ell = g_\ell \cdot \max\Bigl(\sqrt{\tfrac{1}{n_\ell}\textstyle\sum_i
            |\theta_{\ell,i}|^2},\ s_{min}\Bigr)

    The RMS, unlike the norm, does not grow with the size of the block, so
    blocks of different sizes take comparable relative steps.

    Args:
        min_scale: :math:`s_{min} \ge 0`, the smallest factor; may be traced.

    Returns:
        A stateless transform (:class:`EmptyState`) that needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_param_block_rms()
        >>> p = jnp.array([3.0, 4.0])
        >>> print(tx.update(jnp.ones(2), tx.init(p), p)[0])   # rms = sqrt(12.5)
        [3.535534 3.535534]
    """
    return _block_scaling("scale_by_param_block_rms", min_scale, rms=True)
