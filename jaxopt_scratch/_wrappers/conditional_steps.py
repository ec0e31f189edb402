"""Step-gated wrappers: run the inner transform only at the steps a condition picks.

``conditionally_transform`` passes the updates through unchanged on the other
steps; ``conditionally_mask`` zeroes them. Both leave the inner state untouched
there and count every call. The inner update runs under ``lax.cond`` (see
:func:`~jaxopt_scratch._wrappers.conditional.cond_update`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._wrappers import conditional as _conditional


class ConditionFn(Protocol):
    """``should_transform_fn(step, **extra_args) -> bool scalar``.

    ``step`` is the number of earlier calls to ``update`` (int32 scalar); the
    extra keyword arguments of ``update`` are passed only with
    ``forward_extra_args=True``.
    """

    def __call__(self, step: jax.Array, **extra_args: Any) -> jax.typing.ArrayLike: ...


class ConditionallyTransformState(NamedTuple):
    """State of :func:`conditionally_transform` (optax's field order)."""

    inner_state: Any  # the inner transform's state; changes only at the chosen steps
    step: jax.Array  # calls to `update` so far (int32 scalar, saturating)


class ConditionallyMaskState(NamedTuple):
    """State of :func:`conditionally_mask` (optax's field order)."""

    step: jax.Array  # calls to `update` so far (int32 scalar, saturating)
    inner_state: Any  # the inner transform's state; changes only at the chosen steps


def _decide(should_transform_fn: ConditionFn, step: jax.Array, forward: bool,
            extra_args: dict) -> jax.Array:
    raw = should_transform_fn(step, **(extra_args if forward else {}))
    pred = jnp.asarray(raw)
    if pred.shape != () or not (pred.dtype == jnp.bool_ or jnp.issubdtype(pred.dtype, jnp.integer)):
        raise TypeError(
            "`should_transform_fn` must return a bool scalar for the step count, got "
            f"{raw!r} (dtype {pred.dtype}, shape {pred.shape})."
        )
    return pred.astype(jnp.bool_)


def _gated_update(inner, should_transform_fn, forward_extra_args, keep_updates):
    """The shared ``update``: ``(updates, inner_state, step) -> (updates, inner_state)``."""

    def run(updates, inner_state, step, params, extra_args):
        pred = _decide(should_transform_fn, step, forward_extra_args, extra_args)
        new, inner_state = _conditional.cond_update(pred, inner, updates, inner_state, params,
                                                    extra_args)
        if keep_updates:  # cond_update gives zeros when `pred` is False; put the updates back
            new = jax.tree.map(lambda n, u: jnp.where(pred, n, _tree_math.cast(u, n.dtype)),
                               new, updates)
        return new, inner_state

    return run


def _check(inner: Any, should_transform_fn: Any, who: str) -> None:
    _combine.check_transform(inner, f"`{who}` inner")
    _checks.check_callable("should_transform_fn", should_transform_fn,
                           "a function of the step count returning a bool")


def conditionally_transform(
    inner: _base.GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Applies ``inner`` at the steps where ``should_transform_fn`` is True; else passes through.

    .. math::

        u_t = \begin{cases} T(g_t) & c(t) \\ g_t & \text{otherwise}\end{cases}

    for the 0-based call count :math:`t`; the inner state changes only at the
    chosen steps. Use :func:`conditionally_mask` to get zeros instead of
    :math:`g_t` on the other steps.

    Args:
        inner: The transform to gate.
        should_transform_fn: :math:`c(t)`, a function of the int32 step count
            returning a bool scalar (it may close over traced values).
        forward_extra_args: Structural; also pass ``update``'s extra keyword
            arguments to ``should_transform_fn``.

    Returns:
        A transform whose state is :class:`ConditionallyTransformState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.conditionally_transform(jos.scale(10.0), lambda step: step % 2 == 1)
        >>> state = tx.init(jnp.zeros(1))
        >>> for _ in range(3):
        ...     u, state = tx.update(jnp.ones(1), state)
        ...     print(u)
        [1.]
        [10.]
        [1.]
    """
    _check(inner, should_transform_fn, "conditionally_transform")
    run = _gated_update(inner, should_transform_fn, forward_extra_args, keep_updates=True)

    def init_fn(params):
        return ConditionallyTransformState(inner_state=inner.init(params),
                                           step=_tree_math.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        new, inner_state = run(updates, state.inner_state, state.step, params, extra_args)
        return new, ConditionallyTransformState(inner_state, _tree_math.safe_increment(state.step))

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def conditionally_mask(
    inner: _base.GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Applies ``inner`` at the steps where ``should_transform_fn`` is True; else zero updates.

    .. math::

        u_t = \begin{cases} T(g_t) & c(t) \\ 0 & \text{otherwise}\end{cases}

    for the 0-based call count :math:`t`; the inner state changes only at the
    chosen steps, so the parameters stay where they are on the others. Use
    :func:`conditionally_transform` to pass :math:`g_t` through instead.

    Args:
        inner: The transform to gate.
        should_transform_fn: :math:`c(t)`, a function of the int32 step count
            returning a bool scalar (it may close over traced values).
        forward_extra_args: Structural; also pass ``update``'s extra keyword
            arguments to ``should_transform_fn``.

    Returns:
        A transform whose state is :class:`ConditionallyMaskState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.conditionally_mask(jos.sgd(0.5), lambda step: step >= 1)
        >>> state = tx.init(jnp.zeros(1))
        >>> for _ in range(2):
        ...     u, state = tx.update(jnp.ones(1), state)
        ...     print(u)
        [0.]
        [-0.5]

    .. note::
        A NaN or Inf in the updates on a skipped step never reaches the output
        (exact zeros), as in optax.
    """
    _check(inner, should_transform_fn, "conditionally_mask")
    run = _gated_update(inner, should_transform_fn, forward_extra_args, keep_updates=False)

    def init_fn(params):
        return ConditionallyMaskState(step=_tree_math.zero_count(), inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        new, inner_state = run(updates, state.inner_state, state.step, params, extra_args)
        return new, ConditionallyMaskState(_tree_math.safe_increment(state.step), inner_state)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)
