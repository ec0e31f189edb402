r"""Differentially private SGD: clip each example's gradient, sum, add Gaussian noise."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import accumulation as _accumulation
from jaxopt_scratch._transforms import per_example as _per_example
from jaxopt_scratch._transforms import scaling as _scaling


class DifferentiallyPrivateAggregateState(NamedTuple):
    """State of :func:`differentially_private_aggregate`."""

    rng_key: jax.Array  # the PRNG key for the next step's noise


def _as_key(key):
    if key is None:
        return jax.random.key(0)
    if isinstance(key, int):
        return jax.random.key(key)
    key = jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    return jax.random.wrap_key_data(key)  # a raw uint32 key (jax.random.PRNGKey)


def differentially_private_aggregate(
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
) -> _base.GradientTransformation:
    r"""Aggregates per-example gradients as DP-SGD: clip, sum, add noise, average.

    The updates must carry the examples on axis 0 (e.g. from ``jax.vmap(jax.grad(...))``);
    for a batch of :math:`B`:

    .. math::

        \bar g = \frac{1}{B}\Bigl(\sum_{n=1}^B g_n \min\bigl(1, C/\lVert g_n\rVert\bigr)
            + \mathcal{N}(0, \sigma^2 C^2 I)\Bigr)

    Put it first in a chain; gradient accumulation (``MultiSteps``) would break
    its privacy accounting.

    Args:
        l2_norm_clip: :math:`C \ge 0`, the per-example norm bound (may be traced).
        noise_multiplier: :math:`\sigma \ge 0` (may be traced).
        key: A PRNG key (typed or raw) or an int seed; ``None`` means seed 0.

    Returns:
        A transform whose state is :class:`DifferentiallyPrivateAggregateState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.differentially_private_aggregate(1.0, 0.0, key=0)
        >>> g = jnp.array([[3.0, 4.0], [0.3, 0.4]])  # two examples
        >>> print(tx.update(g, tx.init(jnp.zeros(2)))[0])  # (0.6 + 0.3, 0.8 + 0.4) / 2
        [0.45 0.6 ]

    References:
        Abadi et al., `Deep Learning with Differential Privacy
        <https://arxiv.org/abs/1607.00133>`_, 2016 (Algorithm 1).

    .. note::
        optax 0.2.8 also takes a deprecated ``seed=`` keyword; here ``key`` takes
        an int seed too. optax warns when no key is given; here it is seed 0.
    """
    _checks.check_nonnegative("l2_norm_clip", l2_norm_clip)
    _checks.check_nonnegative("noise_multiplier", noise_multiplier)
    start = _as_key(key)

    def init_fn(params):
        del params
        return DifferentiallyPrivateAggregateState(rng_key=start)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        leaves, treedef = jax.tree.flatten(updates)
        batch = leaves[0].shape[0] if leaves and leaves[0].ndim else 1
        clipped, _ = _per_example.per_example_global_norm_clip(leaves, l2_norm_clip)
        new_key, *keys = jax.random.split(state.rng_key, len(leaves) + 1)
        std = jnp.asarray(l2_norm_clip, jnp.float32) * jnp.asarray(noise_multiplier, jnp.float32)
        noised = [(g + std.astype(g.dtype) * jax.random.normal(k, g.shape, g.dtype))
                  / jnp.asarray(batch, g.dtype) for g, k in zip(clipped, keys)]
        return treedef.unflatten(noised), DifferentiallyPrivateAggregateState(rng_key=new_key)

    return _base.GradientTransformation(init_fn, update_fn)


def dpsgd(
    learning_rate: _base.ScalarOrSchedule,
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    seed: int,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
) -> _base.GradientTransformation:
    r"""DP-SGD: :func:`differentially_private_aggregate`, then (momentum) SGD.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        l2_norm_clip: :math:`C \ge 0`, the per-example norm bound.
        noise_multiplier: :math:`\sigma \ge 0`.
        seed: The noise's PRNG seed (int) or key.
        momentum: Heavy-ball decay, or ``None`` for none.
        nesterov: Structural; Nesterov momentum.

    Returns:
        ``chain(differentially_private_aggregate, trace or identity, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.dpsgd(0.1, l2_norm_clip=1.0, noise_multiplier=0.0, seed=0)
        >>> g = jnp.array([[3.0, 4.0], [0.3, 0.4]])
        >>> print(tx.update(g, tx.init(jnp.zeros(2)))[0])
        [-0.045 -0.06 ]

    References:
        Abadi et al., `Deep Learning with Differential Privacy
        <https://arxiv.org/abs/1607.00133>`_, 2016.
    """
    if momentum is not None:  # named here: trace() would call it `decay`
        _checks.check_decay("momentum", momentum)
    return _combine.chain(
        differentially_private_aggregate(l2_norm_clip, noise_multiplier, key=seed),
        _base.identity() if momentum is None else _accumulation.trace(momentum, nesterov),
        _scaling.scale_by_learning_rate(learning_rate),
    )
