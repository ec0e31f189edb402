r"""Reduce the learning rate when the monitored loss stops improving (a transform, fed ``value=``)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import linesearch as _linesearch


class ReduceLROnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau`."""

    scale: jax.Array  # the factor applied to the updates, in the params' lowest float dtype
    best_value: jax.Array  # the best averaged value so far (inf at first), params' highest dtype
    plateau_count: jax.Array  # evaluations without improvement since the last reset (int32)
    cooldown_count: jax.Array  # evaluations left before plateaus count again (int32)
    count: jax.Array  # values accumulated into `avg_value` so far (int32)
    avg_value: jax.Array  # running mean of the values of the current accumulation window


def _float_dtypes(params) -> list[jnp.dtype]:
    return [jnp.result_type(p) for p in jax.tree.leaves(params)] or [_tree_math.float_dtype()]


def reduce_on_plateau(
    factor: jax.typing.ArrayLike = 0.1,
    patience: jax.typing.ArrayLike = 10,
    rtol: jax.typing.ArrayLike = 1e-4,
    atol: jax.typing.ArrayLike = 0.0,
    cooldown: jax.typing.ArrayLike = 0,
    accumulation_size: jax.typing.ArrayLike = 1,
    min_scale: jax.typing.ArrayLike = 0.0,
) -> _base.GradientTransformationExtraArgs:
    r"""Multiplies the updates by a scale that drops by ``factor`` when the loss plateaus.

    Every ``accumulation_size`` calls, the mean :math:`\bar v` of the ``value``
    arguments is compared with the best mean so far :math:`v^\star`. It is an
    improvement if

    .. math::

        \bar v < v^\star - \mathrm{rtol}\, |v^\star| - \mathrm{atol}.

    After ``patience`` evaluations in a row without improvement the scale is
    multiplied by ``factor`` (never below ``min_scale``) and the next
    ``cooldown`` evaluations are ignored. The output is ``scale * updates``;
    chain it after the optimizer, as a learning-rate multiplier.

    ``update`` needs the keyword argument ``value`` (a training loss, or better
    a validation loss); :func:`run` passes the training loss.

    Args:
        factor: In :math:`(0, 1)`; may be traced.
        patience: Evaluations without improvement before a reduction (may be traced).
        rtol: Relative improvement threshold, in :math:`[0, 1]`.
        atol: Absolute improvement threshold, :math:`\ge 0`.
        cooldown: Evaluations to wait after a reduction (may be traced).
        accumulation_size: Values averaged per evaluation (may be traced).
        min_scale: The scale never drops below this.

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is
        :class:`ReduceLROnPlateauState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.reduce_on_plateau(factor=0.5, patience=2)
        >>> g = jnp.ones(1)
        >>> state = tx.init(g)
        >>> for loss in [-1.0, -1.0, -1.0, -1.0, -1.0]:      # a plateau of a negative loss
        ...     u, state = tx.update(g, state, value=loss)
        ...     print(state.scale, end=" ")
        1.0 1.0 0.5 0.5 0.25

    References:
        Keras ``ReduceLROnPlateau`` and PyTorch ``torch.optim.lr_scheduler.ReduceLROnPlateau``
        (the rule); optax ``contrib.reduce_on_plateau`` (this interface).

    .. note::
        optax 0.2.8 tests ``avg < (1 - rtol) * best - atol``. For a negative best
        value, :math:`(1 - \mathrm{rtol})\, v^\star > v^\star`, so an unchanged (or
        slightly worse) loss counts as an improvement and the scale is never
        reduced (optax PR #1767). Here the threshold is
        :math:`v^\star (1 \mp \mathrm{rtol}) - \mathrm{atol}` with the sign of
        :math:`v^\star`, which equals optax's for :math:`v^\star \ge 0` and stays
        :math:`+\infty` (no ``inf - inf``) before the first evaluation.
    """
    _checks.check_interval("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
    _checks.check_interval("rtol", rtol, 0.0, 1.0)
    _checks.check_nonnegative("atol", atol)
    both = (_checks.concrete_value(rtol), _checks.concrete_value(atol))
    if all(v is not None for v in both) and not (both[0] > 0 or both[1] > 0):
        raise ValueError(
            f"At least one of `rtol` and `atol` must be positive, got rtol={rtol!r} and "
            f"atol={atol!r}: with both 0 a loss equal to the best counts as an improvement."
        )
    _checks.check_interval("patience", patience, 0.0)
    _checks.check_nonnegative("cooldown", cooldown)
    _checks.check_interval("accumulation_size", accumulation_size, 1.0)
    _checks.check_nonnegative("min_scale", min_scale)

    def init_fn(params):
        dtypes = _float_dtypes(params)
        lowest = min(dtypes, key=lambda d: jnp.finfo(d).bits)
        highest = max(dtypes, key=lambda d: jnp.finfo(d).bits)
        return ReduceLROnPlateauState(
            scale=jnp.ones([], lowest), best_value=jnp.full([], jnp.inf, highest),
            plateau_count=_tree_math.zero_count(), cooldown_count=_tree_math.zero_count(),
            count=_tree_math.zero_count(), avg_value=jnp.zeros([], highest))

    def evaluate(state):
        dt = state.best_value.dtype
        best = state.best_value
        r = jnp.asarray(rtol, dt)
        threshold = best * jnp.where(best >= 0, 1 - r, 1 + r) - jnp.asarray(atol, dt)
        improved = state.avg_value < threshold
        plateau = jnp.where(improved, 0, _tree_math.safe_increment(state.plateau_count))
        cooling = state.cooldown_count > 0
        reduce = ~cooling & (plateau == jnp.asarray(patience).astype(jnp.int32))
        scale = jnp.where(reduce, state.scale * jnp.asarray(factor, state.scale.dtype),
                          state.scale)
        scale = jnp.where(cooling, scale, jnp.maximum(scale, jnp.asarray(min_scale, scale.dtype)))
        cooldown_count = jnp.where(
            cooling, state.cooldown_count - 1,
            jnp.where(reduce, jnp.asarray(cooldown).astype(jnp.int32), 0))
        return ReduceLROnPlateauState(
            scale=scale, best_value=jnp.where(improved, state.avg_value, best),
            plateau_count=jnp.where(cooling | reduce, 0, plateau).astype(jnp.int32),
            cooldown_count=cooldown_count.astype(jnp.int32),
            count=_tree_math.zero_count(), avg_value=jnp.zeros_like(state.avg_value))

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        _linesearch.require_extra_arg("reduce_on_plateau", "value", value)
        dt = state.avg_value.dtype
        count = _tree_math.safe_increment(state.count)
        avg = (state.count.astype(dt) * state.avg_value + jnp.asarray(value).astype(dt)) / (
            count.astype(dt))
        state = state._replace(count=count, avg_value=avg)
        full = count == jnp.asarray(accumulation_size).astype(jnp.int32)
        state = jax.lax.cond(full, evaluate, lambda s: s, state)
        return _tree_math.scale_tree(updates, state.scale), state

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)
