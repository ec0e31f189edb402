r"""What the loops pass to an optimizer besides the gradient: ``value``, ``grad``, ``value_fn``, ``key``.

Every loop of the engine (:func:`run`, :func:`sweep`, :func:`minimize`) goes
through :func:`value_and_grad` and :func:`update`:

* the objective and its gradient are computed once per step, or taken from
  the state of a line search that already evaluated them at the new params
  (a deterministic objective only);
* an optimizer whose ``update`` takes extra keyword arguments gets
  ``value=``, ``grad=`` and ``value_fn=`` (they cost nothing more: the loop has
  them anyway). Transforms that do not use them ignore them, and an optimizer
  that takes no extra arguments (a foreign one) is called as before;
* a PRNG ``key=`` is passed only to an optimizer that declares it as a
  keyword-only argument (Python then reports it missing when tracing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import linesearch as _linesearch

_MISSING_KEY = re.compile(r"missing \d+ required keyword-only arguments?: .*'key'")


def value_and_grad(
    value_fn: Callable[[Any], jax.Array], params: Any, opt_state: Any, *, reuse: bool
) -> tuple[jax.Array, Any, jax.Array]:
    """``(value, grad, evaluated)`` at ``params``; ``evaluated`` says whether ``value_fn`` ran.

    With ``reuse`` (a deterministic objective), the value and gradient that a
    line search stored in ``opt_state`` are taken when they are finite: the
    search evaluated them at exactly these params.
    """
    stored = _linesearch.stored_value_and_grad(opt_state) if reuse else None
    if stored is None:
        value, grad = jax.value_and_grad(value_fn)(params)
        return value, grad, jnp.ones([], bool)
    old_value, old_grad = stored
    like = (jnp.asarray(old_value), old_grad)

    def compute(p):
        return _tree_math.cast_like(jax.value_and_grad(value_fn)(p), like)

    fresh = ~jnp.isfinite(old_value)
    value, grad = jax.lax.cond(fresh, compute, lambda p: like, params)
    return value, grad, fresh


def update(
    tx: _base.GradientTransformation,
    grads: Any,
    opt_state: Any,
    params: Any,
    *,
    value: jax.Array,
    value_fn: Callable[[Any], jax.Array],
    key_fn: Callable[[], jax.Array] | None = None,
) -> tuple[Any, Any]:
    """``tx.update`` with the extra arguments it can take (see the module docstring)."""
    if not _base.supports_extra_args(tx):
        return tx.update(grads, opt_state, params)
    extra = {"value": value, "grad": grads, "value_fn": value_fn}
    try:
        return tx.update(grads, opt_state, params, **extra)
    except TypeError as err:
        if key_fn is None or not _MISSING_KEY.search(str(err)):
            raise
    return tx.update(grads, opt_state, params, key=key_fn(), **extra)
