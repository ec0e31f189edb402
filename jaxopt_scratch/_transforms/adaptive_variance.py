"""Adam variants that change how the second moment is formed or trusted: AdaBelief, Yogi, RAdam."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam


class ScaleByBeliefState(NamedTuple):
    """State of :func:`scale_by_belief`."""

    count: jax.Array  # updates seen so far (int32 scalar, saturates at the int32 max)
    mu: _base.Updates  # EMA of g, shaped like params, >= float32
    nu: _base.Updates  # EMA of |g - m|^2 plus eps_root (the "belief"), real, >= float32


def scale_by_belief(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""AdaBelief: Adam whose denominator tracks how far :math:`g_t` strays from its average.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        s_t &= \beta_2 s_{t-1} + (1 - \beta_2)\, |g_t - m_t|^2 + \varepsilon_{root} \\
        u_t &= \frac{m_t / (1 - \beta_1^t)}{\sqrt{s_t / (1 - \beta_2^t)} + \varepsilon}

    A gradient close to its prediction :math:`m_t` gives a small :math:`s_t` and
    a large step (the optimizer "believes" it). ``eps_root`` is added to the
    stored :math:`s_t` at every step (so it accumulates, as in the paper's
    Algorithm 2 and in optax); ``eps`` sits outside the square root. With
    ``nesterov=True`` the first moment is NAdam's look-ahead, as in
    :func:`scale_by_adam`.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
        b2: :math:`\beta_2 \in [0, 1)`, decay of the belief.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        eps_root: :math:`\varepsilon_{root} \ge 0`, added to :math:`s_t`.
        nesterov: Structural; use NAdam's look-ahead first moment.

    Returns:
        A transform whose state is :class:`ScaleByBeliefState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_belief()
        >>> g = jnp.array([0.5, -2.0])
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(jnp.round(u, 5))  # first step: m = 0.1 g, s = 0.001 (0.9 g)^2: u = g / (0.9 |g|)
        [ 1.11111 -1.11111]

    References:
        Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in
        Observed Gradients <https://arxiv.org/abs/2010.07468>`_, 2020 (Algorithm 2).

    .. note::
        The paper's defaults are ``eps=1e-8, eps_root=0``; optax's (and ours) are
        ``1e-16`` for both.
    """
    _adaptive_adam._check_adam_args(b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByBeliefState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params),
            nu=_tree_math.zeros_like_state(params, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_belief")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, b1)
        surprise = jax.tree.map(lambda g, m: _tree_math.cast(g, m.dtype) - m,
                                _tree_math.upcast(updates), mu)
        nu = _tree_math.update_moment(surprise, state.nu, b2, order=2)
        nu = jax.tree.map(lambda v: v + jnp.asarray(eps_root, v.dtype), nu)
        mu_hat = _adaptive_adam._first_moment_hat(updates, mu, b1, count, nesterov)
        nu_hat = _tree_math.bias_correction(nu, b2, count)
        out = _tree_math.normalize(mu_hat, nu_hat, eps, 0.0)
        return _tree_math.cast_like(out, updates), ScaleByBeliefState(count=count, mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_yogi(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
    eps_root: jax.typing.ArrayLike = 0.0,
    initial_accumulator_value: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""Yogi: Adam whose second moment moves by an additive, sign-controlled step.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= v_{t-1} - (1 - \beta_2)\, \operatorname{sign}(v_{t-1} - |g_t|^2)\, |g_t|^2 \\
        u_t &= \frac{m_t / (1 - \beta_1^t)}
                    {\sqrt{v_t / (1 - \beta_2^t) + \varepsilon_{root}} + \varepsilon}

    Adam's :math:`v_t - v_{t-1} = (1-\beta_2)(|g_t|^2 - v_{t-1})` can shrink
    :math:`v` quickly once gradients become small; Yogi's change has the same
    sign but a size set by :math:`|g_t|^2` alone, so the effective learning
    rate grows slowly. Both moments start at ``initial_accumulator_value`` and
    are bias-corrected as in optax (the paper does not correct them), so a
    zero gradient still moves the params a little while :math:`m` decays.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`, outside the square root (the paper uses 1e-3).
        eps_root: :math:`\varepsilon_{root} \ge 0`, inside the square root.
        initial_accumulator_value: :math:`m_0 = v_0 \ge 0`.

    Returns:
        A transform whose state is :class:`ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_yogi(eps=0.0, initial_accumulator_value=0.0)
        >>> u, state = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
        >>> print(u)  # from zero moments the first step is sign(g), as in Adam
        [ 1. -1.]

    References:
        Zaheer et al., `Adaptive Methods for Nonconvex Optimization
        <https://papers.nips.cc/paper/8186-adaptive-methods-for-nonconvex-optimization>`_,
        2018 (Algorithm 2).

    .. note::
        Once :math:`|g|^2` overflows, :math:`v` is inf and the steps are 0 (as
        for Adam). optax then computes ``sign(inf - inf)`` and turns :math:`v`
        into NaN at the next step; here equal values move nothing, so :math:`v`
        stays inf and the params finite.
    """
    _adaptive_adam._check_adam_args(b1, b2, eps, eps_root)
    _checks.check_nonnegative("initial_accumulator_value", initial_accumulator_value)

    def init_fn(params):
        return _adaptive_adam.ScaleByAdamState(
            count=_tree_math.zero_count(),
            mu=_tree_math.full_like_state(params, initial_accumulator_value),
            nu=_tree_math.full_like_state(params, initial_accumulator_value, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_yogi")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, b1)

        def second(g, v):
            g2 = _tree_math.abs_sq(_tree_math.cast(g, _tree_math.promote_types(g.dtype, v.dtype)))
            g2 = _tree_math.cast(g2, v.dtype)
            one_minus_b2 = 1 - jnp.asarray(b2, v.dtype)
            # Equal values (also both inf, where sign(inf - inf) would be NaN) move nothing.
            return jnp.where(v == g2, v, v - one_minus_b2 * jnp.sign(v - g2) * g2)

        nu = jax.tree.map(second, updates, state.nu)
        mu_hat = _tree_math.bias_correction(mu, b1, count)
        nu_hat = _tree_math.bias_correction(nu, b2, count)
        out = _tree_math.normalize(mu_hat, nu_hat, eps, eps_root)
        new_state = _adaptive_adam.ScaleByAdamState(count=count, mu=mu, nu=nu)
        return _tree_math.cast_like(out, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_radam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""Rectified Adam: momentum SGD until the second moment is trustworthy, then rectified Adam.

    With :math:`\hat m_t, \hat v_t` as in :func:`scale_by_adam` and the length of
    the approximated simple moving average

    .. math::

        \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                        {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}

    the update is :math:`u_t = r_t\, \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)`
    when :math:`\rho_t \ge` ``threshold`` and :math:`u_t = \hat m_t` otherwise.
    The choice is a ``jnp.where`` on a scalar, so ``threshold`` and ``b2`` may
    be traced.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        eps_root: :math:`\varepsilon_{root} \ge 0`, inside the square root.
        threshold: Smallest :math:`\rho_t` at which the adaptive step is used
            (the paper's Algorithm 2 uses 4, its code and optax 5).
        nesterov: Structural; use NAdam's look-ahead first moment.

    Returns:
        A transform whose state is :class:`ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_radam()
        >>> u, state = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
        >>> print(jnp.round(u, 5))  # rho_1 = 1 < 5: the bias-corrected momentum, here g itself
        [ 3. -4.]

    References:
        Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
        <https://arxiv.org/abs/1908.03265>`_, 2020 (Algorithm 2, eq. 6).

    .. note::
        :math:`\beta_2^t/(1-\beta_2^t)` is formed from the same ``expm1``/``log1p``
        correction as :func:`bias_correction`. optax forms ``1 - b2**t`` directly;
        in float32 its :math:`\rho_t` is then off by up to ~0.02 (for
        ``b2=0.999``), which changes :math:`r_t` by ~0.2 %: our float32 run is
        the closer one to float64.
    """
    _adaptive_adam._check_adam_args(b1, b2, eps, eps_root)
    _checks.check_interval("threshold", threshold)

    def init_fn(params):
        return _adaptive_adam.ScaleByAdamState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params),
            nu=_tree_math.zeros_like_state(params, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count, mu, nu = _adaptive_adam._adam_moments(updates, state, b1, b2, "scale_by_radam")
        mu_hat = _adaptive_adam._first_moment_hat(updates, mu, b1, count, nesterov)
        nu_hat = _tree_math.bias_correction(nu, b2, count)
        dt = _tree_math.scalar_dtype(mu)
        rho_inf = 2 / (1 - jnp.asarray(b2, dt)) - 1
        one_minus_b2t = _tree_math.one_minus_power(b2, count, dt)
        rho = rho_inf - 2 * count.astype(dt) * (1 - one_minus_b2t) / one_minus_b2t
        rectify = rho >= jnp.asarray(threshold, dt)
        ratio = ((rho - 4) * (rho - 2) * rho_inf) / ((rho_inf - 4) * (rho_inf - 2) * rho)
        # Below the threshold the ratio may be negative; keep its square root (and
        # its gradient) finite where it is not used.
        r = jnp.sqrt(jnp.where(rectify, ratio, jnp.ones_like(ratio)))
        adaptive = _tree_math.scale_tree(_tree_math.normalize(mu_hat, nu_hat, eps, eps_root), r)
        out = jax.tree.map(lambda a, m: jnp.where(rectify, a, m), adaptive, mu_hat)
        new_state = _adaptive_adam.ScaleByAdamState(count=count, mu=mu, nu=nu)
        return _tree_math.cast_like(out, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
