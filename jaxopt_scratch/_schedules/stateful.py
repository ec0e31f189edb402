"""Stateful schedules: a value computed from a state that the schedule updates itself.

A :class:`StatefulSchedule` is what :func:`inject_stateful_hyperparams` accepts
for a hyperparameter besides numbers and plain schedules: ``init() -> state``,
``update(state, **extra_args) -> state`` and ``__call__(state, **extra_args) ->
value``; the extra keyword arguments of the optimizer's ``update`` (such as
``value=`` for the loss) reach it, so it can react to the training signal.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

ScheduleState = Any  # any pytree of arrays


@runtime_checkable
class StatefulSchedule(Protocol):
    """A schedule with its own state: ``init``, ``update`` and ``__call__`` (see the module)."""

    def init(self) -> ScheduleState:
        """The initial state."""

    def update(self, state: ScheduleState, **extra_args: Any) -> ScheduleState:
        """The state for the next step."""

    def __call__(self, state: ScheduleState, **extra_args: Any) -> jax.typing.ArrayLike:
        """The value for this step."""


def is_stateful_schedule(value: Any) -> bool:
    """Whether ``value`` is a :class:`StatefulSchedule` (callable, with ``init`` and ``update``)."""
    return callable(value) and callable(getattr(value, "init", None)) and callable(
        getattr(value, "update", None))


class WrappedScheduleState(NamedTuple):
    """State of a :class:`WrappedSchedule`."""

    count: jax.Array  # steps taken so far (int32 scalar, saturating)


class WrappedSchedule:
    r"""A plain schedule of the step count as a :class:`StatefulSchedule` (the state is the count).

    Args:
        schedule_fn: A function of the 0-based int32 step count.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.WrappedSchedule(jos.linear_schedule(1.0, 0.0, 4))
        >>> state = sched.init()
        >>> for _ in range(3):
        ...     print(float(sched(state)))
        ...     state = sched.update(state)
        1.0
        0.75
        0.5
    """

    def __init__(self, schedule_fn: _base.Schedule):
        _checks.check_callable("schedule_fn", schedule_fn, "a function of the step count")
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        """A zero count."""
        return WrappedScheduleState(count=_tree_math.zero_count())

    def update(self, state: WrappedScheduleState, **extra_args: Any) -> WrappedScheduleState:
        """The count plus one (saturating); extra arguments are ignored."""
        del extra_args
        return WrappedScheduleState(count=_tree_math.safe_increment(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args: Any) -> jax.Array:
        """``schedule_fn(count)``; extra arguments are ignored."""
        del extra_args
        return _base.evaluate_schedule(self.schedule_fn, state.count, "schedule_fn")
