"""Composition: run transforms in sequence, or on a masked subset of the leaves."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import tree_math as _tree_math

MaskOrFn = Any  # a pytree of bools shaped like params, a function of params giving one, or None


def check_transform(tx: Any, where: str, *, example: str = "jos.scale_by_adam()") -> None:
    """Raises ``TypeError`` unless ``tx`` has ``init`` and ``update``; ``where`` names the argument."""
    if not (hasattr(tx, "init") and hasattr(tx, "update")):
        raise TypeError(
            f"{where} must be a gradient transformation with `init` and `update` "
            f"(for example `{example}`), got {tx!r}."
        )


def _check_state_length(state: Any, n: int, who: str) -> None:
    if not isinstance(state, (tuple, dict)) or len(state) != n:
        got = type(state).__name__ + (f" of length {len(state)}" if hasattr(state, "__len__") else "")
        raise ValueError(
            f"`{who}` holds {n} transforms but was given a state that is a {got}. "
            f"Pass the state returned by this chain's own `init`."
        )


def chain(*transforms: _base.GradientTransformation) -> _base.GradientTransformation:
    r"""Applies transforms one after the other: :math:`u = T_n(\dots T_1(g))`.

    The state is a tuple holding each transform's state in order. Foreign
    transforms (for example optax's) can be mixed in: extra keyword arguments
    are forwarded only to transforms whose ``update`` accepts them.

    Args:
        *transforms: The transforms, applied left to right.

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is a tuple of the inner states.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.chain(jos.clip(1.0), jos.scale_by_learning_rate(0.1))
        >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
        >>> print(u)
        [-0.1   0.05]
    """
    for i, tx in enumerate(transforms):
        check_transform(tx, f"`chain` argument {i}")

    def init_fn(params):
        return tuple(tx.init(params) for tx in transforms)

    def update_fn(updates, state, params=None, **extra_args):
        _check_state_length(state, len(transforms), "chain")
        new_state = []
        for tx, s in zip(transforms, state):
            updates, s = _base.call_update(tx, updates, s, params, extra_args)
            new_state.append(s)
        return updates, tuple(new_state)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def named_chain(*transforms: tuple[str, _base.GradientTransformation]) -> _base.GradientTransformation:
    r"""Like :func:`chain`, but the state is a dict keyed by the given names.

    Naming the states makes checkpoints robust: adding or reordering a transform
    does not shift the others' states, so a restore by key still finds them.

    Args:
        *transforms: ``(name, transform)`` pairs; names must be unique strings.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.named_chain(("clip", jos.clip(1.0)), ("adam", jos.adam(1e-3)))
        >>> sorted(tx.init(jnp.zeros(2)).keys())
        ['adam', 'clip']
    """
    names = []
    for i, item in enumerate(transforms):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(
                f"`named_chain` argument {i} must be a `(name, transform)` pair with a "
                f"string name, got {item!r}."
            )
        check_transform(item[1], f"`named_chain` transform {item[0]!r}")
        names.append(item[0])
    if len(set(names)) != len(names):
        raise ValueError(f"`named_chain` names must be unique, got {names}.")

    def init_fn(params):
        return {name: tx.init(params) for name, tx in transforms}

    def update_fn(updates, state, params=None, **extra_args):
        _check_state_length(state, len(transforms), "named_chain")
        missing = [n for n in names if n not in state]
        if missing:
            raise ValueError(
                f"`named_chain`: the state has no entry for {missing}; it holds "
                f"{sorted(state)}. Pass the state returned by this chain's own `init`."
            )
        new_state = {}
        for name, tx in transforms:
            updates, new_state[name] = _base.call_update(tx, updates, state[name], params, extra_args)
        return updates, new_state

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


class MaskedNode(NamedTuple):
    """Stands in, inside a masked inner state, for a leaf the mask leaves out."""


class MaskedState(NamedTuple):
    """State of :func:`masked`."""

    inner_state: Any  # the inner transform's state over the selected leaves only


def is_mask_fn(mask: MaskOrFn) -> bool:
    """Whether ``mask`` is a function of the params rather than a tree of bools.

    A callable *pytree* (an equinox module, a dataclass registered as a pytree
    with ``__call__``) is a tree of bools, not a function: only a callable whose
    every pytree leaf is callable (a plain function is its own single leaf)
    counts as a mask function, as in optax.
    """
    if not callable(mask):
        return False
    flags = jax.tree.leaves(jax.tree.map(callable, mask))
    return bool(flags) and all(flags)


def resolve_mask(mask: MaskOrFn, params: Any, who: str) -> Any:
    """Evaluates a mask function on ``params`` and checks the mask's structure."""
    m = mask(params) if is_mask_fn(mask) else mask
    _tree_math.check_prefix(
        m, params, f"`{who}`: the `mask` tree does not match the params/updates tree.",
        ("mask", "params"), "Give one bool per leaf (or a function of params returning such a tree).",
    )
    return m


def mask_tree(tree: Any, mask: Any) -> Any:
    """Keeps the leaves where ``mask`` is True; the others become :class:`MaskedNode`."""
    return jax.tree.map(lambda m, x: x if m else MaskedNode(), mask, tree, is_leaf=lambda x: x is None)


def unmask_tree(masked_values: Any, full: Any, mask: Any) -> Any:
    """Puts ``masked_values`` back where ``mask`` is True, ``full`` elsewhere."""
    return jax.tree.map(
        lambda m, new, old: new if m else old,
        mask, masked_values, full,
        is_leaf=lambda x: x is None or isinstance(x, MaskedNode),
    )


def masked(
    inner: _base.GradientTransformation,
    mask: MaskOrFn,
    *,
    mask_compatible_extra_args: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Applies ``inner`` only to the leaves where ``mask`` is True.

    Leaves where the mask is False pass through *unchanged* (as in optax): if
    ``inner`` is followed by :func:`scale_by_learning_rate`, those leaves still
    take a plain gradient step. To freeze leaves, use :func:`set_to_zero` under
    :func:`multi_transform` instead.

    Args:
        inner: The transform to apply to the selected leaves.
        mask: A pytree of bools with the params' structure (or a prefix of
            it), or a function of the params returning one. A callable pytree
            (an equinox module) is a tree of bools, not a function (see
            :func:`is_mask_fn`). Structural: it is never traced.
        mask_compatible_extra_args: Keyword-only; also mask every extra keyword
            argument of ``update`` whose tree structure is the updates' (for
            example a per-parameter ``grad=``), so ``inner`` sees it restricted
            to the same leaves. Others are passed unchanged.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(1)}
        >>> tx = jos.masked(jos.scale(0.5), {"w": True, "b": False})
        >>> u, _ = tx.update(params, tx.init(params))
        >>> print(u["w"], u["b"])
        [0.5 0.5] [1.]
    """
    check_transform(inner, "`masked` inner")

    def init_fn(params):
        if not jax.tree.leaves(params):
            # Nothing to mask: an empty tree, or the leafless stand-in for the params with
            # which `jos.tree.map_params` asks `init` where the params go (as optax does).
            return MaskedState(inner_state=inner.init(params))
        m = resolve_mask(mask, params, "masked")
        return MaskedState(inner_state=inner.init(mask_tree(params, m)))

    def update_fn(updates, state, params=None, **extra_args):
        from_params = params is not None and is_mask_fn(mask)
        m = resolve_mask(mask, params if from_params else updates, "masked")
        if from_params:
            resolve_mask(m, updates, "masked")  # a mask built from params must also fit the updates
        masked_params = None if params is None else mask_tree(params, m)
        if mask_compatible_extra_args:
            structure = jax.tree.structure(updates)
            extra_args = {k: mask_tree(v, m) if jax.tree.structure(v) == structure else v
                          for k, v in extra_args.items()}
        new, inner_state = _base.call_update(
            inner, mask_tree(updates, m), state.inner_state, masked_params, extra_args
        )
        return unmask_tree(new, updates, m), MaskedState(inner_state=inner_state)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


