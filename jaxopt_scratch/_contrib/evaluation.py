r"""Where to evaluate: the hook for optimizers that train at one point and evaluate at another.

Schedule-Free trains at :math:`y` and evaluates at the average :math:`x`; SAM
alternates between the true and the adversarial point; Lookahead keeps slow
weights. Such an optimizer's state class (:class:`ScheduleFreeState`,
:class:`SAMState`, :class:`LookaheadState`) defines a method
``eval_params(self, params) -> params``; :func:`eval_params` finds it anywhere
in a (chained, named, wrapped) optimizer state, so a training loop needs one
call and no knowledge of the optimizer. :func:`jaxopt_scratch.run` and
:func:`jaxopt_scratch.sweep` report their final losses, rung losses and metrics
there (``eval_params=False`` opts out).
"""

from __future__ import annotations

from typing import Any

import jax

from jaxopt_scratch._core import base as _base


def _has_hook(x: Any) -> bool:
    return callable(getattr(type(x), "eval_params", None))


def has_eval_params(state: _base.OptState) -> bool:
    """Whether some sub-state of ``state`` defines ``eval_params`` (static: read off the types).

    A training loop can test this once, at trace time, to skip evaluating a
    second set of parameters for the optimizers that have none.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> from jaxopt_scratch._contrib.evaluation import has_eval_params
        >>> p = jnp.zeros(1)
        >>> has_eval_params(jos.adam(0.1).init(p)), has_eval_params(
        ...     jos.contrib.schedule_free_sgd(0.1).init(p))
        (False, True)
    """
    return any(_has_hook(node) for node in jax.tree.leaves(state, is_leaf=_has_hook))


def eval_params(state: _base.OptState, params: _base.Params) -> _base.Params:
    r"""The parameters at which to report the loss: ``params``, unless the optimizer says otherwise.

    Searches ``state`` (depth first, in tree order) for a sub-state whose class
    defines ``eval_params(self, params)`` (:class:`ScheduleFreeState`,
    :class:`SAMState`, ...) and returns what the first one gives; with no such
    sub-state, returns ``params`` itself. The hook must sit where it sees the
    whole params tree (not under :func:`masked` or :func:`partition`).

    Args:
        state: An optimizer state, as returned by ``tx.init`` / ``tx.update``.
        params: The parameters the optimizer is training.

    Returns:
        A pytree shaped like ``params``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> p = jnp.array([1.0])
        >>> jos.contrib.eval_params(jos.adam(0.1).init(p), p) is p  # nothing to change
        True
        >>> tx = jos.chain(jos.clip(1.0), jos.contrib.schedule_free_sgd(0.1))
        >>> y = jnp.array([1.0])
        >>> state = tx.init(y)
        >>> for _ in range(2):
        ...     u, state = tx.update(2 * y, state, y)
        ...     y = y + u
        >>> print(y, jos.contrib.eval_params(state, y))  # trains at y, evaluates at x
        [0.845] [0.85]
    """
    for node in jax.tree.leaves(state, is_leaf=_has_hook):
        if _has_hook(node):
            return node.eval_params(params)
    return params
