"""Gradient accumulation: ``MultiSteps`` runs the inner optimizer once every k micro-steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._wrappers.conditional import cond_update

ShouldSkipFn = Callable[[Any, jax.Array, Any], tuple[jax.Array, Any]]


class MultiStepsState(NamedTuple):
    """State of :class:`MultiSteps`."""

    mini_step: jax.Array  # micro-steps accumulated in the current window, 0..k-1 (int32)
    gradient_step: jax.Array  # inner optimizer updates so far (int32); k's schedule sees this
    inner_opt_state: Any  # the inner optimizer's state; changes only on emitting steps
    acc_grads: Any  # running mean (or sum) of this window's updates, float32, shaped like params
    skip_state: Any = ()  # whatever `should_skip_update_fn` returned last (for monitoring)


class MultiSteps:
    r"""Accumulates updates over k micro-steps, then runs the inner optimizer once.

    For micro-steps :math:`j = 0, \dots, k-1` of a window the wrapper returns
    zero updates and keeps the running mean (or the sum, with
    ``use_grad_mean=False``) of the incoming updates,

    .. math:: \bar g_{j+1} = \bar g_j + (g_j - \bar g_j)/(j + 1),

    in float32. On the last micro-step the inner optimizer is applied once to
    :math:`\bar g_k` and its update is returned. The effective batch is k times
    the micro-batch; with a mean, ``lr`` keeps its meaning.

    The inner update runs under ``lax.cond``: outside ``vmap`` it is computed
    only on the k-th micro-step (optax's ``MultiSteps`` computes it on every
    micro-step and discards it). Under ``vmap`` with a batched ``k`` or batched
    skip decision, ``lax.cond`` becomes a select and the inner update is
    computed every step; the values are the same.

    Args:
        opt: The inner optimizer.
        every_k_schedule: :math:`k \ge 1`: an int, an array (may be traced) or a
            function of the inner step count (``gradient_step``) returning one,
            to grow the batch during training. It is read at the start of each
            window. A traced :math:`k < 1` acts as 1.
        use_grad_mean: Structural; average (True) or sum the micro-step updates.
        should_skip_update_fn: Optional ``f(updates, gradient_step, params) ->
            (skip: bool scalar, skip_state)``; a skipped micro-step changes
            nothing except ``skip_state`` and returns zeros.
        accumulator_dtype: Structural; dtype of ``acc_grads`` (float32).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> ms = jos.MultiSteps(jos.sgd(1.0), every_k_schedule=2)
        >>> state = ms.init(jnp.zeros(1))
        >>> u, state = ms.update(jnp.array([1.0]), state)
        >>> print(u, bool(ms.has_updated(state)))
        [0.] False
        >>> u, state = ms.update(jnp.array([3.0]), state)
        >>> print(u, bool(ms.has_updated(state)))   # -lr * mean(1, 3)
        [-2.] True
    """

    def __init__(
        self,
        opt: _base.GradientTransformation,
        every_k_schedule: jax.typing.ArrayLike | Callable[[jax.Array], jax.typing.ArrayLike],
        use_grad_mean: bool = True,
        should_skip_update_fn: ShouldSkipFn | None = None,
        accumulator_dtype: Any = jnp.float32,
    ):
        _combine.check_transform(opt, "`MultiSteps` opt")
        _checks.check_interval("every_k_schedule", every_k_schedule, 1.0, None,
                               hint="It is the number of micro-steps per update.")
        if not callable(every_k_schedule) and jnp.shape(every_k_schedule) != ():
            raise ValueError(
                f"`every_k_schedule` must be a scalar (or a schedule returning one), got "
                f"shape {jnp.shape(every_k_schedule)}."
            )
        self._opt = opt
        self._every_k = every_k_schedule
        self._use_grad_mean = use_grad_mean
        self._should_skip = should_skip_update_fn
        self._acc_dtype = jnp.dtype(accumulator_dtype)

    @property
    def inner_opt(self) -> _base.GradientTransformation:
        """The wrapped optimizer."""
        return self._opt

    def _k(self, gradient_step: jax.Array) -> jax.Array:
        if callable(self._every_k):
            k = _base.evaluate_schedule(self._every_k, gradient_step, "every_k_schedule")
        else:
            k = self._every_k
        return jnp.maximum(jnp.asarray(k).astype(jnp.int32), 1)

    def _leaf_acc_dtype(self, p: Any) -> jnp.dtype:
        """``accumulator_dtype``, made complex for a complex leaf (never drop the imaginary part)."""
        if jnp.iscomplexobj(p) and not jnp.issubdtype(self._acc_dtype, jnp.complexfloating):
            return _tree_math.promote_types(self._acc_dtype, jnp.complex64)
        return self._acc_dtype

    def init(self, params: _base.Params) -> MultiStepsState:
        """Zero accumulator (float32, shaped like ``params``) and the inner state."""
        gradient_step = _tree_math.zero_count()
        skip_state = ()
        if self._should_skip is not None:
            _, skip_state = self._should_skip(jax.tree.map(jnp.zeros_like, params),
                                              gradient_step, params)
        return MultiStepsState(
            mini_step=_tree_math.zero_count(),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=jax.tree.map(
                lambda p: _tree_math.zeros_like_state(p, self._leaf_acc_dtype(p)), params),
            skip_state=skip_state,
        )

    def update(
        self,
        updates: _base.Updates,
        state: MultiStepsState,
        params: _base.Params | None = None,
        **extra_args: Any,
    ) -> tuple[_base.Updates, MultiStepsState]:
        """Accumulates ``updates``; every k-th micro-step returns the inner update."""
        _tree_math.check_same_structure(updates, state.acc_grads, "MultiSteps", "accumulator")
        skip, skip_state = jnp.asarray(False), state.skip_state
        if self._should_skip is not None:
            skip, skip_state = self._should_skip(updates, state.gradient_step, params)
            skip = jnp.asarray(skip)
            if skip.shape != () or skip.dtype != jnp.bool_:
                raise ValueError(
                    "`should_skip_update_fn` must return a bool scalar as its first output, "
                    f"got dtype {skip.dtype} and shape {skip.shape}."
                )

        def accumulate(g, acc):
            g = g.astype(acc.dtype)
            n_plus_1 = (state.mini_step + 1).astype(acc.dtype)
            return acc + (g - acc) / n_plus_1 if self._use_grad_mean else acc + g

        acc = jax.tree.map(accumulate, updates, state.acc_grads)
        emit = state.mini_step + 1 >= self._k(state.gradient_step)
        take = emit & ~skip
        new_updates, inner_state = cond_update(
            take, self._opt, _tree_math.cast_like(acc, updates), state.inner_opt_state, params,
            extra_args)

        def keep_if_skipped(new, old):
            return jnp.where(skip, old, new)

        mini_step = jnp.where(emit, 0, state.mini_step + 1).astype(jnp.int32)
        gradient_step = jnp.where(emit, _tree_math.safe_increment(state.gradient_step),
                                  state.gradient_step)
        acc = jax.tree.map(lambda a: jnp.where(emit, jnp.zeros_like(a), a), acc)
        return new_updates, MultiStepsState(
            mini_step=keep_if_skipped(mini_step, state.mini_step),
            gradient_step=keep_if_skipped(gradient_step, state.gradient_step),
            inner_opt_state=inner_state,
            acc_grads=jax.tree.map(keep_if_skipped, acc, state.acc_grads),
            skip_state=skip_state,
        )

    def has_updated(self, state: MultiStepsState) -> jax.Array:
        """True right after a step on which the inner optimizer ran."""
        return (state.mini_step == 0) & (state.gradient_step > 0)

    def gradient_transformation(self) -> _base.GradientTransformation:
        """This wrapper as a plain ``(init, update)`` :class:`GradientTransformation`."""
        return _base.GradientTransformation(self.init, self.update)
