r"""Adam variants whose denominator uses only past gradients: ADOPT and ACProp.

Dividing :math:`g_t` by a second moment that does not yet contain :math:`g_t`
removes the correlation that makes Adam diverge for some :math:`\beta_2`
(ADOPT), and centres the second moment on the prediction error (ACProp).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import adaptive_variance as _adaptive_variance
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def _quarter_power(count: jax.Array) -> jax.Array:
    return count.astype(jnp.float32) ** 0.25


def scale_by_adopt(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> _base.GradientTransformation:
    r"""Rescales by ADOPT: normalise by the *previous* second moment, then average.

    For :math:`t \ge 1` (step 0 only initialises :math:`v_0 = g_0^2` and moves nothing):

    .. math::

        \hat g_t &= \mathrm{clip}\bigl(g_t / \max(\sqrt{v_{t-1}}, \varepsilon),\ \pm c(t)\bigr) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, \hat g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, |g_t|^2, \qquad u_t = m_t

    (Nesterov: :math:`u_t = \beta_1 m_t + (1-\beta_1)\hat g_t`). :math:`c(t)` is
    ``clip_value_fn`` of the 0-based step count, :math:`t^{1/4}` by default; no
    bias correction is needed.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`, the floor of :math:`\sqrt{v}`.
        mu_dtype: dtype of :math:`m`; default at least float32.
        nesterov: Structural; Nesterov's look-ahead.
        use_clipping: Structural; clip the normalised gradient (the paper's stable variant).
        clip_value_fn: Function of the step count giving the clipping bound.

    Returns:
        A transform whose state is :class:`ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_adopt()
        >>> g = jnp.array([0.5, -2.0])
        >>> u, state = tx.update(g, tx.init(g))
        >>> u, state = tx.update(g, state)
        >>> print(u)  # (1 - b1) * g / |g|
        [ 0.1 -0.1]

    References:
        Taniguchi et al., `ADOPT: Modified Adam Can Converge with Any beta2 with
        the Optimal Rate <https://arxiv.org/abs/2411.02853>`_, 2024 (Algorithm 2,
        and the clipped variant of Section 4).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_nonnegative("eps", eps)
    _checks.check_callable("clip_value_fn", clip_value_fn, "a function of the step count")

    def init_fn(params):
        return _adaptive_adam.ScaleByAdamState(
            count=_tree_math.zero_count(), mu=_tree_math.zeros_like_state(params, mu_dtype),
            nu=_tree_math.zeros_like_state(params, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_adopt")
        started = state.count > 0
        # Step 0 only records g^2: v_0 = g_0^2 (b2 -> 0) and m stays 0 (b1 -> 1).
        b2_now = jnp.where(started, jnp.asarray(b2, jnp.float32), 0.0)
        b1_now = jnp.where(started, jnp.asarray(b1, jnp.float32), 1.0)
        nu = _tree_math.update_moment(updates, state.nu, b2_now, order=2)
        floor = jnp.asarray(eps, jnp.float32)
        bound = jnp.asarray(clip_value_fn(state.count), jnp.float32) if use_clipping else None

        def normalised(g, v):
            n = _tree_math.upcast(g) / _tree_math.cast(jnp.maximum(jnp.sqrt(v), floor.astype(
                v.dtype)), _tree_math.moment_dtype(g.dtype))
            if bound is None:
                return n
            b = bound.astype(n.real.dtype)
            if jnp.iscomplexobj(n):
                return jax.lax.complex(jnp.clip(n.real, -b, b), jnp.clip(n.imag, -b, b))
            return jnp.clip(n, -b, b)

        g_hat = jax.tree.map(normalised, updates, state.nu)
        mu = _tree_math.update_moment(g_hat, state.mu, b1_now)
        out = _tree_math.update_moment(g_hat, mu, b1_now) if nesterov else mu
        return (_tree_math.cast_like(out, updates),
                _adaptive_adam.ScaleByAdamState(count=_tree_math.safe_increment(state.count),
                                                mu=mu, nu=nu))

    return _base.GradientTransformation(init_fn, update_fn)


def adopt(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> _base.GradientTransformation:
    r"""ADOPT: :math:`\theta_t = \theta_{t-1} - \eta_t\, u_t` with :math:`u_t` from :func:`scale_by_adopt`.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        b1: See :func:`scale_by_adopt`.
        b2: See :func:`scale_by_adopt`.
        eps: See :func:`scale_by_adopt`.
        mu_dtype: See :func:`scale_by_adopt`.
        nesterov: See :func:`scale_by_adopt`.
        use_clipping: See :func:`scale_by_adopt`.
        clip_value_fn: See :func:`scale_by_adopt`.

    Returns:
        ``chain(scale_by_adopt, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.adopt(0.1)
        >>> p = jnp.array([1.0])
        >>> print(tx.update(p, tx.init(p), p)[0])  # the first step only measures g^2
        [-0.]

    References:
        Taniguchi et al., `ADOPT <https://arxiv.org/abs/2411.02853>`_, 2024.
    """
    return _combine.chain(
        scale_by_adopt(b1, b2, eps, mu_dtype, nesterov=nesterov, use_clipping=use_clipping,
                       clip_value_fn=clip_value_fn),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def scale_by_acprop(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
) -> _base.GradientTransformation:
    r"""Rescales by ACProp: :math:`g_t` over the root of the *previous* centred second moment.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        s_t = \beta_2 s_{t-1} + (1-\beta_2) |g_t - m_{t-1}|^2 + \varepsilon_{root} \\
        u_t &= g_t \Big/ \Bigl(\sqrt{s_{t-1}/(1-\beta_2^{t-1})} + \varepsilon\Bigr)
        \quad (t \ge 2), \qquad u_1 = g_1 / (1 + \varepsilon)

    The numerator is the raw gradient (momentum, if wanted, is chained after).

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: Outside the square root.
        eps_root: Added to :math:`s_t` at every step.

    Returns:
        A transform whose state is :class:`ScaleByBeliefState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_acprop()
        >>> g = jnp.array([0.5, -2.0])
        >>> print(tx.update(g, tx.init(g))[0])  # no past yet: the denominator is 1
        [ 0.5 -2. ]

    References:
        Zhuang et al., `Momentum Centering and Asynchronous Update for Adaptive
        Gradient Methods <https://arxiv.org/abs/2110.05454>`_, 2021 (Algorithm 2).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("eps_root", eps_root)

    def init_fn(params):
        return _adaptive_variance.ScaleByBeliefState(
            count=_tree_math.zero_count(), mu=_tree_math.zeros_like_state(params),
            nu=_tree_math.zeros_like_state(params, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_acprop")
        mu = _tree_math.update_moment(updates, state.mu, b1)
        error = jax.tree.map(lambda g, m: _tree_math.cast(g, m.dtype) - m, updates, state.mu)
        nu = jax.tree.map(lambda v: v + jnp.asarray(eps_root, v.dtype),
                          _tree_math.update_moment(error, state.nu, b2, order=2))
        first = state.count == 0
        # The denominator is s_{t-1}, corrected with its own count; before any step it is 1.
        nu_hat = _tree_math.bias_correction(
            state.nu, b2, jnp.where(first, jnp.ones_like(state.count), state.count))
        nu_hat = jax.tree.map(lambda v: jnp.where(first, jnp.ones_like(v), v), nu_hat)
        out = _tree_math.cast_like(_tree_math.normalize(updates, nu_hat, eps), updates)
        return out, _adaptive_variance.ScaleByBeliefState(
            count=_tree_math.safe_increment(state.count), mu=mu, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def acprop(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""ACProp with decoupled weight decay: :math:`\theta_t = \theta_{t-1} - \eta_t(u_t + \lambda\theta_{t-1})`.

    :math:`u_t` is the :func:`scale_by_acprop` direction (as optax and the
    authors' code: the raw gradient over the delayed centred second moment).

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        b1: See :func:`scale_by_acprop`.
        b2: See :func:`scale_by_acprop`.
        eps: See :func:`scale_by_acprop`.
        eps_root: See :func:`scale_by_acprop`.
        weight_decay: :math:`\lambda \ge 0`, times the learning rate.
        mask: Which leaves are decayed.

    Returns:
        ``chain(scale_by_acprop, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.acprop(0.1)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(p, tx.init(p), p)[0])
        [-0.1  0.2]

    References:
        Zhuang et al., `Momentum Centering and Asynchronous Update for Adaptive
        Gradient Methods <https://arxiv.org/abs/2110.05454>`_, 2021.
    """
    return _combine.chain(
        scale_by_acprop(b1, b2, eps, eps_root),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
