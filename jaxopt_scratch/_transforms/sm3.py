"""SM3: AdaGrad-like step sizes from one accumulator per slice along each axis (sublinear memory)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleBySM3State(NamedTuple):
    """State of :func:`scale_by_sm3` (optax's fields)."""

    # Per leaf, a list with one accumulator per axis (axis i: shape (n_i,)); a 0-d
    # leaf keeps one 0-d accumulator. Real, >= float32.
    mu: _base.Updates
    nu: _base.Updates  # momentum of the normalised update, shaped like params


def _cover_shape(ndim: int, axis: int, size: int) -> list[int]:
    """``[1, .., size, .., 1]``: axis ``axis``'s accumulator broadcast against the leaf."""
    return [1] * axis + [size] + [1] * (ndim - axis - 1)


def scale_by_sm3(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-8,
) -> _base.GradientTransformation:
    r"""SM3-II: per-entry AdaGrad denominators bounded by per-slice maxima.

    For a leaf with :math:`k` axes keep one vector :math:`\mu^{(i)}` per axis.
    Each entry :math:`j` reads the smallest accumulator covering it:

    .. math::

        \nu_t(j) &= c\, g_t(j)^2 + \beta_2 \min_i \mu^{(i)}_{t-1}(j_i), \qquad
        c = \begin{cases} 1 & \beta_2 = 1 \\ 1 - \beta_2 & \text{otherwise} \end{cases} \\
        \mu^{(i)}_t(r) &= \max_{j:\, j_i = r} \nu_t(j), \qquad
        m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t / \sqrt{\nu_t + \varepsilon}

    with :math:`u_t = m_t` (and :math:`0/0 = 0`: an entry with :math:`\nu_t = 0`
    gets no step). ``b2 = 1`` is the paper's sum (AdaGrad); ``b2 < 1`` an
    exponential average. Vectors and scalars keep one accumulator per entry.
    The :math:`\beta_2 = 1` case is a ``jnp.where``, so ``b2`` may be traced.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, the momentum of the normalised update.
        b2: :math:`\beta_2 \in [0, 1]`.
        eps: :math:`\varepsilon \ge 0`, inside the square root.

    Returns:
        A transform whose state is :class:`ScaleBySM3State`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_sm3(b1=0.0, eps=0.0)
        >>> g = jnp.array([[1.0, 2.0], [4.0, 8.0]])
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(u)  # the first step is sign(g)
        [[1. 1.]
         [1. 1.]]
        >>> print(state.mu[0], state.mu[1])  # row and column maxima of g^2
        [ 4. 64.] [16. 64.]

    References:
        Anil et al., `Memory-Efficient Adaptive Optimization
        <https://arxiv.org/abs/1901.11150>`_, 2019 (Algorithm SM3-II).

    .. note::
        optax fails on 0-d leaves (it indexes an empty list of accumulators);
        here a scalar keeps one 0-d accumulator, like a one-entry vector.
    """
    _checks.check_decay("b1", b1)
    _checks.check_interval("b2", b2, 0.0, 1.0, hint="`b2=1` sums squared gradients (AdaGrad).")
    _checks.check_nonnegative("eps", eps)

    def init_fn(params):
        _tree_math.check_float_params(params)
        for leaf in jax.tree.leaves(params):
            if jnp.iscomplexobj(leaf):
                raise TypeError(
                    f"`scale_by_sm3` does not support complex params (got a leaf of dtype "
                    f"{jnp.result_type(leaf)}): split them into real and imaginary parts.")

        def accumulators(p):
            dtype = _tree_math.moment_dtype(p.dtype)
            if p.ndim == 0:
                return [jnp.zeros((), dtype)]
            return [jnp.zeros((n,), dtype) for n in p.shape]

        return ScaleBySM3State(mu=jax.tree.map(accumulators, params),
                               nu=_tree_math.zeros_like_state(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.nu, "scale_by_sm3")

        def leaf(g, accs):
            g = _tree_math.upcast(g)
            if g.ndim < 2:
                previous = _tree_math.cast(accs[0], g.dtype)
            else:
                covers = [jnp.reshape(a, _cover_shape(g.ndim, i, g.shape[i]))
                          for i, a in enumerate(accs)]
                previous = _tree_math.cast(functools.reduce(jnp.minimum, covers), g.dtype)
            decay = jnp.asarray(b2, g.dtype)
            weight = jnp.where(decay == 1, jnp.ones_like(decay), 1 - decay)
            nu = weight * jnp.square(g) + decay * previous
            inverse_root = jnp.where(nu > 0, jax.lax.rsqrt(nu + jnp.asarray(eps, g.dtype)), 0)
            if g.ndim < 2:
                new_accs = [_tree_math.cast(nu, accs[0].dtype)]
            else:
                new_accs = [_tree_math.cast(
                    jnp.max(nu, axis=tuple(j for j in range(g.ndim) if j != i)), a.dtype)
                    for i, a in enumerate(accs)]
            return g * inverse_root, new_accs

        results = jax.tree.map(leaf, updates, state.mu)
        normalised = jax.tree.map(lambda _, r: r[0], updates, results)
        mu = jax.tree.map(lambda _, r: r[1], updates, results)
        nu = _tree_math.update_moment(normalised, state.nu, b1)
        return _tree_math.cast_like(nu, updates), ScaleBySM3State(mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)
