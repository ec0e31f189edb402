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


class TransformInitFn(Protocol):
    """``init(params) -> state``: builds a transform's first state from example params."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """``update(updates, state, params=None) -> (updates, state)``.

    Every update function of this library also takes ``**extra_args`` (see
    :class:`TransformUpdateExtraArgsFn`); this narrower type describes foreign
    transforms that do not.
    """

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]: ...


class TransformUpdateExtraArgsFn(Protocol):
    """``update(updates, state, params=None, **extra_args) -> (updates, state)``.

    Extra keyword arguments (``value=``, ``grad=``, ``value_fn=``, ...) carry
    what some transforms need besides the gradient, such as the loss for a line
    search. An update function ignores the ones it does not use, and declares
    the ones it needs as keyword-only arguments, so that a missing one fails
    with Python's own ``TypeError``.
    """

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

    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A :class:`GradientTransformation` whose ``update`` takes extra keyword arguments.

    ``update(updates, state, params=None, **extra_args)``: the extra arguments
    (for example ``value``, ``grad`` and ``value_fn`` for a line search) are
    passed by :func:`chain` and the other combinators to every transform of
    this type, and to any other transform whose ``update`` takes ``**kwargs``.
    Transforms that need an extra argument declare it keyword-only. Use
    :func:`with_extra_args_support` to make any transform accept (and ignore)
    extra arguments. Structurally an ``optax.GradientTransformationExtraArgs``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def update(updates, state, params=None, *, value, **extra_args):
        ...     return updates * value, state
        >>> tx = jos.GradientTransformationExtraArgs(jos.init_empty_state, update)
        >>> both = jos.chain(tx, jos.scale(2.0))
        >>> u, _ = both.update(jnp.ones(1), both.init(jnp.ones(1)), value=3.0)
        >>> print(u)
        [6.]
    """

    update: TransformUpdateExtraArgsFn


class EmptyState(NamedTuple):
    """State of a transform that keeps none."""


def init_empty_state(params: Params) -> EmptyState:
    """The ``init`` of a transform that keeps no state: returns :class:`EmptyState`.

    Args:
        params: Example parameters (only checked: leaves must be floating point).

    Returns:
        ``EmptyState()``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.init_empty_state({"w": jnp.zeros(2)})
        EmptyState()

    .. note::
        Unlike ``optax.init_empty_state``, integer or boolean params raise a
        ``TypeError`` here, as every ``init`` of this library does: an integer
        parameter cannot take a fractional step.
    """
    _tree_math.check_float_params(params)
    return EmptyState()


def accepts_extra_args(update: Callable[..., Any]) -> bool:
    """Whether ``update`` takes ``**kwargs`` (ours do; a foreign transform may not)."""
    try:
        sig = inspect.signature(update)
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())


def supports_extra_args(tx: Any) -> bool:
    """Whether combinators should pass extra keyword arguments to ``tx.update``.

    True for a :class:`GradientTransformationExtraArgs` (ours, or optax's, which
    is recognised by its class name since the library never imports optax) and
    for any transform whose ``update`` takes ``**kwargs``.
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return True
    if any(c.__name__ == "GradientTransformationExtraArgs" for c in type(tx).__mro__):
        return True
    return accepts_extra_args(tx.update)


def call_update(
    tx: GradientTransformation, updates: Updates, state: OptState, params: Params, extra_args: dict
) -> tuple[Updates, OptState]:
    """Calls ``tx.update``, passing ``extra_args`` only if it can take them."""
    if extra_args and supports_extra_args(tx):
        return tx.update(updates, state, params, **extra_args)
    return tx.update(updates, state, params)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    r"""Wraps ``tx`` so that its ``update`` accepts extra keyword arguments.

    A transform that already is a :class:`GradientTransformationExtraArgs` is
    returned as it is.

    Args:
        tx: Any gradient transformation.

    Returns:
        A :class:`GradientTransformationExtraArgs` with ``tx``'s state.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.with_extra_args_support(jos.scale(2.0))
        >>> print(tx.update(jnp.ones(1), tx.init(jnp.ones(1)), value=1.0)[0])
        [2.]

    .. note::
        ``optax.with_extra_args_support`` drops the extra arguments; here they
        still reach an inner ``update`` that takes ``**kwargs`` (every transform
        of this library does), so wrapping a chain that holds a line search
        keeps the line search working. A foreign ``update`` without
        ``**kwargs`` gets none, as in optax.
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx

    def update_fn(updates, state, params=None, **extra_args):
        return call_update(tx, updates, state, params, extra_args)

    return GradientTransformationExtraArgs(tx.init, update_fn)


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


def stateless_with_tree_map(
    f: Callable[[jax.Array, jax.Array | None], jax.Array],
) -> GradientTransformation:
    r"""Turns a per-array ``f(update, param) -> update`` into a stateless transform.

    Like :func:`stateless`, but ``f`` sees one leaf at a time: it is mapped over
    the updates and the params together, or called as ``f(update, None)`` on
    every leaf when ``update`` gets no params.

    Args:
        f: A pure function of one update array and its param array (or ``None``).

    Returns:
        A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.stateless_with_tree_map(lambda u, p: u if p is None else u * p)
        >>> params = {"w": jnp.array([2.0, 3.0])}
        >>> print(tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"])
        [2. 3.]
    """

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            return jax.tree.map(lambda u: f(u, None), updates), state
        return jax.tree.map(f, updates, params), state

    return GradientTransformation(init_empty_state, update_fn)
