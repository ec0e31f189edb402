r"""Sharpness-Aware Minimization: step from an adversarially perturbed point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import update as _update

NormalizeState = _base.EmptyState


def normalize() -> _base.GradientTransformation:
    r"""Divides the updates by their global norm: :math:`u = g / \lVert g \rVert`.

    The adversarial direction of SAM (chain it with ``sgd(rho)``). A zero
    gradient gives NaN, as in optax.

    Returns:
        A transform whose state is :class:`EmptyState` (``NormalizeState``).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.normalize()
        >>> print(tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))[0])
        [0.6 0.8]
    """

    def f(updates, params):
        del params
        return _tree_math.scale_tree(updates, 1 / _tree_math.global_norm(updates))

    return _base.stateless(f)


class SAMState(NamedTuple):
    """State of :func:`sam`; ``eval_params`` gives the true (unperturbed) params."""

    steps_since_sync: jax.Array  # adversarial steps taken since the last outer step (int32)
    opt_state: _base.OptState  # the outer optimizer's state
    adv_state: _base.OptState  # the adversarial optimizer's state
    cache: _base.Params | None  # the true params during an adversarial excursion (None: opaque)

    def eval_params(self, params: _base.Params) -> _base.Params:
        """The true params: ``cache`` while perturbed, else ``params`` (opaque mode: ``params``)."""
        if self.cache is None:
            return params
        synced = self.steps_since_sync == 0
        return jax.tree.map(lambda p, c: jnp.where(synced, p, c.astype(p.dtype)), params,
                            self.cache)


def sam(
    optimizer: _base.GradientTransformation,
    adv_optimizer: _base.GradientTransformation,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
) -> _base.GradientTransformation:
    r"""SAM: the outer optimizer steps with the gradient taken at an adversarial point.

    With ``adv_optimizer = chain(normalize(), sgd(rho))`` and ``sync_period=2``
    this is Foret et al.'s SAM:

    .. math::

        \tilde x_t = x_t + \rho\, \frac{\nabla f(x_t)}{\lVert \nabla f(x_t) \rVert}, \qquad
        x_{t+1} = x_t + \mathrm{opt}\bigl(\nabla f(\tilde x_t)\bigr)

    Transparent mode (default): each call to ``update`` is one step, the
    adversarial steps move the params the loop sees (``sync_period - 1`` of them,
    then the outer step returns to the cached true params and applies the
    outer update); :meth:`SAMState.eval_params` (and :func:`eval_params`) give the
    true params at any time. Opaque mode: each call runs the ``sync_period - 1``
    adversarial steps internally with ``grad_fn(params, i)`` (keyword argument of
    ``update``) and returns the outer step.

    Args:
        optimizer: The outer optimizer.
        adv_optimizer: The adversarial optimizer (its updates are *added* to climb:
            the sign of its output is flipped).
        sync_period: Static int :math:`\ge 1`; adversarial steps plus one.
        reset_state: Structural; re-initialise ``adv_optimizer`` after each outer step.
        opaque_mode: Structural; run the adversarial steps inside ``update``.
        batch_axis_name: Opaque mode: a ``pmap``/``shard_map`` axis to ``pmean`` the
            adversarial gradients over.

    Returns:
        A transform whose state is :class:`SAMState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.sam(jos.sgd(0.1), jos.chain(jos.contrib.normalize(), jos.sgd(0.5)))
        >>> x = jnp.array([3.0, 4.0])
        >>> state = tx.init(x)
        >>> u, state = tx.update(2 * x, state, x)  # climb to x + 0.5 g / |g|
        >>> print(x + u, jos.contrib.eval_params(state, x + u))
        [3.3 4.4] [3. 4.]

    References:
        Foret et al., `Sharpness-Aware Minimization for Efficiently Improving
        Generalization <https://arxiv.org/abs/2010.01412>`_, 2021 (Algorithm 1).
    """
    _combine.check_transform(optimizer, "`optimizer`")
    _combine.check_transform(adv_optimizer, "`adv_optimizer`")
    if isinstance(sync_period, bool) or not isinstance(sync_period, int) or sync_period < 1:
        raise ValueError(f"`sync_period` must be a positive int, got {sync_period!r}.")

    def init_fn(params):
        return SAMState(steps_since_sync=_tree_math.zero_count(), opt_state=optimizer.init(params),
                        adv_state=adv_optimizer.init(params),
                        cache=None if opaque_mode else params)

    def pick(cond, a, b):
        return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)

    def transparent_update(updates, state, params=None, *, grad_fn=None, **extra_args):
        del grad_fn, extra_args
        _tree_math.check_params_given(params, "sam")
        first = state.steps_since_sync == 0
        last = state.steps_since_sync == sync_period - 1
        adv, adv_state = adv_optimizer.update(updates, state.adv_state, params)
        adv = jax.tree.map(jnp.negative, adv)
        outer, opt_state = optimizer.update(updates, state.opt_state, state.cache)
        # Back to the cached true params, then the outer step.
        outer = jax.tree.map(lambda c, p, u: c - p + u, state.cache, params, outer)
        cache = pick(first, params, state.cache)
        out = pick(last, outer, adv)
        if reset_state:
            adv_state = pick(last, adv_optimizer.init(params), adv_state)
        else:
            adv_state = pick(last, state.adv_state, adv_state)
        opt_state = pick(last, opt_state, state.opt_state)
        return out, SAMState(steps_since_sync=(state.steps_since_sync + 1) % sync_period,
                             opt_state=opt_state, adv_state=adv_state, cache=cache)

    def opaque_update(updates, state, params=None, *,
                      grad_fn: Callable[[Any, int], Any] | None = None, **extra_args):
        del extra_args
        _tree_math.check_params_given(params, "sam")
        if grad_fn is None:
            raise ValueError(
                "`sam(..., opaque_mode=True)` needs the gradient function: call "
                "`tx.update(grads, state, params, grad_fn=lambda p, i: jax.grad(loss)(p))`.")
        adv_params, adv_updates, adv_state = params, updates, state.adv_state
        for i in range(sync_period - 1):
            adv, adv_state = adv_optimizer.update(adv_updates, adv_state, adv_params)
            adv_params = _update.apply_updates(adv_params, jax.tree.map(jnp.negative, adv))
            adv_updates = grad_fn(adv_params, i)
            if batch_axis_name is not None:
                adv_updates = jax.lax.pmean(adv_updates, axis_name=batch_axis_name)
        if reset_state:
            adv_state = adv_optimizer.init(params)
        out, opt_state = optimizer.update(adv_updates, state.opt_state, params)
        return out, SAMState(steps_since_sync=_tree_math.zero_count(), opt_state=opt_state,
                             adv_state=adv_state, cache=None)

    return _base.GradientTransformation(init_fn, opaque_update if opaque_mode
                                        else transparent_update)
