r"""AdEMAMix: Adam with a second, much slower momentum mixed in; and its one-momentum simplification."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


class ScaleByAdemamixState(NamedTuple):
    """State of :func:`scale_by_ademamix`."""

    count: jax.Array  # updates seen so far (int32 scalar); drives the fast EMA's bias correction
    count_m2: jax.Array  # updates seen so far (int32); the b3 and alpha schedules read it
    m1: _base.Updates  # fast EMA of g (decay b1), >= float32 by default
    m2: _base.Updates  # slow EMA of g (decay b3), >= float32 by default, never bias-corrected
    nu: _base.Updates  # EMA of |g|^2 (decay b2), real, >= float32


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """State of :func:`scale_by_simplified_ademamix` (field names as in optax)."""

    t: jax.Array  # updates seen so far (int32 scalar)
    m: _base.Updates  # undamped momentum sum_k b1^k g_{t-k}, >= float32
    n: _base.Updates  # EMA of |g|^2 (decay b2), real, >= float32


def _value(x: Any, count: jax.Array, name: str) -> Any:
    return _base.evaluate_schedule(x, count, name) if callable(x) else x


def _denominator_ratio(numerator, nu_hat, eps, eps_root, like):
    return _tree_math.cast_like(_tree_math.normalize(numerator, nu_hat, eps, eps_root), like)


def scale_by_ademamix(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: _base.ScalarOrSchedule = 0.9999,
    alpha: _base.ScalarOrSchedule = 6.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Rescales by AdEMAMix: Adam's direction plus :math:`\alpha` times a slow momentum.

    .. math::

        m^{(1)}_t &= \beta_1 m^{(1)}_{t-1} + (1-\beta_1) g_t, \qquad
        m^{(2)}_t = \beta_3 m^{(2)}_{t-1} + (1-\beta_3) g_t, \qquad
        \nu_t = \beta_2 \nu_{t-1} + (1-\beta_2) |g_t|^2 \\
        u_t &= \frac{m^{(1)}_t/(1-\beta_1^t) + \alpha\, m^{(2)}_t}
            {\sqrt{\nu_t/(1-\beta_2^t) + \varepsilon_{root}} + \varepsilon}

    ``b3`` and ``alpha`` may be schedules of the step count (the paper warms both
    up over thousands of steps); every value may be traced.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, the fast EMA.
        b2: :math:`\beta_2 \in [0, 1)`, the second moment.
        b3: :math:`\beta_3 \in [0, 1)` (or a schedule), the slow EMA.
        alpha: :math:`\alpha` (real, or a schedule), weight of the slow EMA. The
            default here is 6.0 and 5.0 in :func:`ademamix`, as in optax.
        eps: Outside the square root, :math:`\ge 0`.
        eps_root: Inside the square root, :math:`\ge 0`.
        mu_dtype: dtype of :math:`m^{(1)}, m^{(2)}`; default at least float32.

    Returns:
        A transform whose state is :class:`ScaleByAdemamixState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_ademamix(alpha=0.0, eps=0.0)
        >>> g = jnp.array([0.5, -2.0])
        >>> print(tx.update(g, tx.init(g))[0])  # alpha = 0: Adam, whose first step is sign(g)
        [ 1. -1.]

    References:
        Pagliardini et al., `The AdEMAMix Optimizer: Better, Faster, Older
        <https://arxiv.org/abs/2409.03137>`_, 2024 (Algorithm 1).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_decay("b3", b3)
    _checks.check_interval("alpha", alpha)  # any real number (a schedule is not checked)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("eps_root", eps_root)

    def init_fn(params):
        return ScaleByAdemamixState(
            count=_tree_math.zero_count(), count_m2=_tree_math.zero_count(),
            m1=_tree_math.zeros_like_state(params, mu_dtype),
            m2=_tree_math.zeros_like_state(params, mu_dtype),
            nu=_tree_math.zeros_like_state(params, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.m1, "scale_by_ademamix")
        c_b3 = _value(b3, state.count_m2, "b3")
        c_alpha = _value(alpha, state.count_m2, "alpha")
        m1 = _tree_math.update_moment(updates, state.m1, b1)
        m2 = _tree_math.update_moment(updates, state.m2, c_b3)
        nu = _tree_math.update_moment(updates, state.nu, b2, order=2)
        count = _tree_math.safe_increment(state.count)
        m1_hat = _tree_math.bias_correction(m1, b1, count)
        mixed = jax.tree.map(lambda a, b: a + jnp.asarray(c_alpha, b.real.dtype).astype(b.dtype) * b,
                             m1_hat, m2)
        out = _denominator_ratio(mixed, _tree_math.bias_correction(nu, b2, count), eps, eps_root,
                                 updates)
        return out, ScaleByAdemamixState(count=count,
                                         count_m2=_tree_math.safe_increment(state.count_m2),
                                         m1=m1, m2=m2, nu=nu)

    return _base.GradientTransformation(init_fn, update_fn)


def ademamix(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: _base.ScalarOrSchedule = 0.9999,
    alpha: _base.ScalarOrSchedule = 5.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""AdEMAMix with decoupled weight decay: :math:`\theta_t = \theta_{t-1} - \eta_t (u_t + \lambda\theta_{t-1})`.

    :math:`u_t` is the :func:`scale_by_ademamix` direction. The slow EMA
    (:math:`\beta_3 = 0.9999`) remembers gradients from ~10k steps back, which
    pays off in long runs; for short ones use a smaller ``b3`` or warm it up.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        b1: See :func:`scale_by_ademamix`.
        b2: See :func:`scale_by_ademamix`.
        b3: See :func:`scale_by_ademamix`.
        alpha: See :func:`scale_by_ademamix` (default 5.0 here, as in optax).
        eps: See :func:`scale_by_ademamix`.
        eps_root: See :func:`scale_by_ademamix`.
        mu_dtype: See :func:`scale_by_ademamix`.
        weight_decay: :math:`\lambda \ge 0`, times the learning rate.
        mask: Which leaves are decayed (pytree or function of params).

    Returns:
        ``chain(scale_by_ademamix, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.ademamix(0.1, alpha=0.0, eps=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(p, tx.init(p), p)[0])
        [-0.1  0.1]

    References:
        Pagliardini et al., `The AdEMAMix Optimizer: Better, Faster, Older
        <https://arxiv.org/abs/2409.03137>`_, 2024.
    """
    return _combine.chain(
        scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def scale_by_simplified_ademamix(
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: _base.ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformation:
    r"""Rescales by simplified AdEMAMix: one undamped momentum plus :math:`\alpha` times :math:`g`.

    .. math::

        m_t = \beta_1 m_{t-1} + g_t, \qquad
        n_t = \beta_2 n_{t-1} + (1-\beta_2) |g_t|^2, \qquad
        u_t = \frac{m_t + \alpha\, g_t}{\sqrt{n_t/(1-\beta_2^t) + \varepsilon_{root}} + \varepsilon}

    :math:`m_t` is not damped by :math:`1-\beta_1` (so its scale is up to
    :math:`1/(1-\beta_1)`: retune the learning rate); :math:`\alpha = 0` is Adam
    with a rescaled learning rate and :math:`\beta_1`.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        alpha: :math:`\alpha` (real) or a schedule.
        eps: Outside the square root.
        eps_root: Inside the square root.

    Returns:
        A transform whose state is :class:`ScaleBySimplifiedAdEMAMixState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_simplified_ademamix(alpha=1.0, eps=0.0)
        >>> g = jnp.array([0.5, -2.0])
        >>> print(tx.update(g, tx.init(g))[0])  # (g + g) / |g|
        [ 2. -2.]

    References:
        Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix,
        and Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_interval("alpha", alpha)  # any real number (a schedule is not checked)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("eps_root", eps_root)

    def init_fn(params):
        return ScaleBySimplifiedAdEMAMixState(
            t=_tree_math.zero_count(), m=_tree_math.zeros_like_state(params),
            n=_tree_math.zeros_like_state(params, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.m, "scale_by_simplified_ademamix")
        c_alpha = _value(alpha, state.t, "alpha")

        def momentum(g, m):
            return _tree_math.cast(jnp.asarray(b1, m.real.dtype).astype(m.dtype) * m
                                   + _tree_math.cast(g, m.dtype), m.dtype)

        m = jax.tree.map(momentum, updates, state.m)
        n = _tree_math.update_moment(updates, state.n, b2, order=2)
        t = _tree_math.safe_increment(state.t)
        numerator = jax.tree.map(
            lambda mi, g: mi + jnp.asarray(c_alpha, mi.real.dtype).astype(mi.dtype)
            * _tree_math.cast(g, mi.dtype), m, updates)
        out = _denominator_ratio(numerator, _tree_math.bias_correction(n, b2, t), eps, eps_root,
                                 updates)
        return out, ScaleBySimplifiedAdEMAMixState(t=t, m=m, n=n)

    return _base.GradientTransformation(init_fn, update_fn)


def simplified_ademamix(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: _base.ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Simplified AdEMAMix with decoupled weight decay.

    :math:`\theta_t = \theta_{t-1} - \eta_t (u_t + \lambda\theta_{t-1})` with
    :math:`u_t` from :func:`scale_by_simplified_ademamix`.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        b1: See :func:`scale_by_simplified_ademamix`.
        b2: See :func:`scale_by_simplified_ademamix`.
        alpha: See :func:`scale_by_simplified_ademamix`.
        eps: See :func:`scale_by_simplified_ademamix`.
        eps_root: See :func:`scale_by_simplified_ademamix`.
        weight_decay: :math:`\lambda \ge 0`, times the learning rate.
        mask: Which leaves are decayed.

    Returns:
        ``chain(scale_by_simplified_ademamix, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.simplified_ademamix(0.1, eps=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(p, tx.init(p), p)[0])
        [-0.1  0.1]

    References:
        Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix,
        and Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.
    """
    return _combine.chain(
        scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
