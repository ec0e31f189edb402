"""SGD with Polyak's step size. Chains only, no arithmetic."""


import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import polyak as _polyak
from jaxopt_scratch._transforms import scaling as _scaling


def polyak_sgd(
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    scaling: _base.ScalarOrSchedule = 1.0,
    f_min: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> _base.GradientTransformationExtraArgs:
    r"""SGD whose step is the (stochastic) Polyak step size.

    .. math::

        w_{t+1} = w_t - s_t \min\left(\frac{f(w_t) - f^\star}{\|g_t\|^2 + \epsilon},
        \ \eta_{max}\right) g_t

    with :math:`s_t` = ``scaling`` (a scalar or a schedule). ``update`` needs
    the extra keyword argument ``value``, :math:`f(w_t)`; :func:`run` passes it.

    .. note::
        optax 0.2.8 documents this formula but chains ``sgd(scaling)`` *before*
        ``scale_by_polyak``, so the Polyak step sees :math:`s_t g_t` and its
        step is :math:`s_t \min(\mathrm{gap} / (s_t^2 \|g_t\|^2 + \epsilon),
        \eta_{max})`: halving ``scaling`` doubles the uncapped step. Here the
        Polyak step sees :math:`g_t` and ``scaling`` multiplies the result, as
        documented (and as :math:`1/c` in Loizou et al.'s SPS). With the
        default ``scaling=1`` both agree.

    Args:
        max_learning_rate: :math:`\eta_{max} > 0`.
        scaling: :math:`s_t \ge 0`, a scalar or a schedule.
        f_min: :math:`f^\star`, a lower bound of the objective. A wrong bound
            gives steps that are too long (divergence) or too short.
        eps: :math:`\epsilon \ge 0`.
        variant: Static; ``"sps"``, or ``"sps+"`` for the positive part of the gap.

    Returns:
        ``chain(scale_by_polyak(...), scale_by_learning_rate(scaling))``.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def f(x): return jnp.sum(x ** 2)
        >>> solver = jos.polyak_sgd()
        >>> params = jnp.array([1.0, 2.0, 3.0])
        >>> state = solver.init(params)
        >>> for _ in range(3):
        ...     value, grad = jax.value_and_grad(f)(params)
        ...     updates, state = solver.update(grad, state, params, value=value)
        ...     params = jos.apply_updates(params, updates)
        ...     print(f(params))                 # each step halves the distance to 0
        3.5
        0.875
        0.21875

    References:
        Loizou et al., `Stochastic Polyak Step-size for SGD
        <https://arxiv.org/abs/2002.10542>`_, 2021. Berrada et al., `Training
        neural networks for and by interpolation <https://arxiv.org/abs/1906.05661>`_,
        2020. Garrigos et al., `Function value learning
        <https://arxiv.org/abs/2307.14528>`_, 2023 (SPS+).
    """
    return _combine.chain(
        _polyak.scale_by_polyak(f_min=f_min, max_learning_rate=max_learning_rate, eps=eps,
                                variant=variant),
        _scaling.scale_by_learning_rate(scaling),
    )
