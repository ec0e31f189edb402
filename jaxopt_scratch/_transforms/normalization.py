"""Normalisations of the update: by its global norm, and gradient centralisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


def normalize_by_update_norm(
    scale_factor: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""Divides the updates by their global norm: a step of fixed length.

    .. math:: u_t = s\, \frac{g_t}{\|g_t\|_2 + \varepsilon}

    with :math:`\|g_t\|_2` the norm over every element of every leaf. Every step
    has length :math:`s\,\|g\|/(\|g\| + \varepsilon) \approx s`, whatever the
    gradient's scale: normalised gradient descent.

    Args:
        scale_factor: :math:`s`, the length of the step (any real number; a
            negative value gives a descent direction without a learning rate,
            as in optax's example). May be traced.
        eps: :math:`\varepsilon \ge 0`, keeps a zero update at zero instead of
            ``0/0``. May be traced.

    Returns:
        A stateless transform (:class:`EmptyState`).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.normalize_by_update_norm(eps=0.0)
        >>> print(tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))[0])
        [0.6 0.8]

    .. note::
        The norm is computed in at least float32 without overflow (a float32
        gradient with elements above ~1e19 still gives a unit step, where the
        naive sum of squares would be inf and the step 0). NaN or Inf in any
        leaf makes every leaf NaN or 0, as in optax.
    """
    _checks.check_interval("scale_factor", scale_factor)
    _checks.check_nonnegative("eps", eps)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        norm = _tree_math.global_norm(updates)
        denominator = (norm + jnp.asarray(eps, norm.dtype)) / jnp.asarray(scale_factor, norm.dtype)
        # Divided leafwise, as optax does, so both round the same way.
        return jax.tree.map(lambda g: g / _tree_math.cast(denominator, g.dtype), updates), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)


def centralize() -> _base.GradientTransformation:
    r"""Gradient centralisation: subtracts from each output unit its mean.

    .. math:: u_{i,\dots} = g_{i,\dots} - \operatorname{mean}_{j,\dots}\, g_{i,j,\dots}

    For a leaf with two or more axes, the mean is taken over every axis but the
    first and subtracted; scalars and vectors (biases) pass through unchanged.
    The mean is accumulated in at least float32.

    Returns:
        A stateless transform (:class:`EmptyState`).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.centralize()
        >>> g = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        >>> print(tx.update(g, tx.init(g))[0])
        [[-1.  0.  1.]
         [-1.  0.  1.]]

    References:
        Yong, Huang, Hua & Zhang, `Gradient Centralization: A New Optimization
        Technique for Deep Neural Networks <https://arxiv.org/abs/2004.01461>`_,
        2020 (equation 1).
    """

    def leaf(g):
        if g.ndim < 2:  # the rank is static
            return g
        axes = tuple(range(1, g.ndim))
        mean = jnp.mean(g, axis=axes, keepdims=True, dtype=_tree_math.moment_dtype(g.dtype))
        return g - _tree_math.cast(mean, g.dtype)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(leaf, updates), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)
