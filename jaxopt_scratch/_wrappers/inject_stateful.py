"""``inject_stateful_hyperparams``: :func:`inject_hyperparams` that also takes stateful schedules."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._schedules import stateful as _stateful
from jaxopt_scratch._wrappers import inject as _inject


class InjectStatefulHyperparamsState(NamedTuple):
    """State of a transform built by :func:`inject_stateful_hyperparams`."""

    count: jax.Array  # updates applied so far (int32, saturating); plain schedules see this
    hyperparams: dict  # name -> the value used at the last step (as in InjectHyperparamsState)
    hyperparams_states: dict  # name -> the state of that hyperparameter's stateful schedule
    inner_state: Any  # the inner transform's state


def inject_stateful_hyperparams(
    inner_factory: Callable[..., _base.GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any | None = None,
) -> Callable[..., _base.GradientTransformationExtraArgs]:
    r"""Like :func:`inject_hyperparams`, and a hyperparameter may also be a :class:`StatefulSchedule`.

    A stateful schedule ``s`` (``init()``, ``update(state, **extra_args)``,
    ``__call__(state, **extra_args)``) gives the hyperparameter's value
    ``s(state, **extra_args)`` at each step, then advances its own state
    with ``s.update(state, **extra_args)``; ``extra_args`` are the extra
    keyword arguments of this transform's ``update`` (for example
    ``value=loss``), so a schedule can react to training. Its state lives in
    ``hyperparams_states[name]``. Numbers and plain schedules behave exactly
    as in :func:`inject_hyperparams` (same classification, dtypes and
    tracing).

    Args:
        inner_factory: A function returning a :class:`GradientTransformation`.
        static_args: Names of arguments passed through unchanged.
        hyperparam_dtype: Structural; dtype of float hyperparameters (default
            float32, float64 for float64 params).

    Returns:
        A function with ``inner_factory``'s arguments returning a transform
        whose state is :class:`InjectStatefulHyperparamsState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> class HalveOnPlateau:   # a stateful schedule driven by the loss
        ...     def init(self):
        ...         return {"lr": jnp.float32(1.0), "best": jnp.float32(jnp.inf)}
        ...     def update(self, state, value=jnp.inf, **extra_args):
        ...         better = value < state["best"]
        ...         return {"lr": jnp.where(better, state["lr"], state["lr"] / 2),
        ...                 "best": jnp.minimum(value, state["best"])}
        ...     def __call__(self, state, **extra_args):
        ...         return state["lr"]
        >>> tx = jos.inject_stateful_hyperparams(jos.sgd)(learning_rate=HalveOnPlateau())
        >>> state = tx.init(jnp.zeros(1))
        >>> for loss in (3.0, 2.0, 2.5, 1.0):
        ...     u, state = tx.update(jnp.ones(1), state, value=jnp.float32(loss))
        ...     print(u)
        [-1.]
        [-1.]
        [-1.]
        [-0.5]

    .. note::
        optax 0.2.8 deprecates this name (with a ``DeprecationWarning``) in
        favour of its ``inject_hyperparams``, which took over stateful
        schedules; here :func:`inject_hyperparams` keeps its simpler state,
        so this function is the one for stateful schedules and does not warn.
        A plain schedule is evaluated on ``count``; optax wraps it in a
        :class:`WrappedSchedule` whose count (equal to ``count``) it keeps in
        ``hyperparams_states``, so that dict holds only the stateful ones here.
    """
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    injected_factory = _inject.inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
    signature = inspect.signature(inner_factory)

    @functools.wraps(inner_factory)
    def factory(*args, **kwargs) -> _base.GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        stateful = {name: value for name, value in bound.arguments.items()
                    if name not in static and _stateful.is_stateful_schedule(value)}
        for name, schedule in stateful.items():
            # A number in the schedule's place makes `inject_hyperparams` keep the name
            # in `hyperparams`; the schedule's value replaces it before every step.
            bound.arguments[name] = _first_value(schedule, name)
        injected = injected_factory(*bound.args, **bound.kwargs)

        def with_values(hyperparams, states, extra_args):
            new = dict(hyperparams)
            for name, schedule in stateful.items():
                value = _checked(schedule(states[name], **extra_args), name)
                new[name] = value.astype(hyperparams[name].dtype)
            return new

        def init_fn(params):
            state = injected.init(params)
            states = {name: schedule.init() for name, schedule in stateful.items()}
            return InjectStatefulHyperparamsState(
                state.count, with_values(state.hyperparams, states, {}), states, state.inner_state)

        def update_fn(updates, state, params=None, **extra_args):
            hyperparams = with_values(state.hyperparams, state.hyperparams_states, extra_args)
            inner = _inject.InjectHyperparamsState(state.count, hyperparams, state.inner_state)
            updates, inner = _base.call_update(injected, updates, inner, params, extra_args)
            states = {name: schedule.update(state.hyperparams_states[name], **extra_args)
                      for name, schedule in stateful.items()}
            return updates, InjectStatefulHyperparamsState(
                inner.count, inner.hyperparams, states, inner.inner_state)

        return _base.GradientTransformationExtraArgs(init_fn, update_fn)

    return factory


def _checked(value: Any, name: str) -> jax.Array:
    """A stateful schedule's value as a real scalar array (else an error naming ``name``)."""
    try:
        array = jnp.asarray(value)
    except TypeError as err:
        raise TypeError(f"The stateful schedule for `{name}` must return a number, got "
                        f"{value!r}.") from err
    if array.shape != () or not (jnp.issubdtype(array.dtype, jnp.floating)
                                 or jnp.issubdtype(array.dtype, jnp.integer)):
        raise TypeError(
            f"The stateful schedule for `{name}` must return a real scalar, got dtype "
            f"{array.dtype} and shape {array.shape}."
        )
    return array


def _first_value(schedule: Any, name: str) -> jax.Array:
    """The schedule's value at its initial state: a stand-in of the right kind (float or int)."""
    _checks.check_callable(name, schedule, "a stateful schedule")
    return _checked(schedule(schedule.init()), name)
