"""Learning-rate-free step sizes: distance over gradients (DoG, layer-wise)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByDistanceOverGradientsState(NamedTuple):
    """State of :func:`scale_by_distance_over_gradients`."""

    max_dist: Any  # per leaf: largest distance from the initial params so far; scalar, >= float32
    grad_sum_of_squares: Any  # per leaf: running sum of |g|^2; shape (1,) (as optax), >= float32
    init_params: Any  # the initial params, cast to `param_dtype`


def _distance(x: jax.Array, y: Any = None) -> jax.Array:
    """``||x - y||_2`` (or ``||x||_2``) in at least float32, without overflow."""
    wide = _tree_math.moment_dtype(x.dtype)
    diff = _tree_math.cast(x, wide)
    if y is not None:
        diff = diff - _tree_math.cast(y, _tree_math.promote_types(y.dtype, wide))
    return _tree_math.norm(diff)


def scale_by_distance_over_gradients(
    reps_rel: jax.typing.ArrayLike = 1e-6,
    eps: jax.typing.ArrayLike = 1e-8,
    param_dtype: Any = jnp.float32,
    global_scale: jax.typing.ArrayLike = 1.0,
) -> _base.GradientTransformation:
    r"""Layer-wise distance over gradients (LDoG): a step size from the distance travelled.

    For each leaf :math:`\ell`, with :math:`\theta_{\ell,0}` its initial value,

    .. math::

        r_{\ell,t} &= \max\bigl(r_{\ell,t-1},\ \|\theta_{\ell,t} - \theta_{\ell,0}\|_2\bigr),
        \quad r_{\ell,0} = \rho\,(1 + \|\theta_{\ell,0}\|_2) \\
        G_{\ell,t} &= G_{\ell,t-1} + \|g_{\ell,t}\|_2^2, \quad G_{\ell,0} = 0 \\
        u_{\ell,t} &= c\, \frac{r_{\ell,t}}{\sqrt{G_{\ell,t} + \varepsilon}}\, g_{\ell,t}

    The step grows while the iterates move away from the start and shrinks as
    gradients accumulate; no learning rate is tuned. Chain it with
    ``scale(-1.0)`` (or use ``global_scale=-1.0``) to descend. The authors
    recommend averaging the iterates.

    Args:
        reps_rel: :math:`\rho > 0`, the initial distance relative to
            :math:`1 + \|\theta_0\|` (1e-6; 1e-4 for networks with batch norm).
            May be traced.
        eps: :math:`\varepsilon \ge 0`, keeps the first step finite. May be traced.
        param_dtype: Structural; dtype in which the initial params are stored.
        global_scale: :math:`c`, a factor on every step (typically 1 or -1).
            May be traced.

    Returns:
        A transform whose state is :class:`ScaleByDistanceOverGradientsState`;
        it needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_distance_over_gradients(reps_rel=0.1, eps=0.0)
        >>> p = jnp.array([3.0, 4.0])
        >>> u, state = tx.update(jnp.array([0.0, 2.0]), tx.init(p), p)
        >>> print(u)   # r = 0.1 * (1 + 5) = 0.6, G = 4: step 0.6 / 2 * g
        [0.  0.6]

    References:
        Ivgi, Hinder & Carmon, `DoG is SGD's Best Friend: A Parameter-Free
        Dynamic Step Size Schedule <https://arxiv.org/abs/2302.12022>`_, 2023
        (equation 2, and section 3.3 for the layer-wise variant).

    .. note::
        optax multiplies a 0-d leaf's update by the shape-``(1,)`` factor, so its
        update (and then the parameter) becomes shape ``(1,)``; here every
        update keeps its gradient's shape. The state has optax's shapes.
        Distances and sums are formed in at least float32; the update is cast
        back to the gradient's dtype.
    """
    _checks.check_interval("reps_rel", reps_rel, 0.0, None, low_open=True)
    _checks.check_nonnegative("eps", eps)
    _checks.check_interval("global_scale", global_scale)

    def init_fn(params):
        _tree_math.check_float_params(params)

        def first_distance(p):
            n = _distance(p)
            return jnp.asarray(reps_rel, n.dtype) * (1 + n)

        def zero_sum(p):
            return jnp.zeros([1], _tree_math.scalar_dtype(p))

        return ScaleByDistanceOverGradientsState(
            max_dist=jax.tree.map(first_distance, params),
            grad_sum_of_squares=jax.tree.map(zero_sum, params),
            init_params=jax.tree.map(lambda p: p.astype(param_dtype), params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_distance_over_gradients")
        _tree_math.check_same_structure(updates, state.init_params,
                                        "scale_by_distance_over_gradients")
        max_dist = jax.tree.map(lambda d, p, p0: jnp.maximum(d, _distance(p, p0).astype(d.dtype)),
                                state.max_dist, params, state.init_params)
        sums = jax.tree.map(
            lambda s, g: s + jnp.sum(_tree_math.abs_sq(_tree_math.upcast(g))).astype(s.dtype),
            state.grad_sum_of_squares, updates)

        def leaf(g, d, s):
            total = s.reshape(())
            step = jnp.asarray(global_scale, d.dtype) * (
                d / jnp.sqrt(total + jnp.asarray(eps, total.dtype)).astype(d.dtype))
            return g * _tree_math.cast(step, g.dtype)

        new_updates = jax.tree.map(leaf, updates, max_dist, sums)
        return new_updates, ScaleByDistanceOverGradientsState(max_dist, sums, state.init_params)

    return _base.GradientTransformation(init_fn, update_fn)
