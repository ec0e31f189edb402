"""Wrappers that route or freeze groups of leaves.

``partition`` (alias ``multi_transform``) gives each labelled group of leaves
its own optimizer; ``freeze`` zeroes chosen leaves; ``selective_transform``
runs one optimizer on the leaves that are not frozen.
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


class PartitionState(NamedTuple):
    """State of :func:`partition` (also called :func:`multi_transform`)."""

    inner_states: dict  # label -> MaskedState of that label's optimizer over its leaves


# optax's older name for the same class (``optax.MultiTransformState is optax.PartitionState``).
MultiTransformState = PartitionState


def _resolve_labels(param_labels: Labels, tree: Any, known: Any) -> Any:
    labels = param_labels(tree) if _combine.is_mask_fn(param_labels) else param_labels
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


def partition(
    transforms: Mapping[Hashable, _base.GradientTransformation],
    param_labels: Labels,
    *,
    mask_compatible_extra_args: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Applies a different optimizer to each labelled group of parameters.

    .. math:: u_\ell = T_{\mathrm{label}(\ell)}(g_\ell) \quad \text{for each leaf } \ell

    Each optimizer sees only its own leaves (the others are :class:`MaskedNode`),
    keeps its own state and its own step count.

    Args:
        transforms: A dict ``{label: transform}``; labels are any hashables.
        param_labels: A pytree of labels with the params' structure (or a prefix
            of it), or a function of the params returning one. Structural. In
            ``update`` a function is called on the updates, as in optax.
        mask_compatible_extra_args: Keyword-only; restrict every extra keyword
            argument shaped like the updates to each group's leaves too (see
            :func:`masked`).

    Returns:
        A transform whose state is :class:`PartitionState` (also exported as
        ``MultiTransformState``, optax's older name).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones(2), "b": jnp.ones(1)}
        >>> tx = jos.partition({"fast": jos.sgd(1.0), "slow": jos.sgd(0.1)},
        ...                    {"w": "fast", "b": "slow"})
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

        return _combine.masked(transforms[label], mask_fn,
                               mask_compatible_extra_args=mask_compatible_extra_args)

    inner = {label: masked_for(label) for label in transforms}

    def init_fn(params):
        if jax.tree.leaves(params):  # not for the leafless stand-in of `jos.tree.map_params`
            _resolve_labels(param_labels, params, transforms)
        return PartitionState({label: tx.init(params) for label, tx in inner.items()})

    def update_fn(updates, state, params=None, **extra_args):
        new_states = {}
        for label, tx in inner.items():
            updates, new_states[label] = _base.call_update(
                tx, updates, state.inner_states[label], params, extra_args)
        return updates, PartitionState(new_states)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


# optax's older name for the same function (``optax.multi_transform is optax.partition``).
multi_transform = partition


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




def selective_transform(
    optimizer: _base.GradientTransformation,
    *,
    freeze_mask: _combine.MaskOrFn,
) -> _base.GradientTransformationExtraArgs:
    r"""Runs ``optimizer`` on the leaves that are not frozen; frozen leaves get zero updates.

    .. math::

        u_\ell = \begin{cases} 0 & \text{freeze\_mask}_\ell \\
                                T(g)_\ell & \text{otherwise} \end{cases}

    Unlike :func:`freeze` chained with an optimizer, the optimizer here never
    sees the frozen leaves: it keeps no state for them (less memory) and a
    global statistic inside it (a global norm clip) ignores them.

    Args:
        optimizer: The optimizer for the trainable leaves.
        freeze_mask: Keyword-only; True freezes. A bool (all or nothing), a
            pytree of bools with the params' structure (or a prefix of it), or
            a function of the params returning one. Structural.

    Returns:
        A :func:`partition` into ``"train"`` and ``"freeze"``; its state is
        :class:`PartitionState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"embed": jnp.ones(2), "head": jnp.ones(2)}
        >>> tx = jos.selective_transform(jos.adam(0.1), freeze_mask={"embed": True, "head": False})
        >>> state = tx.init(params)
        >>> print(state.inner_states["train"].inner_state[0].mu["embed"])   # no state kept
        MaskedNode()
        >>> u, _ = tx.update(params, state, params)
        >>> print(u["embed"], u["head"])
        [0. 0.] [-0.1 -0.1]
    """

    def labels(params):
        frozen = freeze_mask(params) if _combine.is_mask_fn(freeze_mask) else freeze_mask
        return jax.tree.map(lambda m: "freeze" if m else "train", frozen)

    return partition({"train": optimizer, "freeze": _base.set_to_zero()}, labels)
