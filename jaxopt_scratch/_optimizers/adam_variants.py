"""Adam variants: AdaBelief, RAdam, Yogi, Adan, NovoGrad. Chains only, no arithmetic of their own."""


import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import adaptive_layerwise as _adaptive_layerwise
from jaxopt_scratch._transforms import adaptive_nesterov as _adaptive_nesterov
from jaxopt_scratch._transforms import adaptive_variance as _adaptive_variance
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def adabelief(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
    weight_decay: _base.ScalarOrSchedule | None = None,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""AdaBelief: :math:`\theta_t = \theta_{t-1} - \alpha_t\, \hat m_t / (\sqrt{\hat s_t} + \varepsilon)`.

    :math:`\hat s_t` is the bias-corrected average of :math:`|g_t - m_t|^2`
    (see :func:`scale_by_belief`). With ``weight_decay`` the decay is
    decoupled, as in :func:`adamw`: :math:`\theta_t = \theta_{t-1} -
    \alpha_t (u_t + \lambda \theta_{t-1})` (the paper's AdaBeliefW).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_belief`.
        b2: See :func:`scale_by_belief`.
        eps: See :func:`scale_by_belief`.
        eps_root: See :func:`scale_by_belief`.
        nesterov: Structural; NAdam's look-ahead first moment.
        weight_decay: :math:`\lambda \ge 0` (scalar or schedule), or ``None``
            (the default) for no decay and optax 0.2.8's chain and state.
        mask: Leaves to decay (with ``weight_decay``): a pytree of bools or a
            function of params.

    Returns:
        ``chain(scale_by_belief, [add_decayed_weights,] scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adabelief(0.1, eps=0.0, eps_root=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> u, _ = tx.update(2 * p, tx.init(p))
        >>> print(jnp.round(u, 5))  # -lr g / (0.9 |g|) at the first step
        [-0.11111  0.11111]

    References:
        Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in
        Observed Gradients <https://arxiv.org/abs/2010.07468>`_, 2020.

    .. note::
        ``weight_decay`` and ``mask`` are keyword-only additions (optax adds
        them after 0.2.8); left at ``None`` they change nothing.
    """
    parts = [_adaptive_variance.scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                                nesterov=nesterov)]
    if weight_decay is not None:
        parts.append(_weight_decay.add_decayed_weights(weight_decay, mask))
    return _combine.chain(*parts, _scaling.scale_by_learning_rate(learning_rate))


def radam(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""Rectified Adam: momentum SGD for the first steps, then Adam with a variance rectification.

    See :func:`scale_by_radam` for :math:`\rho_t`, :math:`r_t` and the switch.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_radam`.
        b2: See :func:`scale_by_radam`.
        eps: See :func:`scale_by_radam`.
        eps_root: See :func:`scale_by_radam`.
        threshold: See :func:`scale_by_radam`; may be traced.
        nesterov: Structural; NAdam's look-ahead first moment.

    Returns:
        ``chain(scale_by_radam(...), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.radam(0.1)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p))[0])  # first step: -lr g (no adaptive scaling yet)
        [-0.2  0.4]

    References:
        Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
        <https://arxiv.org/abs/1908.03265>`_, 2020.
    """
    return _combine.chain(
        _adaptive_variance.scale_by_radam(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                          threshold=threshold, nesterov=nesterov),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def yogi(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
) -> _base.GradientTransformation:
    r"""Yogi: Adam with an additive, sign-controlled second moment (see :func:`scale_by_yogi`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_yogi`.
        b2: See :func:`scale_by_yogi`.
        eps: See :func:`scale_by_yogi` (the paper's 1e-3).

    Returns:
        ``chain(scale_by_yogi(...), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.yogi(0.1, eps=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(jnp.round(tx.update(2 * p, tx.init(p))[0], 4))  # about -lr sign(g) at first
        [-0.1  0.1]

    References:
        Zaheer et al., `Adaptive Methods for Nonconvex Optimization
        <https://papers.nips.cc/paper/8186-adaptive-methods-for-nonconvex-optimization>`_, 2018.
    """
    return _combine.chain(
        _adaptive_variance.scale_by_yogi(b1=b1, b2=b2, eps=eps),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def adan(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 1e-8,
    weight_decay: _base.ScalarOrSchedule = 0.0,
    mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Adan: :math:`\theta_t = \theta_{t-1} - \alpha_t (u_t + \lambda\,\theta_{t-1})`.

    :math:`u_t` is the :func:`scale_by_adan` direction; the weight decay is
    decoupled and multiplied by the learning rate (optax's form; the paper's
    proximal :math:`\theta/(1 + \lambda\alpha)` agrees to first order).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_adan`.
        b2: See :func:`scale_by_adan`.
        b3: See :func:`scale_by_adan`.
        eps: See :func:`scale_by_adan`.
        eps_root: See :func:`scale_by_adan` (1e-8 here, 0 in the transform, as in optax).
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        mask: Leaves to decay: a pytree of bools or a function of params.

    Returns:
        ``chain(scale_by_adan, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adan(0.1, eps_root=0.0, eps=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # first step: -lr sign(g)
        [-0.1  0.1]

    References:
        Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster
        Optimizing Deep Models <https://arxiv.org/abs/2208.06677>`_, 2022.
    """
    return _combine.chain(
        _adaptive_nesterov.scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def novograd(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformation:
    r"""NovoGrad: momentum on gradients normalised by a per-leaf running norm (see :func:`scale_by_novograd`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_novograd`.
        b2: See :func:`scale_by_novograd`.
        eps: See :func:`scale_by_novograd` (1e-6 here, 1e-8 in the transform, as in optax).
        eps_root: See :func:`scale_by_novograd`.
        weight_decay: :math:`\lambda \ge 0`, added inside the momentum (not decoupled).

    Returns:
        ``chain(scale_by_novograd(...), scale_by_learning_rate(learning_rate))``; its
        ``update`` needs ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.novograd(0.1, eps=0.0)
        >>> p = jnp.array([3.0, -4.0])
        >>> print(tx.update(p, tx.init(p), p)[0])  # -lr g / ||g||
        [-0.06  0.08]

    References:
        Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive
        Moments for Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_, 2019.
    """
    return _combine.chain(
        _adaptive_layerwise.scale_by_novograd(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                              weight_decay=weight_decay),
        _scaling.scale_by_learning_rate(learning_rate),
    )
