r"""Distance over gradients: step sizes from how far the iterates have travelled (DoG, DoWG)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay

_INIT_STEPS = ("distance", "learning_rate", "heuristic")


class DoGState(NamedTuple):
    """State of :func:`dog`."""

    is_init_step: jax.Array  # bool scalar: no update applied yet
    init_params: _base.Params  # x_0, >= float32
    max_dist: jax.Array  # max_{k <= t} |x_k - x_0|, starting at r_eps (scalar)
    sum_sq_norm_grads: jax.Array  # sum_{k <= t} |g_k|^2 (scalar)


class DoWGState(NamedTuple):
    """State of :func:`dowg`."""

    init_params: _base.Params  # x_0, >= float32
    weighted_sq_norm_grads: jax.Array  # sum_k rbar_k^2 |g_k|^2 (scalar)
    estim_sq_dist: jax.Array  # rbar_t^2 = max_{k <= t} |x_k - x_0|^2 (scalar)


def _sq_distance(a: Any, b: Any) -> jax.Array:
    """:math:`\\lVert a - b \\rVert^2` over the tree, in at least float32."""
    return jnp.square(_tree_math.global_norm(
        jax.tree.map(lambda x, y: x - _tree_math.cast(y, x.dtype), a, b)))


def scale_by_dog(
    init_step: tuple[str, jax.typing.ArrayLike],
    eps: jax.typing.ArrayLike = 1e-8,
) -> _base.GradientTransformation:
    r"""Scales by the DoG step size :math:`\bar r_t / \sqrt{\sum_{k \le t} \lVert g_k\rVert^2 + \varepsilon}`.

    :math:`\bar r_t = \max(r_\epsilon, \max_{k \le t}\lVert x_k - x_0\rVert)`; see
    :func:`dog` for ``init_step``.

    Args:
        init_step: ``(kind, value)``, kind one of ``"distance"``, ``"learning_rate"``,
            ``"heuristic"`` (static); value may be traced.
        eps: :math:`\varepsilon \ge 0`, added to the sum of squared gradient norms.

    Returns:
        A transform whose state is :class:`DoGState`.
    """
    kind, value = _check_init_step(init_step)
    _checks.check_nonnegative("eps", eps)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        if kind == "distance":
            r_eps = jnp.asarray(value, dt)
        elif kind == "heuristic":
            r_eps = jnp.asarray(value, dt) * (1 + _tree_math.global_norm(params).astype(dt))
        else:
            r_eps = jnp.zeros([], dt)
        return DoGState(is_init_step=jnp.asarray(True), init_params=_tree_math.upcast(params),
                        max_dist=r_eps, sum_sq_norm_grads=jnp.zeros([], dt))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "dog")
        _tree_math.check_same_structure(updates, state.init_params, "dog")
        dt = state.max_dist.dtype
        max_dist = jnp.maximum(state.max_dist,
                               jnp.sqrt(_sq_distance(state.init_params, params)).astype(dt))
        sum_sq = state.sum_sq_norm_grads + jnp.square(_tree_math.global_norm(updates)).astype(dt)
        lr = max_dist / jnp.sqrt(sum_sq + jnp.asarray(eps, dt))
        if kind == "learning_rate":
            lr = jnp.where(state.is_init_step, jnp.asarray(value, dt), lr)
        return _tree_math.scale_tree(updates, lr), DoGState(
            is_init_step=jnp.asarray(False), init_params=state.init_params, max_dist=max_dist,
            sum_sq_norm_grads=sum_sq)

    return _base.GradientTransformation(init_fn, update_fn)


def _check_init_step(init_step):
    if not (isinstance(init_step, (tuple, list)) and len(init_step) == 2
            and init_step[0] in _INIT_STEPS):
        raise ValueError(
            f"`init_step` must be a pair (kind, value) with kind one of {_INIT_STEPS}, got "
            f"{init_step!r}. The default is ('heuristic', 1e-6).")
    _checks.check_nonnegative("init_step", init_step[1])
    return init_step


def _decay_or_identity(weight_decay, mask):
    if weight_decay is None:
        return _base.identity()
    return _weight_decay.add_decayed_weights(weight_decay, mask)


def dog(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    init_step: tuple[str, jax.typing.ArrayLike] = ("heuristic", 1e-6),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Distance over Gradients: SGD whose step is the distance travelled over the gradients' root sum.

    .. math::

        \bar r_t = \max\bigl(r_\epsilon, \max_{k \le t} \lVert x_k - x_0 \rVert\bigr), \qquad
        \eta_t = \frac{\bar r_t}{\sqrt{\sum_{k \le t} \lVert g_k \rVert^2 + \varepsilon}}, \qquad
        x_{t+1} = x_t - \gamma_t\, \eta_t\, g_t

    ``init_step`` sets the first step: ``("distance", r)`` gives
    :math:`r_\epsilon = r`; ``("heuristic", a)`` gives
    :math:`r_\epsilon = a(1 + \lVert x_0 \rVert)` (so ``init`` must see the real
    params); ``("learning_rate", h)`` gives :math:`\eta_0 = h`.

    Args:
        learning_rate: :math:`\gamma_t`, a multiplier (1.0 or a schedule).
        init_step: ``(kind, value)``; kind static, value :math:`\ge 0` may be traced.
        eps: :math:`\varepsilon \ge 0`.
        weight_decay: Coupled weight decay added to the gradient, or ``None``.
        mask: Which leaves are decayed.

    Returns:
        ``chain(add_decayed_weights or identity, scale_by_dog, scale_by_learning_rate)``;
        the second state is :class:`DoGState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.dog(init_step=("learning_rate", 0.1))
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # the first step uses eta_0 = 0.1
        [-0.2  0.4]

    References:
        Ivgi et al., `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size
        Schedule <https://arxiv.org/abs/2302.12022>`_, 2023 (Algorithm 1).
    """
    return _combine.chain(_decay_or_identity(weight_decay, mask), scale_by_dog(init_step, eps),
                          _scaling.scale_by_learning_rate(learning_rate))


def scale_by_dowg(
    init_estim_sq_dist: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-4,
) -> _base.GradientTransformation:
    r"""Scales by the DoWG step :math:`\bar r_t^2 / (\sqrt{\sum_k \bar r_k^2 \lVert g_k\rVert^2} + \varepsilon)`.

    Args:
        init_estim_sq_dist: :math:`\bar r_0^2`; ``None`` means ``eps``.
        eps: :math:`\varepsilon > 0`.

    Returns:
        A transform whose state is :class:`DoWGState`.
    """
    if init_estim_sq_dist is not None:
        _checks.check_nonnegative("init_estim_sq_dist", init_estim_sq_dist)
    _checks.check_nonnegative("eps", eps)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        r0 = eps if init_estim_sq_dist is None else init_estim_sq_dist
        return DoWGState(init_params=_tree_math.upcast(params),
                         weighted_sq_norm_grads=jnp.zeros([], dt),
                         estim_sq_dist=jnp.asarray(r0, dt))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "dowg")
        _tree_math.check_same_structure(updates, state.init_params, "dowg")
        dt = state.estim_sq_dist.dtype
        estim = jnp.maximum(state.estim_sq_dist,
                            _sq_distance(state.init_params, params).astype(dt))
        weighted = state.weighted_sq_norm_grads + estim * jnp.square(
            _tree_math.global_norm(updates)).astype(dt)
        lr = estim / (jnp.sqrt(weighted) + jnp.asarray(eps, dt))
        return _tree_math.scale_tree(updates, lr), state._replace(
            estim_sq_dist=estim, weighted_sq_norm_grads=weighted)

    return _base.GradientTransformation(init_fn, update_fn)


def dowg(
    learning_rate: _base.ScalarOrSchedule = 1.0,
    init_estim_sq_dist: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-4,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Distance over Weighted Gradients: DoG with gradients weighted by the distance so far.

    .. math::

        \bar r_t^2 = \max\bigl(\bar r_{t-1}^2, \lVert x_t - x_0\rVert^2\bigr), \qquad
        v_t = v_{t-1} + \bar r_t^2 \lVert g_t \rVert^2, \qquad
        x_{t+1} = x_t - \gamma_t \frac{\bar r_t^2}{\sqrt{v_t} + \varepsilon}\, g_t

    Args:
        learning_rate: :math:`\gamma_t`, a multiplier (1.0 or a schedule).
        init_estim_sq_dist: :math:`\bar r_0^2 \ge 0`; ``None`` means ``eps``.
        eps: :math:`\varepsilon \ge 0`.
        weight_decay: Coupled weight decay, or ``None``.
        mask: Which leaves are decayed.

    Returns:
        ``chain(add_decayed_weights or identity, scale_by_dowg, scale_by_learning_rate)``;
        the second state is :class:`DoWGState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.dowg(init_estim_sq_dist=1.0, eps=0.0)
        >>> p = jnp.array([3.0, 4.0])
        >>> print(tx.update(p, tx.init(p), p)[0])  # first step: g / |g|
        [-0.6 -0.8]

    References:
        Khaled et al., `DoWG Unleashed: An Efficient Universal Parameter-Free
        Gradient Descent Method <https://arxiv.org/abs/2305.16284>`_, 2023 (Algorithm 1).
    """
    return _combine.chain(_decay_or_identity(weight_decay, mask),
                          scale_by_dowg(init_estim_sq_dist, eps),
                          _scaling.scale_by_learning_rate(learning_rate))
