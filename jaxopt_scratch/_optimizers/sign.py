"""Sign-based optimizers: signSGD, Signum, Rprop. Chains only, no arithmetic of their own."""


from typing import Any

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import accumulation as _accumulation
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import sign as _sign


def sign_sgd(learning_rate: _base.ScalarOrSchedule) -> _base.GradientTransformation:
    r"""signSGD: :math:`\theta_t = \theta_{t-1} - \alpha_t \operatorname{sign}(g_t)`.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.

    Returns:
        ``chain(scale_by_sign(), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.sign_sgd(0.1)
        >>> print(tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))[0])
        [-0.1  0.1]

    References:
        Bernstein et al., `signSGD: Compressed Optimisation for Non-Convex
        Problems <https://arxiv.org/abs/1802.04434>`_, 2018.
    """
    return _combine.chain(_sign.scale_by_sign(), _scaling.scale_by_learning_rate(learning_rate))


def signum(
    learning_rate: _base.ScalarOrSchedule,
    beta: jax.typing.ArrayLike = 0.9,
    accumulator_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Signum: the sign of an EMA of the gradients.

    .. math::

        m_t = \beta\, m_{t-1} + (1 - \beta)\, g_t, \qquad
        \theta_t = \theta_{t-1} - \alpha_t \operatorname{sign}(m_t)

    (no bias correction: it would not change the sign).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        beta: :math:`\beta \in [0, 1)`.
        accumulator_dtype: dtype of :math:`m`; default at least float32.

    Returns:
        ``chain(ema(beta, debias=False), scale_by_sign(), scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.signum(0.1)
        >>> s = tx.init(jnp.zeros(2))
        >>> _, s = tx.update(jnp.array([3.0, -1.0]), s)
        >>> print(tx.update(jnp.array([-1.0, -1.0]), s)[0])  # m = [0.17, -0.19]
        [-0.1  0.1]

    References:
        Bernstein et al., 2018 (Algorithm 3); Zhao et al., `Deconstructing What
        Makes a Good Optimizer for Language Models <https://arxiv.org/abs/2407.07972>`_, 2024.
    """
    _checks.check_decay("beta", beta)  # `ema` calls it `decay`
    return _combine.chain(
        _accumulation.ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        _sign.scale_by_sign(),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> _base.GradientTransformation:
    r"""Rprop: per-entry step sizes adapted from gradient signs (see :func:`scale_by_rprop`).

    ``learning_rate`` is the initial step size (a scalar, it initialises the
    state); the update is :math:`-\Delta_t \operatorname{sign}(g_t)`, or 0 after
    a sign change.

    Args:
        learning_rate: :math:`\Delta_0 \ge 0`.
        eta_minus: See :func:`scale_by_rprop`.
        eta_plus: See :func:`scale_by_rprop`.
        min_step_size: See :func:`scale_by_rprop`.
        max_step_size: See :func:`scale_by_rprop`.

    Returns:
        ``chain(scale_by_rprop(...), scale_by_learning_rate(1.0))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.rprop(0.1)
        >>> print(tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))[0])
        [-0.1  0.1]

    References:
        Riedmiller & Braun, 1993; Igel & Huesken, 2003 (iRprop-).

    .. note::
        optax 0.2.8's first update is 0 and later ones lag a step (see
        :func:`scale_by_rprop`); ours is the paper's (and ``torch.optim.Rprop``'s).
    """
    return _combine.chain(
        _sign.scale_by_rprop(learning_rate=learning_rate, eta_minus=eta_minus, eta_plus=eta_plus,
                             min_step_size=min_step_size, max_step_size=max_step_size),
        _scaling.scale_by_learning_rate(1.0),
    )
