"""Per-example clipping for differentially private training: clip each example, then sum."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


def _check_batched(grads: Any, who: str) -> list[jax.Array]:
    """The leaves of ``grads``; raises unless all share a leading (batch) axis."""
    leaves = jax.tree.leaves(grads)
    if not leaves:
        raise ValueError(f"`{who}` needs at least one array in `grads`, got {grads!r}.")
    shapes = [jnp.shape(g) for g in leaves]
    if any(len(s) == 0 or s[0] != shapes[0][0] for s in shapes):
        raise ValueError(
            f"`{who}` expects every leaf of `grads` to carry the examples on axis 0 (one "
            f"gradient per example, e.g. from `jax.vmap(jax.grad(loss))`), with the same "
            f"number of examples in each; got shapes {jax.tree.map(jnp.shape, grads)}."
        )
    return leaves


def _as_float(g: jax.Array) -> jax.Array:
    """Integer gradients become float32 (optax's doctests pass integer arrays)."""
    g = jnp.asarray(g)
    return g if jnp.issubdtype(g.dtype, jnp.inexact) else g.astype(jnp.float32)


def per_example_global_norm_clip(
    grads: Any, l2_norm_clip: jax.typing.ArrayLike
) -> tuple[Any, jax.Array]:
    r"""Clips each example's gradient to global norm ``l2_norm_clip``, then sums over examples.

    .. math::

        \bar g = \sum_{n} g_n \min\Bigl(1,\ \frac{C}{\|g_n\|_2}\Bigr)

    where :math:`\|g_n\|_2` is the norm of example :math:`n`'s gradient over
    every leaf. The building block of DP-SGD (add noise to :math:`\bar g`, then
    divide by the batch size).

    Args:
        grads: A pytree whose leaves all have the examples on axis 0.
        l2_norm_clip: :math:`C \ge 0`; may be traced. ``inf`` clips nothing.

    Returns:
        ``(clipped_sum, num_clipped)``: the summed clipped gradients (a pytree
        without the batch axis, in each leaf's float dtype; integer leaves give
        float32) and the number of examples that were shrunk (int32 scalar).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> grads = [jnp.array([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0], [4.0, 0.0, 3.0]])]
        >>> total, n = jos.per_example_global_norm_clip(grads, 1.25)
        >>> print(total[0], int(n))   # each non-zero row has norm 5 and is scaled by 1/4
        [1.   0.75 1.75] 2

    References:
        Abadi et al., `Deep Learning with Differential Privacy
        <https://arxiv.org/abs/1607.00133>`_, 2016 (Algorithm 1).

    .. note::
        An example whose norm is 0, NaN, or ``inf`` with ``C = inf`` is kept
        with factor 1 (as optax's ``nan_to_num``); one with norm ``inf`` and a
        finite ``C`` gets factor 0. Norms are formed in at least float32
        without overflow, and each sum is accumulated in at least float32.
    """
    _checks.check_nonnegative("l2_norm_clip", l2_norm_clip)
    _check_batched(grads, "per_example_global_norm_clip")
    grads = jax.tree.map(_as_float, grads)
    norms = jax.vmap(_tree_math.global_norm)(grads)
    clip = jnp.asarray(l2_norm_clip, norms.dtype)
    over = norms > clip  # False for NaN norms, and for inf norms with an inf clip
    factors = jnp.where(over, clip / jnp.where(over, norms, jnp.ones_like(norms)), 1)

    def clipped_sum(g):
        wide = _tree_math.moment_dtype(g.dtype)
        total = jnp.tensordot(_tree_math.cast(factors, wide), _tree_math.cast(g, wide), axes=1)
        return _tree_math.cast(total, g.dtype)

    num_clipped = jnp.sum(factors < 1, dtype=jnp.int32)
    return jax.tree.map(clipped_sum, grads), num_clipped


def per_example_layer_norm_clip(
    grads: Any,
    global_l2_norm_clip: jax.typing.ArrayLike,
    uniform: bool = True,
) -> tuple[Any, Any]:
    r"""Clips each example's gradient leaf by leaf (per layer), then sums over examples.

    Leaf :math:`i` of :math:`K` (with :math:`D_i` numbers per example, out of
    :math:`D`) is clipped by :func:`per_example_global_norm_clip` to

    .. math::

        C_i = C/\sqrt{K} \quad (\texttt{uniform}) \qquad\text{or}\qquad
        C_i = C\,\sqrt{D_i / D},

    so that the clipped per-example gradient has global norm at most :math:`C`
    either way. With one leaf this equals :func:`per_example_global_norm_clip`.

    Args:
        grads: A pytree whose leaves all have the examples on axis 0.
        global_l2_norm_clip: :math:`C \ge 0`; may be traced.
        uniform: Structural; the same clip for every leaf (True) or a clip
            proportional to the square root of the leaf's share of the numbers.

    Returns:
        ``(clipped_sums, num_clipped)``: two pytrees shaped like ``grads``
        (without the batch axis): the summed clipped leaves, and per leaf the
        number of examples shrunk (int32 scalar).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> grads = {"a": jnp.array([[3.0], [0.5]]), "b": jnp.array([[4.0], [0.5]])}
        >>> total, n = jos.per_example_layer_norm_clip(grads, 2.0 ** 0.5)
        >>> print(total["a"], total["b"], int(n["a"]), int(n["b"]))   # each leaf to norm 1
        [1.5] [1.5] 1 1

    References:
        McMahan, Ramage, Talwar & Zhang, `Learning Differentially Private
        Recurrent Language Models <https://arxiv.org/abs/1710.06963>`_, 2018
        (per-layer clipping, section 3).
    """
    _checks.check_nonnegative("global_l2_norm_clip", global_l2_norm_clip)
    leaves = _check_batched(grads, "per_example_layer_norm_clip")
    clip = _as_float(global_l2_norm_clip)
    sizes = [math.prod(jnp.shape(g)[1:]) for g in leaves]  # numbers per example, static
    if uniform or sum(sizes) == 0:
        fractions = [1.0 / len(leaves)] * len(leaves)
    else:
        fractions = [s / sum(sizes) for s in sizes]
    treedef = jax.tree.structure(grads)
    results = [per_example_global_norm_clip(g, clip * f ** 0.5) for g, f in zip(leaves, fractions)]
    return (jax.tree.unflatten(treedef, [r[0] for r in results]),
            jax.tree.unflatten(treedef, [r[1] for r in results]))
