r"""Learning rates from betting games: COCOB and the Mechanic tuner.

Both treat the step size as a bet whose wealth grows when past bets paid off:
COCOB bets per coordinate, Mechanic bets on one global scale of another
optimizer's updates.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


class COCOBState(NamedTuple):
    """State of :func:`scale_by_cocob` (field names as in optax)."""

    init_particles: _base.Params  # x_0, >= float32
    cumulative_gradients: _base.Updates  # -sum_k g_k, >= float32
    scale: _base.Updates  # L: max_k |g_k| (starting at eps), >= float32
    subgradients: _base.Updates  # G: sum_k |g_k|, >= float32
    reward: _base.Updates  # R: max(R - g (x - x_0), 0), the wealth won so far, >= float32


def scale_by_cocob(
    alpha: jax.typing.ArrayLike = 100.0,
    eps: jax.typing.ArrayLike = 1e-8,
) -> _base.GradientTransformation:
    r"""COCOB-Backprop: each coordinate bets a fraction of its wealth.

    Per coordinate, with :math:`L_t = \max(L_{t-1}, |g_t|)` (:math:`L_0 = \varepsilon`),
    :math:`G_t = G_{t-1} + |g_t|`, :math:`R_t = \max(R_{t-1} - g_t (x_t - x_0), 0)`
    and :math:`\theta_t = \theta_{t-1} - g_t`:

    .. math::

        x_{t+1} = x_0 + \frac{\theta_t}{L_t \max(G_t + L_t, \alpha L_t)}\,(L_t + R_t),
        \qquad u_t = x_{t+1} - x_t

    The output is the displacement itself (no learning rate, no sign to add).

    Args:
        alpha: :math:`\alpha` (real; 100 in the paper), caps the early bets.
        eps: :math:`\varepsilon \ge 0`, the initial :math:`L`.

    Returns:
        A transform whose state is :class:`COCOBState`.

    References:
        Orabona & Tommasi, `Training Deep Networks without Learning Rates Through
        Coin Betting <https://arxiv.org/abs/1705.07795>`_, 2017 (Algorithm 2).
    """
    _checks.check_interval("alpha", alpha)  # any real: it only caps the first bets
    _checks.check_nonnegative("eps", eps, "It is the first scale L_0; use e.g. 1e-8 (with 0, a "
                              "coordinate whose first gradient is 0 gets 0/0).")

    def init_fn(params):
        zeros = _tree_math.zeros_like_state(params)
        return COCOBState(init_particles=_tree_math.upcast(params), cumulative_gradients=zeros,
                          scale=_tree_math.full_like_state(params, eps), subgradients=zeros,
                          reward=zeros)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_cocob")
        _tree_math.check_same_structure(updates, state.scale, "scale_by_cocob")

        def leaf(g, p, p0, c, lo, gs, r):
            g, p = _tree_math.cast(g, lo.dtype), _tree_math.cast(p, lo.dtype)
            lo = jnp.maximum(lo, jnp.abs(g))
            gs = gs + jnp.abs(g)
            r = jnp.maximum(r - g * (p - p0), 0)
            c = c - g
            a = jnp.asarray(alpha, lo.dtype)
            x = p0 + c / (lo * jnp.maximum(gs + lo, a * lo)) * (lo + r)
            return x - p, c, lo, gs, r

        out = jax.tree.map(leaf, updates, params, state.init_particles, state.cumulative_gradients,
                           state.scale, state.subgradients, state.reward)
        treedef = jax.tree.structure(updates)
        rows = treedef.flatten_up_to(out)
        step, c, lo, gs, r = (treedef.unflatten([row[i] for row in rows]) for i in range(5))
        return _tree_math.cast_like(step, updates), COCOBState(state.init_particles, c, lo, gs, r)

    return _base.GradientTransformation(init_fn, update_fn)


def cocob(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    alpha: jax.typing.ArrayLike = 100.0,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""COCOB-Backprop with an optional multiplier of the gradients and L2 weight decay.

    The gradient (plus :math:`\lambda x`) is multiplied by ``learning_rate`` (no
    sign flip) before :func:`scale_by_cocob` bets on it; 1.0 is the method.

    Args:
        learning_rate: Multiplier of the gradients (a scalar or schedule).
        alpha: See :func:`scale_by_cocob`.
        eps: See :func:`scale_by_cocob`.
        weight_decay: :math:`\lambda \ge 0`, L2 (added to the gradient).
        mask: Which leaves are decayed.

    Returns:
        ``chain(add_decayed_weights, scale_by_learning_rate(flip_sign=False), scale_by_cocob)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.cocob()
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # first bet: -g / (alpha L)
        [-0.01  0.01]

    References:
        Orabona & Tommasi, `Training Deep Networks without Learning Rates Through
        Coin Betting <https://arxiv.org/abs/1705.07795>`_, 2017.
    """
    return _combine.chain(
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate, flip_sign=False),
        scale_by_cocob(alpha, eps),
    )


class MechanicState(NamedTuple):
    """State of :func:`mechanize`."""

    base_optimizer_state: _base.OptState  # the wrapped optimizer's state
    count: jax.Array  # updates seen so far (int32 scalar)
    r: jax.Array  # (num_betas,) discounted rewards of each bettor
    m: jax.Array  # (num_betas,) discounted max |h|
    v: jax.Array  # (num_betas,) discounted sum of h^2
    s: jax.Array  # (num_betas,) each bettor's scale; the step uses sum(s)
    x0: _base.Params  # the params at the first update (the reference point), >= float32


def mechanize(
    base_optimizer: _base.GradientTransformation,
    weight_decay: jax.typing.ArrayLike = 1e-2,
    eps: jax.typing.ArrayLike = 1e-8,
    s_init: jax.typing.ArrayLike = 1e-6,
    num_betas: int = 6,
) -> _base.GradientTransformation:
    r"""Mechanic: learns the scale :math:`s` of ``base_optimizer``'s updates by betting.

    With :math:`\Delta_t` the base update, :math:`\delta_t = (x_0 - x_t)/(\sum s + \varepsilon)`
    and :math:`h_t = \langle \tilde g_t, \delta_t\rangle` where
    :math:`\tilde g_t = g_t + \lambda \sum s\, \frac{\lVert g_t\rVert}{\lVert x_t\rVert + \varepsilon} x_t`,
    each of ``num_betas`` bettors (:math:`\beta_j = 1 - 10^{-j}`) updates

    .. math::

        m_j &\leftarrow \max(\beta_j m_j, |h_t| + \varepsilon), \quad
        v_j \leftarrow \beta_j^2 v_j + h_t^2, \quad
        r_j \leftarrow \beta_j r_j + \mathrm{clip}(h_t, \pm m_j^{old})\, s_j \\
        s_j &\leftarrow \frac{s_{init} m_j / n + \max(r_j, 0)}{\sqrt{v_j} + \varepsilon},
        \qquad x_{t+1} = x_0 - \textstyle\sum_j s_j\, (\delta_t - \Delta_t)

    Args:
        base_optimizer: The optimizer whose step size is learned (its
            learning rate is best left at 1.0 or a schedule peaking at 1.0).
        weight_decay: :math:`\lambda \ge 0`, Mechanic's own decay.
        eps: :math:`\varepsilon > 0`.
        s_init: :math:`s_{init} > 0`, the initial scale of each bettor.
        num_betas: Static number of bettors :math:`n \ge 1`.

    Returns:
        A transform whose state is :class:`MechanicState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.mechanize(jos.sgd(1.0))
        >>> p = jnp.array([1.0, -2.0])
        >>> u, state = tx.update(2 * p, tx.init(p), p)
        >>> print(state.s.shape)
        (6,)

    References:
        Cutkosky et al., `Mechanic: A Learning Rate Tuner
        <https://arxiv.org/abs/2306.00144>`_, 2023 (Algorithm 1).
    """
    _combine.check_transform(base_optimizer, "`base_optimizer`")
    _checks.check_nonnegative("weight_decay", weight_decay)
    _checks.check_interval("eps", eps, 0.0, None, low_open=True)
    _checks.check_interval("s_init", s_init, 0.0, None, low_open=True)
    if isinstance(num_betas, bool) or not isinstance(num_betas, int) or num_betas < 1:
        raise ValueError(f"`num_betas` must be a positive int (static), got {num_betas!r}.")

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        zeros = jnp.zeros([num_betas], dt)
        return MechanicState(
            base_optimizer_state=base_optimizer.init(params), count=_tree_math.zero_count(),
            r=zeros, m=zeros, v=zeros, s=jnp.full([num_betas], s_init, dt),
            x0=_tree_math.upcast(params))

    def update_fn(updates, state, params=None, **extra_args):
        _tree_math.check_params_given(params, "mechanize")
        _tree_math.check_same_structure(updates, state.x0, "mechanize")
        dt = state.s.dtype
        base_updates, base_state = _base.call_update(
            base_optimizer, updates, state.base_optimizer_state, params, extra_args)
        first = state.count == 0
        x0 = jax.tree.map(lambda a, p: jnp.where(first, _tree_math.cast(p, a.dtype), a),
                          state.x0, params)
        s_sum = jnp.sum(state.s)
        e = jnp.asarray(eps, dt)
        decay = (jnp.asarray(weight_decay, dt) * s_sum * _tree_math.global_norm(updates).astype(dt)
                 / (_tree_math.global_norm(params).astype(dt) + e))
        delta_prev = jax.tree.map(lambda a, p: (a - _tree_math.cast(p, a.dtype)) / (s_sum + e),
                                  x0, params)
        h = sum((jnp.sum(jnp.real(jnp.conj(_tree_math.cast(g, d.dtype)
                                            + decay * _tree_math.cast(p, d.dtype)) * d)).astype(dt)
                 for g, p, d in zip(jax.tree.leaves(updates), jax.tree.leaves(params),
                                    jax.tree.leaves(delta_prev))), jnp.zeros([], dt))
        betas = 1 - jnp.asarray([0.1 ** j for j in range(1, num_betas + 1)], dt)
        clipped = jnp.clip(h, -state.m, state.m)
        m = jnp.maximum(betas * state.m, jnp.abs(h) + e)
        v = jnp.square(betas) * state.v + jnp.square(h)
        r = betas * state.r + clipped * state.s
        s = (jnp.asarray(s_init, dt) / num_betas * m + jnp.maximum(r, 0)) / (jnp.sqrt(v) + e)
        total = jnp.sum(s)

        def leaf(a, d, u, p):
            new = a - total * (d - _tree_math.cast(u, d.dtype))
            return _tree_math.cast(new - _tree_math.cast(p, new.dtype), p.dtype)

        out = jax.tree.map(leaf, x0, delta_prev, base_updates, params)
        return _tree_math.cast_like(out, updates), MechanicState(
            base_optimizer_state=base_state, count=_tree_math.safe_increment(state.count),
            r=r, m=m, v=v, s=s, x0=x0)

    return _base.GradientTransformation(init_fn, update_fn)
