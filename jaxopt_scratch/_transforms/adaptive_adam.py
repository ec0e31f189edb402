"""Adam and its relatives: AMSGrad, AdaMax, Lion."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import tree_moments as _tree_moments


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam` and :func:`scale_by_adamax`."""

    count: jax.Array  # updates seen so far (int32 scalar, saturates at the int32 max)
    mu: _base.Updates  # first moment: EMA of g, shaped like params, >= float32 by default
    nu: _base.Updates  # second moment: EMA of |g|^2 (AdaMax: decayed max of |g|), >= float32


class ScaleByAmsgradState(NamedTuple):
    """State of :func:`scale_by_amsgrad`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    mu: _base.Updates  # EMA of g
    nu: _base.Updates  # EMA of |g|^2
    nu_max: _base.Updates  # running maximum of the bias-corrected second moment


class ScaleByLionState(NamedTuple):
    """State of :func:`scale_by_lion`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    mu: _base.Updates  # EMA of g with decay b2


def _check_adam_args(b1, b2, eps, eps_root):
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_nonnegative("eps", eps, "Use a small positive value such as 1e-8.")
    _checks.check_nonnegative("eps_root", eps_root)


def _adam_moments(updates, state, b1, b2, who):
    """The shared start of every Adam-like step: new count and both EMAs."""
    _tree_math.check_same_structure(updates, state.mu, who)
    count = _tree_math.safe_increment(state.count)
    mu = _tree_math.update_moment(updates, state.mu, b1)
    nu = _tree_math.update_moment(updates, state.nu, b2, order=2)
    return count, mu, nu


def _first_moment_hat(updates, mu, b1, count, nesterov):
    r"""Bias-corrected :math:`\hat m_t`, or Nesterov's look-ahead version of it."""
    if not nesterov:
        return _tree_math.bias_correction(mu, b1, count)
    # Dozat's NAdam: b1 * m_t / (1 - b1^(t+1)) + (1 - b1) * g_t / (1 - b1^t).
    ahead = _tree_math.bias_correction(mu, b1, _tree_math.safe_increment(count))
    now = _tree_math.bias_correction(_tree_math.upcast(updates), b1, count)
    return _tree_math.update_moment(now, ahead, b1)


def scale_by_adam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""Rescales updates by Adam's bias-corrected moment estimates.

    For incoming updates :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        u_t &= \hat m_t \,/\, \bigl(\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon\bigr)

    ``eps`` sits outside the square root, ``eps_root`` inside (tutorial 4's
    ``m_hat / sqrt(v_hat + 1e-8)``, P8 in ``docs/tutorial_claims.rst``, is
    ``eps=0.0, eps_root=1e-8``). With
    ``nesterov=True``, :math:`\hat m_t` is replaced by
    :math:`\beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)` (NAdam).
    The bias corrections are scalars computed once per step in float32 with
    ``expm1``/``log1p``, not the cancelling ``1 - b**t``.

    The output is a direction, not a step: it carries no learning rate and no
    minus sign. Chain it with :func:`scale_by_learning_rate` (see :func:`adam`).
    ``torch.optim.Adam(eps=eps)`` matches the defaults (eps outside).

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
        b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        eps_root: :math:`\varepsilon_{root} \ge 0`, inside the square root.
        mu_dtype: dtype of :math:`m`; default at least float32 (for bfloat16
            params too, where a bfloat16 average would freeze).
        nesterov: Structural; use NAdam's look-ahead first moment.

    Returns:
        A transform whose state is :class:`ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_adam(eps=0.0)
        >>> g = jnp.array([0.5, -2.0])
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(u)  # the first Adam direction is sign(g)
        [ 1. -1.]

    References:
        Kingma & Ba, `Adam: A Method for Stochastic Optimization
        <https://arxiv.org/abs/1412.6980>`_, 2015 (Algorithm 1); Dozat,
        `Incorporating Nesterov Momentum into Adam
        <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
    """
    _check_adam_args(b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByAdamState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params, mu_dtype),
            nu=_tree_math.zeros_like_state(params, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count, mu, nu = _adam_moments(updates, state, b1, b2, "scale_by_adam")
        mu_hat = _first_moment_hat(updates, mu, b1, count, nesterov)
        nu_hat = _tree_math.bias_correction(nu, b2, count)
        out = _tree_math.normalize(mu_hat, nu_hat, eps, eps_root)
        return _tree_math.cast_like(out, updates), ScaleByAdamState(count=count, mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_amsgrad(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> _base.GradientTransformation:
    r"""AMSGrad: Adam whose denominator never shrinks.

    .. math::

        \hat v^{max}_t = \max(\hat v^{max}_{t-1}, \hat v_t), \qquad
        u_t = \hat m_t / \bigl(\sqrt{\hat v^{max}_t + \varepsilon_{root}} + \varepsilon\bigr)

    with :math:`\hat m_t, \hat v_t` as in :func:`scale_by_adam` (the maximum is
    taken over the bias-corrected :math:`\hat v`, as in optax). Either
    correction can be switched off, giving the paper's uncorrected AMSGrad.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: Outside the square root, :math:`\ge 0`.
        eps_root: Inside the square root, :math:`\ge 0`.
        mu_dtype: dtype of :math:`m`; default at least float32.
        bias_correction_mu: Structural; divide :math:`m_t` by :math:`1-\beta_1^t`.
        bias_correction_nu: Structural; divide :math:`v_t` by :math:`1-\beta_2^t`
            before taking the maximum.

    Returns:
        A transform whose state is :class:`ScaleByAmsgradState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_amsgrad(eps=0.0)
        >>> print(tx.update(jnp.array([-3.0]), tx.init(jnp.zeros(1)))[0])
        [-1.]

    References:
        Reddi, Kale & Kumar, `On the Convergence of Adam and Beyond
        <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.
    """
    _check_adam_args(b1, b2, eps, eps_root)

    def init_fn(params):
        return ScaleByAmsgradState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params, mu_dtype),
            nu=_tree_math.zeros_like_state(params, real=True),
            nu_max=_tree_math.zeros_like_state(params, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count, mu, nu = _adam_moments(updates, state, b1, b2, "scale_by_amsgrad")
        mu_hat = _tree_math.bias_correction(mu, b1, count) if bias_correction_mu else mu
        nu_hat = _tree_math.bias_correction(nu, b2, count) if bias_correction_nu else nu
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu_hat)
        out = _tree_math.normalize(mu_hat, nu_max, eps, eps_root)
        new_state = ScaleByAmsgradState(count=count, mu=mu, nu=nu, nu_max=nu_max)
        return _tree_math.cast_like(out, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_adamax(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> _base.GradientTransformation:
    r"""AdaMax: Adam with the infinity norm in place of the root mean square.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \max(\beta_2 v_{t-1},\ |g_t| + \varepsilon), \qquad
        u_t = \frac{m_t / (1-\beta_1^t)}{v_t}

    ``eps`` is added to :math:`|g_t|` inside the maximum, as in optax.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`; keep it positive to avoid 0/0 on zero gradients.

    Returns:
        A transform whose state is :class:`ScaleByAdamState` (``nu`` holds the maximum).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_adamax(eps=0.0)
        >>> print(tx.update(jnp.array([4.0]), tx.init(jnp.zeros(1)))[0])
        [1.]

    References:
        Kingma & Ba, 2015 (Section 7.1, Algorithm 2).
    """
    _check_adam_args(b1, b2, eps, 0.0)

    def init_fn(params):
        return ScaleByAdamState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params),
            nu=_tree_math.zeros_like_state(params, real=True),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_adamax")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, b1)
        nu = _tree_moments.update_infinity_moment(updates, state.nu, b2, eps)
        mu_hat = _tree_math.bias_correction(mu, b1, count)
        out = jax.tree.map(lambda m, v: m / v.astype(m.dtype), mu_hat, nu)
        return _tree_math.cast_like(out, updates), ScaleByAdamState(count=count, mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_lion(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    *,
    mode: str = "hard",
    smooth_beta: jax.typing.ArrayLike = 1.0,
) -> _base.GradientTransformation:
    r"""Lion: the sign of an interpolation between momentum and gradient.

    .. math::

        u_t = \sigma\bigl(\beta_1 m_{t-1} + (1-\beta_1) g_t\bigr), \qquad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    with :math:`\sigma(x) = \operatorname{sign}(x)` (``mode="hard"``, the
    paper's), :math:`\tanh(\beta_s x)` (``"smooth"``) or :math:`x` clipped to
    :math:`\pm 1`, i.e. :math:`x` where :math:`|x| < 1` and
    :math:`\operatorname{sign}(x)` elsewhere (``"refined"``). With the sign
    every coordinate moves by exactly the learning rate, so Lion wants a
    learning rate 3-10x smaller than Adam's and a larger weight decay.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, interpolation for the update.
        b2: :math:`\beta_2 \in [0, 1)`, decay of the momentum.
        mu_dtype: dtype of :math:`m`; default at least float32.
        mode: Structural, keyword-only; ``"hard"``, ``"smooth"`` or ``"refined"``.
            Another value raises ``ValueError`` when the transform is built
            (optax raises at the first ``update``).
        smooth_beta: :math:`\beta_s`, the slope of ``"smooth"`` at 0 (ignored
            by the other modes); keyword-only, may be traced.

    Returns:
        A transform whose state is :class:`ScaleByLionState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_lion()
        >>> print(tx.update(jnp.array([0.3, -7.0]), tx.init(jnp.zeros(2)))[0])
        [ 1. -1.]

    References:
        Chen et al., `Symbolic Discovery of Optimization Algorithms
        <https://arxiv.org/abs/2302.06675>`_, 2023 (Program 1).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_interval("smooth_beta", smooth_beta)
    shapes = {
        "hard": jnp.sign,
        "smooth": lambda x: jnp.tanh(jnp.asarray(smooth_beta, x.dtype) * x),
        "refined": lambda x: jnp.where(jnp.abs(x) < 1, x, jnp.sign(x)),
    }
    if mode not in shapes:
        raise ValueError(
            f"`mode` must be one of {sorted(shapes)} (the sign, its tanh smoothing, or the "
            f"identity clipped to [-1, 1]), got {mode!r}."
        )

    def init_fn(params):
        return ScaleByLionState(count=_tree_math.zero_count(),
                                mu=_tree_math.zeros_like_state(params, mu_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_lion")
        direction = jax.tree.map(shapes[mode], _tree_math.update_moment(updates, state.mu, b1))
        mu = _tree_math.update_moment(updates, state.mu, b2)
        new_state = ScaleByLionState(count=_tree_math.safe_increment(state.count), mu=mu)
        return _tree_math.cast_like(direction, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
