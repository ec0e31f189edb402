"""Adam-family optimizer aliases. Chains only, no arithmetic of their own."""


from typing import Any

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def adam(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""Adam: :math:`\theta_t = \theta_{t-1} - \alpha_t\, \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)`.

    See :func:`scale_by_adam` for the moments and bias corrections. Conventions:
    eps outside the square root, bias-corrected, as in the paper and in
    ``torch.optim.Adam``. Tutorial 4's Adam with eps *inside* the square root is
    ``jos.adam(lr, eps=0.0, eps_root=1e-8)``; tutorial 3's clipped showdown is
    ``jos.chain(jos.clip(10.0), jos.adam(0.01))`` (``docs/tutorial_claims.rst``, P8
    and P4).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: Outside the square root, :math:`\ge 0`.
        eps_root: Inside the square root, :math:`\ge 0`.
        mu_dtype: dtype of the first moment; default at least float32.
        nesterov: Structural; NAdam's look-ahead (see :func:`nadam`).

    Returns:
        ``chain(scale_by_adam(...), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adam(0.1)
        >>> p = jnp.array([1.0, -2.0])
        >>> u, state = tx.update(2 * p, tx.init(p))
        >>> print(u)  # the first step is -lr * sign(g)
        [-0.1  0.1]
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                     mu_dtype=mu_dtype, nesterov=nesterov),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def adamw(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: _base.ScalarOrSchedule = 1e-4,
    mask: _combine.MaskOrFn = None,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""Adam with decoupled weight decay (AdamW).

    .. math::

        \theta_t = \theta_{t-1} - \alpha_t \bigl(u_t + \lambda\, \theta_{t-1}\bigr)

    where :math:`u_t` is the :func:`scale_by_adam` direction. The decay bypasses
    Adam's denominator (that is what "decoupled" means) but *is* multiplied by
    the learning rate, as in ``torch.optim.AdamW(lr, weight_decay=wd)`` and optax.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        mu_dtype: See :func:`scale_by_adam`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        mask: Leaves to decay: a pytree of bools or a function of params.
        nesterov: Structural; NAdamW.

    Returns:
        ``chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> isinstance(jos.adamw(1e-3), jos.GradientTransformation)
        True

    References:
        Loshchilov & Hutter, `Decoupled Weight Decay Regularization
        <https://arxiv.org/abs/1711.05101>`_, 2019.
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                     mu_dtype=mu_dtype, nesterov=nesterov),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def nadam(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> _base.GradientTransformation:
    r"""NAdam: Adam with Nesterov momentum, ``adam(..., nesterov=True)``.

    The first moment looks one step ahead:
    :math:`\hat m_t = \beta_1 m_t/(1-\beta_1^{t+1}) + (1-\beta_1) g_t/(1-\beta_1^t)`.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        mu_dtype: See :func:`scale_by_adam`.
        nesterov: Structural; ``False`` gives plain :func:`adam` (optax's signature).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.nadam(1.0, eps=0.0)
        >>> print(tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))[0])
        [-1.]

    References:
        Dozat, `Incorporating Nesterov Momentum into Adam
        <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
    """
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


def nadamw(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: _base.ScalarOrSchedule = 1e-4,
    mask: _combine.MaskOrFn = None,
    *,
    nesterov: bool = True,
) -> _base.GradientTransformation:
    r"""NAdamW: :func:`nadam` with decoupled weight decay, ``adamw(..., nesterov=True)``.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        mu_dtype: See :func:`scale_by_adam`.
        weight_decay: See :func:`adamw`.
        mask: See :func:`adamw`.
        nesterov: Structural; ``False`` gives plain :func:`adamw` (optax's signature).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> len(jos.nadamw(1e-3).init({"w": __import__("jax").numpy.zeros(3)}))
        3
    """
    return adamw(learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask,
                 nesterov=nesterov)


def amsgrad(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> _base.GradientTransformation:
    r"""AMSGrad: Adam with a non-decreasing second moment (see :func:`scale_by_amsgrad`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_amsgrad`.
        b2: See :func:`scale_by_amsgrad`.
        eps: See :func:`scale_by_amsgrad`.
        eps_root: See :func:`scale_by_amsgrad`.
        mu_dtype: See :func:`scale_by_amsgrad`.
        bias_correction_mu: See :func:`scale_by_amsgrad`.
        bias_correction_nu: See :func:`scale_by_amsgrad`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.amsgrad(0.5, eps=0.0)
        >>> print(tx.update(jnp.array([-3.0]), tx.init(jnp.zeros(1)))[0])
        [0.5]
    """
    return _combine.chain(
        _adaptive_adam.scale_by_amsgrad(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                        mu_dtype=mu_dtype, bias_correction_mu=bias_correction_mu,
                                        bias_correction_nu=bias_correction_nu),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def adamax(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> _base.GradientTransformation:
    r"""AdaMax: Adam with an infinity-norm denominator (see :func:`scale_by_adamax`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adamax`.
        b2: See :func:`scale_by_adamax`.
        eps: See :func:`scale_by_adamax`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adamax(0.5, eps=0.0)
        >>> print(tx.update(jnp.array([4.0]), tx.init(jnp.zeros(1)))[0])
        [-0.5]
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adamax(b1=b1, b2=b2, eps=eps),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def adamaxw(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: _base.ScalarOrSchedule = 1e-4,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""AdaMax with decoupled weight decay (multiplied by the learning rate, as in :func:`adamw`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adamax`.
        b2: See :func:`scale_by_adamax`.
        eps: See :func:`scale_by_adamax`.
        weight_decay: See :func:`adamw`.
        mask: See :func:`adamw`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> isinstance(jos.adamaxw(1e-3), jos.GradientTransformation)
        True
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adamax(b1=b1, b2=b2, eps=eps),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def lion(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    weight_decay: _base.ScalarOrSchedule = 1e-3,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Lion with decoupled weight decay: :math:`\theta_t = \theta_{t-1} - \alpha_t(\mathrm{sign}(\cdot) + \lambda\theta_{t-1})`.

    See :func:`scale_by_lion`. The decay is multiplied by the learning rate.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_lion`.
        b2: See :func:`scale_by_lion`.
        mu_dtype: See :func:`scale_by_lion`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        mask: See :func:`adamw`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.lion(0.1, weight_decay=0.0)
        >>> p = jnp.zeros(2)
        >>> print(tx.update(jnp.array([0.3, -7.0]), tx.init(p), p)[0])
        [-0.1  0.1]
    """
    return _combine.chain(
        _adaptive_adam.scale_by_lion(b1=b1, b2=b2, mu_dtype=mu_dtype),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
