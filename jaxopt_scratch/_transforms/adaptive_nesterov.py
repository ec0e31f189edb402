"""Adan: adaptive moments of a Nesterov-style gradient extrapolation."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByAdanState(NamedTuple):
    """State of :func:`scale_by_adan` (optax's field names, so its states carry over)."""

    m: _base.Updates  # EMA of g, shaped like params, >= float32
    v: _base.Updates  # EMA of the gradient difference g_t - g_{t-1}
    n: _base.Updates  # EMA of |g_t + (1 - b2)(g_t - g_{t-1})|^2, real
    g: _base.Updates  # the previous gradient g_{t-1} (zeros before the first step)
    t: jax.Array  # updates seen so far (int32 scalar, saturating); optax calls it `t`


def scale_by_adan(
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformation:
    r"""Rescales updates by Adan's moments of the gradient and its change.

    With :math:`\Delta_t = g_t - g_{t-1}` (and :math:`\Delta_1 = 0`):

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, \Delta_t \\
        n_t &= \beta_3 n_{t-1} + (1 - \beta_3)\, |g_t + (1 - \beta_2)\Delta_t|^2 \\
        u_t &= \frac{\hat m_t + (1 - \beta_2)\, \hat v_t}{\sqrt{\hat n_t + \varepsilon_{root}} + \varepsilon}

    where hats divide by :math:`1 - \beta_i^t`. :math:`g_t + (1-\beta_2)\Delta_t`
    estimates the gradient at the Nesterov look-ahead point without a second
    gradient evaluation. The decays are "keep" rates as in optax (the paper
    writes :math:`1 - \beta`).

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, decay of the gradient average.
        b2: :math:`\beta_2 \in [0, 1)`, decay of the difference average.
        b3: :math:`\beta_3 \in [0, 1)`, decay of the second moment.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        eps_root: :math:`\varepsilon_{root} \ge 0`, inside the square root.

    Returns:
        A transform whose state is :class:`ScaleByAdanState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_adan(eps=0.0)
        >>> u, state = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
        >>> print(u)  # no difference yet: the first step is sign(g), as in Adam
        [ 1. -1.]

    References:
        Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster
        Optimizing Deep Models <https://arxiv.org/abs/2208.06677>`_, 2022 (Algorithm 1).
    """
    for name, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _checks.check_decay(name, value)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("eps_root", eps_root)

    def init_fn(params):
        return ScaleByAdanState(
            m=_tree_math.zeros_like_state(params),
            v=_tree_math.zeros_like_state(params),
            n=_tree_math.zeros_like_state(params, real=True),
            g=_tree_math.zeros_like_state(params),
            t=_tree_math.zero_count(),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.m, "scale_by_adan")
        first = state.t == 0
        diff = jax.tree.map(
            lambda g, prev: jnp.where(first, jnp.zeros_like(prev),
                                      _tree_math.cast(g, prev.dtype) - prev),
            _tree_math.upcast(updates), state.g)
        m = _tree_math.update_moment(updates, state.m, b1)
        v = _tree_math.update_moment(diff, state.v, b2)

        def look_ahead(g, d):
            weight = 1 - jnp.asarray(b2, jnp.finfo(d.dtype).dtype)  # real, also for complex d
            return _tree_math.cast(g, d.dtype) + _tree_math.cast(weight, d.dtype) * d

        n = _tree_math.update_moment(jax.tree.map(look_ahead, updates, diff), state.n, b3, order=2)
        t = _tree_math.safe_increment(state.t)
        m_hat = _tree_math.bias_correction(m, b1, t)
        v_hat = _tree_math.bias_correction(v, b2, t)
        n_hat = _tree_math.bias_correction(n, b3, t)
        direction = jax.tree.map(look_ahead, m_hat, v_hat)
        out = _tree_math.normalize(direction, n_hat, eps, eps_root)
        previous = _tree_math.cast_like(updates, state.g)
        return _tree_math.cast_like(out, updates), ScaleByAdanState(m=m, v=v, n=n, g=previous, t=t)

    return _base.GradientTransformation(init_fn, update_fn)
