r"""Schedule-Free learning: interpolate and average instead of momentum and a decay schedule."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._optimizers import basic as _basic
from jaxopt_scratch._schedules import warmup as _warmup
from jaxopt_scratch._transforms import adaptive_rms as _adaptive_rms
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


def _interpolate(y: Any, z: Any, b1: Any) -> Any:
    r"""The averaged iterate :math:`x = (y - (1-\beta_1) z)/\beta_1`, in ``y``'s dtypes."""

    def leaf(yi, zi):
        wide = _tree_math.promote_types(yi.dtype, zi.dtype)
        b = jnp.asarray(b1, wide)
        x = (_tree_math.cast(yi, wide) - (1 - b) * _tree_math.cast(zi, wide)) / b
        return _tree_math.cast(x, yi.dtype)

    return jax.tree.map(leaf, y, z)


class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free` (also the evaluation-point hook, :meth:`eval_params`)."""

    b1: jax.Array  # interpolation weight beta_1 (scalar, >= float32; may be traced)
    weight_sum: jax.Array  # sum of the averaging weights max_lr**weight_lr_power so far
    step_count: jax.Array  # 1 + updates seen so far (int32); the schedule is evaluated at it
    max_lr: jax.Array  # largest learning rate seen so far (scalar)
    base_optimizer_state: _base.OptState  # the wrapped optimizer's state
    z: _base.Params  # the base optimizer's own iterate z_t, >= float32 by default

    def eval_params(self, params: _base.Params) -> _base.Params:
        r"""The averaged iterate :math:`x_t` at which to evaluate (see :func:`schedule_free_eval_params`)."""
        return _interpolate(params, self.z, self.b1)


def schedule_free_eval_params(state: ScheduleFreeState, params: _base.Params) -> _base.Params:
    r"""The parameters to evaluate a :func:`schedule_free` model at: :math:`x = (y - (1-\beta_1)z)/\beta_1`.

    Training runs at :math:`y` (the ``params`` the optimizer returns); the
    validation loss belongs to the average :math:`x`.

    Args:
        state: A :class:`ScheduleFreeState` (the state of :func:`schedule_free`
            or of its aliases).
        params: The current (training) parameters :math:`y`.

    Returns:
        :math:`x`, shaped and typed like ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.schedule_free_sgd(0.1)
        >>> y = jnp.array([1.0])
        >>> state = tx.init(y)
        >>> for _ in range(2):
        ...     u, state = tx.update(2 * y, state, y)
        ...     y = y + u
        >>> print(y, jos.contrib.schedule_free_eval_params(state, y))  # y trains, x evaluates
        [0.712] [0.72]
    """
    if not isinstance(state, ScheduleFreeState):
        raise TypeError(
            f"`state` must be a `ScheduleFreeState` (the state of `jos.contrib.schedule_free`), "
            f"got {type(state).__name__}. Pass the schedule-free part of a chained state.")
    return state.eval_params(params)


def schedule_free(
    base_optimizer: _base.GradientTransformation,
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Makes ``base_optimizer`` schedule-free (Defazio et al.).

    With :math:`\gamma_t` the learning rate at step :math:`t` and
    :math:`\Delta_t` the base optimizer's (momentum-free) update:

    .. math::

        z_{t+1} &= z_t + \Delta_t(\nabla f(y_t)), \qquad
        c_{t+1} = \frac{w_t}{\sum_{i \le t} w_i}, \quad
        w_t = (\max_{i \le t} \gamma_i)^{p} \\
        x_{t+1} &= (1 - c_{t+1})\, x_t + c_{t+1}\, z_{t+1}, \qquad
        y_{t+1} = \beta_1 x_{t+1} + (1-\beta_1) z_{t+1}

    :math:`x` is not stored: the step is formed as
    :math:`y_{t+1} - y_t = c_{t+1}(z_t - y_t) + (1 - \beta_1(1 - c_{t+1}))\,\Delta_t`,
    which needs no division by :math:`\beta_1` and leaves :math:`y` exactly in place
    when the base optimizer does not move.
    The params the optimizer moves are :math:`y`; evaluate at :math:`x`
    (:func:`schedule_free_eval_params`, or ``state.eval_params(params)``,
    which ``jos.run``/``jos.sweep`` use). Give the base optimizer no momentum
    (e.g. ``adam(lr, b1=0.0)``) and a constant learning rate after warmup.

    Args:
        base_optimizer: The wrapped optimizer, momentum off.
        learning_rate: :math:`\gamma_t`, the base optimizer's learning rate
            (scalar or schedule evaluated at the 1-based ``step_count``, as optax);
            it only sets the averaging weights here.
        b1: :math:`\beta_1 \in (0, 1]`, the interpolation weight.
        weight_lr_power: :math:`p`, the power of the averaging weights (2 in the paper).
        state_dtype: dtype of :math:`z`; default at least float32.

    Returns:
        A transform whose state is :class:`ScheduleFreeState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.schedule_free(jos.sgd(0.1), 0.1)
        >>> p = jnp.array([1.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # first step: plain SGD
        [-0.2]

    References:
        Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_,
        2024 (Algorithm 1, with the warmup weighting of Section 4.1).

    .. note::
        As in optax, a learning-rate schedule is read at the 1-based ``step_count``
        for the averaging weights, while the base optimizer reads its own 0-based
        count (so a warmup from 0 makes the very first step zero; the authors' code
        uses :math:`(k+1)/W` for both). :math:`z` is kept in at least float32 for bfloat16 params (optax keeps it
        in the params' dtype, where small steps round away).
    """
    _combine.check_transform(base_optimizer, "`base_optimizer`")
    _checks.check_interval("b1", b1, 0.0, 1.0, low_open=True,
                           hint="Schedule-Free divides by b1; use e.g. 0.9.")
    _checks.check_nonnegative("learning_rate", learning_rate)
    _checks.check_nonnegative("weight_lr_power", weight_lr_power)

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        return ScheduleFreeState(
            b1=jnp.asarray(b1, dt),
            weight_sum=jnp.zeros([], dt),
            step_count=jnp.ones([], jnp.int32),
            max_lr=jnp.zeros([], dt),
            base_optimizer_state=base_optimizer.init(params),
            z=jax.tree.map(lambda p: jnp.array(p, _tree_math.moment_dtype(p.dtype, state_dtype)),
                           params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        _tree_math.check_params_given(params, "schedule_free")
        _tree_math.check_same_structure(updates, state.z, "schedule_free")
        dt = state.max_lr.dtype
        lr = (_base.evaluate_schedule(learning_rate, state.step_count, "learning_rate")
              if callable(learning_rate) else learning_rate)
        max_lr = jnp.maximum(state.max_lr, jnp.asarray(lr, dt))
        weight = max_lr ** jnp.asarray(weight_lr_power, dt)
        total = state.weight_sum + weight
        # 0/0 before the warmup has produced a positive rate: no averaging yet (c = 0).
        ck = jnp.where(jnp.isnan(weight) | jnp.isnan(total), jnp.nan,
                       jnp.nan_to_num(weight / total, nan=0.0, posinf=jnp.inf))
        base_updates, base_state = _base.call_update(
            base_optimizer, updates, state.base_optimizer_state, params, extra_args)
        z = jax.tree.map(lambda zi, u: zi + _tree_math.cast(u, zi.dtype), state.z, base_updates)
        b = jnp.asarray(b1, dt)

        def leaf(y, z_old, delta, g):
            # y_new - y with x = (y - (1-b1) z)/b1 eliminated:  c (z - y) + (1 - b1 (1-c)) delta.
            # No division by b1, and with zero steps y stays put exactly (z_1 = y_1).
            wide = _tree_math.promote_types(y.dtype, z_old.dtype)
            c, bw = _tree_math.cast(ck, wide), _tree_math.cast(b, wide)
            step = (c * (_tree_math.cast(z_old, wide) - _tree_math.cast(y, wide))
                    + (1 - bw * (1 - c)) * _tree_math.cast(delta, wide))
            return _tree_math.cast(step, g.dtype)

        out = jax.tree.map(leaf, params, state.z, base_updates, updates)
        return out, ScheduleFreeState(
            b1=state.b1, weight_sum=total, step_count=_tree_math.safe_increment(state.step_count),
            max_lr=max_lr, base_optimizer_state=base_state, z=z)

    return _base.GradientTransformation(init_fn, update_fn)


def _with_warmup(learning_rate, warmup_steps):
    if warmup_steps is None:
        return learning_rate
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
        raise ValueError(f"`warmup_steps` must be a positive int or None, got {warmup_steps!r}.")
    return _warmup.warmup_constant_schedule(0.0, learning_rate, warmup_steps)


def schedule_free_sgd(
    learning_rate: jax.typing.ArrayLike = 1.0,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    weight_decay: jax.typing.ArrayLike | None = None,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Schedule-Free SGD: :func:`schedule_free` around ``sgd(learning_rate)``.

    .. math:: z_{t+1} = z_t - \gamma_t\,(\nabla f(y_t) + \lambda y_t)

    then :math:`x` and :math:`y` as in :func:`schedule_free`.

    Args:
        learning_rate: :math:`\gamma`, the peak learning rate, :math:`\ge 0`.
        warmup_steps: Static; linear warmup from 0 over this many steps (``None``: none).
        b1: :math:`\beta_1 \in (0, 1]`.
        weight_decay: :math:`\lambda`, added to the gradient at :math:`y`
            (coupled, times the learning rate); ``None`` for none.
        weight_lr_power: Power of the averaging weights.
        state_dtype: dtype of :math:`z`.

    Returns:
        A transform whose state is :class:`ScheduleFreeState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.schedule_free_sgd(0.1)
        >>> p = jnp.array([1.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])
        [-0.2]

    References:
        Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.
    """
    learning_rate = _with_warmup(learning_rate, warmup_steps)
    sgd = _basic.sgd(learning_rate)
    if weight_decay is not None:
        sgd = _combine.chain(_weight_decay.add_decayed_weights(weight_decay), sgd)
    return schedule_free(sgd, learning_rate, b1=b1, weight_lr_power=weight_lr_power,
                         state_dtype=state_dtype)


def schedule_free_adamw(
    learning_rate: jax.typing.ArrayLike = 0.0025,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Schedule-Free AdamW: :func:`schedule_free` around momentum-free AdamW.

    .. math::

        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad
        z_{t+1} = z_t - \gamma_t \Bigl(\frac{g_t}{\sqrt{v_t/(1-\beta_2^t)} + \varepsilon}
        + \lambda y_t\Bigr)

    then :math:`x` and :math:`y` as in :func:`schedule_free`. Adam with
    :math:`\beta_1 = 0` is :func:`scale_by_rms` with ``eps`` outside the root
    and bias correction, which keeps no first moment.

    Args:
        learning_rate: :math:`\gamma`, the peak learning rate.
        warmup_steps: Static; linear warmup from 0 (``None``: none).
        b1: :math:`\beta_1 \in (0, 1]`, the interpolation weight.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: Outside the square root.
        weight_decay: :math:`\lambda`, decoupled, at :math:`y`.
        weight_lr_power: Power of the averaging weights.
        state_dtype: dtype of :math:`z`.

    Returns:
        A transform whose state is :class:`ScheduleFreeState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.schedule_free_adamw(0.1)
        >>> p = jnp.array([1.0])
        >>> print(tx.update(2 * p, tx.init(p), p)[0])  # -lr * sign(g)
        [-0.1]

    References:
        Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_,
        2024 (Algorithm 1).
    """
    _checks.check_decay("b2", b2)  # named here: scale_by_rms would call it `decay`
    learning_rate = _with_warmup(learning_rate, warmup_steps)
    adamw = _combine.chain(
        _adaptive_rms.scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
        _weight_decay.add_decayed_weights(weight_decay),
        _scaling.scale_by_learning_rate(learning_rate),
    )
    return schedule_free(adamw, learning_rate, b1=b1, weight_lr_power=weight_lr_power,
                         state_dtype=state_dtype)
