"""SGD variants: with annealed gradient noise (noisy SGD) and with Fromage's relative steps. Chains only."""


import jax

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import fromage as _fromage
from jaxopt_scratch._transforms import layerwise as _layerwise
from jaxopt_scratch._transforms import noise as _noise
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def noisy_sgd(
    learning_rate: _base.ScalarOrSchedule,
    eta: jax.typing.ArrayLike = 0.01,
    gamma: jax.typing.ArrayLike = 0.55,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> _base.GradientTransformation:
    r"""SGD on gradients with annealed Gaussian noise: :math:`\theta_t = \theta_{t-1} - \alpha_t (g_t + \sigma_t z_t)`.

    :math:`\sigma_t^2 = \eta / t^\gamma` (see :func:`add_noise`).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        eta: :math:`\eta \ge 0`, the initial noise variance.
        gamma: :math:`\gamma \ge 0`, its annealing exponent.
        key: A typed PRNG key or an integer seed (``None``: seed 0); kept in the state.
        seed: Deprecated alias of ``key``.

    Returns:
        ``chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax
        >>> import jaxopt_scratch as jos
        >>> import jax.numpy as jnp
        >>> tx = jos.noisy_sgd(0.1, eta=0.0, key=jax.random.key(0))
        >>> print(tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0])  # eta = 0: plain SGD
        [-0.1  0.2]

    References:
        Neelakantan et al., `Adding Gradient Noise Improves Learning for Very
        Deep Networks <https://arxiv.org/abs/1511.06807>`_, 2015.
    """
    return _combine.chain(
        _noise.add_noise(eta, gamma, key, seed=seed),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def fromage(
    learning_rate: _base.ScalarOrSchedule,
    min_norm: jax.typing.ArrayLike = 1e-6,
) -> _base.GradientTransformation:
    r"""Fromage: a step relative to each leaf's norm, then a shrink that keeps the norm bounded.

    .. math::

        \theta^\ell_t = \frac{1}{\sqrt{1 + \eta_t^2}} \Bigl(\theta^\ell_{t-1}
            - \eta_t\, \frac{\|\theta^\ell_{t-1}\|}{\|g^\ell_t\|}\, g^\ell_t\Bigr)

    per leaf :math:`\ell` (norms floored at ``min_norm``; see
    :func:`scale_by_trust_ratio`).

    Args:
        learning_rate: :math:`\eta_t \ge 0`, a scalar (may be traced) or a schedule.
        min_norm: Floor on both norms, :math:`\ge 0`.

    Returns:
        ``chain(scale_by_trust_ratio, scale_by_learning_rate(step, flip_sign=False),
        add_decayed_weights(shrinkage), scale_by_learning_rate(1.0))`` with the
        coefficients of :func:`fromage_step_size` and :func:`fromage_shrinkage`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.fromage(0.75)
        >>> p = jnp.array([3.0, 4.0])
        >>> print(tx.update(p, tx.init(p), p)[0])  # (p - 0.75 p) / 1.25 - p
        [-2.4 -3.2]

    References:
        Bernstein et al., `On the distance between two neural networks and the
        stability of learning <https://arxiv.org/abs/2002.03432>`_, 2020 (Algorithm 1).

    .. note::
        optax writes the shrink as a *negative* weight decay after the descent
        sign; here it is a nonnegative decay before it, and the sign comes last
        (the minus sign lives only in :func:`scale_by_learning_rate`). The
        numbers are the same (sign flips are exact); the chain has one more
        stateless element than optax's.
    """
    _checks.check_nonnegative("learning_rate", learning_rate)  # before any arithmetic on it
    return _combine.chain(
        _layerwise.scale_by_trust_ratio(min_norm),
        _scaling.scale_by_learning_rate(_fromage.fromage_step_size(learning_rate), flip_sign=False),
        _weight_decay.add_decayed_weights(_fromage.fromage_shrinkage(learning_rate)),
        _scaling.scale_by_learning_rate(1.0),
    )
