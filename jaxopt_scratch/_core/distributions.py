r"""A diagonal Gaussian parameterised by its log-scale, for evolution strategies and perturbations.

Same names, arguments and results as optax 0.2.8 (``optax.multi_normal``).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import jax.scipy.stats.norm as _normal


class MultiNormalDiagFromLogScale:
    r"""A Gaussian with independent coordinates, :math:`\mathcal N(\mu, \mathrm{diag}(e^{2s}))`.

    The parameters are exposed as given (``params == [loc, log_scale]``), so
    gradients with respect to them, as used by score-function estimators,
    are taken directly.

    Args:
        loc: The mean :math:`\mu`.
        log_scale: The log standard deviation :math:`s` (broadcasts against ``loc``).

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> dist = jos.multi_normal(jnp.zeros(2), jnp.zeros(2))
        >>> dist.sample((5,), jax.random.key(0)).shape
        (5, 2)
        >>> print(round(float(dist.log_prob(jnp.zeros(2))), 4))  # -log(2 pi)
        -1.8379
    """

    def __init__(self, loc: jax.typing.ArrayLike, log_scale: jax.typing.ArrayLike):
        self._mean = jnp.asarray(loc)
        self._log_scale = jnp.asarray(log_scale)
        self._scale = jnp.exp(self._log_scale)
        self._param_shape = jax.lax.broadcast_shapes(self._mean.shape, self._scale.shape)

    def sample(self, shape: Sequence[int], key: jax.Array) -> jax.Array:
        """Draws ``shape + param_shape`` samples."""
        sample_shape = (*shape, *self._param_shape)
        noise = jax.random.normal(key, sample_shape)
        # Explicit broadcasts: the batch axes are new (rank promotion may be disabled).
        scale = jnp.broadcast_to(self._scale, sample_shape)
        return noise * scale + jnp.broadcast_to(self._mean, sample_shape)

    def log_prob(self, x: jax.typing.ArrayLike) -> jax.Array:
        """The log density of ``x``, summed over the parameter axes."""
        x = jnp.asarray(x)
        shape = jnp.broadcast_shapes(x.shape, self._param_shape)
        per_coordinate = _normal.logpdf(jnp.broadcast_to(x, shape),
                                        loc=jnp.broadcast_to(self._mean, shape),
                                        scale=jnp.broadcast_to(self._scale, shape))
        axes = tuple(range(-len(self._param_shape), 0))
        return jnp.sum(per_coordinate, axis=axes)

    @property
    def log_scale(self) -> jax.Array:
        """The log standard deviation :math:`s`."""
        return self._log_scale

    @property
    def params(self) -> Sequence[jax.Array]:
        """``[loc, log_scale]``."""
        return [self._mean, self._log_scale]


def multi_normal(loc: jax.typing.ArrayLike,
                 log_scale: jax.typing.ArrayLike) -> MultiNormalDiagFromLogScale:
    r"""A diagonal Gaussian :math:`\mathcal N(\mathrm{loc}, \mathrm{diag}(e^{2\,\mathrm{log\_scale}}))`.

    Args:
        loc: The mean.
        log_scale: The log standard deviation.

    Returns:
        A :class:`MultiNormalDiagFromLogScale`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.multi_normal(jnp.zeros(3), jnp.log(2.0) * jnp.ones(3)).params[1].shape
        (3,)
    """
    return MultiNormalDiagFromLogScale(loc=loc, log_scale=log_scale)
