r"""An opt-in flat-buffer path for models with very many small leaves.

On a CPU every leaf costs a few kernels per step (XLA does not fuse the writes
of the new parameters and both moments into one kernel there) plus the
dispatch of its buffers; with thousands of 100-float leaves that fixed cost,
not memory traffic, is the step time. :func:`flatten` runs the wrapped
transform on one concatenated vector per dtype instead, so the optimizer's
arithmetic is a handful of kernels whatever the number of leaves.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math

_MAX_OFFSET = np.iinfo(np.int32).max
# Leaves of one shape share a runtime start per block of this many leaves. A leaf's
# slice is then "block start + a constant below _BLOCK * size", so one shape costs at
# most _BLOCK distinct kernels to compile (a constant start per leaf would cost one
# kernel per leaf: minutes for thousands of leaves), and the state carries one int32
# scalar per block (each a buffer that every step must hand back: about 4 us each).
_BLOCK = 32


class FlattenState(NamedTuple):
    """State of :func:`flatten`."""

    inner_state: Any  # the inner transform's state over a tuple of flat vectors, one per dtype
    offsets: tuple  # per dtype, int32 scalars: where each block of same-shaped leaves starts


class _Group(NamedTuple):
    """The leaves of one dtype, in the order they sit in their flat vector."""

    order: tuple  # leaf indices (tree order numbers), sorted by shape
    place: dict  # leaf index -> (block number, start relative to the block)
    block_starts: tuple  # absolute start of every block (Python ints)
    size: int  # elements in the flat vector


class _Layout(NamedTuple):
    """How a tree maps onto the flat vectors (pure Python, rebuilt at every trace)."""

    treedef: Any
    shapes: tuple  # shape of every leaf, in tree order
    groups: tuple  # ((dtype name, _Group), ...), sorted by dtype name


def _group(indices: list[int], shapes: tuple) -> _Group:
    order = sorted(indices, key=lambda i: shapes[i])  # stable: same-shaped leaves keep tree order
    place, block_starts = {}, []
    start = block_start = in_block = 0
    previous = None
    for i in order:
        if shapes[i] != previous or in_block == _BLOCK:
            block_starts.append(start)
            block_start, in_block, previous = start, 0, shapes[i]
        place[i] = (len(block_starts) - 1, start - block_start)
        in_block += 1
        start += int(np.prod(shapes[i], dtype=np.int64))
    return _Group(tuple(order), place, tuple(block_starts), start)


def _layout(tree: Any) -> _Layout:
    leaves, treedef = jax.tree.flatten(tree)
    shapes = tuple(np.shape(x) for x in leaves)
    by_dtype: dict[str, list[int]] = {}
    for i, x in enumerate(leaves):
        by_dtype.setdefault(jnp.result_type(x).name, []).append(i)
    groups = tuple((name, _group(idx, shapes)) for name, idx in sorted(by_dtype.items()))
    for name, group in groups:
        if group.size > _MAX_OFFSET:
            raise ValueError(
                f"`flatten`: the {name} leaves hold {group.size} elements in all, more than an "
                f"int32 offset can address. Flatten only the small leaves, for example with "
                f"`jos.partition({{'small': jos.flatten(tx), 'large': tx}}, labels)`."
            )
    return _Layout(treedef, shapes, groups)


def _pack(tree: Any, layout: _Layout) -> tuple:
    """One vector per dtype, the leaves raveled and concatenated in :attr:`_Group.order`."""
    leaves = jax.tree.leaves(tree)
    return tuple(
        jnp.concatenate([jnp.ravel(leaves[i]) for i in g.order]) if len(g.order) > 1
        else jnp.ravel(leaves[g.order[0]])
        for _, g in layout.groups
    )


def _unpack(flat: tuple, layout: _Layout, offsets: tuple) -> Any:
    """The inverse of :func:`_pack`: slices at runtime starts, reshaped, in tree order."""
    out: list[Any] = [None] * len(layout.shapes)
    for vector, (_, group), starts in zip(flat, layout.groups, offsets):
        for i in group.order:
            block, relative = group.place[i]
            start = starts[block] + np.int32(relative)
            size = int(np.prod(layout.shapes[i], dtype=np.int64))
            out[i] = jax.lax.dynamic_slice(vector, (start,), (size,)).reshape(layout.shapes[i])
    return layout.treedef.unflatten(out)


def _offsets(layout: _Layout) -> tuple:
    return tuple(tuple(jnp.asarray(s, jnp.int32) for s in g.block_starts) for _, g in layout.groups)


def flatten(inner: _base.GradientTransformation) -> _base.GradientTransformation:
    r"""Runs ``inner`` on the leaves concatenated into one vector per dtype.

    .. math::

        u = \mathrm{unflatten}\bigl(T(\mathrm{concat}_i\, \mathrm{vec}(g_i))\bigr)

    For an elementwise ``inner`` (Adam, RMSProp, SGD, weight decay, ...) the
    numbers are those of ``inner`` on the tree; for transforms that reduce over
    all leaves (``clip_by_global_norm``) they agree to float rounding. Per-leaf
    transforms (:func:`scale_by_trust_ratio`, ``clip_by_block_rms``) would see
    one block per dtype instead of one per leaf: do not wrap those.

    When it pays: on a CPU each leaf costs a fixed few microseconds per step
    (a few kernels and the dispatch of its buffers), so for thousands of small
    leaves the flat step is much faster. For large leaves it loses: it copies
    the gradients into the flat vector every step. Mixing both, flatten only the
    small ones: ``partition({"small": flatten(tx), "large": tx}, labels)``.
    Same-shaped leaves sit next to each other in the vector, and the state
    holds the start of every block of up to 32 of them as an int32 scalar, so
    XLA compiles at most 32 unflattening kernels per leaf shape, not one per
    leaf (constant offsets make thousands of leaves take minutes to compile).

    Opting in changes the state's structure: the moments are flat vectors, not
    trees shaped like the params, so masks and sharding annotations that follow
    the params do not apply inside. Put masked transforms outside, for example
    ``chain(flatten(scale_by_adam()), add_decayed_weights(wd, mask), scale_by_learning_rate(lr))``.
    Unlike ``optax.flatten``, leaves of different dtypes go to different
    vectors, so each keeps its own dtype.

    Args:
        inner: The transform to run on the flat vectors.

    Returns:
        A transform whose state is :class:`FlattenState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(3)}
        >>> tx = jos.flatten(jos.adam(0.1))
        >>> state = tx.init(params)
        >>> print(state.inner_state[0].mu[0].shape)  # one vector for all seven floats
        (7,)
        >>> u, state = tx.update(params, state, params)
        >>> print(u["w"])  # the first Adam step is -lr * sign(g)
        [[-0.1 -0.1]
         [-0.1 -0.1]]
    """
    _combine.check_transform(inner, "`flatten` inner")

    def init_fn(params):
        _tree_math.check_float_params(params)
        layout = _layout(params)
        return FlattenState(inner_state=inner.init(_pack(params, layout)), offsets=_offsets(layout))

    def update_fn(updates, state, params=None, **extra_args):
        layout = _layout(updates)
        got = tuple(len(g.block_starts) for _, g in layout.groups)
        want = tuple(len(o) for o in state.offsets)
        if got != want:
            raise ValueError(
                f"`flatten`: the updates make {got} blocks of leaves per dtype but the state was "
                f"built for {want}. Call `init` with params of the same structure, dtypes and "
                f"shapes as the gradients you pass to `update`."
            )
        packed_params = None if params is None else _pack(params, layout)
        new, inner_state = _base.call_update(
            inner, _pack(updates, layout), state.inner_state, packed_params, extra_args
        )
        return _unpack(new, layout, state.offsets), FlattenState(inner_state, state.offsets)

    return _base.GradientTransformation(init_fn, update_fn)
