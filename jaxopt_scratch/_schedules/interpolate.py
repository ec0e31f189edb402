"""Piecewise interpolated schedules: linear or cosine ramps between scaled values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core.tree_math import as_float
from jaxopt_scratch._schedules import decays as _decays
from jaxopt_scratch._schedules import warmup as _warmup


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: Mapping[int, Any] | tuple[Any, Any] | None = None,
) -> _base.Schedule:
    r"""Ramps, linear or cosine, between values that are multiplied by a scale at each boundary.

    With boundaries :math:`0 = b_0 < b_1 < \dots < b_n` and
    :math:`v_i = v_0 \prod_{j \le i} c_j`, the value moves from :math:`v_{i-1}`
    to :math:`v_i` over :math:`[b_{i-1}, b_i)` and stays at :math:`v_n` after
    :math:`b_n`:

    .. math::

        s(k) = v_{i-1} + (v_i - v_{i-1})\, r(x), \qquad
        x = \frac{k - b_{i-1}}{b_i - b_{i-1}}

    with :math:`r(x) = x` (``"linear"``) or :math:`r(x) = \tfrac12(1 - \cos \pi x)`
    (``"cosine"``). The ramps run between the *accumulated* values, so
    ``{4: 0.1, 8: 0.01}`` reaches 0.1 at step 4 and 0.001 at step 8.

    Args:
        interpolate_type: Structural; ``"linear"`` or ``"cosine"``.
        init_value: :math:`v_0`; may be traced.
        boundaries_and_scales: optax's dict ``{boundary: scale}`` (boundaries
            are Python ints, scales may be traced), or a pair ``(boundaries,
            scales)`` of equal-length 1-D arrays, both of which may be traced
            (they are sorted by boundary). ``None`` gives a constant.
            Boundaries :math:`b_i \ge 0`, scales :math:`c_i \ge 0`.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.piecewise_interpolate_schedule("linear", 1.0, {4: 0.1, 8: 0.01})
        >>> print([round(float(sched(k)), 6) for k in range(0, 11, 2)])
        [1.0, 0.55, 0.1, 0.0505, 0.001, 0.001]
    """
    ramps = ("linear", "cosine")
    if interpolate_type not in ramps:
        raise ValueError(
            f"`interpolate_type` must be one of {ramps}, got {interpolate_type!r}."
        )
    _checks.check_interval("init_value", init_value)
    if boundaries_and_scales is None or (
            isinstance(boundaries_and_scales, Mapping) and not boundaries_and_scales):
        return _decays.constant_schedule(init_value)
    boundaries, scales = _decays.boundaries_and_scales_vectors(boundaries_and_scales)
    if boundaries.shape[0] == 0:
        return _decays.constant_schedule(init_value)

    def schedule(count):
        b, c = as_float(boundaries), as_float(scales)
        order = jnp.argsort(b, stable=True)  # a no-op for the (sorted) dict form
        b, c = b[order], c[order]
        values = jnp.cumprod(jnp.concatenate([as_float(init_value)[None], c]))
        return _warmup.interpolate_phases(count, [b[i] for i in range(b.shape[0])],
                                          [values[i] for i in range(values.shape[0])],
                                          interpolate_type)

    return schedule
