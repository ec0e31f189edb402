"""Conditional wrappers: run an inner optimizer only when a traced condition holds.

``apply_if_finite`` skips steps whose updates are not finite. The helper
``cond_update`` (shared with ``MultiSteps`` and ``join_transforms``) uses
``lax.cond``: outside ``vmap`` the untaken branch is never run; under ``vmap``
with a batched predicate JAX turns it into a select that runs both branches
and keeps one result (same values, more work).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math

# --- helpers shared by the wrappers -----------------------------------------------------------------------------


def cond_update(
    pred: jax.Array,
    tx: _base.GradientTransformation,
    updates: _base.Updates,
    state: _base.OptState,
    params: _base.Params,
    extra_args: dict,
) -> tuple[_base.Updates, _base.OptState]:
    """Runs ``tx.update`` if ``pred``, else returns zero updates and ``state`` unchanged.

    Uses ``lax.cond`` when ``pred`` is traced (under ``jit``): outside ``vmap``
    the inner update is not computed when ``pred`` is False (it is traced once,
    to learn its output types). A concrete ``pred`` (eager execution) picks the
    branch in Python, which avoids compiling a fresh ``cond`` on every call.
    """
    run = functools.partial(_base.call_update, tx, params=params, extra_args=extra_args)
    out_avals = jax.eval_shape(lambda u, s: run(updates=u, state=s), updates, state)

    def step(operands):
        u, s = operands
        new_u, new_s = run(updates=u, state=s)
        return _tree_math.cast_like(new_u, out_avals[0]), _tree_math.cast_like(new_s, out_avals[1])

    def hold(operands):
        _, s = operands
        zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), out_avals[0])
        return zeros, _tree_math.cast_like(s, out_avals[1])

    if not isinstance(pred, jax.core.Tracer):  # eager: plain Python, no cond to compile
        return step((updates, state)) if bool(pred) else hold((updates, state))
    return jax.lax.cond(pred, step, hold, (updates, state))


def all_finite(tree: Any) -> jax.Array:
    """True iff every element of every leaf is finite (True for an empty tree)."""
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return functools.reduce(jnp.logical_and, flags, jnp.asarray(True))



# --- apply_if_finite ----------------------------------------------------------------------------


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`."""

    notfinite_count: jax.Array  # bad steps in a row (int32); 0 after a good or let-through step
    last_finite: jax.Array  # whether the last step's updates were all finite (bool scalar)
    total_notfinite: jax.Array  # bad steps since init (int32, saturating)
    inner_state: Any  # the inner optimizer's state, untouched by rejected steps


def apply_if_finite(
    inner: _base.GradientTransformation,
    max_consecutive_errors: jax.typing.ArrayLike,
) -> _base.GradientTransformation:
    r"""Skips steps whose incoming updates contain NaN or Inf.

    A bad step returns zero updates and keeps the inner state as it was (the
    inner update is not even computed, outside ``vmap``). After
    ``max_consecutive_errors`` bad steps in a row, the next bad step is let
    through to the inner optimizer so that the failure surfaces, as in optax;
    unlike optax, the consecutive count then restarts from 0, so later bad
    steps are skipped again instead of all going through.

    Args:
        inner: The optimizer to guard.
        max_consecutive_errors: :math:`n \ge 0` bad steps in a row that are
            skipped; may be traced.

    Returns:
        A transform whose state is :class:`ApplyIfFiniteState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.apply_if_finite(jos.sgd(0.1), max_consecutive_errors=2)
        >>> state = tx.init(jnp.zeros(1))
        >>> u, state = tx.update(jnp.array([jnp.nan]), state)
        >>> print(u, int(state.notfinite_count), int(state.total_notfinite))
        [0.] 1 1
        >>> u, state = tx.update(jnp.array([1.0]), state)
        >>> print(u, int(state.notfinite_count), int(state.total_notfinite))
        [-0.1] 0 1
    """
    _combine.check_transform(inner, "`apply_if_finite` inner")
    _checks.check_nonnegative("max_consecutive_errors", max_consecutive_errors)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=_tree_math.zero_count(),
            last_finite=jnp.asarray(True),
            total_notfinite=_tree_math.zero_count(),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = all_finite(updates)
        in_a_row = jnp.where(finite, 0, _tree_math.safe_increment(state.notfinite_count))
        give_up = in_a_row > jnp.asarray(max_consecutive_errors).astype(jnp.int32)
        new_updates, inner_state = cond_update(
            finite | give_up, inner, updates, state.inner_state, params, extra_args)
        total = jnp.where(finite, state.total_notfinite,
                          _tree_math.safe_increment(state.total_notfinite))
        return new_updates, ApplyIfFiniteState(
            notfinite_count=jnp.where(give_up, 0, in_a_row).astype(jnp.int32),
            last_finite=finite,
            total_notfinite=total,
            inner_state=inner_state,
        )

    return _base.GradientTransformation(init_fn, update_fn)


