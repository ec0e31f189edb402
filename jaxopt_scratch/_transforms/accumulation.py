"""Accumulation: heavy-ball / Nesterov momentum, exponential moving averages, and sums over k
steps (``apply_every``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class TraceState(NamedTuple):
    """State of :func:`trace`."""

    trace: _base.Updates  # the velocity v, shaped like params, at least float32


class EmaState(NamedTuple):
    """State of :func:`ema`."""

    count: jax.Array  # updates seen so far (int32 scalar), for the bias correction
    ema: _base.Updates  # the *uncorrected* average m, shaped like params, at least float32


def trace(
    decay: jax.typing.ArrayLike,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Heavy-ball (or Nesterov) momentum: a decaying *sum* of past updates.

    .. math::

        v_t &= \mu\, v_{t-1} + g_t \\
        u_t &= v_t \quad\text{or, with Nesterov,}\quad u_t = g_t + \mu\, v_t

    Chained before ``scale_by_learning_rate(lr)`` this is tutorial 3's
    ``v = beta*v + g; p -= lr*v`` and PyTorch's ``SGD(momentum=mu, dampening=0)``.
    Tutorial 0's ``v = beta*v + lr*g; p -= v`` is the same for a constant ``lr``
    (``docs/tutorial_claims.rst``, update rules).

    Args:
        decay: The momentum :math:`\mu \in [0, 1)`; may be traced.
        nesterov: Structural; use the Nesterov look-ahead form.
        accumulator_dtype: dtype of :math:`v`; default at least float32.

    Returns:
        A transform whose state is :class:`TraceState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.trace(0.9)
        >>> g, s = jnp.ones(1), tx.init(jnp.zeros(1))
        >>> u, s = tx.update(g, s)
        >>> u, s = tx.update(g, s)
        >>> print(u)  # 1 + 0.9 * 1
        [1.9]

    References:
        Polyak, 1964; Sutskever et al., `On the importance of initialization and
        momentum in deep learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.
    """
    _checks.check_decay("decay", decay)

    def init_fn(params):
        return TraceState(trace=_tree_math.zeros_like_state(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.trace, "trace")
        velocity = jax.tree.map(
            lambda g, v: _tree_math.scale_tree(v, decay) + g.astype(v.dtype), updates, state.trace
        )
        if nesterov:
            out = jax.tree.map(lambda g, v: g.astype(v.dtype) + _tree_math.scale_tree(v, decay),
                               updates, velocity)
        else:
            out = velocity
        return _tree_math.cast_like(out, updates), TraceState(trace=velocity)

    return _base.GradientTransformation(init_fn, update_fn)


def ema(
    decay: jax.typing.ArrayLike,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Exponential moving average of the updates, optionally bias-corrected.

    .. math::

        m_t &= \beta\, m_{t-1} + (1 - \beta)\, g_t \\
        u_t &= m_t / (1 - \beta^t) \quad (\texttt{debias=True}) \qquad u_t = m_t \quad (\texttt{debias=False})

    Tutorial 4's bias-corrected EWMA momentum (P8 in ``docs/tutorial_claims.rst``) is
    ``jos.chain(jos.ema(0.9), jos.scale_by_learning_rate(lr))``; tutorial 1's
    uncorrected one (P7) is ``jos.chain(jos.ema(0.9, debias=False), jos.scale_by_learning_rate(lr))``.
    Compared with :func:`trace`, the EMA is a weighted *average*, so its steady
    size equals the gradient's rather than :math:`1/(1-\beta)` times it.

    Args:
        decay: :math:`\beta \in [0, 1)`; may be traced.
        debias: Structural; divide by :math:`1-\beta^t`.
        accumulator_dtype: dtype of :math:`m`; default at least float32.

    Returns:
        A transform whose state is :class:`EmaState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.ema(0.9)
        >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
        >>> print(u)  # bias correction undoes the (1 - 0.9) of the first step
        [2.]
    """
    _checks.check_decay("decay", decay)

    def init_fn(params):
        return EmaState(count=_tree_math.zero_count(),
                        ema=_tree_math.zeros_like_state(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.ema, "ema")
        count = _tree_math.safe_increment(state.count)
        average = _tree_math.update_moment(updates, state.ema, decay)
        out = _tree_math.bias_correction(average, decay, count) if debias else average
        return _tree_math.cast_like(out, updates), EmaState(count=count, ema=average)

    return _base.GradientTransformation(init_fn, update_fn)


class ApplyEvery(NamedTuple):
    """State of :func:`apply_every` (optax's name, without ``State``)."""

    count: jax.Array  # position in the current window, 0..k-1 (int32 scalar)
    grad_acc: _base.Updates  # sum of this window's updates, shaped like params, at least float32


def apply_every(k: jax.typing.ArrayLike = 1) -> _base.GradientTransformation:
    r"""Sums the updates over windows of ``k`` steps and emits the sum on the last one.

    .. math::

        a_t = \begin{cases} g_t & t \bmod k = 0 \\ a_{t-1} + g_t & \text{otherwise}\end{cases}
        \qquad
        u_t = \begin{cases} a_t & t \bmod k = k - 1 \\ 0 & \text{otherwise}\end{cases}

    for the 0-based step :math:`t`. Transforms chained *before* it still update
    their state on every step, so this is not the same as a k times larger
    batch; :class:`MultiSteps` is (it runs the inner optimizer once per window,
    on the mean).

    Args:
        k: :math:`k \ge 1`, the window length, an integer; may be traced (a
            traced :math:`k < 1` acts as 1).

    Returns:
        A transform whose state is :class:`ApplyEvery`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.apply_every(2)
        >>> state = tx.init(jnp.zeros(1))
        >>> u, state = tx.update(jnp.array([1.0]), state)
        >>> print(u)
        [0.]
        >>> u, state = tx.update(jnp.array([3.0]), state)
        >>> print(u)
        [4.]

    .. note::
        The window restarts with ``jnp.where``, not by multiplying the old sum by
        0 as optax does, so a NaN or Inf stays in its own window; in optax it
        makes every later update NaN, emitted or not (``0 * NaN``). Non-emitting
        steps return exact zeros.
    """
    _checks.check_interval("k", k, 1.0, None, hint="`k` is the number of steps summed per update.")
    value = _checks.concrete_value(k)
    if value is not None and not np.all(np.mod(value, 1) == 0):
        raise TypeError(f"`k` must be a whole number of steps, got {k!r}.")

    def init_fn(params):
        return ApplyEvery(count=_tree_math.zero_count(),
                          grad_acc=_tree_math.zeros_like_state(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.grad_acc, "apply_every")
        window = jnp.maximum(jnp.asarray(k).astype(state.count.dtype), 1)
        position = state.count % window
        grad_acc = jax.tree.map(
            lambda g, a: jnp.where(position == 0, g.astype(a.dtype), a + g.astype(a.dtype)),
            updates, state.grad_acc)
        emit = position == window - 1
        out = jax.tree.map(lambda a, g: jnp.where(emit, a, 0).astype(g.dtype), grad_acc, updates)
        count = _tree_math.safe_increment(state.count) % window
        return out, ApplyEvery(count=count, grad_acc=grad_acc)

    return _base.GradientTransformation(init_fn, update_fn)
