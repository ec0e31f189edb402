"""Layer-wise adaptive optimizer aliases: LAMB and LARS. Chains only."""


from typing import Any

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import accumulation as _accumulation
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import layerwise as _layerwise
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def lamb(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: _base.ScalarOrSchedule = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""LAMB: AdamW's direction rescaled per leaf by the trust ratio.

    .. math::

        r_\ell = u_\ell + \lambda \theta_\ell, \qquad
        \theta_\ell \leftarrow \theta_\ell - \alpha_t \frac{\|\theta_\ell\|}{\|r_\ell\|} r_\ell

    with :math:`u` the :func:`scale_by_adam` direction (note the default eps 1e-6).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        mask: See :func:`adamw`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.lamb(0.1)
        >>> p = jnp.array([3.0, 4.0])
        >>> u, _ = tx.update(jnp.array([1.0, 1.0]), tx.init(p), p)
        >>> print(jnp.linalg.norm(u))  # lr * |p|
        0.5

    References:
        You et al., `Large Batch Optimization for Deep Learning: Training BERT in
        76 minutes <https://arxiv.org/abs/1904.00962>`_, 2020.
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _layerwise.scale_by_trust_ratio(),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def lars(
    learning_rate: _base.ScalarOrSchedule,
    weight_decay: _base.ScalarOrSchedule = 0.0,
    weight_decay_mask: Any = True,
    trust_coefficient: jax.typing.ArrayLike = 0.001,
    eps: jax.typing.ArrayLike = 0.0,
    trust_ratio_mask: Any = True,
    momentum: jax.typing.ArrayLike = 0.9,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""LARS: SGD with momentum on the trust-ratio-scaled, weight-decayed gradient.

    .. math::

        r_\ell = \eta \frac{\|\theta_\ell\|}{\|g_\ell + \lambda\theta_\ell\| + \varepsilon}
        (g_\ell + \lambda \theta_\ell), \qquad
        v_t = \mu v_{t-1} - \alpha_t r, \qquad \theta_t = \theta_{t-1} + v_t

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        weight_decay: :math:`\lambda \ge 0`.
        weight_decay_mask: ``True`` (all leaves), or a mask as in :func:`masked`.
        trust_coefficient: :math:`\eta > 0`.
        eps: :math:`\varepsilon \ge 0`.
        trust_ratio_mask: ``True`` (all leaves), or a mask as in :func:`masked`.
        momentum: :math:`\mu \in [0, 1)`.
        nesterov: Structural; Nesterov momentum.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.lars(1.0, trust_coefficient=0.5, momentum=0.0)
        >>> p = jnp.array([3.0, 4.0])
        >>> print(tx.update(jnp.array([0.0, 1.0]), tx.init(p), p)[0])
        [ 0.  -2.5]

    References:
        You, Gitman & Ginsburg, `Large Batch Training of Convolutional Networks
        <https://arxiv.org/abs/1708.03888>`_, 2017.
    """
    _checks.check_decay("momentum", momentum)  # name the alias's argument, not trace's `decay`
    return _combine.chain(
        _maybe_masked(_weight_decay.add_decayed_weights(weight_decay), weight_decay_mask),
        _maybe_masked(_layerwise.scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
                      trust_ratio_mask),
        _scaling.scale_by_learning_rate(learning_rate),
        _accumulation.trace(decay=momentum, nesterov=nesterov),
    )


def _maybe_masked(tx: _base.GradientTransformation, mask: Any) -> _base.GradientTransformation:
    """``True`` means every leaf (no wrapper), anything else is a mask."""
    return tx if mask is True else _combine.masked(tx, mask)
