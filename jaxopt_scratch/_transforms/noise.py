"""Annealed Gaussian gradient noise; the PRNG key lives in the state."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math


class AddNoiseState(NamedTuple):
    """State of :func:`add_noise`."""

    count: jax.Array  # updates seen so far (int32 scalar, saturating); anneals the variance
    rng_key: jax.Array  # the PRNG key's raw data (uint32, jax.random.key_data), split every step


def _is_typed_key(key) -> bool:
    return isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def _check_key(key) -> None:
    """A typed key or an integer seed; anything else (a float, a raw uint32 pair) is refused."""
    if _is_typed_key(key):
        return
    try:
        dtype = None if isinstance(key, bool) else jnp.result_type(key)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.integer) or np.ndim(key) != 0:
        raise TypeError(
            f"`key` must be a typed PRNG key (`jax.random.key(0)`) or an integer seed, got "
            f"{key!r}. Wrap a raw uint32 key with `jax.random.wrap_key_data(key)`.")


def _as_key(key) -> jax.Array:
    return key if _is_typed_key(key) else jax.random.key(key)


def _impl(key):
    """The PRNG implementation of ``key`` (static), to rebuild typed keys from raw state."""
    return jax.random.key_impl(key) if _is_typed_key(key) else None


def add_noise(
    eta: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> _base.GradientTransformation:
    r"""Adds Gaussian noise whose variance decays with the step: :math:`u_t = g_t + \sigma_t z_t`.

    .. math::

        \sigma_t^2 = \frac{\eta}{t^\gamma}, \qquad z_t \sim \mathcal N(0, I), \qquad t = 1, 2, \dots

    Each step splits the state's key into the next key and a sampling key,
    and the sampling key into one key per leaf (in tree order), as in optax,
    so a given key reproduces optax's noise exactly for float32 leaves.

    Args:
        eta: :math:`\eta \ge 0`, the variance at the first step (may be traced).
        gamma: :math:`\gamma \ge 0`, the annealing exponent (may be traced).
        key: A typed PRNG key (``jax.random.key(0)``) or an integer seed;
            ``None`` means seed 0. It becomes part of the state, never a
            hyperparameter (it is not swept or traced as a number).
        seed: Deprecated alias of ``key`` (optax's old name); warns.

    Returns:
        A transform whose state is :class:`AddNoiseState`.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.add_noise(eta=0.0, gamma=0.55, key=jax.random.key(0))
        >>> u, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
        >>> print(u, state.count)  # eta = 0: no noise
        [1. 1.] 1

    References:
        Neelakantan et al., `Adding Gradient Noise Improves Learning for Very
        Deep Networks <https://arxiv.org/abs/1511.06807>`_, 2015 (Section 2).

    .. note::
        optax warns when ``key`` is ``None`` and uses seed 0; we use seed 0
        without a warning. The state keeps the key's raw data
        (``jax.random.key_data``, uint32) where optax keeps the typed key, so
        the state is plain numbers (``np.asarray``, ``allclose`` and checkpoints
        work on it); ``jax.random.wrap_key_data`` gives the typed key back. The noise is drawn in float32 (complex64) whatever the
        leaf's dtype and added in at least float32, so float32 runs match optax
        exactly and a float64 or bfloat16 run gets the same noise as the float32
        run; optax draws it in the leaf's dtype (other numbers in float64, and
        noise rounded to 8 bits in bfloat16).
    """
    if seed is not None:
        warnings.warn("`seed` is deprecated; pass `key` (a `jax.random.key` or an int) instead.",
                      DeprecationWarning, stacklevel=2)
        if key is not None:
            raise ValueError(f"Pass either `key` or the deprecated `seed`, not both "
                             f"(got key={key!r}, seed={seed!r}).")
        key = seed
    key = 0 if key is None else key
    _check_key(key)
    impl = _impl(key)
    _checks.check_nonnegative("eta", eta)
    _checks.check_nonnegative("gamma", gamma)

    def init_fn(params):
        _tree_math.check_float_params(params)
        return AddNoiseState(count=_tree_math.zero_count(),
                             rng_key=jax.random.key_data(_as_key(key)))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _tree_math.safe_increment(state.count)
        dt = _tree_math.scalar_dtype(updates)
        std = jnp.sqrt(jnp.asarray(eta, dt) / count.astype(dt) ** jnp.asarray(gamma, dt))
        rng_key, sample_key = jax.random.split(jax.random.wrap_key_data(state.rng_key, impl=impl))
        leaves, treedef = jax.tree.flatten(updates)
        keys = jax.random.split(sample_key, len(leaves))

        def noisy(g, k):
            wide = _tree_math.upcast(g)
            # Drawn in single precision for every leaf dtype: a float64 run gets the
            # same noise as a float32 one (up to rounding), a bfloat16 run unrounded noise.
            single = jnp.complex64 if jnp.iscomplexobj(g) else jnp.float32
            z = _tree_math.cast(std, single) * jax.random.normal(k, wide.shape, single)
            return _tree_math.cast(wide + _tree_math.cast(z, wide.dtype), g.dtype)

        out = jax.tree.unflatten(treedef, [noisy(g, keys[i]) for i, g in enumerate(leaves)])
        return out, AddNoiseState(count=count, rng_key=jax.random.key_data(rng_key))

    return _base.GradientTransformation(init_fn, update_fn)
