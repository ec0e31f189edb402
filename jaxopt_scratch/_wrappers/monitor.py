"""Monitoring inside a chain: snapshots of the updates and running measurements in the state.

Read the values back by name with ``jos.tree.get(state, name)`` (or by
indexing the state). The updates pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import accumulation as _accumulation

Measure = Callable[[_base.Updates], Any]  # updates -> any pytree of arrays


class SnapshotState(NamedTuple):
    """State of :func:`snapshot`."""

    measurement: dict  # {measure_name: measure(updates)} of the last step (of params at init)


class MonitorState(NamedTuple):
    """State of :func:`monitor`."""

    measurements: dict  # name -> the last step's measurement (zeros at init, see monitor's note)
    measure_states: tuple  # the state of each stateful measure, in the order of `measures`


def snapshot(measure_name: str, measure: Measure) -> _base.GradientTransformation:
    r"""Stores ``measure(updates)`` in the state under ``measure_name``; the updates pass through.

    In a chain, it sees the updates as transformed so far, so it can record,
    for example, the norm before a clip.

    Args:
        measure_name: The key under which the measurement is stored.
        measure: A function of the updates returning a pytree of arrays (the
            same structure at every step).

    Returns:
        A transform whose state is :class:`SnapshotState` (at init it holds
        ``measure(params)``).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.chain(jos.snapshot("before", jnp.linalg.norm), jos.clip_by_global_norm(1.0))
        >>> u, state = tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))
        >>> print(float(state[0].measurement["before"]), u)
        5.0 [0.6 0.8]
    """
    if not isinstance(measure_name, str):
        raise TypeError(f"`measure_name` must be a string, got {measure_name!r}.")
    _checks.check_callable("measure", measure, "a function of the updates")

    def init_fn(params):
        return SnapshotState({measure_name: measure(params)})

    def update_fn(updates, state, params=None, **extra_args):
        del state, params, extra_args
        return updates, SnapshotState({measure_name: measure(updates)})

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def _as_transform(name: str, measure: Any) -> _base.GradientTransformation:
    if callable(measure):
        return _base.stateless(lambda updates, params: measure(updates))
    _combine.check_transform(measure, f"`measures[{name!r}]`",
                             example="jos.measure_with_ema(jos.global_norm, 0.9)")
    return measure


def monitor(measures: Mapping[str, Any]) -> _base.GradientTransformationExtraArgs:
    r"""Records several measurements of the updates, stateless or stateful; the updates pass through.

    Each entry is either a function of the updates (as in :func:`snapshot`) or
    a transform whose *output* is the measurement and whose state it keeps
    (such as :func:`measure_with_ema`). Extra keyword arguments of ``update``
    reach the stateful measures.

    Args:
        measures: ``{name: function or transform}``; structural.

    Returns:
        A transform whose state is :class:`MonitorState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.monitor({
        ...     "norm": jnp.linalg.norm,
        ...     "clipped_ema": jos.measure_with_ema(lambda u: jnp.linalg.norm(u) > 1.0, 0.9),
        ... })
        >>> state = tx.init(jnp.zeros(2))
        >>> for g in ([0.3, 0.4], [3.0, 4.0]):
        ...     u, state = tx.update(jnp.array(g), state)
        >>> m = state.measurements
        >>> print(float(m["norm"]), round(float(m["clipped_ema"]), 4))   # debiased: 0.1 / 0.19
        5.0 0.5263

    .. note::
        optax starts with an empty ``measurements`` dict and fills it at the
        first update, so its state changes structure and cannot be carried
        through ``lax.scan`` or ``jit`` with donation. Here ``init`` fills
        every measurement with zeros of its shape and dtype (found with
        ``jax.eval_shape``, nothing is computed), so the structure never
        changes.
    """
    if not isinstance(measures, Mapping):
        raise TypeError(f"`measures` must be a dict {{name: measure}}, got {measures!r}.")
    names = tuple(measures)
    transforms = tuple(_as_transform(name, measures[name]) for name in names)

    def init_fn(params):
        states = tuple(tx.init(params) for tx in transforms)

        def zeros_like_output(tx, s):
            shapes = jax.eval_shape(lambda p, st: tx.update(p, st, p)[0], params, s)
            return jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)

        measurements = {n: zeros_like_output(tx, s) for n, tx, s in zip(names, transforms, states)}
        return MonitorState(measurements, states)

    def update_fn(updates, state, params=None, **extra_args):
        measurements, states = {}, []
        for name, tx, s in zip(names, transforms, state.measure_states):
            measurements[name], s = _base.call_update(tx, updates, s, params, extra_args)
            states.append(s)
        return updates, MonitorState(measurements, tuple(states))

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def measure_with_ema(
    measure: Measure,
    decay: jax.typing.ArrayLike,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> _base.GradientTransformationExtraArgs:
    r"""A stateful measure for :func:`monitor`: the exponential moving average of ``measure``.

    .. math::

        m_t = \beta\, m_{t-1} + (1-\beta)\, f(u_t), \qquad
        \text{output} = m_t / (1 - \beta^t) \ \ (\texttt{debias})

    :func:`ema` applied to :math:`f(u_t)` (a bool or integer measurement, such
    as "was this step clipped", is averaged as a float: the fraction of steps).

    Args:
        measure: :math:`f`, a function of the updates returning a pytree of
            arrays.
        decay: :math:`\beta \in [0, 1)`; may be traced.
        debias: Structural; divide by :math:`1 - \beta^t`.
        accumulator_dtype: Structural; dtype of :math:`m` (at least float32).

    Returns:
        A transform whose output is the (debiased) average and whose state is
        ``(EmptyState(), EmaState)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.measure_with_ema(jnp.sum, decay=0.5)
        >>> state = tx.init(jnp.zeros(2))
        >>> m, state = tx.update(jnp.array([1.0, 1.0]), state)
        >>> m, state = tx.update(jnp.array([4.0, 4.0]), state)
        >>> print(m)   # (0.5 * 0.5 * 2 + 0.5 * 8) / (1 - 0.5 ** 2)
        6.0

    .. note::
        The measurement is cast to at least float32 before averaging; optax
        keeps a bool measurement's accumulator as bool at init and switches it
        to float32 at the first update (a state that changes dtype).
    """
    _checks.check_callable("measure", measure, "a function of the updates")

    def as_float(tree):
        def leaf(x):
            x = jnp.asarray(x)
            floating = jnp.issubdtype(x.dtype, jnp.inexact)
            return _tree_math.upcast(x) if floating else x.astype(jnp.float32)

        return jax.tree.map(leaf, tree)

    ema = _accumulation.ema(decay, debias, accumulator_dtype)
    # The average's state is shaped like the measurement, not like the params.
    average = _base.GradientTransformationExtraArgs(
        lambda params: ema.init(as_float(measure(params))), ema.update)
    return _combine.chain(_base.stateless(lambda updates, params: as_float(measure(updates))),
                          average)
