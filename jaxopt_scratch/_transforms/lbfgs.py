r"""Quasi-Newton directions: L-BFGS's two-loop recursion over a ring buffer of curvature pairs."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import tree_utils as _tree_utils


class ScaleByLBFGSState(NamedTuple):
    """State of :func:`scale_by_lbfgs`."""

    count: jax.Array  # updates seen so far (int32 scalar); slot `count % memory_size` is next
    params: _base.Params  # the params of the previous update (zeros at first), >= float32
    updates: _base.Updates  # the incoming updates (gradients) of the previous update, same
    diff_params_memory: Any  # s_i = w_{i+1} - w_i, each leaf (memory_size, *shape), >= float32
    diff_updates_memory: Any  # y_i = g_{i+1} - g_i, same layout
    weights_memory: jax.Array  # rho_i = 1 / <y_i, s_i> (0 for empty slots), (memory_size,)


def _dot(a: Any, b: Any, dtype: Any) -> jax.Array:
    return jnp.real(jnp.asarray(_tree_utils.vdot(a, b))).astype(dtype)


def _axpy(alpha: jax.Array, x: Any, y: Any) -> Any:
    """``y + alpha * x`` leafwise, in ``y``'s dtypes."""
    return jax.tree.map(lambda a, b: b + jnp.asarray(alpha, b.dtype) * a.astype(b.dtype), x, y)


def precondition_by_lbfgs(
    updates: Any,
    diff_params_memory: Any,
    diff_updates_memory: Any,
    weights_memory: jax.Array,
    identity_scale: jax.Array,
    memory_idx: jax.Array,
) -> Any:
    r"""The two-loop recursion: :math:`H u` for the L-BFGS inverse-Hessian estimate :math:`H`.

    Slots are visited newest to oldest (first loop) and back (second loop),
    starting from ``memory_idx``, the oldest slot. Empty slots have weight 0 and
    change nothing.

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithm 7.4).
    """
    dt = weights_memory.dtype
    size = weights_memory.shape[0]
    order = (memory_idx + jnp.arange(size, dtype=memory_idx.dtype)) % size  # oldest to newest

    def pair(i):
        return jax.tree.map(lambda m: m[i], (diff_params_memory, diff_updates_memory))

    def first_loop(q, i):
        s, y = pair(i)
        alpha = weights_memory[i] * _dot(s, q, dt)
        return _axpy(-alpha, y, q), alpha

    q, alphas = jax.lax.scan(first_loop, updates, order, reverse=True)
    r = _tree_math.scale_tree(q, identity_scale)

    def second_loop(r, i_alpha):
        i, alpha = i_alpha
        s, y = pair(i)
        beta = weights_memory[i] * _dot(y, r, dt)
        return _axpy(alpha - beta, s, r), None

    r, _ = jax.lax.scan(second_loop, r, (order, alphas))
    return r


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> _base.GradientTransformation:
    r"""Multiplies the updates by L-BFGS's estimate of the inverse Hessian.

    With :math:`w_k` the params and :math:`g_k` the incoming updates (gradients)
    at step :math:`k`, the last :math:`m` pairs
    :math:`s_i = w_{i+1} - w_i`, :math:`y_i = g_{i+1} - g_i` define

    .. math::

        H^{(0)} = \gamma_k I, \qquad
        H^{(j+1)} = V_{i}^\top H^{(j)} V_{i} + \rho_i\, s_i s_i^\top
        \ \text{ for } i = k-m+j, \qquad
        V_i = I - \rho_i\, y_i s_i^\top, \quad \rho_i = \frac{1}{\langle y_i, s_i\rangle}

    and :math:`H_k = H^{(m)}`
    (the BFGS update applied :math:`m` times to :math:`\gamma_k I`); the
    output is :math:`H_k g_k`, computed by the two-loop recursion without
    forming :math:`H_k`. With ``scale_init_precond``,
    :math:`\gamma_k = \langle s_{k-1}, y_{k-1}\rangle / \|y_{k-1}\|^2`, and at the
    first step :math:`\gamma_0 = \min(1, 1/\|g_0\|)`, so that the first step of
    length 1 moves at most a unit distance; otherwise :math:`\gamma_k = 1`.

    The memory is updated *before* the direction is computed, from the params
    and updates of the previous call: chained before a line search, the pair
    enters the memory only once the step was accepted. The output is a
    direction: chain :func:`scale_by_learning_rate` (the sign) and a line
    search, as :func:`lbfgs` does.

    Args:
        memory_size: Static number :math:`m \ge 1` of pairs kept.
        scale_init_precond: Static; use :math:`\gamma_k` as above instead of 1.

    Returns:
        A :class:`GradientTransformation` whose state is :class:`ScaleByLBFGSState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_lbfgs()
        >>> params = jnp.array([3.0, 4.0])
        >>> u, state = tx.update(params, tx.init(params), params)  # first step: g / ||g||
        >>> print(u)
        [0.6 0.8]

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithms 7.4
        and 7.5). Liu & Nocedal, `On the limited memory BFGS method for large
        scale optimization <https://doi.org/10.1007/BF01589116>`_, 1989.

    .. note::
        The memory is kept in at least float32 (optax keeps the params' dtype).
    """
    if isinstance(memory_size, bool) or not isinstance(memory_size, int) or memory_size < 1:
        raise ValueError(
            f"`memory_size` must be a Python int >= 1 (the number of stored pairs), "
            f"got {memory_size!r}."
        )

    def init_fn(params):
        _tree_math.check_float_params(params)

        def stacked(p):
            return jnp.zeros((memory_size, *jnp.shape(p)), _tree_math.moment_dtype(p.dtype))

        return ScaleByLBFGSState(
            count=_tree_math.zero_count(),
            params=_tree_math.zeros_like_state(params),
            updates=_tree_math.zeros_like_state(params),
            diff_params_memory=jax.tree.map(stacked, params),
            diff_updates_memory=jax.tree.map(stacked, params),
            weights_memory=jnp.zeros([memory_size], _tree_math.scalar_dtype(params)),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_lbfgs", like=updates)
        _tree_math.check_same_structure(updates, state.updates, "scale_by_lbfgs")
        dt = state.weights_memory.dtype
        first = state.count == 0
        memory_idx = state.count % memory_size
        newest = (state.count - 1) % memory_size

        def diff(new, old, like):
            return jax.tree.map(lambda a, b, m: jnp.where(first, 0, a.astype(m.dtype)
                                                          - b.astype(m.dtype)), new, old, like)

        like = jax.tree.map(lambda m: m[0], state.diff_params_memory)
        s = diff(params, state.params, like)
        y = diff(updates, state.updates, like)
        sy = _dot(y, s, dt)
        rho = jnp.where(sy == 0, jnp.zeros_like(sy), 1 / sy)
        # A pair without curvature (<s, y> = 0, e.g. a constant gradient) is stored as
        # zeros: its weight 0 already removes it from the recursion, and zero vectors keep
        # 0 * (an overflowing inner product) from turning into NaN there.
        kept_s, kept_y = (jax.tree.map(lambda a: jnp.where(sy == 0, jnp.zeros_like(a), a), v)
                          for v in (s, y))

        def store(memory, new):
            return jax.tree.map(lambda m, x: m.at[newest].set(x), memory, new)

        s_memory = store(state.diff_params_memory, kept_s)
        y_memory = store(state.diff_updates_memory, kept_y)
        weights = state.weights_memory.at[newest].set(jnp.where(first, 0, rho))
        if scale_init_precond:
            yy = _dot(y, y, dt)
            gamma = jnp.where(yy > 0, sy / jnp.where(yy > 0, yy, 1), 1)
            g_norm = _tree_utils.norm(jax.lax.stop_gradient(updates)).astype(dt)
            gamma = jnp.where(first, jnp.minimum(1, 1 / g_norm), gamma)
        else:
            gamma = jnp.ones([], dt)
        direction = precondition_by_lbfgs(
            _tree_math.cast_like(updates, like), s_memory, y_memory, weights, gamma, memory_idx)
        new_state = ScaleByLBFGSState(
            count=_tree_math.safe_increment(state.count),
            params=_tree_math.cast_like(params, state.params),
            updates=_tree_math.cast_like(updates, state.updates),
            diff_params_memory=s_memory, diff_updates_memory=y_memory, weights_memory=weights)
        return _tree_math.cast_like(direction, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
