"""Wrappers that route, freeze, guard or switch whole optimizers.

``multi_transform`` (alias ``partition``) gives each labelled group of leaves
its own optimizer; ``freeze`` zeroes chosen leaves; ``apply_if_finite`` skips
steps whose updates are not finite; ``join_transforms`` hands over from one
optimizer to the next at given step counts. Numeric arguments (error budgets,
boundaries) may be traced. Where a wrapper skips work it uses ``lax.cond`` or
``lax.switch``: outside ``vmap`` the untaken branch is never run; under
``vmap`` with a batched predicate JAX turns it into a select that runs every
branch and keeps one result (same values, more work).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch import _base, _checks, _combine, _schedules, _tree

Labels = Any  # a pytree of labels (a prefix of params), or a function of params returning one


# --- shared helpers -----------------------------------------------------------------------------


def cast_tree_like(tree: Any, avals: Any) -> Any:
    """Casts each leaf of ``tree`` to the dtype of the matching ``avals`` leaf (array or shape)."""
    return jax.tree.map(lambda x, a: jnp.asarray(x).astype(a.dtype), tree, avals)


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
        return cast_tree_like(new_u, out_avals[0]), cast_tree_like(new_s, out_avals[1])

    def hold(operands):
        _, s = operands
        zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), out_avals[0])
        return zeros, cast_tree_like(s, out_avals[1])

    if not isinstance(pred, jax.core.Tracer):  # eager: plain Python, no cond to compile
        return step((updates, state)) if bool(pred) else hold((updates, state))
    return jax.lax.cond(pred, step, hold, (updates, state))


def all_finite(tree: Any) -> jax.Array:
    """True iff every element of every leaf is finite (True for an empty tree)."""
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return functools.reduce(jnp.logical_and, flags, jnp.asarray(True))


# --- multi_transform / partition / freeze -------------------------------------------------------


class MultiTransformState(NamedTuple):
    """State of :func:`multi_transform` (and :func:`partition`)."""

    inner_states: dict  # label -> MaskedState of that label's optimizer over its leaves


def _resolve_labels(param_labels: Labels, tree: Any, known: Any) -> Any:
    labels = param_labels(tree) if callable(param_labels) else param_labels
    try:  # a prefix of the params tree is allowed, as in masked
        jax.tree.map(lambda _lab, _p: None, labels, tree, is_leaf=lambda x: x is None)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"`param_labels` does not match the params tree.\n"
            f"  param_labels: {jax.tree.structure(labels)}\n"
            f"  params:       {jax.tree.structure(tree)}\n"
            f"Give one label per leaf (or per subtree), or a function of params returning such a tree."
        ) from err
    used = set(jax.tree.leaves(labels))
    missing = used - set(known)
    if missing:
        raise ValueError(
            f"`param_labels` uses the labels {sorted(map(str, missing))} that have no "
            f"optimizer in `transforms` (which has {sorted(map(str, known))}). Add a "
            f"transform for each label, e.g. `jos.set_to_zero()` to freeze a group."
        )
    return labels


def multi_transform(
    transforms: Mapping[Hashable, _base.GradientTransformation],
    param_labels: Labels,
) -> _base.GradientTransformation:
    r"""Applies a different optimizer to each labelled group of parameters.

    .. math:: u_\ell = T_{\mathrm{label}(\ell)}(g_\ell) \quad \text{for each leaf } \ell

    Each optimizer sees only its own leaves (the others are :class:`MaskedNode`),
    keeps its own state and its own step count.

    Args:
        transforms: A dict ``{label: transform}``; labels are any hashables.
        param_labels: A pytree of labels with the params' structure (or a prefix
            of it), or a function of the params returning one. Structural. In
            ``update`` a function is called on the updates, as in optax.

    Returns:
        A transform whose state is :class:`MultiTransformState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(1)}
        >>> tx = jos.multi_transform({"fast": jos.sgd(1.0), "slow": jos.sgd(0.1)},
        ...                          {"w": "fast", "b": "slow"})
        >>> u, _ = tx.update(params, tx.init(params), params)
        >>> print(u["w"], u["b"])
        [-1. -1.] [-0.1]

    References:
        optax's ``multi_transform`` / ``partition``; for GANs and for "Adam for the
        weights, SGD for the biases" setups.
    """
    if not isinstance(transforms, Mapping) or not transforms:
        raise TypeError(
            f"`transforms` must be a non-empty dict {{label: transform}}, got {transforms!r}."
        )
    for label, tx in transforms.items():
        _combine._check_transform(tx, f"`transforms[{label!r}]`")

    def masked_for(label):
        def mask_fn(tree):
            labels = _resolve_labels(param_labels, tree, transforms)
            return jax.tree.map(lambda lab: lab == label, labels)

        return _combine.masked(transforms[label], mask_fn)

    inner = {label: masked_for(label) for label in transforms}

    def init_fn(params):
        _resolve_labels(param_labels, params, transforms)
        return MultiTransformState({label: tx.init(params) for label, tx in inner.items()})

    def update_fn(updates, state, params=None, **extra_args):
        new_states = {}
        for label, tx in inner.items():
            updates, new_states[label] = _base.call_update(
                tx, updates, state.inner_states[label], params, extra_args)
        return updates, MultiTransformState(new_states)

    return _base.GradientTransformation(init_fn, update_fn)


# optax's newer name for the same function; both names are public.
partition = multi_transform


def freeze(mask: _combine.MaskOrFn) -> _base.GradientTransformation:
    r"""Zeroes the updates of the leaves where ``mask`` is True: :math:`u_\ell = 0`.

    ``masked(set_to_zero(), mask)``: frozen leaves never move, the others pass
    through unchanged (chain it before or after an optimizer).

    Args:
        mask: A bool (all or nothing), a pytree of bools with the params'
            structure (or a prefix of it), or a function of params returning one.

    Returns:
        A transform whose state is :class:`MaskedState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"embed": jnp.ones(2), "head": jnp.ones(2)}
        >>> tx = jos.chain(jos.freeze({"embed": True, "head": False}), jos.sgd(0.5))
        >>> u, _ = tx.update(params, tx.init(params), params)
        >>> print(u["embed"], u["head"])
        [0. 0.] [-0.5 -0.5]
    """
    return _combine.masked(_base.set_to_zero(), mask)


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
    _combine._check_transform(inner, "`apply_if_finite` inner")
    _checks.check_nonnegative("max_consecutive_errors", max_consecutive_errors)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=_tree.zero_count(),
            last_finite=jnp.asarray(True),
            total_notfinite=_tree.zero_count(),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = all_finite(updates)
        in_a_row = jnp.where(finite, 0, _tree.safe_increment(state.notfinite_count))
        give_up = in_a_row > jnp.asarray(max_consecutive_errors).astype(jnp.int32)
        new_updates, inner_state = cond_update(
            finite | give_up, inner, updates, state.inner_state, params, extra_args)
        total = jnp.where(finite, state.total_notfinite,
                          _tree.safe_increment(state.total_notfinite))
        return new_updates, ApplyIfFiniteState(
            notfinite_count=jnp.where(give_up, 0, in_a_row).astype(jnp.int32),
            last_finite=finite,
            total_notfinite=total,
            inner_state=inner_state,
        )

    return _base.GradientTransformation(init_fn, update_fn)


# --- join_transforms ----------------------------------------------------------------------------


class JoinTransformsState(NamedTuple):
    """State of :func:`join_transforms`."""

    count: jax.Array  # updates applied so far (int32, saturating); selects the active transform
    inner_states: tuple  # every transform's state; only the active one advances


def join_transforms(
    transforms: Sequence[_base.GradientTransformation],
    boundaries: Sequence[jax.typing.ArrayLike] | jax.Array,
) -> _base.GradientTransformation:
    r"""Switches from one optimizer to the next at given step counts.

    .. math:: u_t = T_i(g_t) \quad \text{for } b_i \le k < b_{i+1}, \qquad b_0 = 0

    where :math:`k` is the 0-based count of updates already applied. Every
    inner state is kept; only the active transform's state advances, so each
    optimizer's own step count (and its schedules) start at 0 when it takes
    over. Implemented with ``lax.switch``: outside ``vmap`` only the active
    optimizer runs; under ``vmap`` over the boundaries all of them run and one
    result is kept.

    Seed 004's "start with Adam for fast progress and finish with SGD" is
    ``join_transforms([jos.adam(1e-3), jos.sgd(1e-2)], [1000])``.

    Args:
        transforms: :math:`n` transforms.
        boundaries: :math:`n - 1` non-decreasing step counts (a sequence or a
            1-D array; each may be traced).

    Returns:
        A transform whose state is :class:`JoinTransformsState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.join_transforms([jos.sgd(1.0), jos.sgd(0.1)], [2])
        >>> g, state = jnp.ones(1), tx.init(jnp.zeros(1))
        >>> for _ in range(3):
        ...     u, state = tx.update(g, state)
        ...     print(u)
        [-1.]
        [-1.]
        [-0.1]
    """
    transforms = list(transforms)
    if not transforms:
        raise ValueError("`transforms` of `join_transforms` must hold at least one transform.")
    for i, tx in enumerate(transforms):
        _combine._check_transform(tx, f"`join_transforms` transform {i}")
    bounds = _schedules.stack_boundaries(boundaries, len(transforms) - 1, "join_transforms")

    def init_fn(params):
        return JoinTransformsState(count=_tree.zero_count(),
                                   inner_states=tuple(tx.init(params) for tx in transforms))

    def update_fn(updates, state, params=None, **extra_args):
        active = jnp.sum(state.count >= bounds.astype(jnp.int32)).astype(jnp.int32)
        old = state.inner_states

        def branch(i):
            def run(operands):
                u, states = operands
                new_u, new_s = _base.call_update(transforms[i], u, states[i], params, extra_args)
                states = states[:i] + (cast_tree_like(new_s, states[i]),) + states[i + 1:]
                return _tree.cast_like(new_u, u), states

            return run

        branches = [branch(i) for i in range(len(transforms))]
        if isinstance(active, jax.core.Tracer):
            new_updates, inner_states = jax.lax.switch(active, branches, (updates, old))
        else:  # eager: run the active transform directly instead of compiling a switch
            new_updates, inner_states = branches[int(active)]((updates, old))
        return new_updates, JoinTransformsState(_tree.safe_increment(state.count), inner_states)

    return _base.GradientTransformation(init_fn, update_fn)
