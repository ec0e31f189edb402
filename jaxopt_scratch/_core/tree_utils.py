r"""Arithmetic, reductions and constructors over whole pytrees (``jos.tree``, as ``optax.tree``).

Same names, arguments and results as ``optax.tree`` 0.2.8. Leaves may be arrays,
NumPy arrays or Python scalars. Binary operations promote dtypes as JAX's
``"standard"`` mode does (as optax's do), also when the caller runs with
``jax_numpy_dtype_promotion="strict"``: ``add(bfloat16 tree, float32 tree)`` gives
float32 leaves instead of raising.

.. note::
    :func:`norm` with ``ord=2`` (the default) is the library's overflow-safe
    global norm, computed in at least float32: a bfloat16 tree gets a float32
    norm (optax's is bfloat16), and a float32 tree whose squares overflow still
    gets a finite norm (optax's is ``inf``).
"""

from __future__ import annotations

import builtins
import functools
import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import tree_math as _tree_math

_standard = functools.partial(jax.numpy_dtype_promotion, "standard")


def _is_none(x: Any) -> bool:
    return x is None


def add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    r"""Leafwise sum of two or more trees: :math:`x + y + \dots`.

    Args:
        tree_x: The first tree.
        tree_y: The second tree, with the structure of ``tree_x``.
        *other_trees: More trees to add, with the same structure.

    Returns:
        A tree with the structure of ``tree_x``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.add({"a": jnp.ones(2)}, {"a": jnp.ones(2)}, {"a": jnp.ones(2)})["a"])
        [3. 3.]
    """
    with _standard():
        return jax.tree.map(lambda *xs: functools.reduce(operator.add, xs), tree_x, tree_y,
                            *other_trees)


def sub(tree_x: Any, tree_y: Any) -> Any:
    r"""Leafwise difference :math:`x - y`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.sub({"a": jnp.ones(2)}, {"a": jnp.full(2, 3.0)})["a"])
        [-2. -2.]
    """
    with _standard():
        return jax.tree.map(operator.sub, tree_x, tree_y)


def mul(tree_x: Any, tree_y: Any) -> Any:
    r"""Leafwise product :math:`x \odot y`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.mul({"a": jnp.array([1.0, 2.0])}, {"a": jnp.array([3.0, 4.0])})["a"])
        [3. 8.]
    """
    with _standard():
        return jax.tree.map(operator.mul, tree_x, tree_y)


def div(tree_x: Any, tree_y: Any) -> Any:
    r"""Leafwise quotient :math:`x / y`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.div({"a": jnp.array([1.0, 2.0])}, {"a": jnp.array([4.0, 4.0])})["a"])
        [0.25 0.5 ]
    """
    with _standard():
        return jax.tree.map(operator.truediv, tree_x, tree_y)


def scale(scalar: jax.typing.ArrayLike, tree: Any) -> Any:
    r"""Multiplies every leaf by one scalar: :math:`s\,x`.

    Args:
        scalar: The factor (may be a tracer).
        tree: The tree to scale.

    Returns:
        A tree with the structure of ``tree``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.scale(0.5, {"a": jnp.array([2.0, 4.0])})["a"])
        [1. 2.]
    """
    with _standard():
        return jax.tree.map(lambda x: scalar * x, tree)


def add_scale(tree_x: Any, scalar: jax.typing.ArrayLike, tree_y: Any) -> Any:
    r"""Leafwise :math:`x + s\,y`; a ``None`` leaf of ``tree_x`` stays ``None``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.add_scale({"a": jnp.ones(2)}, 0.5, {"a": jnp.full(2, 4.0)})["a"])
        [3. 3.]
    """
    with _standard():
        s = jnp.asarray(scalar)
        return jax.tree.map(lambda x, y: None if x is None else x + s * y, tree_x, tree_y,
                            is_leaf=_is_none)


def _vdot_leaf(a: Any, b: Any) -> jax.Array:
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.shape != b.shape:
        raise ValueError(
            f"`vdot`: leaves must have the same shape, got {a.shape} and {b.shape}. Pass two "
            f"trees of the same structure and shapes."
        )
    return jnp.vdot(a, b, precision=jax.lax.Precision.HIGHEST)


def vdot(tree_x: Any, tree_y: Any) -> jax.typing.ArrayLike:
    r"""Inner product of two trees: :math:`\sum_i \bar x_i\, y_i` over every element.

    The first tree is conjugated, as in :func:`jax.numpy.vdot`; the products are
    computed at the highest matmul precision.

    Returns:
        A scalar (the integer ``0`` for trees without leaves).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.tree.vdot({"a": jnp.array([1, 2])}, {"a": jnp.array([3, 4])})
        Array(11, dtype=int32)
    """
    with _standard():
        vdots = jax.tree.map(_vdot_leaf, tree_x, tree_y)
        return jax.tree.reduce(operator.add, vdots, initializer=0)


def sum(tree: Any, associative_reduction: bool = False) -> jax.typing.ArrayLike:
    r"""Sum of every element of every leaf.

    Args:
        tree: A pytree.
        associative_reduction: Whether to add the per-leaf sums as a balanced tree
            (``jax.tree.reduce_associative``), which can compile faster for many
            leaves and may round differently.

    Returns:
        A scalar (the integer ``0`` for trees without leaves).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.sum({"a": jnp.ones(3), "b": 2.0}))
        5.0
    """
    with _standard():
        sums = jax.tree.map(jnp.sum, tree)
        if associative_reduction:
            return jax.tree.reduce_associative(operator.add, sums, identity=0)
        return jax.tree.reduce(operator.add, sums, initializer=0)


def _extremum(tree: Any, reduce: Callable, combine: Callable, initial: float) -> Any:
    with _standard():
        values = jax.tree.map(lambda x: None if jnp.size(x) == 0 else reduce(x), tree)
        return jax.tree.reduce(combine, values, initializer=initial)


def max(tree: Any) -> jax.typing.ArrayLike:
    r"""Largest element over every leaf (empty leaves are skipped; ``-inf`` if none).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.max({"a": jnp.array([1.0, 5.0]), "b": jnp.zeros(0)}))
        5.0
    """
    return _extremum(tree, jnp.max, jnp.maximum, -float("inf"))


def min(tree: Any) -> jax.typing.ArrayLike:
    r"""Smallest element over every leaf (empty leaves are skipped; ``inf`` if none).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.min({"a": jnp.array([1.0, 5.0]), "b": jnp.zeros(0)}))
        1.0
    """
    return _extremum(tree, jnp.min, jnp.minimum, float("inf"))


def size(tree: Any) -> int:
    r"""Total number of elements over every leaf (a Python int).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.tree.size({"a": jnp.ones((2, 3)), "b": 1.0})
        7
    """
    return builtins.sum(int(jnp.size(x)) for x in jax.tree.leaves(tree))


def conj(tree: Any) -> Any:
    r"""Leafwise complex conjugate.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.conj({"a": jnp.array([1 + 2j])})["a"])
        [1.-2.j]
    """
    return jax.tree.map(jnp.conj, tree)


def real(tree: Any) -> Any:
    r"""Leafwise real part.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.real({"a": jnp.array([1 + 2j])})["a"])
        [1.]
    """
    return jax.tree.map(jnp.real, tree)


def norm(tree: Any, ord: str | float | None = None,
         squared: bool = False) -> jax.Array:
    r"""Norm of a whole tree, as if its leaves were one flat vector.

    ``ord=None`` or ``2``: :math:`\sqrt{\sum_i |x_i|^2}` (the library's
    overflow-safe global norm, in at least float32); ``1``: :math:`\sum_i |x_i|`;
    ``inf`` (or ``"inf"``, ``"infinity"``): :math:`\max_i |x_i|`.

    Args:
        tree: A pytree.
        ord: The order of the norm: ``None``, ``1``, ``2`` or ``inf``.
        squared: Return the norm squared.

    Returns:
        A scalar array.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tree = {"a": jnp.array([3.0]), "b": jnp.array([-4.0])}
        >>> print(jos.tree.norm(tree), jos.tree.norm(tree, ord=1), jos.tree.norm(tree, ord="inf"))
        5.0 7.0 4.0
    """
    if ord is None or ord == 2:
        value = _tree_math.global_norm(jax.tree.map(jnp.asarray, tree))
    elif ord == 1:
        value = sum(jax.tree.map(jnp.abs, tree))
    elif ord == jnp.inf or ord in ("inf", "infinity"):
        value = max(jax.tree.map(jnp.abs, tree))
    else:
        raise ValueError(f"`ord` must be None, 1, 2 or inf (or 'inf'), got {ord!r}.")
    value = jnp.asarray(value)
    return _tree_math.abs_sq(value) if squared else value


def batch_shape(tree: Any, shape: tuple[int, ...] = ()) -> Any:
    r"""Broadcasts every leaf to ``shape + leaf.shape`` (adds leading batch axes).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.tree.batch_shape({"a": jnp.ones(3)}, (2,))["a"].shape
        (2, 3)
    """
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)


def zeros_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    r"""A tree of zeros shaped like ``tree`` (in ``dtype`` if given, else each leaf's).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.zeros_like({"a": jnp.ones(2)})["a"])
        [0. 0.]
    """
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def ones_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    r"""A tree of ones shaped like ``tree`` (in ``dtype`` if given, else each leaf's).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.ones_like({"a": jnp.zeros(2)})["a"])
        [1. 1.]
    """
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def full_like(tree: Any, fill_value: jax.typing.ArrayLike,
              dtype: jax.typing.DTypeLike | None = None) -> Any:
    r"""A tree shaped like ``tree`` filled with ``fill_value``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.full_like({"a": jnp.zeros(2)}, 7.0)["a"])
        [7. 7.]
    """
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def clip(tree: Any, min_value: jax.typing.ArrayLike | None = None,
         max_value: jax.typing.ArrayLike | None = None) -> Any:
    r"""Clips every element to ``[min_value, max_value]`` (``None``: no bound on that side).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.clip({"a": jnp.array([-2.0, 0.5, 3.0])}, -1.0, 1.0)["a"])
        [-1.   0.5  1. ]
    """
    with _standard():
        return jax.tree.map(lambda x: jnp.clip(x, min_value, max_value), tree)


def where(condition: jax.typing.ArrayLike, tree_x: Any, tree_y: Any) -> Any:
    r"""Leafwise ``jnp.where(condition, x, y)`` (``condition`` broadcasts onto every leaf).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> print(jos.tree.where(False, {"a": jnp.ones(2)}, {"a": jnp.zeros(2)})["a"])
        [0. 0.]
    """
    with _standard():
        return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def allclose(a: Any, b: Any, rtol: jax.typing.ArrayLike = 1e-05,
             atol: jax.typing.ArrayLike = 1e-08, equal_nan: bool = False) -> Any:
    r"""Whether every leaf of ``a`` is close to the matching leaf of ``b`` (``jnp.allclose``).

    Returns:
        ``True`` for trees without leaves, else a boolean scalar array.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> bool(jos.tree.allclose({"a": jnp.ones(2)}, {"a": jnp.ones(2) + 1e-7}))
        True
    """
    with _standard():
        close = jax.tree.map(
            lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
        return functools.reduce(operator.and_, jax.tree.leaves(close), True)
