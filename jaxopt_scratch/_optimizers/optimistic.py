"""Optimistic optimizers for min-max games: OGD and optimistic Adam. Chains only."""


from typing import Any

import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import optimistic as _optimistic
from jaxopt_scratch._transforms import scaling as _scaling


def optimistic_gradient_descent(
    learning_rate: _base.ScalarOrSchedule,
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
) -> _base.GradientTransformation:
    r"""Optimistic gradient descent: :math:`\theta_{t} = \theta_{t-1} - \eta_t\,((\alpha + \beta) g_t - \beta g_{t-1})`.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        alpha: See :func:`scale_by_optimistic_gradient` (a scalar; may be traced).
        beta: See :func:`scale_by_optimistic_gradient`.

    Returns:
        ``chain(scale_by_optimistic_gradient(alpha, beta), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.optimistic_gradient_descent(0.1)
        >>> s = tx.init(jnp.zeros(1))
        >>> _, s = tx.update(jnp.array([1.0]), s)
        >>> print(tx.update(jnp.array([3.0]), s)[0])  # -0.1 (2 * 3 - 1)
        [-0.5]

    References:
        Mokhtari, Ozdaglar & Pattathil, `A Unified Analysis of Extra-gradient and
        Optimistic Gradient Methods for Saddle Point Problems
        <https://arxiv.org/abs/1901.08511>`_, 2020.
    """
    return _combine.chain(
        _optimistic.scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def optimistic_adam(
    learning_rate: jax.typing.ArrayLike,
    optimism: jax.typing.ArrayLike | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
) -> _base.GradientTransformation:
    r"""Optimistic Adam (optax's first interface): :math:`u_t = -\alpha r_t - o\,(r_t - r_{t-1})`.

    :math:`r_t` is the :func:`scale_by_adam` direction (NAdam by default). The
    learning rate :math:`\alpha` and the optimism :math:`o` (default
    :math:`\alpha`, as in the paper) are the ``alpha`` and ``beta`` of
    :func:`scale_by_optimistic_gradient`, followed by a unit descent step.

    Args:
        learning_rate: :math:`\alpha \ge 0`, a scalar (may be traced), or a
            schedule when ``optimism`` is ``None``.
        optimism: :math:`o`, or ``None`` for :math:`o = \alpha`.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        mu_dtype: See :func:`scale_by_adam`.
        nesterov: Structural; NAdam's look-ahead first moment (default on).

    Returns:
        ``chain(scale_by_adam, scale_by_optimistic_gradient(learning_rate, optimism),
        scale_by_learning_rate(1.0))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.optimistic_adam(0.1, eps=0.0, nesterov=False)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p))[0])  # first step: -lr sign(g)
        [-0.1  0.1]

    References:
        Daskalakis et al., `Training GANs with Optimism
        <https://arxiv.org/abs/1711.00141>`_, 2018.

    .. note::
        optax 0.2.8 deprecates this interface with a ``DeprecationWarning`` in
        favour of :func:`optimistic_adam_v2`; we keep both without a warning.
        optax rejects a schedule; with ``optimism=None`` we accept one and
        step :math:`-\alpha_t (2 r_t - r_{t-1})` (``optimistic_adam_v2``'s chain).
    """
    # Checked here: the transforms see these as `alpha` and `beta`.
    _checks.check_nonnegative("learning_rate", learning_rate)
    if optimism is not None:
        _checks.check_interval("optimism", optimism)
    if callable(learning_rate):
        if optimism is not None:
            raise TypeError(
                f"`optimistic_adam` takes a schedule as `learning_rate` only with the default "
                f"`optimism=None` (got optimism={optimism!r}); for a fixed optimism use "
                f"`optimistic_adam_v2`.")
        alpha, beta, step = 1.0, 1.0, learning_rate  # -lr_t (2 r_t - r_{t-1})
    else:
        alpha, beta, step = learning_rate, learning_rate if optimism is None else optimism, 1.0
    return _combine.chain(
        _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                     mu_dtype=mu_dtype, nesterov=nesterov),
        _optimistic.scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        _scaling.scale_by_learning_rate(step),
    )


def optimistic_adam_v2(
    learning_rate: _base.ScalarOrSchedule,
    *,
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    nesterov: bool = True,
) -> _base.GradientTransformation:
    r"""Optimistic Adam: :math:`\theta_t = \theta_{t-1} - \eta_t\,((\alpha + \beta) r_t - \beta r_{t-1})`.

    :math:`r_t` is the :func:`scale_by_adam` direction (NAdam by default).

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        alpha: See :func:`scale_by_optimistic_gradient`.
        beta: See :func:`scale_by_optimistic_gradient`.
        b1: See :func:`scale_by_adam`.
        b2: See :func:`scale_by_adam`.
        eps: See :func:`scale_by_adam`.
        eps_root: See :func:`scale_by_adam`.
        mu_dtype: See :func:`scale_by_adam`.
        nesterov: Structural; NAdam's look-ahead first moment (default on).

    Returns:
        ``chain(scale_by_adam, scale_by_optimistic_gradient, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.optimistic_adam_v2(0.1, eps=0.0, nesterov=False)
        >>> p = jnp.array([1.0, -2.0])
        >>> print(tx.update(2 * p, tx.init(p))[0])  # first step: -lr alpha sign(g)
        [-0.1  0.1]

    References:
        Daskalakis et al., `Training GANs with Optimism
        <https://arxiv.org/abs/1711.00141>`_, 2018.
    """
    return _combine.chain(
        _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                     mu_dtype=mu_dtype, nesterov=nesterov),
        _optimistic.scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        _scaling.scale_by_learning_rate(learning_rate),
    )
