"""Optimizer aliases without Adam's moments: SGD, RMSProp, AdaGrad. Chains only, no arithmetic."""


from typing import Any

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import accumulation as _accumulation
from jaxopt_scratch._transforms import adaptive_rms as _adaptive_rms
from jaxopt_scratch._transforms import scaling as _scaling


def _momentum_or_identity(momentum, nesterov, accumulator_dtype=None):
    if momentum is None:
        return _base.identity()
    _checks.check_decay("momentum", momentum)  # name the alias's argument, not trace's `decay`
    return _accumulation.trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)


def sgd(
    learning_rate: _base.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Stochastic gradient descent, optionally with heavy-ball or Nesterov momentum.

    .. math::

        v_t = \mu v_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \alpha_t v_t
        \qquad (\text{plain SGD: } \theta_t = \theta_{t-1} - \alpha_t g_t)

    The heavy-ball momentum of tutorial 3 (``v = beta*v + g; p -= lr*v``, P3 in
    ``docs/tutorial_claims.rst``) is ``jos.sgd(lr, momentum=beta)``; it matches
    ``torch.optim.SGD(lr, momentum)`` with ``dampening=0``. ``momentum=None``
    (structural) means no velocity state; ``momentum=0.0`` keeps the state (useful
    to sweep momentum from 0).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        momentum: :math:`\mu \in [0, 1)` or ``None``.
        nesterov: Structural; Nesterov's look-ahead form.
        accumulator_dtype: dtype of the velocity; default at least float32.

    Returns:
        ``chain(trace(momentum, nesterov), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.sgd(0.1)
        >>> p = jnp.array([4.0, 3.0])          # the bowl x^2 + y^2 (docs/tutorial_claims.rst, P1)
        >>> u, _ = tx.update(2 * p, tx.init(p))
        >>> print(jos.apply_updates(p, u))
        [3.2 2.4]
    """
    return _combine.chain(
        _momentum_or_identity(momentum, nesterov, accumulator_dtype),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate: _base.ScalarOrSchedule,
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> _base.GradientTransformation:
    r"""RMSProp, optionally centered, with optional momentum on the scaled step.

    .. math::

        v_t = \rho v_{t-1} + (1-\rho) g_t^2, \qquad
        \theta_t = \theta_{t-1} - \alpha_t\, g_t / \sqrt{v_t + \varepsilon}

    (see :func:`scale_by_rms` and :func:`scale_by_stddev` for ``eps_in_sqrt``,
    ``bias_correction`` and the centered form). Momentum, when given, is a
    :func:`trace` applied *after* the learning rate, as in optax and PyTorch.

    Conventions: optax's default has eps inside the square root;
    ``eps_in_sqrt=False`` matches ``torch.optim.RMSprop(lr, alpha=decay, eps=eps,
    momentum=..., centered=...)`` and the RMSProp ``g / (sqrt(s) + 1e-8)`` of tutorials
    3 and 4 (``docs/tutorial_claims.rst``, P4 and P8)
    (``jos.rmsprop(lr, eps_in_sqrt=False)``).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        decay: :math:`\rho \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`.
        initial_scale: :math:`v_0 \ge 0`.
        eps_in_sqrt: Structural; eps inside (True) or outside the square root.
        centered: Structural; divide by the standard deviation instead.
        momentum: :math:`\mu \in [0, 1)` or ``None``.
        nesterov: Structural; Nesterov form of the momentum.
        bias_correction: Structural; debias :math:`v_t`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.rmsprop(0.1, eps_in_sqrt=False)
        >>> p = jnp.array([9.0, -3.0])     # 0.1 x1^2 + 5 x2^2 (docs/tutorial_claims.rst, P8)
        >>> u, _ = tx.update(jnp.array([0.2, 10.0]) * p, tx.init(p))
        >>> print(jos.apply_updates(p, u))
        [ 8.683772 -2.683772]
    """
    scaler = _adaptive_rms.scale_by_stddev if centered else _adaptive_rms.scale_by_rms
    return _combine.chain(
        scaler(decay=decay, eps=eps, initial_scale=initial_scale, eps_in_sqrt=eps_in_sqrt,
               bias_correction=bias_correction),
        _scaling.scale_by_learning_rate(learning_rate),
        _momentum_or_identity(momentum, nesterov),
    )


def adagrad(
    learning_rate: _base.ScalarOrSchedule,
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> _base.GradientTransformation:
    r"""AdaGrad: per-coordinate steps shrinking with the sum of squared gradients.

    .. math::

        s_t = s_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \alpha_t\, g_t / \sqrt{s_t + \varepsilon}

    eps is inside the square root and :math:`s_0` = ``initial_accumulator_value``
    (optax's convention; see :func:`scale_by_rss`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        initial_accumulator_value: :math:`s_0 \ge 0`.
        eps: :math:`\varepsilon \ge 0`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
        >>> print(tx.update(jnp.array([0.5, -4.0]), tx.init(jnp.zeros(2)))[0])
        [-1.  1.]
    """
    return _combine.chain(
        _adaptive_rms.scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        _scaling.scale_by_learning_rate(learning_rate),
    )
