"""Per-block clipping: by each leaf's RMS, and adaptive (unit-wise, relative to the params)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

AdaptiveGradClipState = _base.EmptyState  # optax 0.2.8's name for the empty state


def clip_by_block_rms(threshold: jax.typing.ArrayLike) -> _base.GradientTransformation:
    r"""Rescales each leaf so that its root-mean-square is at most ``threshold``.

    .. math::

        u_\ell = g_\ell \cdot \min\!\Bigl(1,\ \frac{\tau}{\mathrm{rms}(g_\ell)}\Bigr), \qquad
        \mathrm{rms}(g_\ell) = \sqrt{\tfrac{1}{n_\ell}\textstyle\sum_i |g_{\ell,i}|^2}

    A block is one leaf (a weight matrix or bias vector). The RMS is computed in
    at least float32. ``threshold = 0`` zeroes every nonzero leaf (optax gives
    NaN for an all-zero leaf there; here it stays zero).

    Args:
        threshold: :math:`\tau \ge 0`; may be traced.

    Returns:
        A stateless transform.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.clip_by_block_rms(1.0)
        >>> g = {"w": jnp.array([3.0, 4.0]), "b": jnp.array([0.5])}
        >>> u, _ = tx.update(g, tx.init(g))
        >>> print(u["w"], u["b"])   # rms(w) = sqrt(12.5) > 1: w / sqrt(12.5); b is left alone
        [0.84852815 1.1313709 ] [0.5]
    """
    _checks.check_nonnegative("threshold", threshold)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args

        def leaf(g):
            norm = _tree_math.norm(g)  # scaled: no overflow for huge float32 gradients
            rms = norm / jnp.sqrt(jnp.asarray(g.size, norm.dtype))
            limit = jnp.asarray(threshold, rms.dtype)
            factor = _tree_math.safe_div(limit, rms, 1, where=rms > limit)  # min(1, limit / rms)
            return g * factor.astype(g.dtype)

        return jax.tree.map(leaf, updates), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)


def unitwise_norm(x: jax.Array, axis: int | Sequence[int] | None = None) -> jax.Array:
    r"""L2 norm of each unit of ``x``, broadcast back to ``x.shape``.

    .. math:: n_{\dots j} = \sqrt{\textstyle\sum_{i \in \text{unit}} |x_{i \dots j}|^2}

    Units follow optax's layout conventions unless ``axis`` is given: scalars
    and vectors are one unit; rank 2 and 3 reduce axis 0 (a linear layer's
    fan-in, ``(in, out)`` or ``(in, heads, out)``); rank 4 reduces ``(0, 1, 2)``
    (HWIO convolutions); rank 5 reduces ``(0, 1, 2, 3)``.

    Args:
        x: An array.
        axis: Structural; the axes one unit spans, overriding the layout rules
            (needed for ranks above 5).

    Returns:
        An array of ``x``'s shape, in at least float32 (optax returns ``x``'s
        dtype); the norm is computed without overflow.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.unitwise_norm(jnp.array([[3.0, 1.0], [4.0, 0.0]])))   # columns are units
        [[5. 1.]
         [5. 1.]]
    """
    if axis is not None:
        reduce = axis
    elif jnp.squeeze(x).ndim <= 1:
        reduce = None
    elif x.ndim in (2, 3):
        reduce = 0
    elif x.ndim in (4, 5):
        reduce = tuple(range(x.ndim - 1))
    else:
        raise ValueError(
            f"`unitwise_norm` has no default unit for an array of shape {x.shape}; "
            f"pass `axis=` with the axes that one unit spans."
        )
    return jnp.broadcast_to(_tree_math.norm(x, axis=reduce, keepdims=True), x.shape)


def unitwise_clip(
    g_norm: jax.typing.ArrayLike,
    max_norm: jax.typing.ArrayLike,
    grad: jax.typing.ArrayLike,
    div_eps: jax.typing.ArrayLike = 1e-6,
) -> jax.Array:
    r"""Rescales each unit of ``grad`` whose norm reaches ``max_norm`` down to ``max_norm``.

    .. math::

        u = \begin{cases} g & n < m \\ g\, m / \max(n, \delta) & \text{otherwise}\end{cases}

    elementwise, with :math:`n` = ``g_norm`` and :math:`m` = ``max_norm``
    (typically both from :func:`unitwise_norm`, so constant over each unit).
    The step of :func:`adaptive_grad_clip`.

    Args:
        g_norm: :math:`n`, the unit norms broadcast to ``grad``'s shape.
        max_norm: :math:`m`, the allowed norms, same shape; may be traced.
        grad: :math:`g`, the array to clip.
        div_eps: :math:`\delta > 0`, a floor on the divisor so that an all-zero
            unit stays finite; may be traced.

    Returns:
        The clipped array, in ``grad``'s dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> g = jnp.array([[3.0, 0.1], [4.0, 0.0]])
        >>> print(jos.unitwise_clip(jos.unitwise_norm(g), jnp.ones((2, 2)), g))
        [[0.6 0.1]
         [0.8 0. ]]
    """
    _checks.check_interval("div_eps", div_eps, 0.0, None, low_open=True)
    shapes = {"g_norm": jnp.shape(g_norm), "max_norm": jnp.shape(max_norm), "grad": jnp.shape(grad)}
    if len(set(shapes.values())) != 1:
        raise ValueError(
            f"`unitwise_clip` needs `g_norm`, `max_norm` and `grad` of one shape, got {shapes}; "
            f"broadcast the norms with `jos.unitwise_norm`."
        )
    g_norm, max_norm, grad = jnp.asarray(g_norm), jnp.asarray(max_norm), jnp.asarray(grad)
    dt = _tree_math.promote_types(g_norm.dtype, max_norm.dtype)
    n, m = g_norm.astype(dt), max_norm.astype(dt)
    factor = m / jnp.maximum(n, jnp.asarray(div_eps, dt))
    return jnp.where(n < m, grad, grad * factor.astype(grad.dtype))


def adaptive_grad_clip(
    clipping: jax.typing.ArrayLike,
    eps: jax.typing.ArrayLike = 1e-3,
    axis: int | Sequence[int] | None = None,
) -> _base.GradientTransformation:
    r"""Adaptive gradient clipping (AGC): clips each unit relative to its parameters' norm.

    .. math::

        u_i = \begin{cases}
            g_i & \|g_i\| < \lambda \max(\|\theta_i\|, \varepsilon) \\
            \lambda \max(\|\theta_i\|, \varepsilon)\, g_i / \max(\|g_i\|, 10^{-6}) & \text{otherwise}
        \end{cases}

    for each unit :math:`i` (an output unit's fan-in, see :func:`unitwise_norm`).
    Norms are computed in at least float32.

    Args:
        clipping: :math:`\lambda \ge 0`, the largest allowed ratio of gradient
            norm to parameter norm; may be traced.
        eps: :math:`\varepsilon \ge 0`, a floor on the parameter norm so that
            zero-initialised parameters can still move.
        axis: Structural; the axes one unit spans, overriding the layout rules.

    Returns:
        A stateless transform that needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adaptive_grad_clip(0.1)
        >>> p, g = jnp.array([3.0, 4.0]), jnp.array([0.0, 2.0])
        >>> u, _ = tx.update(g, tx.init(p), p)
        >>> print(u)   # |g| = 2 > 0.1 * |p| = 0.5, so g is rescaled to norm 0.5
        [0.  0.5]

    References:
        Brock, De, Smith & Simonyan, `High-Performance Large-Scale Image
        Recognition Without Normalization <https://arxiv.org/abs/2102.06171>`_, 2021.
    """
    _checks.check_nonnegative("clipping", clipping)
    _checks.check_nonnegative("eps", eps)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "adaptive_grad_clip", like=updates)

        def leaf(g, p):
            g_norm, p_norm = unitwise_norm(g, axis), unitwise_norm(p, axis)
            dt = g_norm.dtype
            max_norm = jnp.asarray(clipping, dt) * jnp.maximum(p_norm, jnp.asarray(eps, dt))
            return unitwise_clip(g_norm, max_norm, g)

        return jax.tree.map(leaf, updates, params), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)
