"""The gradient-transformation contract: types, the empty state and trivial transforms."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math

Params = Any  # a pytree of arrays
Updates = Any  # a pytree of arrays shaped like ``Params``
OptState = Any  # a pytree (usually a NamedTuple) of arrays
Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = jax.typing.ArrayLike | Schedule


def evaluate_schedule(fn: Schedule, count: jax.Array, name: str) -> jax.Array:
    """Calls a schedule and checks that it returned a scalar."""
    raw = fn(count)
    try:
        value = jnp.asarray(raw)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`{name}` must return a number for the step count, got {raw!r}."
        ) from err
    if not jnp.issubdtype(value.dtype, jnp.number) or jnp.iscomplexobj(value):
        raise TypeError(f"`{name}` must return a real number for the step count, got {raw!r}.")
    if value.shape != ():
        raise ValueError(
            f"`{name}` must return a scalar for a scalar step count, got shape "
            f"{value.shape}. Reduce or index the schedule's output."
        )
    return value


class InitFn(Protocol):
    """``init(params) -> state``."""

    def __call__(self, params: Params) -> OptState: ...


class UpdateFn(Protocol):
    """``update(updates, state, params=None, **extra_args) -> (updates, state)``."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pure pair of functions that turns gradients into updates.

    ``init(params)`` builds the state; ``update(updates, state, params=None,
    **extra_args)`` returns the transformed updates and the new state. Extra
    keyword arguments (such as ``value=`` or ``grad=``) are accepted and ignored
    by transforms that do not need them, so any transform can join a
    :func:`chain`. The pair is structurally an ``optax.GradientTransformation``,
    so either library's transforms can be chained by the other.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.GradientTransformation(lambda p: jos.EmptyState(),
        ...                                 lambda u, s, p=None: (u, s))
        >>> tx.update(jnp.ones(2), tx.init(jnp.ones(2)))[0]
        Array([1., 1.], dtype=float32)
    """

    init: InitFn
    update: UpdateFn


class EmptyState(NamedTuple):
    """State of a transform that keeps none."""


def init_empty_state(params: Params) -> EmptyState:
    """``init`` for stateless transforms; still rejects integer params."""
    _tree_math.check_float_params(params)
    return EmptyState()


def accepts_extra_args(update: Callable[..., Any]) -> bool:
    """Whether ``update`` takes ``**kwargs`` (ours do; a foreign transform may not)."""
    try:
        sig = inspect.signature(update)
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())


def call_update(
    tx: GradientTransformation, updates: Updates, state: OptState, params: Params, extra_args: dict
) -> tuple[Updates, OptState]:
    """Calls ``tx.update``, passing ``extra_args`` only if it can take them."""
    if extra_args and accepts_extra_args(tx.update):
        return tx.update(updates, state, params, **extra_args)
    return tx.update(updates, state, params)


def identity() -> GradientTransformation:
    r"""Returns the updates unchanged: :math:`u_t = g_t`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.identity()
        >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0]
        Array([ 1., -2.], dtype=float32)
    """

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


def set_to_zero() -> GradientTransformation:
    r"""Replaces every update by zero: :math:`u_t = 0` (freezes what it is applied to).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.set_to_zero()
        >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0]
        Array([0., 0.], dtype=float32)
    """

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def stateless(
    f: Callable[[Updates, Params | None], Updates],
) -> GradientTransformation:
    r"""Turns ``f(updates, params) -> updates`` into a transform with no state.

    Args:
        f: A pure function of the updates and the (possibly ``None``) params.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> double = jos.stateless(lambda u, p: jax.tree.map(lambda x: 2 * x, u))
        >>> double.update(jnp.array([1.0]), double.init(jnp.zeros(1)))[0]
        Array([2.], dtype=float32)
    """

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        return f(updates, params), state

    return GradientTransformation(init_empty_state, update_fn)
