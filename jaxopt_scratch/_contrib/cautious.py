r"""Cautious updates: keep only the coordinates that agree with the gradient (Liang et al., 2024)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math


class CautiousState(NamedTuple):
    """State of :func:`cautious`."""

    inner_state: Any  # the wrapped transform's state, untouched by the mask


def _caution_leaf(u: jax.Array, g: jax.Array, keep_sign: int) -> jax.Array:
    """``u`` where ``sign(Re(u conj(g))) == keep_sign``, else 0, times ``n / (kept + 1)``."""
    if u.size == 0:
        return u
    wide = _tree_math.moment_dtype(u.dtype)
    # Re(u conj(g)) is the coordinate's inner product: for complex leaves the two
    # real parts of a coordinate are kept or dropped together.
    alignment = jnp.real(u.astype(wide) * jnp.conj(g.astype(wide)))
    kept = alignment * keep_sign > 0
    real = jnp.finfo(wide).dtype
    scale = jnp.asarray(u.size, real) / (jnp.sum(kept, dtype=real) + 1)
    # A product, not a `where`: a NaN or Inf in `u` still shows (as in the reference code).
    return u * (kept.astype(real) * scale).astype(u.dtype)


def cautious(
    inner: _base.GradientTransformation,
    *,
    direction: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""The cautious version of ``inner``: drops the coordinates that would climb, rescales the rest.

    For each leaf with :math:`n` coordinates, incoming gradient :math:`g` and
    ``inner``'s output :math:`u`:

    .. math::

        \phi_i = \mathbb{1}\bigl[\operatorname{Re}(u_i \bar g_i) < 0\bigr], \qquad
        \tilde u = \frac{n}{\sum_i \phi_i + 1}\; \phi \odot u

    By default ``inner`` is a whole optimizer (``jos.adamw(lr)``), whose output
    is an update to *add* to the params: a coordinate is kept when it goes
    against the gradient, i.e. decreases the loss to first order. With
    ``direction=True``, ``inner`` outputs a direction to *subtract* (a
    ``scale_by_*`` transform placed before :func:`scale_by_learning_rate`) and
    the test is :math:`\operatorname{Re}(u_i \bar g_i) > 0`. Both give the same
    mask for a positive learning rate; they differ in what ``inner`` holds:

    - ``cautious(jos.adamw(lr, weight_decay=wd))`` masks (and rescales) the
      weight decay together with the Adam step;
    - ``chain(cautious(scale_by_adam(), direction=True), add_decayed_weights(wd),
      scale_by_learning_rate(lr))`` is the paper's C-AdamW exactly: the decay
      is applied to every coordinate, outside the mask.

    The mask is computed per leaf (per parameter tensor, as in the reference
    code), from the updates that reach the wrapper (the gradient, unless
    earlier transforms of a chain changed it). Numeric hyperparameters of
    ``inner`` stay as traceable as they were; ``inner``'s state is kept in
    :class:`CautiousState` (so :func:`eval_params` still finds its hook).

    Args:
        inner: Any gradient transformation; by default an optimizer producing
            updates to add.
        direction: Structural; ``inner`` produces a descent direction (to be
            subtracted) instead of an update.

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is
        :class:`CautiousState`; extra keyword arguments reach ``inner``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.cautious(jos.sgd(0.1, momentum=0.9))
        >>> p = jnp.zeros(4)
        >>> state = tx.init(p)
        >>> _, state = tx.update(jnp.array([1.0, 1.0, 1.0, 1.0]), state, p)
        >>> u, _ = tx.update(jnp.array([1.0, -0.5, 1.0, -3.0]), state, p)
        >>> print(u)  # momentum climbs on coordinate 2: dropped; 4 / (3 + 1) = 1 for the rest
        [-0.19  0.   -0.19  0.21]

    References:
        Liang, Chen, Liu & Liu, `Cautious Optimizers: Improving Training with One
        Line of Code <https://arxiv.org/abs/2411.16085>`_, 2024 (Algorithm 1, the
        PyTorch line, and the C-AdamW algorithm box).

    .. note::
        Paper versus code. The paper's one-line Algorithm 1 rescales by
        :math:`1 / (\mathrm{mean}(\phi) + \epsilon)`; its C-AdamW box and
        ``pytorch-optimizer`` use :math:`n / (\sum_i \phi_i + 1)`, which we
        follow (so a leaf whose coordinates are all kept is scaled by
        :math:`n / (n + 1)`, a scalar leaf by one half); the authors' later
        code divides by :math:`\max(\mathrm{mean}(\phi), 10^{-3})`. A
        coordinate with :math:`u_i \bar g_i = 0` (for instance a zero gradient)
        is dropped, as with the reference's strict ``u * g > 0``.
    """
    _combine.check_transform(inner, "`cautious` inner", example="jos.adamw(1e-3)")
    if not isinstance(direction, bool):
        raise TypeError(
            f"`direction` must be a bool (True when `inner` outputs a direction to subtract, "
            f"such as `jos.scale_by_adam()`), got {direction!r}.")
    keep_sign = 1 if direction else -1

    def init_fn(params):
        return CautiousState(inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        new, inner_state = _base.call_update(inner, updates, state.inner_state, params,
                                             extra_args)
        if jax.tree.structure(new) != jax.tree.structure(updates):
            raise ValueError(
                "`cautious`: `inner` returned updates whose tree differs from the gradients', so "
                "they cannot be compared coordinate by coordinate.\n"
                f"  gradients: {jax.tree.structure(updates)}\n"
                f"  inner's:   {jax.tree.structure(new)}\n"
                "Wrap a transform whose updates are shaped like the params (not `lookahead`).")
        out = jax.tree.map(lambda u, g: _caution_leaf(u, g, keep_sign), new, updates)
        return out, CautiousState(inner_state=inner_state)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)
