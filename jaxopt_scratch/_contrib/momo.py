r"""MoMo: momentum with a Polyak-type step size from a lower bound of the loss."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

# optax compares |d|^2 with float64's machine epsilon, whatever the dtype.
_TINY = float(jnp.finfo(jnp.float64).eps)


class MomoState(NamedTuple):
    """State of :func:`momo`."""

    exp_avg: _base.Updates  # d_k: EMA of the gradients, >= float32
    barf: jax.Array  # EMA of the loss values (scalar)
    gamma: jax.Array  # EMA of <g_k, x_k> (scalar)
    lb: jax.Array  # the current lower bound of the loss (scalar)
    count: jax.Array  # updates seen so far (int32 scalar)


class MomoAdamState(NamedTuple):
    """State of :func:`momo_adam`."""

    exp_avg: _base.Updates  # d_k: EMA of the gradients, >= float32
    exp_avg_sq: _base.Updates  # v_k: EMA of the squared gradients, >= float32
    barf: jax.Array  # EMA of the loss values (scalar)
    gamma: jax.Array  # EMA of <g_k, x_k> (scalar)
    lb: jax.Array  # the current lower bound of the loss (scalar)
    count: jax.Array  # updates seen so far (int32 scalar)


def _vdot(a, b, dt):
    return sum((jnp.sum(jnp.real(jnp.conj(_tree_math.cast(x, y.dtype)) * y)).astype(dt)
                for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))), jnp.zeros([], dt))


def _check(learning_rate, weight_decay, value, params, who):
    _tree_math.check_params_given(params, who)
    if value is None:
        raise ValueError(
            f"`{who}` needs the loss at the current params: call "
            f"`tx.update(grads, state, params, value=loss)` (e.g. from `jax.value_and_grad`).")


def _polyak_step(alpha, wd, barf, lb, gamma, iprod, norm_sq, bc1, adapt, lower_bound, dt):
    """The Polyak step ``tau = min(alpha / bc1, t1)`` of MoMo(-Adam)."""
    shrink = 1 + alpha * wd
    if adapt:
        cap = shrink * (barf - gamma) + iprod
        lb = jnp.where(cap < shrink * bc1 * lb,
                       jnp.maximum(cap / (2 * bc1 * shrink), jnp.asarray(lower_bound, dt)), lb)
    t1 = jnp.maximum(shrink * (barf - bc1 * lb - gamma) + iprod, 0) / norm_sq
    t1 = jnp.where(norm_sq <= _TINY, jnp.zeros_like(t1), t1)
    return jnp.minimum(alpha / bc1, t1)


def _new_lb(adapt, state_lb, barf, iprod, gamma, tau, norm_sq, bc1, lower_bound, dt):
    if not adapt:
        return state_lb
    return jnp.maximum((barf + iprod - gamma - tau * norm_sq / 2) / bc1,
                       jnp.asarray(lower_bound, dt))


def momo(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    beta: jax.typing.ArrayLike = 0.9,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> _base.GradientTransformation:
    r"""MoMo: SGD with momentum whose step is :math:`\min(\alpha_k, \text{Polyak step of the model})`.

    With :math:`f_k` the loss (``value=``) at :math:`x_k` and :math:`\beta_k = 0` at
    the first step, :math:`\beta` after:

    .. math::

        d_k &= \beta_k d_{k-1} + (1-\beta_k) g_k, \quad
        \bar f_k = \beta_k \bar f_{k-1} + (1-\beta_k) f_k, \quad
        \gamma_k = \beta_k\gamma_{k-1} + (1-\beta_k)\langle g_k, x_k\rangle \\
        \tau_k &= \min\Bigl(\alpha_k, \frac{\bigl((1+\alpha_k\lambda)(\bar f_k - \ell - \gamma_k)
            + \langle d_k, x_k\rangle\bigr)_+}{\lVert d_k\rVert^2}\Bigr), \qquad
        x_{k+1} = \frac{x_k - \tau_k d_k}{1 + \alpha_k \lambda}

    (written as :math:`x_{k+1} - x_k = -\frac{\alpha_k\lambda}{1+\alpha_k\lambda} x_k - \tau_k d_k`,
    as optax). ``update`` needs ``value=`` (the loss).

    Args:
        learning_rate: :math:`\alpha_k \ge 0`, the cap on the step (large, e.g. 1.0).
        beta: :math:`\beta \in [0, 1)`.
        lower_bound: :math:`\ell`, a lower bound of the loss (0 for most losses).
        weight_decay: :math:`\lambda \ge 0`.
        adapt_lower_bound: Structural; estimate :math:`\ell` on the fly (MoMo*).

    Returns:
        A transform whose state is :class:`MomoState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.momo()
        >>> p = jnp.array([1.0, -2.0])  # f = |p|^2 = 5, its minimum 0
        >>> u, _ = tx.update(2 * p, tx.init(p), p, value=jnp.sum(p ** 2))
        >>> print(p + u)  # the Polyak step f / |g|^2 = 1/4 halves p
        [ 0.5 -1. ]

    References:
        Schaipp et al., `MoMo: Momentum Models for Adaptive Learning Rates
        <https://arxiv.org/abs/2305.07583>`_, 2024 (Algorithm 1, and 3 for the bound).
    """
    _checks.check_nonnegative("learning_rate", learning_rate)
    _checks.check_decay("beta", beta)
    _checks.check_interval("lower_bound", lower_bound)
    _checks.check_nonnegative("weight_decay", weight_decay)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        zero = jnp.zeros([], dt)
        return MomoState(_tree_math.zeros_like_state(params), zero, zero,
                         jnp.asarray(lower_bound, dt), _tree_math.zero_count())

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _check(learning_rate, weight_decay, value, params, "momo")
        _tree_math.check_same_structure(updates, state.exp_avg, "momo")
        dt = state.barf.dtype
        bt = jnp.where(state.count == 0, jnp.zeros([], dt), jnp.asarray(beta, dt))
        barf = bt * state.barf + (1 - bt) * jnp.asarray(value, dt)
        exp_avg = _tree_math.update_moment(updates, state.exp_avg, bt)
        gamma = bt * state.gamma + (1 - bt) * _vdot(updates, _tree_math.upcast(params), dt)
        norm_sq = _vdot(exp_avg, exp_avg, dt)
        iprod = _vdot(exp_avg, _tree_math.upcast(params), dt)
        alpha = jnp.asarray(_base.evaluate_schedule(learning_rate, state.count, "learning_rate")
                            if callable(learning_rate) else learning_rate, dt)
        wd = jnp.asarray(weight_decay, dt)
        one = jnp.ones([], dt)
        tau = _polyak_step(alpha, wd, barf, state.lb, gamma, iprod, norm_sq, one,
                           adapt_lower_bound, lower_bound, dt)
        shrink = alpha * wd / (1 + alpha * wd)
        out = jax.tree.map(lambda d, p, g: _tree_math.cast(
            -shrink.astype(d.dtype) * _tree_math.cast(p, d.dtype) - tau.astype(d.dtype) * d,
            g.dtype), exp_avg, params, updates)
        new_lb = _new_lb(adapt_lower_bound, state.lb, barf, iprod, gamma, tau, norm_sq, one,
                         lower_bound, dt)
        return out, MomoState(exp_avg, barf, gamma, new_lb,
                              _tree_math.safe_increment(state.count))

    return _base.GradientTransformation(init_fn, update_fn)


def momo_adam(
    learning_rate: _base.ScalarOrSchedule = 1e-2,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> _base.GradientTransformation:
    r"""MoMo-Adam: Adam(W) whose step is capped by the Polyak step of a momentum model.

    With :math:`D_k = \varepsilon + \sqrt{v_k/(1-\beta_2^{k+1})}`,
    :math:`\rho_k = 1 - \beta_1^{k+1}` and the EMAs of :func:`momo` (with
    :math:`\beta_1` from the first step on):

    .. math::

        \tau_k = \min\Bigl(\frac{\alpha_k}{\rho_k}, \frac{\bigl((1+\alpha_k\lambda)(\bar f_k
            - \rho_k \ell - \gamma_k) + \langle d_k, x_k\rangle\bigr)_+}
            {\langle d_k, d_k / D_k\rangle}\Bigr), \qquad
        x_{k+1} - x_k = -\frac{\alpha_k\lambda}{1+\alpha_k\lambda} x_k - \tau_k \frac{d_k}{D_k}

    Args:
        learning_rate: :math:`\alpha_k \ge 0`, the cap on the step.
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        lower_bound: :math:`\ell`.
        weight_decay: :math:`\lambda \ge 0`.
        adapt_lower_bound: Structural; estimate :math:`\ell` on the fly.

    Returns:
        A transform whose state is :class:`MomoAdamState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.momo_adam(0.1)
        >>> p = jnp.array([1.0, -2.0])
        >>> u, _ = tx.update(2 * p, tx.init(p), p, value=jnp.sum(p ** 2))
        >>> print(u)  # tau capped at lr / (1 - b1) = 1, times d / D = (1 - b1) sign(g)
        [-0.10000001  0.10000001]

    References:
        Schaipp et al., `MoMo: Momentum Models for Adaptive Learning Rates
        <https://arxiv.org/abs/2305.07583>`_, 2024 (Algorithm 2).
    """
    _checks.check_nonnegative("learning_rate", learning_rate)
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_nonnegative("eps", eps)
    _checks.check_interval("lower_bound", lower_bound)
    _checks.check_nonnegative("weight_decay", weight_decay)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        zero = jnp.zeros([], dt)
        return MomoAdamState(_tree_math.zeros_like_state(params),
                             _tree_math.zeros_like_state(params, real=True), zero, zero,
                             jnp.asarray(lower_bound, dt), _tree_math.zero_count())

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _check(learning_rate, weight_decay, value, params, "momo_adam")
        _tree_math.check_same_structure(updates, state.exp_avg, "momo_adam")
        dt = state.barf.dtype
        count = _tree_math.safe_increment(state.count)
        b = jnp.asarray(b1, dt)
        barf = b * state.barf + (1 - b) * jnp.asarray(value, dt)
        exp_avg = _tree_math.update_moment(updates, state.exp_avg, b1)
        exp_avg_sq = _tree_math.update_moment(updates, state.exp_avg_sq, b2, order=2)
        bc2 = _tree_math.one_minus_power(b2, count, dt)
        precond = jax.tree.map(lambda v: jnp.asarray(eps, v.dtype) + jnp.sqrt(v / bc2.astype(
            v.dtype)), exp_avg_sq)
        weighted = jax.tree.map(lambda d, pc: d / _tree_math.cast(pc, d.dtype), exp_avg, precond)
        norm_sq = _vdot(exp_avg, weighted, dt)
        gamma = b * state.gamma + (1 - b) * _vdot(updates, _tree_math.upcast(params), dt)
        iprod = _vdot(exp_avg, _tree_math.upcast(params), dt)
        alpha = jnp.asarray(_base.evaluate_schedule(learning_rate, state.count, "learning_rate")
                            if callable(learning_rate) else learning_rate, dt)
        wd = jnp.asarray(weight_decay, dt)
        bc1 = _tree_math.one_minus_power(b1, count, dt)
        tau = _polyak_step(alpha, wd, barf, state.lb, gamma, iprod, norm_sq, bc1,
                           adapt_lower_bound, lower_bound, dt)
        shrink = alpha * wd / (1 + alpha * wd)
        out = jax.tree.map(lambda w, p, g: _tree_math.cast(
            -shrink.astype(w.dtype) * _tree_math.cast(p, w.dtype) - tau.astype(w.dtype) * w,
            g.dtype), weighted, params, updates)
        new_lb = _new_lb(adapt_lower_bound, state.lb, barf, iprod, gamma, tau, norm_sq, bc1,
                         lower_bound, dt)
        return out, MomoAdamState(exp_avg, exp_avg_sq, barf, gamma, new_lb, count)

    return _base.GradientTransformation(init_fn, update_fn)
