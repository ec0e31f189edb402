"""RMS-family optimizers that need little memory or no learning rate: Adadelta, Adafactor, SM3.

Chains only, no arithmetic of their own.
"""


from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import accumulation as _accumulation
from jaxopt_scratch._transforms import adaptive_delta as _adaptive_delta
from jaxopt_scratch._transforms import clipping_adaptive as _clipping_adaptive
from jaxopt_scratch._transforms import factored as _factored
from jaxopt_scratch._transforms import layerwise as _layerwise
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import sm3 as _sm3
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def adadelta(
    learning_rate: _base.ScalarOrSchedule | None = None,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
    weight_decay: _base.ScalarOrSchedule = 0.0,
    weight_decay_mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Adadelta: :math:`\theta_t = \theta_{t-1} - \alpha_t\, u_t`, :math:`u_t` from :func:`scale_by_adadelta`.

    The weight decay is added to the gradient *before* the rescaling (L2
    regularisation, as in optax and ``torch.optim.Adadelta``).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule; ``None`` means
            1 (the paper has no learning rate).
        rho: See :func:`scale_by_adadelta`.
        eps: See :func:`scale_by_adadelta`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        weight_decay_mask: Leaves to decay: a pytree of bools or a function of params.

    Returns:
        ``chain(add_decayed_weights, scale_by_adadelta, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adadelta(rho=0.0, eps=1e-2)
        >>> p = jnp.array([0.05])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # -sqrt(0.01) / sqrt(0.01 + 0.01) * 0.1
        [-0.07071068]

    References:
        Zeiler, `ADADELTA: An Adaptive Learning Rate Method
        <https://arxiv.org/abs/1212.5701>`_, 2012.

    .. note::
        optax 0.2.8 replaces ``learning_rate=None`` by the identity, so its
        default Adadelta *ascends* (its own test skips that case). ``None``
        here is a learning rate of 1, a descent step, with the same state.
    """
    return _combine.chain(
        _weight_decay.add_decayed_weights(weight_decay, mask=weight_decay_mask),
        _adaptive_delta.scale_by_adadelta(rho=rho, eps=eps),
        _scaling.scale_by_learning_rate(1.0 if learning_rate is None else learning_rate),
    )


def adafactor(
    learning_rate: _base.ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: jax.typing.ArrayLike = 0.8,
    decay_offset: jax.typing.ArrayLike = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: jax.typing.ArrayLike | None = 1.0,
    momentum: jax.typing.ArrayLike | None = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: _base.ScalarOrSchedule | None = None,
    eps: jax.typing.ArrayLike = 1e-30,
    factored: bool = True,
    weight_decay_mask: _combine.MaskOrFn = None,
) -> _base.GradientTransformation:
    r"""Adafactor: factored RMS scaling, block-RMS clipping and steps relative to the params' scale.

    .. math::

        \theta_t = \theta_{t-1} - \Bigl(\alpha_t\, \operatorname{clip}_{d}(g_t / \sqrt{\hat V_t})\,
            \max(\operatorname{RMS}(\theta_{t-1}), 10^{-3})
            \;[\text{then momentum}]\; + \lambda\, \theta_{t-1}\Bigr)

    where :math:`\hat V_t` is :func:`scale_by_factored_rms`'s estimate and
    :math:`\operatorname{clip}_d` is :func:`clip_by_block_rms` at
    ``clipping_threshold``. Each optional stage is added only when its
    argument is not ``None`` (or ``multiply_by_parameter_scale`` is true), so
    the chain and its state are optax's. ``learning_rate=None`` leaves the step
    relative to the params' RMS only.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar, a schedule or ``None``.
        min_dim_size_to_factor: Structural int; see :func:`scale_by_factored_rms`.
        decay_rate: The exponent of the second-moment decay schedule (may be traced).
        decay_offset: Subtracted from the step count of that schedule (may be traced).
        multiply_by_parameter_scale: Structural; scale steps by each leaf's RMS.
        clipping_threshold: :math:`d \ge 0` for :func:`clip_by_block_rms`, or ``None``.
        momentum: :math:`\beta \in [0, 1)` for an uncorrected EMA of the steps, or ``None``.
        dtype_momentum: dtype of that EMA.
        weight_decay_rate: :math:`\lambda \ge 0` (scalar or schedule), not
            multiplied by the learning rate, or ``None``.
        eps: :math:`\epsilon`, added to every squared gradient.
        factored: Structural; ``False`` keeps full second moments.
        weight_decay_mask: Leaves to decay: a pytree of bools or a function of params.

    Returns:
        ``chain(scale_by_factored_rms, [clip_by_block_rms], [scale_by_learning_rate],
        [scale_by_param_block_rms], [ema], [add_decayed_weights], scale_by_learning_rate(1))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adafactor(0.1, multiply_by_parameter_scale=False, eps=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(p, tx.init(p), p)[0])  # -lr g / |g| at the first step
        [-0.1  0.1]

    References:
        Shazeer & Stern, `Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost <https://arxiv.org/abs/1804.04235>`_, 2018.
    """
    # Checked here so that errors name this function's arguments (the transforms call
    # them `epsilon`, `threshold`, `decay` and `weight_decay`).
    _checks.check_nonnegative("eps", eps)
    _checks.check_interval("decay_offset", decay_offset)
    if clipping_threshold is not None:
        _checks.check_nonnegative("clipping_threshold", clipping_threshold)
    if momentum is not None:
        _checks.check_decay("momentum", momentum)
    if weight_decay_rate is not None:
        _checks.check_nonnegative("weight_decay_rate", weight_decay_rate)
    parts = [_factored.scale_by_factored_rms(factored, decay_rate, decay_offset,
                                             min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        parts.append(_clipping_adaptive.clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        parts.append(_scaling.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        parts.append(_layerwise.scale_by_param_block_rms())
    if momentum is not None:
        parts.append(_accumulation.ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        parts.append(_weight_decay.add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    # The descent sign, applied last (optax: `scale(-1)`).
    parts.append(_scaling.scale_by_learning_rate(1.0))
    return _combine.chain(*parts)


def sm3(
    learning_rate: _base.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike = 0.9,
) -> _base.GradientTransformation:
    r"""SM3: :math:`\theta_t = \theta_{t-1} - \alpha_t\, m_t`, with :math:`m_t` from :func:`scale_by_sm3`.

    Memory is one accumulator per row, column, ... of each leaf (sublinear),
    yet each entry gets its own AdaGrad-like step size.

    Args:
        learning_rate: :math:`\alpha_t`, a scalar (or a schedule).
        momentum: :math:`\beta_1 \in [0, 1)`, passed to :func:`scale_by_sm3` as ``b1``.

    Returns:
        ``chain(scale_by_sm3(momentum), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.sm3(0.1, momentum=0.0)
        >>> p = jnp.array([[1.0, -2.0]])
        >>> print(tx.update(p, tx.init(p), p)[0])  # -lr sign(g) at the first step
        [[-0.1  0.1]]

    References:
        Anil et al., `Memory-Efficient Adaptive Optimization
        <https://arxiv.org/abs/1901.11150>`_, 2019.
    """
    _checks.check_decay("momentum", momentum)  # the transform calls it `b1`
    return _combine.chain(
        _sm3.scale_by_sm3(momentum),
        _scaling.scale_by_learning_rate(learning_rate),
    )
