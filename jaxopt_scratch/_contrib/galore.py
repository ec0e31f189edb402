r"""GaLore: run an optimizer on low-rank projections of the matrix gradients."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import linear_algebra as _linear_algebra
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay

# The thin SVD, one matrix at a time under vmap (a jos.sweep): jaxlib 0.10.2's batched CPU
# LAPACK kernels can deadlock (see `one_matrix_at_a_time`).
_thin_svd = _linear_algebra.one_matrix_at_a_time(
    lambda mat: jnp.linalg.svd(mat, full_matrices=False))


class GaLoreDimensionNumbers(NamedTuple):
    """Which axes of a weight form the ``(reduction, output)`` matrix that GaLore projects.

    Every axis must be named in one of the two (GaLore has no batch axes).
    """

    reduction_axis: Sequence[int] | int = 0  # axis or axes of the input side
    output_axis: Sequence[int] | int = 1  # axis or axes of the output side


class GaLoreState(NamedTuple):
    """State of :func:`scale_by_galore`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    base_optimizer_state: _base.OptState  # the base optimizer's state on the projected tree
    projector: _base.Updates  # P per leaf, (m, r) or (n, r), >= float32; (0, 0) if unprojected


def _is_dims(x: Any) -> bool:
    return x is None or isinstance(x, GaLoreDimensionNumbers)


def _matrix_maps(x: jax.Array, dims: GaLoreDimensionNumbers):
    if x.ndim < 2:
        raise ValueError(f"GaLore projects matrices: a leaf of shape {x.shape} has rank < 2; "
                         f"give it `None` in `weight_dimension_numbers`.")

    def norm(ax):
        return tuple(a % x.ndim for a in ((ax,) if isinstance(ax, int) else ax))

    red, out = norm(dims.reduction_axis), norm(dims.output_axis)
    if set(red) & set(out) or len(set(red) | set(out)) != x.ndim:
        raise ValueError(
            f"`weight_dimension_numbers`: reduction axes {red} and output axes {out} must be "
            f"disjoint and cover every axis of the leaf of shape {x.shape}.")
    order = red + out
    m, n = math.prod(x.shape[a] for a in red), math.prod(x.shape[a] for a in out)
    moved = tuple(x.shape[a] for a in order)
    inverse = tuple(np.argsort(order))
    return (m, n), (lambda y: y.transpose(order).reshape(m, n)), (
        lambda y: y.reshape(moved).transpose(inverse))


def scale_by_galore(
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: jax.typing.ArrayLike = 1.0,
    base_optimizer: _base.GradientTransformation | None = None,
    weight_dimension_numbers: Any = None,
) -> _base.GradientTransformation:
    r"""GaLore: project each matrix gradient onto its top-``rank`` singular subspace, optimise there.

    For a matrix gradient :math:`G \in \mathbb{R}^{m \times n}` with :math:`m \ge n`
    (else the transposed roles), every ``update_proj_gap`` steps
    :math:`P \leftarrow U_{:, :r}` from :math:`G = U S V^\top`; then

    .. math:: R_t = P^\top G_t, \qquad u_t = \alpha\, P\, \rho(R_t)

    where :math:`\rho` is ``base_optimizer`` (default :func:`scale_by_adam`) and
    :math:`\alpha` is ``scale``. The base optimizer's moments live in the small
    :math:`r \times n` space; other leaves take :math:`\rho` unprojected.

    Args:
        rank: Static :math:`r \ge 1` (capped at :math:`\min(m, n)`).
        update_proj_gap: Static int :math:`\ge 1`, steps between SVDs.
        scale: :math:`\alpha`, may be traced.
        base_optimizer: A gradient-only transform (it never sees params).
        weight_dimension_numbers: ``None`` (project the 2-D leaves), one
            :class:`GaLoreDimensionNumbers` (every leaf of rank >= 2), a pytree
            of them (``None`` = do not project), or a function of the params.

    Returns:
        A transform whose state is :class:`GaLoreState`.

    References:
        Zhao et al., `GaLore: Memory-Efficient LLM Training by Gradient Low-Rank
        Projection <https://arxiv.org/abs/2403.03507>`_, 2024 (Algorithm 2).

    .. note::
        Under ``vmap`` (e.g. a ``jos.sweep`` over its hyperparameters) the SVD
        runs one matrix at a time (a ``lax.map``, see
        ``_core.linear_algebra.one_matrix_at_a_time``), never as one batched
        call: jaxlib 0.10.2's batched CPU LAPACK kernels can deadlock XLA's
        intra-op thread pool. The numbers are those of the unbatched SVD.
    """
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise TypeError(f"`rank` must be a Python int, got {rank!r}.")
    if rank < 1:
        raise ValueError(f"`rank` must be positive, got {rank}.")
    if isinstance(update_proj_gap, bool) or not isinstance(update_proj_gap, int) \
            or update_proj_gap < 1:
        raise ValueError(f"`update_proj_gap` must be a positive int, got {update_proj_gap!r}.")
    _checks.check_interval("scale", scale)
    base = _adaptive_adam.scale_by_adam() if base_optimizer is None else base_optimizer
    _combine.check_transform(base, "`base_optimizer`")

    def dims_of(tree):
        wdn = weight_dimension_numbers
        if wdn is None:
            return jax.tree.map(lambda p: GaLoreDimensionNumbers() if p.ndim == 2 else None, tree)
        if callable(wdn):
            return wdn(tree)
        if isinstance(wdn, GaLoreDimensionNumbers):
            return jax.tree.map(lambda p: wdn if p.ndim >= 2 else None, tree)
        return wdn

    def leaf_dims(tree):
        return jax.tree.structure(tree).flatten_up_to(dims_of(tree))

    def plan(x, dims):
        """(m, n), effective rank, left?, to-matrix, back: static per leaf."""
        (m, n), to_matrix, back = _matrix_maps(x, dims)
        return m, n, min(rank, m, n), m >= n, to_matrix, back

    def init_fn(params):
        leaves, treedef = jax.tree.flatten(params)
        projectors, proxies = [], []
        for p, dims in zip(leaves, leaf_dims(params)):
            # Projectors in at least float32, like every state leaf (optax: the params' dtype).
            dt = _tree_math.moment_dtype(p.dtype)
            if dims is None:
                projectors.append(jnp.zeros((0, 0), dt))
                proxies.append(jnp.zeros_like(p))
                continue
            m, n, r, left, _, _ = plan(p, dims)
            projectors.append(jnp.zeros((m, r) if left else (n, r), dt))
            proxies.append(jnp.zeros((r, n) if left else (m, r), p.dtype))
        return GaLoreState(count=_tree_math.zero_count(),
                           base_optimizer_state=base.init(treedef.unflatten(proxies)),
                           projector=treedef.unflatten(projectors))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        if jax.tree.structure(updates) != jax.tree.structure(state.projector):
            # Structure only: projectors have their own shapes (the base optimizer checks those).
            raise ValueError(
                f"`scale_by_galore`: the updates tree does not match the state built by `init`.\n"
                f"  updates: {jax.tree.structure(updates)}\n"
                f"  state:   {jax.tree.structure(state.projector)}\n"
                f"Call `init` with params of the same structure as the gradients you pass to "
                f"`update`.")
        leaves, treedef = jax.tree.flatten(updates)
        dims = leaf_dims(updates)
        refresh = state.count % update_proj_gap == 0
        low, projectors = [], []
        for g, dim, proj in zip(leaves, dims, treedef.flatten_up_to(state.projector)):
            if dim is None:
                low.append(g)
                projectors.append(proj)
                continue
            _, _, r, left, to_matrix, _ = plan(g, dim)
            mat = to_matrix(g)

            def fresh(mat=mat, r=r, left=left, dtype=proj.dtype):
                u, _, vh = _thin_svd(mat.astype(dtype))
                return u[:, :r] if left else vh[:r, :].T

            proj = jax.lax.cond(refresh, fresh, lambda proj=proj: proj)
            projectors.append(proj)
            pg = proj.astype(g.dtype)  # project in the gradient's dtype, as optax
            low.append(pg.T @ mat if left else mat @ pg)
        low_updates, base_state = base.update(treedef.unflatten(low), state.base_optimizer_state,
                                              None)
        out = []
        for u, g, dim, proj in zip(treedef.flatten_up_to(low_updates), leaves, dims, projectors):
            if dim is None:
                out.append(u)
                continue
            _, _, _, left, _, back = plan(g, dim)
            pg = proj.astype(u.dtype)
            full = back(pg @ u if left else u @ pg.T)
            out.append((jnp.asarray(scale, full.dtype) * full).astype(g.dtype))
        return treedef.unflatten(out), GaLoreState(
            count=_tree_math.safe_increment(state.count), base_optimizer_state=base_state,
            projector=treedef.unflatten(projectors))

    return _base.GradientTransformation(init_fn, update_fn)


def galore(
    learning_rate: _base.ScalarOrSchedule,
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: jax.typing.ArrayLike = 1.0,
    base_optimizer: _base.GradientTransformation | None = None,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: _combine.MaskOrFn = None,
    weight_dimension_numbers: Any = None,
) -> _base.GradientTransformation:
    r"""GaLore with decoupled weight decay in the full space (AdamW-like by default).

    :math:`\theta_t = \theta_{t-1} - \eta_t (u_t + \lambda \theta_{t-1})` with
    :math:`u_t` from :func:`scale_by_galore`.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        rank: See :func:`scale_by_galore`.
        update_proj_gap: See :func:`scale_by_galore`.
        scale: See :func:`scale_by_galore`.
        base_optimizer: See :func:`scale_by_galore` (default ``scale_by_adam()``).
        weight_decay: :math:`\lambda \ge 0`.
        mask: Which leaves are decayed.
        weight_dimension_numbers: See :func:`scale_by_galore`.

    Returns:
        ``chain(scale_by_galore, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
        >>> tx = jos.contrib.galore(0.1, rank=1)
        >>> state = tx.init(params)
        >>> state[0].projector["w"].shape  # one column: the top singular direction
        (4, 1)

    References:
        Zhao et al., `GaLore: Memory-Efficient LLM Training by Gradient Low-Rank
        Projection <https://arxiv.org/abs/2403.03507>`_, 2024.
    """
    return _combine.chain(
        scale_by_galore(rank, update_proj_gap, scale, base_optimizer, weight_dimension_numbers),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
