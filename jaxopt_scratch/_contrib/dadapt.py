r"""Learning-rate-free Adam by D-Adaptation: ``dadapt_adamw`` and its faster variant ``prodigy``.

Both estimate :math:`D \approx \lVert x_0 - x_* \rVert` on the fly and use it as
the step size of AdamW. Like optax's, each is a single transform that returns
the descent step itself (its learning rate and sign included): the learning
rate schedule also enters the estimate of :math:`D`, so it cannot be split
off into :func:`scale_by_learning_rate`. Unlike optax's, the estimate survives
all-zero gradients (optax's becomes NaN: 0/0 in the ratio that updates :math:`D`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class DAdaptAdamWState(NamedTuple):
    """State of :func:`dadapt_adamw`."""

    exp_avg: _base.Updates  # EMA of d_k-scaled gradients, >= float32
    exp_avg_sq: _base.Updates  # EMA of squared gradients, >= float32
    grad_sum: _base.Updates  # s_k: EMA (decay sqrt(b2)) of d_k-scaled gradients, >= float32
    estim_lr: jax.Array  # d_k, the current estimate of the distance to the solution (scalar)
    numerator_weighted: jax.Array  # EMA of d_k <g_k, s_k / (sqrt(v_k) + eps)> (scalar)
    count: jax.Array  # updates seen so far (int32 scalar)


class ProdigyState(NamedTuple):
    """State of :func:`prodigy`."""

    exp_avg: _base.Updates  # EMA of d_k g_k, >= float32
    exp_avg_sq: _base.Updates  # EMA of (d_k g_k)^2, >= float32
    grad_sum: _base.Updates  # s_k: beta3-EMA of the weighted d_k g_k, >= float32
    params0: _base.Params  # x_0, the initial params, >= float32 (distances are measured from it)
    estim_lr: jax.Array  # d_k, the current estimate of the distance to the solution (scalar)
    numerator_weighted: jax.Array  # r_k: beta3-EMA of d_k^2 <g_k, x_0 - x_k> (scalar)
    count: jax.Array  # updates seen so far (int32 scalar)


def _vdot(a, b, dtype):
    """:math:`\\sum_i \\mathrm{Re}\\langle a_i, b_i \\rangle` over all leaves, as one scalar of ``dtype``."""
    def leaf(x, y):
        wide = _tree_math.moment_dtype(_tree_math.promote_types(x.dtype, y.dtype))
        return jnp.sum((jnp.conj(x.astype(wide)) * y.astype(wide)).real).astype(dtype)

    return sum((leaf(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))),
               jnp.zeros([], dtype))


def _l1(tree, dtype):
    return sum((jnp.sum(jnp.abs(x)).astype(dtype) for x in jax.tree.leaves(tree)),
               jnp.zeros([], dtype))


def _ratio(numerator, l1):
    """``numerator / l1``, and 0 while ``l1`` is 0 (all gradients so far zero).

    optax divides unguarded: 0/0 is NaN, and ``max(d, NaN)`` makes every later
    step NaN after a single all-zero gradient.
    """
    ok = l1 > 0
    return jnp.where(ok, numerator / jnp.where(ok, l1, jnp.ones_like(l1)), jnp.zeros_like(l1))


def _adam_scale(learning_rate, count, estim_lr, b1, b2):
    """``(t, d_k * lr_k * sqrt(1 - b2^t) / (1 - b1^t))`` for the 1-based step ``t``."""
    dt = estim_lr.dtype
    lr = (_base.evaluate_schedule(learning_rate, count, "learning_rate")
          if callable(learning_rate) else learning_rate)
    t = _tree_math.safe_increment(count)
    bc = jnp.sqrt(_tree_math.one_minus_power(b2, t, dt)) / _tree_math.one_minus_power(b1, t, dt)
    return t, estim_lr * jnp.asarray(lr, dt) * bc


def _check_common(learning_rate, b1, b2, eps, estim_lr0, weight_decay):
    _checks.check_nonnegative("learning_rate", learning_rate)
    _checks.check_decay("betas[0]", b1)
    _checks.check_decay("betas[1]", b2)
    _checks.check_nonnegative("eps", eps)
    _checks.check_interval("estim_lr0", estim_lr0, 0.0, None, low_open=True,
                           hint="It is the initial under-estimate of the step; use e.g. 1e-6.")
    _checks.check_nonnegative("weight_decay", weight_decay)


def _split_betas(betas):
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise TypeError(f"`betas` must be a pair (b1, b2), got {betas!r}.")
    return betas


def dadapt_adamw(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformation:
    r"""AdamW whose step size :math:`d_k` is estimated by D-Adaptation.

    With :math:`\lambda_k = d_k\,\gamma_k \sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`
    (:math:`\gamma_k` the learning rate schedule) and :math:`\sqrt{\beta_2}` as
    the decay of the D-estimate sums:

    .. math::

        r_{k+1} &= \sqrt{\beta_2}\, r_k + (1-\sqrt{\beta_2})\,\lambda_k
            \bigl\langle g_k, s_k / (\sqrt{v_k} + \varepsilon) \bigr\rangle \\
        m_{k+1} &= \beta_1 m_k + (1-\beta_1)\lambda_k g_k, \qquad
        v_{k+1} = \beta_2 v_k + (1-\beta_2) g_k^2 \\
        s_{k+1} &= \sqrt{\beta_2}\, s_k + (1-\sqrt{\beta_2})\lambda_k g_k, \qquad
        d_{k+1} = \max\Bigl(d_k, \frac{r_{k+1}}{(1-\sqrt{\beta_2})\lVert s_{k+1}\rVert_1}\Bigr) \\
        x_{k+1} &= x_k - \frac{m_{k+1}}{\sqrt{v_{k+1}} + \varepsilon} - w\,\lambda_k x_k

    Args:
        learning_rate: :math:`\gamma_k`, a multiplier of the estimated step
            (1.0, or a schedule with peak 1.0).
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        estim_lr0: :math:`d_0 > 0`, the initial under-estimate.
        weight_decay: :math:`w \ge 0`, decoupled, times :math:`\lambda_k`.

    Returns:
        A transform whose state is :class:`DAdaptAdamWState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.dadapt_adamw()
        >>> p = jnp.array([1.0, -2.0])
        >>> u, state = tx.update(2 * p, tx.init(p), p)
        >>> print(state.estim_lr)  # no evidence yet: d stays at estim_lr0
        1e-06

    References:
        Defazio & Mishchenko, `Learning-Rate-Free Learning by D-Adaptation
        <https://arxiv.org/abs/2301.07733>`_, 2023 (Algorithm 4, Adam version).
    """
    b1, b2 = _split_betas(betas)
    _check_common(learning_rate, b1, b2, eps, estim_lr0, weight_decay)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        return DAdaptAdamWState(
            exp_avg=_tree_math.zeros_like_state(params),
            exp_avg_sq=_tree_math.zeros_like_state(params, real=True),
            grad_sum=_tree_math.zeros_like_state(params),
            estim_lr=jnp.asarray(estim_lr0, dt),
            numerator_weighted=jnp.zeros([], dt),
            count=_tree_math.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "dadapt_adamw")
        _tree_math.check_same_structure(updates, state.exp_avg, "dadapt_adamw")
        dt = state.estim_lr.dtype
        count, dlr = _adam_scale(learning_rate, state.count, state.estim_lr, b1, b2)
        sb2 = jnp.sqrt(jnp.asarray(b2, dt))
        s_weighted = _tree_math.normalize(state.grad_sum, state.exp_avg_sq, eps)
        numerator = sb2 * state.numerator_weighted + (1 - sb2) * dlr * _vdot(
            updates, s_weighted, dt)
        scaled = _tree_math.scale_tree(_tree_math.upcast(updates), dlr)
        exp_avg = _tree_math.update_moment(scaled, state.exp_avg, b1)
        exp_avg_sq = _tree_math.update_moment(updates, state.exp_avg_sq, b2, order=2)
        grad_sum = _tree_math.update_moment(scaled, state.grad_sum, sb2)
        estim_lr = jnp.maximum(state.estim_lr, _ratio(numerator, (1 - sb2) * _l1(grad_sum, dt)))
        step = _tree_math.normalize(exp_avg, exp_avg_sq, eps)
        wd = jnp.asarray(weight_decay, dt) * dlr
        out = jax.tree.map(
            lambda s, p, g: _tree_math.cast(-s - _tree_math.cast(wd, s.dtype)
                                            * _tree_math.cast(p, s.dtype), g.dtype),
            step, params, updates)
        return out, DAdaptAdamWState(exp_avg, exp_avg_sq, grad_sum, estim_lr, numerator, count)

    return _base.GradientTransformation(init_fn, update_fn)


def prodigy(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    beta3: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    estim_lr_coef: jax.typing.ArrayLike = 1.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    safeguard_warmup: bool = False,
) -> _base.GradientTransformation:
    r"""Prodigy: D-Adapted AdamW whose estimate of :math:`D` grows faster.

    With :math:`\lambda_k = d_k\,\gamma_k \sqrt{1-\beta_2^{k+1}}/(1-\beta_1^{k+1})`:

    .. math::

        m_{k+1} &= \beta_1 m_k + (1-\beta_1)\, d_k g_k, \qquad
        v_{k+1} = \beta_2 v_k + (1-\beta_2)\, d_k^2 g_k^2 \\
        r_{k+1} &= \beta_3 r_k + \frac{d_k}{d_0} \lambda_k \langle g_k, x_0 - x_k \rangle, \qquad
        s_{k+1} = \beta_3 s_k + \frac{\lambda_k}{d_0}\, d_k g_k \\
        d_{k+1} &= \max\Bigl(d_k,\ c\, \frac{r_{k+1}}{\lVert s_{k+1} \rVert_1}\Bigr), \qquad
        x_{k+1} = x_k - \lambda_k \Bigl(\frac{m_{k+1}}{\sqrt{v_{k+1}} + d_{k+1}\varepsilon}
            + w\, x_k\Bigr)

    (``safeguard_warmup=True`` drops :math:`\gamma_k` from :math:`s`).

    Args:
        learning_rate: :math:`\gamma_k`, a multiplier of the estimated step
            (1.0, or a schedule with peak 1.0, e.g. cosine with warmup).
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        beta3: :math:`\beta_3 \in [0, 1)`; ``None`` means :math:`\sqrt{\beta_2}`.
        eps: :math:`\varepsilon \ge 0`.
        estim_lr0: :math:`d_0 > 0`.
        estim_lr_coef: :math:`c > 0`, multiplies every estimate (``d_coef`` in the paper's code).
        weight_decay: :math:`w \ge 0`, decoupled.
        safeguard_warmup: Structural; leave the schedule out of the denominator sum.

    Returns:
        A transform whose state is :class:`ProdigyState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.prodigy()
        >>> p = jnp.array([1.0, -2.0])
        >>> state = tx.init(p)
        >>> for _ in range(30):
        ...     u, state = tx.update(2 * p, state, p)
        ...     p = p + u
        >>> print(f"{state.estim_lr:.2g}")  # d grew geometrically from 1e-6
        0.056

    References:
        Mishchenko & Defazio, `Prodigy: An Expeditiously Adaptive Parameter-Free
        Learner <https://arxiv.org/abs/2306.06101>`_, 2024 (Algorithm 4, Adam version).
    """
    b1, b2 = _split_betas(betas)
    _check_common(learning_rate, b1, b2, eps, estim_lr0, weight_decay)
    if beta3 is not None:
        _checks.check_decay("beta3", beta3)
    _checks.check_interval("estim_lr_coef", estim_lr_coef, 0.0, None, low_open=True)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        return ProdigyState(
            exp_avg=_tree_math.zeros_like_state(params),
            exp_avg_sq=_tree_math.zeros_like_state(params, real=True),
            grad_sum=_tree_math.zeros_like_state(params),
            params0=_tree_math.upcast(params),  # >= float32, like every state leaf
            estim_lr=jnp.asarray(estim_lr0, dt),
            numerator_weighted=jnp.zeros([], dt),
            count=_tree_math.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "prodigy")
        _tree_math.check_same_structure(updates, state.exp_avg, "prodigy")
        dt = state.estim_lr.dtype
        d = state.estim_lr
        count, dlr = _adam_scale(learning_rate, state.count, d, b1, b2)
        b3 = jnp.sqrt(jnp.asarray(b2, dt)) if beta3 is None else jnp.asarray(beta3, dt)
        d0 = jnp.asarray(estim_lr0, dt)
        diff = jax.tree.map(lambda p0, p: p0 - _tree_math.cast(p, p0.dtype), state.params0, params)
        dg = _tree_math.scale_tree(_tree_math.upcast(updates), d)
        exp_avg = _tree_math.update_moment(dg, state.exp_avg, b1)
        exp_avg_sq = _tree_math.update_moment(dg, state.exp_avg_sq, b2, order=2)
        weight = (d if safeguard_warmup else dlr) / d0
        grad_sum = jax.tree.map(lambda s, x: b3.astype(s.dtype) * s + weight.astype(s.dtype) * x,
                                state.grad_sum, dg)
        numerator = b3 * state.numerator_weighted + (d / d0) * dlr * _vdot(updates, diff, dt)
        estim_lr = jnp.maximum(d, jnp.asarray(estim_lr_coef, dt) * _ratio(numerator,
                                                                            _l1(grad_sum, dt)))
        step = _tree_math.normalize(exp_avg, exp_avg_sq, estim_lr * jnp.asarray(eps, dt))
        wd = jnp.asarray(weight_decay, dt)

        def leaf(s, p, g):
            s = -_tree_math.cast(dlr, s.dtype) * (
                s + _tree_math.cast(wd, s.dtype) * _tree_math.cast(p, s.dtype))
            return _tree_math.cast(s, g.dtype)

        out = jax.tree.map(leaf, step, params, updates)
        return out, ProdigyState(exp_avg, exp_avg_sq, grad_sum, state.params0, estim_lr,
                                 numerator, count)

    return _base.GradientTransformation(init_fn, update_fn)
