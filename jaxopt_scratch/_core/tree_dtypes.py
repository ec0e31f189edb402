r"""Dtypes and random numbers over whole pytrees (``jos.tree.cast``, ``dtype``, ``random_like``, ...).

Same names, arguments and results as ``optax.tree`` 0.2.8.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math

_HANDLERS = (None, "promote", "highest", "lowest")


def cast(tree: Any, dtype: jax.typing.DTypeLike | None) -> Any:
    r"""Casts every leaf to ``dtype`` (``None``: returns ``tree`` unchanged).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.tree.cast({"a": jnp.ones(1)}, jnp.bfloat16)["a"].dtype
        dtype(bfloat16)
    """
    if dtype is None:
        return tree
    dtype = jnp.dtype(dtype)
    return jax.tree.map(lambda x: _tree_math.cast(jnp.asarray(x), dtype), tree)


def cast_like(tree: Any, other_tree: Any) -> Any:
    r"""Casts every leaf to the dtype of the matching leaf of ``other_tree``.

    Leaves of ``other_tree`` without a dtype (Python scalars) leave theirs as they are.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.tree.cast_like({"a": jnp.ones(1)}, {"a": jnp.ones(1, jnp.float16)})["a"].dtype
        dtype('float16')
    """
    return jax.tree.map(
        lambda x, o: _tree_math.cast(jnp.asarray(x), o.dtype) if hasattr(o, "dtype") else x,
        tree, other_tree)


def _ordered(a: Any, b: Any, lowest: bool) -> jnp.dtype:
    """The lower (or higher) of two dtypes when one promotes to the other."""
    joined = _tree_math.promote_types(a, b)
    if joined not in (jnp.dtype(a), jnp.dtype(b)):
        raise ValueError(
            f"`mixed_dtype_handler` cannot order {a} and {b}: neither promotes to the other. "
            f"Use `mixed_dtype_handler='promote'` instead."
        )
    higher = jnp.dtype(a) if joined == jnp.dtype(a) else jnp.dtype(b)
    lower = jnp.dtype(b) if higher == jnp.dtype(a) else jnp.dtype(a)
    return lower if lowest else higher


def dtype(tree: Any, mixed_dtype_handler: str | None = None) -> jax.typing.DTypeLike:
    r"""The dtype of a tree's leaves.

    Args:
        tree: A pytree (with no leaves, JAX's default float dtype is returned).
        mixed_dtype_handler: What to do when the leaves' dtypes differ: ``None``
            raises a ``ValueError``; ``"promote"`` returns their promotion;
            ``"highest"``/``"lowest"`` return the one the others promote to (or
            that promotes to the others), raising if they are not ordered.

    Returns:
        A dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tree = {"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1)}
        >>> jos.tree.dtype(tree, "lowest"), jos.tree.dtype(tree, "highest")
        (dtype('float16'), dtype('float32'))
    """
    if mixed_dtype_handler not in _HANDLERS:
        raise ValueError(
            f"`mixed_dtype_handler` must be one of {list(_HANDLERS)}, got {mixed_dtype_handler!r}."
        )
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]
    if mixed_dtype_handler is None:
        paths = jax.tree_util.tree_leaves_with_path(tree)
        odd = [f"{jax.tree_util.keystr(p) or '<root>'}: {d}"
               for (p, _), d in zip(paths, dtypes) if d != dtypes[0]]
        if odd:
            raise ValueError(
                f"The leaves of the tree have different dtypes: the first is {dtypes[0]}, but "
                f"{'; '.join(odd)}. Pass `mixed_dtype_handler='promote'`, 'highest' or 'lowest'."
            )
        return dtypes[0]
    if mixed_dtype_handler == "promote":
        return functools.reduce(_tree_math.promote_types, dtypes)
    lowest = mixed_dtype_handler == "lowest"
    return functools.reduce(lambda a, b: _ordered(a, b, lowest), dtypes)


def split_key_like(rng_key: jax.Array, target_tree: Any) -> Any:
    r"""One independent key per leaf of ``target_tree``, in a tree of its structure.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> keys = jos.tree.split_key_like(jax.random.key(0), {"a": jnp.ones(1), "b": jnp.ones(2)})
        >>> sorted(keys)
        ['a', 'b']
    """
    treedef = jax.tree.structure(target_tree)
    keys = jax.random.split(rng_key, treedef.num_leaves)
    return jax.tree.unflatten(treedef, list(keys))


def random_like(
    rng_key: jax.Array,
    target_tree: Any,
    sampler: Callable[..., jax.typing.ArrayLike] = jax.random.normal,
    dtype: jax.typing.DTypeLike | None = None,
) -> Any:
    r"""Random leaves shaped like ``target_tree``'s, drawn by ``sampler(key, shape, dtype)``.

    Each leaf gets its own key (:func:`split_key_like`) and keeps its sharding
    when ``sampler`` accepts ``out_sharding``.

    Args:
        rng_key: The key to split.
        target_tree: The tree whose leaves' shapes (and dtypes) to use.
        sampler: ``sampler(key, shape, dtype)``, by default ``jax.random.normal``.
        dtype: The dtype to draw in; ``None`` uses each leaf's.

    Returns:
        A tree with ``target_tree``'s structure.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> noise = jos.tree.random_like(jax.random.key(0), {"w": jnp.zeros((2, 3))})
        >>> noise["w"].shape
        (2, 3)
    """
    keys = split_key_like(rng_key, target_tree)
    try:
        takes_sharding = "out_sharding" in inspect.signature(sampler).parameters
    except (TypeError, ValueError):
        takes_sharding = False

    def leaf(x, key):
        dt = dtype or x.dtype
        if takes_sharding:
            return sampler(key, x.shape, dt, out_sharding=jax.typeof(x).sharding)
        return sampler(key, x.shape, dt)

    return jax.tree.map(leaf, target_tree, keys)


def unwrap_random_key_data(input_tree: Any) -> Any:
    r"""Replaces typed PRNG keys by their raw ``uint32`` data (to compare or print them).

    Examples:
        >>> import jax
        >>> import jaxopt_scratch as jos
        >>> jos.tree.unwrap_random_key_data({"k": jax.random.key(0)})["k"].dtype
        dtype('uint32')
    """

    def leaf(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x

    return jax.tree.map(leaf, input_tree)
