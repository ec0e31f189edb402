"""Adadelta: RMSProp whose numerator is the RMS of past updates, so steps carry the params' units."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByAdaDeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta` (optax's field names)."""

    e_g: _base.Updates  # EMA of |g|^2, shaped like params, real, >= float32
    e_x: _base.Updates  # EMA of |u|^2, the squared outgoing updates


def scale_by_adadelta(
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""Rescales updates by the ratio of the RMS of past updates to the RMS of gradients.

    .. math::

        E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1-\rho)\, |g_t|^2 \\
        u_t &= \frac{\sqrt{E[u^2]_{t-1} + \varepsilon}}{\sqrt{E[g^2]_t + \varepsilon}}\, g_t \\
        E[u^2]_t &= \rho\, E[u^2]_{t-1} + (1-\rho)\, |u_t|^2

    ``eps`` is inside both square roots; it also sets the size of the first
    steps (:math:`E[u^2]_0 = 0`), which is why Adadelta needs no learning rate.

    Args:
        rho: :math:`\rho \in [0, 1)`, decay of both averages.
        eps: :math:`\varepsilon \ge 0`, inside both square roots.

    Returns:
        A transform whose state is :class:`ScaleByAdaDeltaState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_adadelta(rho=0.0, eps=1e-2)
        >>> u, state = tx.update(jnp.array([0.0, 0.1]), tx.init(jnp.zeros(2)))
        >>> print(u)  # sqrt(0.01) / sqrt(0.01 + 0.01) * 0.1
        [0.         0.07071068]

    References:
        Zeiler, `ADADELTA: An Adaptive Learning Rate Method
        <https://arxiv.org/abs/1212.5701>`_, 2012 (Algorithm 1).
    """
    _checks.check_decay("rho", rho)
    _checks.check_nonnegative("eps", eps, "Use a small positive value such as 1e-6.")

    def init_fn(params):
        return ScaleByAdaDeltaState(e_g=_tree_math.zeros_like_state(params, real=True),
                                    e_x=_tree_math.zeros_like_state(params, real=True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.e_g, "scale_by_adadelta")
        e_g = _tree_math.update_moment(updates, state.e_g, rho, order=2)

        def step(g, eg, ex):
            e = jnp.asarray(eps, eg.dtype)
            ratio = jnp.sqrt(ex + e) / jnp.sqrt(eg + e)
            return _tree_math.cast(ratio, g.dtype) * g

        out = jax.tree.map(step, _tree_math.upcast(updates), e_g, state.e_x)
        e_x = _tree_math.update_moment(out, state.e_x, rho, order=2)
        return _tree_math.cast_like(out, updates), ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return _base.GradientTransformation(init_fn, update_fn)
