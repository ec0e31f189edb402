r"""Complex parameters as pairs of real ones: ``split_real_and_imaginary``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine


class SplitRealAndImaginaryArrays(NamedTuple):
    """A complex leaf split into its real and imaginary parts (both real arrays)."""

    real: jax.Array  # Re(x)
    imaginary: jax.Array  # Im(x)


class SplitRealAndImaginaryState(NamedTuple):
    """State of :func:`split_real_and_imaginary`."""

    inner_state: _base.OptState  # the inner transform's state over the split (real) tree


def _split(x: Any) -> Any:
    if x is not None and jnp.iscomplexobj(x):
        return SplitRealAndImaginaryArrays(jnp.real(x), jnp.imag(x))
    return x


def _merge(x: Any) -> Any:
    if isinstance(x, SplitRealAndImaginaryArrays):
        return jax.lax.complex(x.real, x.imaginary)
    return x


def split_real_and_imaginary(inner: _base.GradientTransformation) -> _base.GradientTransformation:
    r"""Runs ``inner`` on :math:`(\mathrm{Re}\, z, \mathrm{Im}\, z)` of every complex leaf.

    A complex leaf :math:`z` becomes the pair of real arrays, ``inner`` updates
    them as two independent real parameters, and the pair is merged back:
    :math:`u = u_{re} + i\, u_{im}`. Real leaves pass through unchanged. (JAX's
    gradient of a real loss w.r.t. :math:`z` is :math:`\overline{\partial f/\partial \bar z}`
    up to a factor: conjugate it before ``update`` to descend, as optax explains.)

    Args:
        inner: The transform to run on the real and imaginary parts.

    Returns:
        A transform whose state is :class:`SplitRealAndImaginaryState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.split_real_and_imaginary(jos.adam(0.1))
        >>> z = jnp.array([1.0 + 4.0j])
        >>> print(tx.update(z, tx.init(z), z)[0])  # Adam's -lr * sign on each part
        [-0.1-0.1j]
    """
    _combine.check_transform(inner, "`inner`")

    def init_fn(params):
        return SplitRealAndImaginaryState(inner.init(jax.tree.map(_split, params)))

    def update_fn(updates, state, params=None, **extra_args):
        split_params = None if params is None else jax.tree.map(_split, params)
        new, inner_state = _base.call_update(inner, jax.tree.map(_split, updates),
                                             state.inner_state, split_params, extra_args)
        merged = jax.tree.map(_merge, new,
                              is_leaf=lambda x: isinstance(x, SplitRealAndImaginaryArrays))
        return merged, SplitRealAndImaginaryState(inner_state)

    return _base.GradientTransformation(init_fn, update_fn)
