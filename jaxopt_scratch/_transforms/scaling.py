"""Scaling by constants, schedules and the learning rate (home of the only minus sign)."""

from __future__ import annotations

from typing import NamedTuple

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


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
    learning_rate: _base.ScalarOrSchedule, *, flip_sign: bool = True
) -> _base.GradientTransformation:
    r"""Scales by the learning rate and turns the direction into a descent step.

    .. math:: u_t = -\alpha_t\, g_t

    This is the only place in the library that applies the minus sign. With a
    schedule, :math:`\alpha_t` is ``learning_rate(k)`` for the 0-based count
    :math:`k` of updates already applied.

    Args:
        learning_rate: :math:`\alpha \ge 0`, a scalar (may be traced) or a schedule.
        flip_sign: Keyword-only; ``False`` gives :math:`+\alpha_t g_t` (ascent).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_learning_rate(0.1)
        >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0]
        Array([-0.1,  0.2], dtype=float32)
    """
    _checks.check_nonnegative("learning_rate", learning_rate)
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(
            lambda count: sign * _base.evaluate_schedule(learning_rate, count, "learning_rate"))
    return scale(sign * learning_rate)
