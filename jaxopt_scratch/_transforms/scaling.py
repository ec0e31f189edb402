"""Scaling by constants, schedules and the learning rate (home of the only minus sign), and
of the backward pass (``scale_gradient``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

ScaleState = _base.EmptyState  # optax 0.2.8's name for the state of `scale`


class ScaleByScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule`."""

    count: jax.Array  # updates applied so far (int32 scalar); the schedule sees this


def scale(step_size: jax.typing.ArrayLike) -> _base.GradientTransformation:
    r"""Multiplies every update by a constant: :math:`u_t = s\, g_t`.

    Args:
        step_size: The factor :math:`s`; any real number, may be traced.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale(-2.0)
        >>> tx.update(jnp.array([1.0, 0.5]), tx.init(jnp.zeros(2)))[0]
        Array([-2., -1.], dtype=float32)
    """
    _checks.check_interval("step_size", step_size)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return _tree_math.scale_tree(updates, step_size), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)


def scale_by_schedule(step_size_fn: _base.Schedule) -> _base.GradientTransformation:
    r"""Multiplies updates by a schedule of the step: :math:`u_t = s(k)\, g_t`.

    :math:`k` is the 0-based count of updates already applied: the first update
    uses ``step_size_fn(0)``. The schedule is evaluated once per step (one scalar).

    Args:
        step_size_fn: A function of the int32 count returning a scalar.

    Returns:
        A transform whose state is :class:`ScaleByScheduleState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_schedule(lambda k: 1 / (k.astype(jnp.float32) + 1))
        >>> g, s = jnp.ones(1), tx.init(jnp.zeros(1))
        >>> u1, s = tx.update(g, s)
        >>> u2, s = tx.update(g, s)
        >>> print(u1, u2)
        [1.] [0.5]
    """
    if not callable(step_size_fn):
        raise TypeError(
            f"`step_size_fn` must be a function of the step count, got {step_size_fn!r}; "
            f"for a constant factor use `jos.scale(value)`."
        )

    def init_fn(params):
        _tree_math.check_float_params(params)
        return ScaleByScheduleState(count=_tree_math.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        step_size = _base.evaluate_schedule(step_size_fn, state.count, "step_size_fn")
        updates = _tree_math.scale_tree(updates, step_size)
        return updates, ScaleByScheduleState(count=_tree_math.safe_increment(state.count))

    return _base.GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(
    learning_rate: _base.ScalarOrSchedule | None = None, *, flip_sign: bool = True
) -> _base.GradientTransformation:
    r"""Scales by the learning rate and turns the direction into a descent step.

    .. math:: u_t = -\alpha_t\, g_t

    This is the only place in the library that applies the minus sign. With a
    schedule, :math:`\alpha_t` is ``learning_rate(k)`` for the 0-based count
    :math:`k` of updates already applied.

    Args:
        learning_rate: :math:`\alpha \ge 0`, a scalar (may be traced) or a schedule;
            ``None`` gives :func:`identity` (as in optax: the step size is set elsewhere,
            e.g. by a line search).
        flip_sign: Keyword-only; ``False`` gives :math:`+\alpha_t g_t` (ascent).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_learning_rate(0.1)
        >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0]
        Array([-0.1,  0.2], dtype=float32)
    """
    if learning_rate is None:
        return _base.identity()
    _checks.check_nonnegative("learning_rate", learning_rate)
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(
            lambda count: sign * _base.evaluate_schedule(learning_rate, count, "learning_rate"))
    return scale(sign * learning_rate)


@jax.custom_vjp
def _identity_scaled_backward(inputs, scale_value):
    return inputs


def _identity_scaled_forward(inputs, scale_value):
    return inputs, scale_value


def _identity_scaled_backward_rule(scale_value, cotangents):
    def leaf(t):
        s = jnp.asarray(scale_value, t.dtype)
        # Exactly zero for a zero scale, even where the cotangent is inf or NaN
        # (as optax's stop_gradient path).
        return jnp.where(s == 0, jnp.zeros_like(t), t * s)

    return jax.tree.map(leaf, cotangents), jnp.zeros_like(scale_value)


_identity_scaled_backward.defvjp(_identity_scaled_forward, _identity_scaled_backward_rule)


def scale_gradient(inputs: Any, scale: jax.typing.ArrayLike) -> Any:
    r"""The identity on the forward pass; multiplies the gradient by ``scale`` on the way back.

    .. math:: f(x) = x, \qquad \frac{\partial L}{\partial x} = s\, \frac{\partial L}{\partial f}

    Not a transform: a function to call inside a loss, for example to slow
    down the learning of one branch of a network (``scale=0`` stops it).

    Args:
        inputs: A pytree of arrays.
        scale: :math:`s`, any real number; may be traced (even as a ``jit`` or
            ``vmap`` argument).

    Returns:
        ``inputs``, unchanged, with the scaled backward pass.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> f = lambda x: jnp.sum(jos.scale_gradient(x, 0.5) ** 2)
        >>> print(jax.grad(f)(jnp.array([1.0, 2.0])))
        [1. 2.]

    .. note::
        optax special-cases ``scale == 1`` and ``scale == 0`` with Python
        ``if``, so its ``scale`` cannot be a tracer; here one custom VJP
        handles every value (``0`` still gives exact zeros).
    """
    try:
        value = jnp.asarray(scale)
    except TypeError as err:
        raise TypeError(f"`scale` must be a real number, got {scale!r}.") from err
    if not jnp.issubdtype(value.dtype, jnp.floating):
        if not jnp.issubdtype(value.dtype, jnp.number) or jnp.iscomplexobj(value):
            raise TypeError(f"`scale` must be a real number, got {scale!r}.")
        value = value.astype(jnp.float32)
    if value.shape != ():
        raise ValueError(f"`scale` must be a scalar, got shape {value.shape}.")
    return _identity_scaled_backward(inputs, value)
