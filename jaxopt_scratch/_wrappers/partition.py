"""Wrappers that route or freeze groups of leaves.

``multi_transform`` (alias ``partition``) gives each labelled group of leaves
its own optimizer; ``freeze`` zeroes chosen leaves.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math

Labels = Any  # a pytree of labels (a prefix of params), or a function of params returning one


# --- multi_transform / partition / freeze -------------------------------------------------------


class MultiTransformState(NamedTuple):
    """State of :func:`multi_transform` (and :func:`partition`)."""

    inner_states: dict  # label -> MaskedState of that label's optimizer over its leaves


def _resolve_labels(param_labels: Labels, tree: Any, known: Any) -> Any:
    labels = param_labels(tree) if callable(param_labels) else param_labels
    _tree_math.check_prefix(  # a prefix of the params tree is allowed, as in masked
        labels, tree, "`param_labels` does not match the params tree.", ("param_labels", "params"),
        "Give one label per leaf (or per subtree), or a function of params returning such a tree.",
    )
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
        _combine.check_transform(tx, f"`transforms[{label!r}]`")

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


