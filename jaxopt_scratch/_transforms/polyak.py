r"""Polyak's step size: the step that would reach a known lower bound of the objective."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import tree_utils as _tree_utils
from jaxopt_scratch._transforms import linesearch as _linesearch

# A squared gradient norm at or below this is treated as zero (no step). It is
# float64's machine epsilon whatever the params' dtype, as in optax.
_TINY = float(jnp.finfo(jnp.float64).eps)


def scale_by_polyak(
    f_min: jax.typing.ArrayLike = 0.0,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> _base.GradientTransformationExtraArgs:
    r"""Scales the updates by the (stochastic) Polyak step size.

    .. math::

        u_t = \min\left(\frac{f(w_t) - f^\star}{\|g_t\|^2 + \epsilon},\ \eta_{max}\right) g_t

    and :math:`u_t = 0` when :math:`\|g_t\|^2 + \epsilon` is below float64's
    machine epsilon. ``variant="sps+"`` replaces the gap by its positive part
    :math:`(f(w_t) - f^\star)_+`. ``update`` needs the keyword argument
    ``value``, :math:`f(w_t)`. The output is a direction: chain
    :func:`scale_by_learning_rate` (see :func:`polyak_sgd`).

    Args:
        f_min: :math:`f^\star`, a lower bound of the objective (0 for models that
            interpolate the data).
        max_learning_rate: :math:`\eta_{max} > 0`.
        eps: :math:`\epsilon \ge 0`, added to the denominator.
        variant: Static; ``"sps"`` or ``"sps+"``.

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is :class:`EmptyState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.scale_by_polyak()
        >>> g = jnp.array([2.0, 4.0])          # gradient of x^2 + y^2 at (1, 2), value 5
        >>> print(tx.update(g, tx.init(g), value=5.0)[0])  # step 5 / 20 = 0.25
        [0.5 1. ]

    References:
        Polyak, *Introduction to Optimization*, 1987 (Section 5.3). Loizou et
        al., `Stochastic Polyak Step-size for SGD
        <https://arxiv.org/abs/2002.10542>`_, 2021 (equation 3). Garrigos et al.,
        `Function value learning <https://arxiv.org/abs/2307.14528>`_, 2023 (SPS+).
    """
    if variant not in ("sps", "sps+"):
        raise ValueError(f"`variant` must be 'sps' or 'sps+', got {variant!r}.")
    _checks.check_interval("max_learning_rate", max_learning_rate, 0.0, low_open=True)
    _checks.check_nonnegative("eps", eps)
    _checks.check_interval("f_min", f_min)

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        _linesearch.require_extra_arg("scale_by_polyak", "value", value)
        dt = _tree_math.scalar_dtype(updates)
        sq_norm = _tree_utils.norm(updates, squared=True).astype(dt)
        gap = jnp.asarray(value).astype(dt) - jnp.asarray(f_min, dt)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0)
        denominator = sq_norm + jnp.asarray(eps, dt)
        flat = denominator <= _TINY
        step = jnp.where(flat, 0, jnp.minimum(gap / jnp.where(flat, 1, denominator),
                                              jnp.asarray(max_learning_rate, dt)))
        return _tree_math.scale_tree(updates, step), state

    return _base.GradientTransformationExtraArgs(_base.init_empty_state, update_fn)
