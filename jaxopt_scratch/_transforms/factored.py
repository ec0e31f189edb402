"""Factored second moments (Adafactor): row and column averages instead of one per entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class FactoredState(NamedTuple):
    """State of :func:`scale_by_factored_rms` (optax's fields and leaf shapes).

    Each leaf uses either ``v_row``/``v_col`` (factored) or ``v`` (not); the
    unused fields hold a placeholder of shape ``(1,)``, as in optax.
    """

    count: jax.Array  # updates seen so far (int32 scalar, saturating)
    v_row: _base.Updates  # factored leaves: average of |g|^2 over the column axis d0, >= float32
    v_col: _base.Updates  # factored leaves: average of |g|^2 over the row axis d1
    v: _base.Updates  # other leaves: EMA of |g|^2 per entry, shaped like the leaf


def _decay_rate_pow(step: jax.typing.ArrayLike, exponent: jax.typing.ArrayLike = 0.8) -> jax.Array:
    """Adafactor's increasing decay ``1 - (step + 1)**-exponent``, in float32.

    ``step`` is 0-based (minus any offset): the first update uses decay 0, so
    the average starts at the first squared gradient.
    """
    t = jnp.asarray(step).astype(jnp.float32) + 1
    return 1 - t ** -jnp.asarray(exponent, jnp.float32)


def _factored_dims(shape: tuple[int, ...], factored: bool,
                   min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """``(d1, d0)``: the second-largest and largest axes, or ``None`` if not factored.

    Ties keep the earlier axis first (a stable sort), as NumPy does for small arrays.
    """
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape, kind="stable")
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: jax.typing.ArrayLike = 0.8,
    step_offset: jax.typing.ArrayLike = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: jax.typing.ArrayLike = 1e-30,
    decay_rate_fn: Callable[[jax.Array, jax.typing.ArrayLike], jax.Array] = _decay_rate_pow,
) -> _base.GradientTransformation:
    r"""Divides updates by a factored estimate of their root mean square (Adafactor).

    At step :math:`k = 0, 1, \dots` (minus ``step_offset``) the decay is
    :math:`\hat\beta_k` = ``decay_rate_fn(k, decay_rate)``. For a leaf whose two
    largest axes :math:`d_1` (rows) and :math:`d_0` (columns) both have at least
    ``min_dim_size_to_factor`` entries, with :math:`G = |g_t|^2 + \epsilon`:

    .. math::

        R_t &= \hat\beta_k R_{t-1} + (1 - \hat\beta_k)\, \operatorname{mean}_{d_0} G, \qquad
        C_t = \hat\beta_k C_{t-1} + (1 - \hat\beta_k)\, \operatorname{mean}_{d_1} G \\
        u_t &= g_t \big/ \sqrt{R_t C_t / \operatorname{mean}(R_t)}

    (memory :math:`n + m` instead of :math:`nm`); any other leaf keeps a full
    :math:`V_t = \hat\beta_k V_{t-1} + (1 - \hat\beta_k) G` and gets
    :math:`u_t = g_t / \sqrt{V_t}`. ``factored``, ``min_dim_size_to_factor``
    and ``decay_rate_fn`` are structural (they choose shapes); ``decay_rate``,
    ``step_offset`` and ``epsilon`` may be traced.

    Args:
        factored: Structural; ``False`` keeps a full second moment for every leaf.
        decay_rate: The exponent :math:`c` of the default schedule
            :math:`1 - (k+1)^{-c}`; any real for a custom ``decay_rate_fn``.
        step_offset: Subtracted from the step count (to restart the schedule
            when fine-tuning).
        min_dim_size_to_factor: Structural int; factor only when the
            second-largest axis has at least this many entries.
        epsilon: :math:`\epsilon \ge 0`, added to every squared gradient.
        decay_rate_fn: Structural; ``(step, decay_rate) -> decay``; the default
            is :math:`1 - (k+1)^{-c}` with :math:`c` = ``decay_rate``.

    Returns:
        A transform whose state is :class:`FactoredState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_factored_rms(min_dim_size_to_factor=2, epsilon=0.0)
        >>> g = jnp.array([[1.0, 2.0], [2.0, 4.0]])  # rank one: factoring is exact
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(u)  # g / |g| entrywise at the first step
        [[1. 1.]
         [1. 1.]]
        >>> print(state.v_row.shape, state.v_col.shape, state.v.shape)
        (2,) (2,) (1,)

    References:
        Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost <https://arxiv.org/abs/1804.04235>`_, 2018 (Algorithm 4, eq. 7);
        Zhai et al., `Scaling Vision Transformers <https://arxiv.org/abs/2106.04560>`_,
        2021 (a capped decay schedule, via ``decay_rate_fn``).
    """
    if not isinstance(min_dim_size_to_factor, (int, np.integer)) or isinstance(
            min_dim_size_to_factor, bool):
        raise TypeError(
            f"`min_dim_size_to_factor` must be a Python int (it decides state shapes, so it "
            f"cannot be traced), got {min_dim_size_to_factor!r}. Under `inject_hyperparams`, "
            f"pass `static_args=('min_dim_size_to_factor',)`.")
    _checks.check_interval("decay_rate", decay_rate)
    _checks.check_interval("step_offset", step_offset)
    _checks.check_nonnegative("epsilon", epsilon, "Use a tiny positive value such as 1e-30.")
    _checks.check_callable("decay_rate_fn", decay_rate_fn,
                           "a function `(step, decay_rate) -> decay`")

    def dims(x):
        return _factored_dims(tuple(x.shape), factored, min_dim_size_to_factor)

    def state_shapes(shape):
        """``(v_row, v_col, v)`` shapes for a leaf of ``shape`` ((1,) where unused)."""
        found = _factored_dims(tuple(shape), factored, min_dim_size_to_factor)
        if found is None:
            return (1,), (1,), tuple(shape)
        d1, d0 = found
        return (tuple(n for i, n in enumerate(shape) if i != d0),
                tuple(n for i, n in enumerate(shape) if i != d1), (1,))

    def init_fn(params):
        _tree_math.check_float_params(params)

        def rows_cols_full(p):
            dtype = jnp.finfo(_tree_math.moment_dtype(p.dtype)).dtype
            return tuple(jnp.zeros(shape, dtype) for shape in state_shapes(p.shape))

        triples = jax.tree.map(rows_cols_full, params)
        return _unzip(_tree_math.zero_count(), params, triples)

    def check_shapes(updates, state):
        if jax.tree.structure(updates) != jax.tree.structure(state.v):
            _tree_math.check_same_structure(updates, state.v, "scale_by_factored_rms")  # raises
        leaves = jax.tree_util.tree_flatten_with_path(updates)[0]
        for (path, g), *held in zip(leaves, *map(jax.tree.leaves, state[1:])):
            have = tuple(tuple(x.shape) for x in held)
            if have != state_shapes(g.shape):
                raise ValueError(
                    f"`scale_by_factored_rms`: the updates leaf {jax.tree_util.keystr(path)} has "
                    f"shape {tuple(g.shape)}, but the state built by `init` holds (v_row, v_col, "
                    f"v) of shapes {have} there, made for another shape. Call `init` with params "
                    f"shaped like the gradients you pass to `update`.")

    def step_of(count):
        offset = jnp.asarray(step_offset)
        if jnp.issubdtype(offset.dtype, jnp.integer):  # a static dtype check, not a value check
            return count - offset.astype(count.dtype)
        return count.astype(offset.dtype) - offset

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args  # optax requires params here but never reads them
        check_shapes(updates, state)
        decay = jnp.asarray(decay_rate_fn(step_of(state.count), decay_rate))

        def leaf(g, v_row, v_col, v):
            g_wide = _tree_math.upcast(g)
            sq = _tree_math.abs_sq(g_wide) + jnp.asarray(epsilon, v.dtype)
            if dims(g) is None:
                v = _tree_math.update_moment(sq, v, decay)
                return _tree_math.cast(g_wide * jax.lax.rsqrt(v).astype(g_wide.dtype), g.dtype), (
                    v_row, v_col, v)
            d1, d0 = dims(g)
            v_row = _tree_math.update_moment(jnp.mean(sq, axis=d0), v_row, decay)
            v_col = _tree_math.update_moment(jnp.mean(sq, axis=d1), v_col, decay)
            row_axis = d1 - 1 if d1 > d0 else d1  # d1's position once d0 is gone
            row_factor = jax.lax.rsqrt(v_row / jnp.mean(v_row, axis=row_axis, keepdims=True))
            col_factor = jax.lax.rsqrt(v_col)
            scale = jnp.expand_dims(row_factor, d0) * jnp.expand_dims(col_factor, d1)
            return _tree_math.cast(g_wide * scale.astype(g_wide.dtype), g.dtype), (v_row, v_col, v)

        results = jax.tree.map(leaf, updates, state.v_row, state.v_col, state.v)
        out = jax.tree.map(lambda _, r: r[0], updates, results)
        triples = jax.tree.map(lambda _, r: r[1], updates, results)
        return out, _unzip(_tree_math.safe_increment(state.count), updates, triples)

    return _base.GradientTransformation(init_fn, update_fn)


def _unzip(count: jax.Array, like: _base.Params, triples: _base.Params) -> FactoredState:
    """Splits a tree (shaped like ``like``) of ``(v_row, v_col, v)`` triples into a state."""

    def pick(i):
        return jax.tree.map(lambda _, t: t[i], like, triples)

    return FactoredState(count=count, v_row=pick(0), v_col=pick(1), v=pick(2))
