"""Lookahead: k fast steps forward, one step back towards slow weights."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math


class LookaheadState(NamedTuple):
    """State of :func:`lookahead`; :meth:`eval_params` points the evaluation at the slow weights."""

    fast_state: Any  # the fast optimizer's state
    steps_since_sync: jax.Array  # fast steps since the last synchronisation, 0..k-1 (int32)

    def eval_params(self, params: LookaheadParams) -> LookaheadParams:
        """``LookaheadParams(fast=slow, slow=slow)``: a loss of ``params.fast`` sees the slow weights.

        The evaluation hook of :func:`jaxopt_scratch.contrib.eval_params` (used by
        :func:`run` and :func:`sweep` for the final loss and the metrics). Plain
        params (not a pair) are returned unchanged.
        """
        if not isinstance(params, LookaheadParams):
            return params
        return LookaheadParams(fast=params.slow, slow=params.slow)


class LookaheadParams(NamedTuple):
    """The two copies of the parameters that :func:`lookahead` optimises.

    Compute gradients at ``fast``; evaluate (and deploy) ``slow``, which
    generalises better. ``apply_updates`` works on the pair as on any pytree.
    """

    fast: Any  # the parameters the fast optimizer moves; take gradients here
    slow: Any  # the slow weights, moved once per `sync_period` fast steps

    @classmethod
    def init_synced(cls, params: Any) -> LookaheadParams:
        """Both copies equal to ``params``: how a run starts."""
        return cls(fast=params, slow=params)


def lookahead(
    fast_optimizer: _base.GradientTransformation,
    sync_period: jax.typing.ArrayLike,
    slow_step_size: jax.typing.ArrayLike,
    reset_state: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Lookahead: the fast optimizer explores, the slow weights follow every k steps.

    With :math:`\phi` the slow and :math:`\theta` the fast weights, each step
    applies the fast optimizer's update :math:`\Delta_t` to :math:`\theta`;
    every :math:`k`-th step (the :math:`k`-th, :math:`2k`-th, ...) it then
    synchronises:

    .. math::

        \phi \leftarrow \phi + \alpha\,(\theta + \Delta_t - \phi), \qquad
        \theta \leftarrow \phi

    The returned updates are a :class:`LookaheadParams` pair that does exactly
    that when added to the :class:`LookaheadParams` params; do not transform
    them further.

    Args:
        fast_optimizer: The inner ("fast") optimizer.
        sync_period: :math:`k \ge 1`, fast steps per synchronisation, an
            integer; may be traced (a traced :math:`k < 1` acts as 1).
        slow_step_size: :math:`\alpha`, the slow weights' step towards the fast
            ones (0.5 in the paper); may be traced.
        reset_state: Structural; re-initialise the fast optimizer's state after
            each synchronisation (``init`` at the step's fast params, as optax).

    Returns:
        A transform whose state is :class:`LookaheadState`; ``update`` needs
        the :class:`LookaheadParams` and gradients taken at ``params.fast``.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.lookahead(jos.sgd(0.1), sync_period=2, slow_step_size=0.5)
        >>> params = jos.LookaheadParams.init_synced(jnp.array([1.0]))
        >>> state = tx.init(params)
        >>> for _ in range(2):
        ...     updates, state = tx.update(2 * params.fast, state, params)  # grad of x^2
        ...     params = jos.apply_updates(params, updates)
        ...     print(params.fast, params.slow)
        [0.8] [1.]
        [0.82] [0.82]

    References:
        Zhang, Lucas, Hinton & Ba, `Lookahead Optimizer: k steps forward, 1
        step back <https://arxiv.org/abs/1907.08610>`_, 2019 (Algorithm 1).

    .. note::
        ``init`` also accepts plain params (the fast ones), as optax does
        (optax logs a warning there). ``update`` also accepts the gradient as a
        :class:`LookaheadParams` pair (the gradient of a loss of ``params.fast``
        taken with respect to the whole pair, as :func:`run` and :func:`sweep`
        take it) and uses its ``fast`` part; optax needs the fast gradient alone.
        The state's :meth:`LookaheadState.eval_params` makes :func:`run` and
        :func:`sweep` report the loss at the slow weights. The synchronisation uses ``jnp.where``,
        not a multiplication by 0 or 1 as optax does, so an Inf or NaN in the
        fast weights reaches the slow ones only when they synchronise (in optax
        ``0 * inf`` makes the slow update NaN at every step). ``reset_state``
        switches every leaf of the fast state, integer counts included.
    """
    _combine.check_transform(fast_optimizer, "`lookahead` fast_optimizer")
    _checks.check_interval("sync_period", sync_period, 1.0, None,
                           hint="It is the number of fast steps per synchronisation.")
    period = _checks.concrete_value(sync_period)
    if period is not None and not np.all(np.mod(period, 1) == 0):
        raise TypeError(f"`sync_period` must be a whole number of steps, got {sync_period!r}.")
    _checks.check_interval("slow_step_size", slow_step_size)

    def init_fn(params):
        fast = params.fast if isinstance(params, LookaheadParams) else params
        return LookaheadState(fast_state=fast_optimizer.init(fast),
                              steps_since_sync=_tree_math.zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        if isinstance(updates, LookaheadParams):  # the gradient of a loss of the pair
            updates = updates.fast
        if not isinstance(params, LookaheadParams):
            raise TypeError(
                "`lookahead` needs the params as `jos.LookaheadParams(fast=..., slow=...)` "
                f"(start with `jos.LookaheadParams.init_synced(params)`), got {type(params)}."
            )
        fast_updates, fast_state = _base.call_update(
            fast_optimizer, updates, state.fast_state, params.fast, extra_args)
        k = jnp.maximum(jnp.asarray(sync_period).astype(jnp.int32), 1)
        sync = state.steps_since_sync == k - 1

        # The fast weights after this step, minus the slow ones.
        gap = jax.tree.map(lambda f, u, s: f + u.astype(f.dtype) - s,
                           params.fast, fast_updates, params.slow)

        def slow_step(d):
            return jnp.where(sync, jnp.asarray(slow_step_size, d.dtype) * d, jnp.zeros_like(d))

        def fast_step(u, d):
            back = (1 - jnp.asarray(slow_step_size, d.dtype)) * d
            return u - jnp.where(sync, back, jnp.zeros_like(back)).astype(u.dtype)

        new_fast = jax.tree.map(fast_step, fast_updates, gap)
        new_slow = jax.tree.map(slow_step, gap)
        if reset_state:
            fresh = fast_optimizer.init(params.fast)
            fast_state = jax.tree.map(lambda new, old: jnp.where(sync, new, old),
                                      fresh, fast_state)
        steps = (state.steps_since_sync + 1) % k
        return LookaheadParams(fast=new_fast, slow=new_slow), LookaheadState(fast_state, steps)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)
