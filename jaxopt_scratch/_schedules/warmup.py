"""Schedules with a warmup, one-cycle, warm restarts (SGDR) and cyclical learning rates.

Built from the pieces in ``decays.py`` and sharing its conventions: the
schedule sees the 0-based count of updates already applied, every numeric
argument may be traced, degenerate lengths give limiting values without NaN,
and concrete negative lengths raise ``ValueError``.

``warmup_steps = 0`` always means *no warmup*: the schedule starts at
``peak_value`` at count 0. (optax agrees for the cosine and exponential
variants; its ``warmup_constant_schedule`` instead stays at ``init_value``
forever.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core.tree_math import as_float
from jaxopt_scratch._schedules.decays import (
    check_length,
    constant_schedule,
    cosine_decay_schedule,
    cosine_half_wave,
    exponential_decay,
    join_schedules,
    linear_schedule,
    steps,
)


def _check_real(**values: Any) -> None:
    """Values that may be any real number: only NaN (or a non-number) is rejected, by name."""
    for name, value in values.items():
        _checks.check_interval(name, value)


def _warmup_then(init_value, peak_value, warmup_steps, after: _base.Schedule) -> _base.Schedule:
    """A linear ramp from ``init_value`` to ``peak_value``, then ``after`` (relative count)."""
    ramp = linear_schedule(init_value, peak_value, warmup_steps)
    return join_schedules([ramp, after], [warmup_steps])


def warmup_constant_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: jax.typing.ArrayLike,
) -> _base.Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value``, then constant.

    .. math:: s(k) = v_0 + (v_p - v_0)\,\min(k, W)/W

    Tutorial 3 (``docs/tutorial_claims.rst``) recommends this ramp for Adam, whose
    second-moment estimate is unreliable over the first steps. ``warmup_steps = 0`` gives
    :math:`v_p` from the first step (optax would stay at :math:`v_0`).

    Args:
        init_value: :math:`v_0`, the value at count 0.
        peak_value: :math:`v_p`, reached at count :math:`W`.
        warmup_steps: :math:`W \ge 0`.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.warmup_constant_schedule(0.0, 1.0, warmup_steps=4)
        >>> print([float(sched(k)) for k in range(6)])
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    _check_real(init_value=init_value, peak_value=peak_value)
    check_length("warmup_steps", warmup_steps)
    return _warmup_then(init_value, peak_value, warmup_steps, constant_schedule(peak_value))


def warmup_cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: jax.typing.ArrayLike,
    decay_steps: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> _base.Schedule:
    r"""Linear warmup to ``peak_value``, then cosine decay to ``end_value``.

    .. math::

        s(k) = \begin{cases}
            v_0 + (v_p - v_0)\, k / W & k < W \\
            v_1 + (v_p - v_1)\Bigl(\tfrac12\bigl(1 + \cos\tfrac{\pi \min(k - W,\, D - W)}{D - W}\bigr)\Bigr)^{e}
                & k \ge W
        \end{cases}

    ``decay_steps`` :math:`D` counts the whole schedule, warmup included. As in
    optax, the cosine part is :func:`cosine_decay_schedule` with
    :math:`\alpha = v_1 / v_p` (0 when :math:`v_p = 0`). ``decay_steps ==
    warmup_steps`` jumps from :math:`v_p` at count :math:`W` to :math:`v_1`
    after it (optax raises).

    Args:
        init_value: :math:`v_0`.
        peak_value: :math:`v_p`.
        warmup_steps: :math:`W \ge 0`.
        decay_steps: :math:`D \ge W`, the total length.
        end_value: :math:`v_1`.
        exponent: :math:`e > 0` of the cosine factor.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> sched = jos.warmup_cosine_decay_schedule(0.0, 1.0, 2, 6)
        >>> print([float(sched(k)) for k in range(7)])
        [0.0, 0.5, 1.0, 0.8535534, 0.5, 0.1464466, 0.0]
        >>> peaks, warms = jnp.array([1.0, 2.0]), jnp.array([0, 10])   # a traced sweep
        >>> curves = jax.vmap(lambda p, w: jos.warmup_cosine_decay_schedule(
        ...     0.0, p, w, 100)(jnp.arange(100)))(peaks, warms)
        >>> print(curves.shape, curves[:, 0], curves[:, 10])
        (2, 100) [1. 0.] [0.97552824 2.        ]

    References:
        Goyal et al., `Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour
        <https://arxiv.org/abs/1706.02677>`_, 2017 (warmup); Loshchilov & Hutter,
        `SGDR <https://arxiv.org/abs/1608.03983>`_, 2017 (cosine).
    """
    _check_real(init_value=init_value, peak_value=peak_value, end_value=end_value)
    check_length("warmup_steps", warmup_steps)
    check_length("decay_steps", decay_steps)
    w, d = _checks.concrete_value(warmup_steps), _checks.concrete_value(decay_steps)
    if w is not None and d is not None and d < w:
        raise ValueError(
            f"`decay_steps` counts the whole schedule, warmup included, so it must be at "
            f"least `warmup_steps` ({warmup_steps!r}); got {decay_steps!r}."
        )
    peak = as_float(peak_value)
    alpha = _tree_math.safe_div(as_float(end_value), peak, 0, where=peak != 0)
    cosine_len = jnp.maximum(as_float(decay_steps) - as_float(warmup_steps), 0)
    decay = cosine_decay_schedule(peak_value, cosine_len, alpha, exponent)
    return _warmup_then(init_value, peak_value, warmup_steps, decay)


def warmup_exponential_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> _base.Schedule:
    r"""Linear warmup to ``peak_value``, then :func:`exponential_decay` from it.

    .. math::

        s(k) = v_0 + (v_p - v_0)\, k/W \ \ (k < W), \qquad
        s(k) = \mathrm{exponential\_decay}(v_p, T, r, b)(k - W) \ \ (k \ge W)

    The decay's ``transition_begin`` counts from the end of the warmup.

    Args:
        init_value: :math:`v_0`.
        peak_value: :math:`v_p`.
        warmup_steps: :math:`W \ge 0`.
        transition_steps: :math:`T \ge 0`, see :func:`exponential_decay`.
        decay_rate: :math:`r \ge 0`.
        transition_begin: :math:`b`, counted after the warmup.
        staircase: Structural; see :func:`exponential_decay`.
        end_value: Optional bound; see :func:`exponential_decay`.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.warmup_exponential_decay_schedule(0.0, 1.0, 2, 1, 0.5)
        >>> print([float(sched(k)) for k in range(6)])
        [0.0, 0.5, 1.0, 0.5, 0.25, 0.125]
    """
    _check_real(init_value=init_value, peak_value=peak_value)
    check_length("warmup_steps", warmup_steps)
    decay = exponential_decay(peak_value, transition_steps, decay_rate, transition_begin,
                              staircase, end_value)
    return _warmup_then(init_value, peak_value, warmup_steps, decay)


def interpolate_phases(count, boundaries: Sequence[jax.Array], values: Sequence[jax.Array],
                        kind: str) -> jax.Array:
    """Interpolates ``values[i] -> values[i+1]`` on ``[boundaries[i-1], boundaries[i])``.

    The first phase starts at 0; a phase of zero length is skipped; after the
    last boundary the value is ``values[-1]``.
    """
    k = steps(count)
    out = jnp.broadcast_to(values[0], k.shape)
    start = jnp.zeros_like(boundaries[0])
    for end, v_start, v_end in zip(boundaries, values[:-1], values[1:]):
        pct = (k - start) / jnp.maximum(end - start, 1)
        if kind == "linear":
            phase = v_start + (v_end - v_start) * pct
        else:
            phase = v_end + (v_start - v_end) * cosine_half_wave(pct)
        out = jnp.where((start <= k) & (k < end), phase, out)
        start = end
    return jnp.where(k >= boundaries[-1], values[-1], out)


def _check_onecycle(transition_steps, peak_value, pct_start, div_factor, final_div_factor) -> None:
    check_length("transition_steps", transition_steps)
    _check_real(peak_value=peak_value)
    _checks.check_interval("pct_start", pct_start, 0.0, 1.0)
    _checks.check_interval("div_factor", div_factor, 0.0, None, low_open=True)
    _checks.check_interval("final_div_factor", final_div_factor, 0.0, None, low_open=True)


def linear_onecycle_schedule(
    transition_steps: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    pct_start: jax.typing.ArrayLike = 0.3,
    pct_final: jax.typing.ArrayLike = 0.85,
    div_factor: jax.typing.ArrayLike = 25.0,
    final_div_factor: jax.typing.ArrayLike = 1e4,
) -> _base.Schedule:
    r"""Smith's one-cycle policy with linear ramps.

    Piecewise linear through :math:`(0, v_p/d)`, :math:`(\lfloor p_s T\rfloor, v_p)`,
    :math:`(\lfloor p_f T\rfloor, v_p/d)`, :math:`(T, v_p/(d f))`, constant after
    :math:`T`. The floors are taken in the schedule's float dtype, so they stay
    traceable; ``transition_steps = 0`` gives the final value (optax raises).

    Args:
        transition_steps: :math:`T \ge 0`, the length of the cycle.
        peak_value: :math:`v_p`.
        pct_start: :math:`p_s \in [0, 1]`, the fraction of :math:`T` spent rising.
        pct_final: :math:`p_f \in [p_s, 1]`, where the descent back to :math:`v_p/d` ends.
        div_factor: :math:`d > 0`; the start value is :math:`v_p / d`.
        final_div_factor: :math:`f > 0`; the end value is :math:`v_p/(d f)`.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.linear_onecycle_schedule(10, 1.0, div_factor=2.0, final_div_factor=5.0)
        >>> print([round(float(sched(k)), 3) for k in (0, 3, 8, 10)])
        [0.5, 1.0, 0.5, 0.1]

    References:
        Smith & Topin, `Super-Convergence: Very Fast Training of Neural Networks
        Using Large Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2017.
    """
    _check_onecycle(transition_steps, peak_value, pct_start, div_factor, final_div_factor)
    _checks.check_interval("pct_final", pct_final, 0.0, 1.0)
    start, final = _checks.concrete_value(pct_start), _checks.concrete_value(pct_final)
    if start is not None and final is not None and np.any(final < start):
        raise ValueError(
            f"`pct_final` is where the descent back from the peak ends, so it must be at least "
            f"`pct_start` ({pct_start!r}); got {pct_final!r}."
        )

    def schedule(count):
        t_len = jnp.maximum(as_float(transition_steps), 0)
        peak, d = as_float(peak_value), as_float(div_factor)
        bounds = [jnp.floor(as_float(pct_start) * t_len), jnp.floor(as_float(pct_final) * t_len),
                  t_len]
        values = [peak / d, peak, peak / d, peak / (d * as_float(final_div_factor))]
        return interpolate_phases(count, bounds, values, "linear")

    return schedule


def cosine_onecycle_schedule(
    transition_steps: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    pct_start: jax.typing.ArrayLike = 0.3,
    div_factor: jax.typing.ArrayLike = 25.0,
    final_div_factor: jax.typing.ArrayLike = 1e4,
) -> _base.Schedule:
    r"""Smith's one-cycle policy with cosine ramps (fast.ai's and PyTorch's ``OneCycleLR``).

    Cosine up from :math:`v_p/d` to :math:`v_p` over :math:`[0, \lfloor p_s T\rfloor)`,
    then cosine down to :math:`v_p/(d f)` at :math:`T`, constant after. Each ramp
    from :math:`a` to :math:`b` over a fraction :math:`x` of its phase is
    :math:`b + (a - b)\,\tfrac12(1 + \cos \pi x)`.

    Args:
        transition_steps: :math:`T \ge 0`; 0 gives the final value (optax raises).
        peak_value: :math:`v_p`.
        pct_start: :math:`p_s \in [0, 1]`.
        div_factor: :math:`d > 0`.
        final_div_factor: :math:`f > 0`.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.cosine_onecycle_schedule(10, 1.0, div_factor=2.0, final_div_factor=5.0)
        >>> print([round(float(sched(k)), 3) for k in (0, 3, 10)])
        [0.5, 1.0, 0.1]

    References:
        Smith & Topin, `Super-Convergence <https://arxiv.org/abs/1708.07120>`_, 2017.
    """
    _check_onecycle(transition_steps, peak_value, pct_start, div_factor, final_div_factor)

    def schedule(count):
        t_len = jnp.maximum(as_float(transition_steps), 0)
        peak, d = as_float(peak_value), as_float(div_factor)
        bounds = [jnp.floor(as_float(pct_start) * t_len), t_len]
        values = [peak / d, peak, peak / (d * as_float(final_div_factor))]
        return interpolate_phases(count, bounds, values, "cosine")

    return schedule


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> _base.Schedule:
    r"""Stochastic gradient descent with warm restarts: warmup-cosine cycles back to back.

    Each dict holds the arguments of one :func:`warmup_cosine_decay_schedule`;
    cycle :math:`i` starts at :math:`\sum_{j<i} D_j` with its own relative count.
    Every ``decay_steps`` may be traced (the restarts move with it).

    Args:
        cosine_kwargs: A non-empty sequence of dicts of
            :func:`warmup_cosine_decay_schedule` arguments.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)
        >>> sched = jos.sgdr_schedule([cycle, cycle])
        >>> print([float(sched(k)) for k in range(7)])
        [0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0]

    References:
        Loshchilov & Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
        <https://arxiv.org/abs/1608.03983>`_, 2017.
    """
    cycles = [dict(kw) for kw in cosine_kwargs]
    if not cycles:
        raise ValueError("`cosine_kwargs` must hold at least one cycle's arguments.")
    schedules = [warmup_cosine_decay_schedule(**kw) for kw in cycles]
    boundaries, total = [], jnp.zeros([], jnp.int32)
    for kw in cycles[:-1]:
        total = total + jnp.asarray(kw["decay_steps"]).astype(jnp.int32)
        boundaries.append(total)
    return join_schedules(schedules, boundaries)


_POLICIES = ("triangular", "triangular2", "exp_range")


def cyclic_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    step_size_up: jax.typing.ArrayLike = 2000,
    step_size_down: jax.typing.ArrayLike | None = None,
    gamma: jax.typing.ArrayLike = 1.0,
    *,
    policy: str = "triangular",
) -> _base.Schedule:
    r"""Smith's cyclical learning rate: triangular waves between two bounds.

    With cycle length :math:`L = U + D`, cycle index :math:`c = \lfloor k/L \rfloor`
    and position :math:`x = k - cL`:

    .. math::

        h(x) = \begin{cases} x / U & x < U \\ 1 - (x - U)/D & x \ge U \end{cases},
        \qquad s(k) = v_0 + (v_p - v_0)\, h(x)\, \sigma(k)

    with :math:`\sigma = 1` (``"triangular"``), :math:`\sigma = 2^{-c}`
    (``"triangular2"``: the amplitude halves every cycle) or
    :math:`\sigma = \gamma^{k}` (``"exp_range"``). This is PyTorch's
    ``CyclicLR`` with its default ``scale_mode``; optax has no equivalent. The
    name is PyTorch's with this library's ``_schedule`` suffix, and the bounds
    take optax's ``init_value`` / ``peak_value`` names.
    Zero-length phases are skipped; a cycle of length 0 stays at :math:`v_p`.

    Args:
        init_value: :math:`v_0`, the lower bound (Smith's ``base_lr``).
        peak_value: :math:`v_p`, the upper bound (``max_lr``).
        step_size_up: :math:`U \ge 0`, steps of the rising half (Smith suggests
            2 to 10 epochs' worth).
        step_size_down: :math:`D \ge 0`; ``None`` (structural) means :math:`D = U`.
        gamma: :math:`\gamma > 0`, the per-step decay of ``"exp_range"``.
        policy: Structural; ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.

    Returns:
        A function of the 0-based count :math:`k`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sched = jos.cyclic_schedule(0.0, 1.0, step_size_up=2, policy="triangular2")
        >>> print([float(sched(k)) for k in range(9)])
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]

    References:
        Smith, `Cyclical Learning Rates for Training Neural Networks
        <https://arxiv.org/abs/1506.01186>`_, WACV 2017.
    """
    if policy not in _POLICIES:
        raise ValueError(f"`policy` must be one of {_POLICIES}, got {policy!r}.")
    _check_real(init_value=init_value, peak_value=peak_value)
    check_length("step_size_up", step_size_up)
    check_length("step_size_down", step_size_down)
    _checks.check_interval("gamma", gamma, 0.0, None, low_open=True)
    down_steps = step_size_up if step_size_down is None else step_size_down

    def schedule(count):
        k = steps(count)
        up, down = jnp.maximum(as_float(step_size_up), 0), jnp.maximum(as_float(down_steps), 0)
        length = up + down
        cycle = jnp.floor(_tree_math.safe_div(k, length, 0.0))
        x = jnp.clip(k - cycle * length, 0, length)  # float32 rounding at huge counts
        rising = _tree_math.safe_div(x, up, 1.0)
        falling = 1 - _tree_math.safe_div(x - up, down, 0.0)
        height = jnp.where(x < up, rising, falling)
        if policy == "triangular2":
            height = height * 0.5**cycle
        elif policy == "exp_range":
            height = height * as_float(gamma) ** k
        v0 = as_float(init_value)
        return v0 + (as_float(peak_value) - v0) * height

    return schedule
