r"""MADGRAD: momentumised, adaptive, dual-averaged gradient descent."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import weight_decay as _weight_decay


class MadgradState(NamedTuple):
    """State of :func:`scale_by_madgrad`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    grad_sum_sq: _base.Updates  # nu_k = sum_i lambda_i g_i^2, >= float32
    s: _base.Updates  # s_k = sum_i lambda_i g_i, >= float32
    x0: _base.Params  # x_0, the dual-averaging anchor, >= float32


def scale_by_madgrad(
    learning_rate: _base.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""MADGRAD's step :math:`x_{k+1} - x_k`, learning rate included (as in optax).

    With :math:`\lambda_k = (\gamma_k + \varepsilon)\sqrt{k+1}` (:math:`\gamma_k` the
    learning rate at the 0-based step :math:`k`):

    .. math::

        s_{k+1} &= s_k + \lambda_k g_k, \qquad \nu_{k+1} = \nu_k + \lambda_k g_k^2, \qquad
        z_{k+1} = x_0 - \frac{s_{k+1}}{\nu_{k+1}^{1/3} + \varepsilon} \\
        x_{k+1} &= (1 - c)\, z_{k+1} + c\, x_k

    with :math:`c` the ``momentum``. The learning rate weights the dual average
    itself, so it lives inside this transform: its output is the displacement
    (sign included), not a direction.

    Args:
        learning_rate: :math:`\gamma_k \ge 0`, a scalar or schedule.
        momentum: :math:`c \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`.

    Returns:
        A transform whose state is :class:`MadgradState`.

    References:
        Defazio & Jelassi, `Adaptivity without Compromise: A Momentumized, Adaptive,
        Dual Averaged Gradient Method for Stochastic Optimization
        <https://arxiv.org/abs/2101.11075>`_, 2021 (Algorithm 1).
    """
    _checks.check_nonnegative("learning_rate", learning_rate)
    _checks.check_decay("momentum", momentum)
    _checks.check_nonnegative("eps", eps)

    def init_fn(params):
        return MadgradState(count=_tree_math.zero_count(),
                            grad_sum_sq=_tree_math.zeros_like_state(params, real=True),
                            s=_tree_math.zeros_like_state(params), x0=_tree_math.upcast(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_madgrad")
        _tree_math.check_same_structure(updates, state.s, "scale_by_madgrad")
        dt = _tree_math.scalar_dtype(state.s)
        lr = (_base.evaluate_schedule(learning_rate, state.count, "learning_rate")
              if callable(learning_rate) else learning_rate)
        e = jnp.asarray(eps, dt)
        lamb = (jnp.asarray(lr, dt) + e) * jnp.sqrt(state.count.astype(dt) + 1)
        c = jnp.asarray(momentum, dt)

        def leaf(g, p, nu, s, x0):
            g = _tree_math.cast(g, s.dtype)
            nu = nu + _tree_math.cast(lamb, nu.dtype) * _tree_math.abs_sq(g)
            s = s + _tree_math.cast(lamb, s.dtype) * g
            z = x0 - s / _tree_math.cast(jnp.cbrt(nu) + _tree_math.cast(e, nu.dtype), s.dtype)
            p = _tree_math.cast(p, s.dtype)
            step = (1 - c).astype(s.dtype) * z + c.astype(s.dtype) * p - p
            return step, nu, s

        out = jax.tree.map(leaf, updates, params, state.grad_sum_sq, state.s, state.x0)
        treedef = jax.tree.structure(updates)
        rows = treedef.flatten_up_to(out)
        step, nu, s = (treedef.unflatten([row[i] for row in rows]) for i in range(3))
        return _tree_math.cast_like(step, updates), MadgradState(
            count=_tree_math.safe_increment(state.count), grad_sum_sq=nu, s=s, x0=state.x0)

    return _base.GradientTransformation(init_fn, update_fn)


def madgrad(
    learning_rate: _base.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike = 0.9,
    weight_decay: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""MADGRAD with L2 weight decay (added to the gradient): :func:`scale_by_madgrad` of :math:`g + \lambda x`.

    Args:
        learning_rate: :math:`\gamma_k`, a scalar or schedule.
        momentum: :math:`c \in [0, 1)`.
        weight_decay: :math:`\lambda \ge 0`.
        eps: :math:`\varepsilon \ge 0`.

    Returns:
        ``chain(add_decayed_weights, scale_by_madgrad)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.madgrad(0.1, eps=0.0)
        >>> p = jnp.array([1.0])
        >>> print(tx.update(jnp.array([8.0]), tx.init(p), p)[0])  # -(1 - c) s / nu^(1/3)
        [-0.04308867]

    References:
        Defazio & Jelassi, `Adaptivity without Compromise
        <https://arxiv.org/abs/2101.11075>`_, 2021.
    """
    return _combine.chain(_weight_decay.add_decayed_weights(weight_decay),
                          scale_by_madgrad(learning_rate, momentum, eps))
