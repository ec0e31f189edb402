"""NovoGrad: Adam-like moments with one second moment per layer (per leaf)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class ScaleByNovogradState(NamedTuple):
    """State of :func:`scale_by_novograd`."""

    count: jax.Array  # updates seen so far (int32 scalar, saturating)
    mu: _base.Updates  # the momentum m, shaped like params, >= float32 (or mu_dtype)
    nu: _base.Updates  # one scalar per leaf: EMA of the leaf's squared gradient norm


def scale_by_novograd(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""NovoGrad: normalise each leaf by a running average of its gradient norm.

    For each leaf (layer) :math:`\ell` with gradient :math:`g^\ell_t` and params
    :math:`\theta^\ell_{t-1}`:

    .. math::

        v^\ell_t &= \begin{cases} \|g^\ell_1\|^2 & t = 1 \\
                   \beta_2 v^\ell_{t-1} + (1 - \beta_2)\, \|g^\ell_t\|^2 & t > 1 \end{cases} \\
        m^\ell_t &= \beta_1 m^\ell_{t-1} + \frac{g^\ell_t}{\sqrt{v^\ell_t + \varepsilon_{root}}
                    + \varepsilon} + \lambda\, \theta^\ell_{t-1}, \qquad u^\ell_t = m^\ell_t

    :math:`v` is one scalar per leaf (half of Adam's memory). The momentum is a
    sum, not an average (no :math:`1-\beta_1`), and weight decay :math:`\lambda`
    enters it after the normalisation, as in the paper. The first-step case is
    a ``jnp.where`` on the count, so it traces once.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, the momentum.
        b2: :math:`\beta_2 \in [0, 1)`, decay of the per-leaf second moment.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        eps_root: :math:`\varepsilon_{root} \ge 0`, inside the square root.
        weight_decay: :math:`\lambda \ge 0`.
        mu_dtype: dtype of :math:`m`; default at least float32.

    Returns:
        A transform whose state is :class:`ScaleByNovogradState`; its ``update``
        needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_novograd(eps=0.0)
        >>> p = jnp.zeros(2)
        >>> u, state = tx.update(jnp.array([3.0, -4.0]), tx.init(p), p)
        >>> print(u)  # g / ||g||
        [ 0.6 -0.8]

    References:
        Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive
        Moments for Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_,
        2019 (Algorithm 1).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_nonnegative("eps", eps)
    _checks.check_nonnegative("eps_root", eps_root)
    _checks.check_nonnegative("weight_decay", weight_decay)

    def init_fn(params):
        mu = _tree_math.zeros_like_state(params, mu_dtype)
        nu = jax.tree.map(lambda p: jnp.zeros([], jnp.finfo(_tree_math.moment_dtype(p.dtype)).dtype),
                          params)
        return ScaleByNovogradState(count=_tree_math.zero_count(), mu=mu, nu=nu)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "scale_by_novograd")
        _tree_math.check_same_structure(updates, state.mu, "scale_by_novograd")
        _tree_math.check_same_structure(updates, params, "scale_by_novograd", "params")
        count = _tree_math.safe_increment(state.count)
        wide = _tree_math.upcast(updates)
        sq_norms = jax.tree.map(lambda g: jnp.sum(_tree_math.abs_sq(g)), wide)
        # A zero decay at the first step makes the average start at ||g_1||^2.
        nu = _tree_math.update_moment(sq_norms, state.nu, jnp.where(count == 1, 0.0, b2))
        normalised = _tree_math.normalize(wide, nu, eps, eps_root)
        decayed = _tree_math.scale_tree(_tree_math.upcast(params), weight_decay)

        def momentum(m, n, d):  # a sum, not an average: no (1 - b1)
            total = _tree_math.scale_tree(_tree_math.cast(m, n.dtype), b1) + n
            return _tree_math.cast(total + _tree_math.cast(d, n.dtype), m.dtype)

        mu = jax.tree.map(momentum, state.mu, normalised, decayed)
        new_state = ScaleByNovogradState(count=count, mu=mu, nu=nu)
        return _tree_math.cast_like(mu, updates), new_state

    return _base.GradientTransformation(init_fn, update_fn)
