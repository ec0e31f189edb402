"""``inject_stateful_hyperparams``: :func:`inject_hyperparams` that also takes stateful schedules."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._schedules import stateful as _stateful
from jaxopt_scratch._wrappers import inject as _inject

InjectStatefulHyperparamsState = _inject.InjectStatefulHyperparamsState


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
        schedules. :func:`inject_hyperparams` takes them here too (and then
        returns this state); this function differs only in always returning
        :class:`InjectStatefulHyperparamsState`, and it does not warn.
        A plain schedule is evaluated on ``count``; optax wraps it in a
        :class:`WrappedSchedule` whose count (equal to ``count``) it keeps in
        ``hyperparams_states``, so that dict holds only the stateful ones here.
    """
    static, signature = _inject.check_wrapper_args(inner_factory, static_args)

    @functools.wraps(inner_factory)
    def factory(*args, **kwargs) -> _base.GradientTransformationExtraArgs:
        arguments = _inject.arguments_by_name(inner_factory, signature, args, kwargs)
        stateful = {name: value for name, value in arguments.items()
                    if name not in static and _stateful.is_stateful_schedule(value)}
        return _inject.with_stateful_schedules(inner_factory, arguments, stateful, signature,
                                               static, hyperparam_dtype)

    return factory
