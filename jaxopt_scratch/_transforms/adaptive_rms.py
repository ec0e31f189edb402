"""Per-coordinate step sizes from accumulated squared gradients: AdaGrad, RMSProp."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByRssState(NamedTuple):
    """State of :func:`scale_by_rss`."""

    sum_of_squares: _base.Updates  # running sum of g^2, shaped like params, >= float32


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms`."""

    count: jax.Array  # updates seen so far (int32 scalar), for the optional bias correction
    nu: _base.Updates  # EMA of g^2, shaped like params, >= float32


class ScaleByStddevState(NamedTuple):
    """State of :func:`scale_by_stddev`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    mu: _base.Updates  # EMA of g
    nu: _base.Updates  # EMA of g^2


# optax 0.2.8's name for the state of the centered RMS (its fields lack `count` unless
# `bias_correction=True`; `jos.tree.from_optax_state` bridges the difference).
ScaleByRStdDevState = ScaleByStddevState


def scale_by_rss(
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> _base.GradientTransformation:
    r"""AdaGrad: divide by the root of the *sum* of all squared gradients so far.

    .. math::

        s_t &= s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        u_t &= g_t / \sqrt{s_t + \varepsilon} \quad (u_t = 0 \text{ where } s_t = 0)

    ``eps`` sits *inside* the square root (as in optax). Because :math:`s_t` only
    grows, the effective step :math:`\alpha/\sqrt{s_t}` shrinks forever: the
    weakness RMSProp fixes. ``torch.optim.Adagrad`` puts eps outside and starts
    at 0; with ``initial_accumulator_value=0`` the two differ only through eps.

    Args:
        initial_accumulator_value: :math:`s_0 \ge 0`.
        eps: :math:`\varepsilon \ge 0`, inside the square root.

    Returns:
        A transform whose state is :class:`ScaleByRssState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
        >>> u, _ = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
        >>> print(u)
        [ 1. -1.]

    References:
        Duchi, Hazan & Singer, `Adaptive Subgradient Methods
        <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.
    """
    _checks.check_nonnegative("initial_accumulator_value", initial_accumulator_value)
    _checks.check_nonnegative("eps", eps)

    def init_fn(params):
        return ScaleByRssState(
            sum_of_squares=_tree_math.full_like_state(params, initial_accumulator_value, real=True)
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.sum_of_squares, "scale_by_rss")
        wide = _tree_math.upcast(updates)
        sums = jax.tree.map(lambda g, s: s + _tree_math.abs_sq(g).astype(s.dtype),
                            wide, state.sum_of_squares)
        out = jax.tree.map(
            # `s == 0`, not `s <= 0`: a NaN sum must give a NaN update, not hide as 0.
            lambda g, s, n: jnp.where(s == 0, jnp.zeros_like(n), n).astype(g.dtype),
            updates, sums, _tree_math.normalize(wide, sums, 0.0, eps),
        )
        return out, ScaleByRssState(sum_of_squares=sums)

    return _base.GradientTransformation(init_fn, update_fn)


def _rms_denominator_args(eps, eps_in_sqrt):
    """(eps outside, eps inside) the square root."""
    return (0.0, eps) if eps_in_sqrt else (eps, 0.0)


def scale_by_rms(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> _base.GradientTransformation:
    r"""RMSProp: divide by the root of an EMA of squared gradients.

    .. math::

        v_t &= \rho\, v_{t-1} + (1-\rho)\, g_t^2, \qquad v_0 = \text{initial\_scale} \\
        \hat v_t &= v_t / (1 - \rho^t) \text{ if bias\_correction else } v_t \\
        u_t &= g_t / \sqrt{\hat v_t + \varepsilon} \quad (\texttt{eps\_in\_sqrt=True}) \qquad
        u_t = g_t / (\sqrt{\hat v_t} + \varepsilon) \quad (\texttt{False})

    optax's default puts eps inside the square root. ``eps_in_sqrt=False``
    matches ``torch.optim.RMSprop(alpha=decay, eps=eps)`` and the RMSProp of
    tutorials 3 and 4 (``g / (sqrt(s) + 1e-8)``; ``docs/tutorial_claims.rst``, P4 and P8).

    Args:
        decay: :math:`\rho \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`.
        initial_scale: :math:`v_0 \ge 0`.
        eps_in_sqrt: Structural; where eps goes.
        bias_correction: Structural; divide :math:`v_t` by :math:`1-\rho^t`.

    Returns:
        A transform whose state is :class:`ScaleByRmsState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_rms(decay=0.9, eps=0.0, bias_correction=True)
        >>> u, _ = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
        >>> print(u)
        [ 1. -1.]

    References:
        Tieleman & Hinton, Lecture 6.5 of *Neural Networks for Machine Learning*, 2012.
    """
    _checks.check_decay("decay", decay)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("initial_scale", initial_scale)
    eps_out, eps_in = _rms_denominator_args(eps, eps_in_sqrt)

    def init_fn(params):
        return ScaleByRmsState(count=_tree_math.zero_count(),
                               nu=_tree_math.full_like_state(params, initial_scale, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.nu, "scale_by_rms")
        count = _tree_math.safe_increment(state.count)
        nu = _tree_math.update_moment(updates, state.nu, decay, order=2)
        nu_hat = _tree_math.bias_correction(nu, decay, count) if bias_correction else nu
        out = _tree_math.normalize(_tree_math.upcast(updates), nu_hat, eps_out, eps_in)
        return _tree_math.cast_like(out, updates), ScaleByRmsState(count=count, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_stddev(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> _base.GradientTransformation:
    r"""Centered RMSProp: divide by an estimate of the gradient's standard deviation.

    .. math::

        m_t &= \rho\, m_{t-1} + (1-\rho)\, g_t, \qquad v_t = \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\
        u_t &= g_t / \sqrt{\hat v_t - \hat m_t^2 + \varepsilon}
        \quad (\text{or } g_t / (\sqrt{\hat v_t - \hat m_t^2} + \varepsilon))

    Hats denote the optional bias correction. ``eps_in_sqrt=False`` matches
    ``torch.optim.RMSprop(centered=True)``.

    Args:
        decay: :math:`\rho \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`.
        initial_scale: :math:`v_0 \ge 0` (:math:`m_0 = 0`).
        eps_in_sqrt: Structural; where eps goes.
        bias_correction: Structural; divide both averages by :math:`1-\rho^t`.

    Returns:
        A transform whose state is :class:`ScaleByStddevState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_stddev(eps=1.0)
        >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
        >>> print(u)  # 2 / sqrt(0.4 - 0.04 + 1)
        [1.7149858]

    References:
        Graves, `Generating Sequences With Recurrent Neural Networks
        <https://arxiv.org/abs/1308.0850>`_, 2013 (eq. 38-45).
    """
    _checks.check_decay("decay", decay)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("initial_scale", initial_scale)
    eps_out, eps_in = _rms_denominator_args(eps, eps_in_sqrt)

    def init_fn(params):
        return ScaleByStddevState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params),
            nu=_tree_math.full_like_state(params, initial_scale, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.nu, "scale_by_stddev")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, decay)
        nu = _tree_math.update_moment(updates, state.nu, decay, order=2)
        mu_hat, nu_hat = mu, nu
        if bias_correction:
            mu_hat = _tree_math.bias_correction(mu, decay, count)
            nu_hat = _tree_math.bias_correction(nu, decay, count)
        # When g^2 overflowed, v and m^2 are both inf: keep inf (a zero step, like
        # scale_by_rms) instead of inf - inf = NaN.
        variance = jax.tree.map(lambda v, m: jnp.where(jnp.isinf(v), v, v - _tree_math.abs_sq(m)),
                                nu_hat, mu_hat)
        out = _tree_math.normalize(_tree_math.upcast(updates), variance, eps_out, eps_in)
        return _tree_math.cast_like(out, updates), ScaleByStddevState(count=count, mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)
