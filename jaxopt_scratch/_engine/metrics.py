r"""What a sweep measures besides the training loss: evaluation metrics and optimizer diagnostics.

* ``metrics_fn(params, batch) -> {name: scalar}`` is evaluated inside the compiled
  chunk program every ``eval_every`` steps, on ``eval_batch``.
* Diagnostics are recorded at every step on request: ``"grad_norm"``
  (:math:`\lVert g_t \rVert_2` over the whole tree), ``"update_norm"``
  (:math:`\lVert u_t \rVert_2`, the step actually added to the params) and
  ``"learning_rate"`` (the value applied at step :math:`t`: read from the state of
  :func:`inject_hyperparams` when the optimizer injects it, else the swept
  ``learning_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._wrappers import inject as _inject

DIAGNOSTICS = ("grad_norm", "update_norm", "learning_rate")
MetricsFn = Callable[[Any, Any], Mapping[str, jax.Array]]


def check_diagnostics(diagnostics: bool | Sequence[str] | None) -> tuple[str, ...]:
    """The requested diagnostics: ``True`` asks for all, ``False``/``None`` for none."""
    if diagnostics is None or diagnostics is False:
        return ()
    if diagnostics is True:
        return DIAGNOSTICS
    names = (diagnostics,) if isinstance(diagnostics, str) else tuple(diagnostics)
    unknown = [n for n in names if n not in DIAGNOSTICS]
    if unknown or not names:
        raise ValueError(
            f"`diagnostics` must be True, False or a sequence of {', '.join(DIAGNOSTICS)}; "
            f"got {diagnostics!r}."
        )
    return names


def eval_block(num_steps: int, eval_every: int | None) -> int:
    """Steps between two evaluations of ``metrics_fn``: ``eval_every`` (checked by the
    caller), by default about a twentieth of ``num_steps`` (also the default chunk of
    :func:`sweep`); at most ``num_steps``."""
    span = max(num_steps, 1)
    return math.ceil(span / 20) if eval_every is None else min(eval_every, span)


def eval_steps(num_steps: int, block: int) -> np.ndarray:
    """The steps after which ``metrics_fn`` is evaluated: ``block, 2 block, ...`` and the last."""
    return np.minimum(np.arange(1, math.ceil(num_steps / block) + 1) * block, num_steps)


def check_metrics_fn(metrics_fn: Any) -> None:
    if metrics_fn is not None and not callable(metrics_fn):
        raise TypeError(
            f"`metrics_fn` must be a function `metrics_fn(params, batch) -> {{name: scalar}}`, "
            f"got {metrics_fn!r}."
        )


def injected_learning_rate(opt_state: Any) -> jax.Array | None:
    """The ``learning_rate`` of the outermost :func:`inject_hyperparams` state, or ``None``."""
    def is_inject(x):
        return isinstance(x, _inject.InjectHyperparamsState)

    for node in jax.tree.leaves(opt_state, is_leaf=is_inject):
        if is_inject(node) and "learning_rate" in node.hyperparams:
            return node.hyperparams["learning_rate"]
    return None


def step_trace(names: tuple[str, ...], hp: Mapping[str, Any]
               ) -> Callable[[Any, Any, Any], dict[str, jax.Array]]:
    """``trace(grads, updates, new_state, new_params, t) -> {name: scalar}`` for :func:`loop.train_steps`.

    ``"learning_rate"`` in ``names`` and neither injected nor swept raises
    ``ValueError``, unless every diagnostic was asked for (then it is left out).
    """
    def trace(grads, updates, state, params, t):
        del params, t
        out = {}
        if "grad_norm" in names:
            out["grad_norm"] = _tree_math.global_norm(grads)
        if "update_norm" in names:
            out["update_norm"] = _tree_math.global_norm(updates)
        if "learning_rate" in names:
            lr = injected_learning_rate(state)
            if lr is None:
                lr = hp.get("learning_rate")
            if lr is not None:
                out["learning_rate"] = jnp.asarray(lr)
            elif names != DIAGNOSTICS:
                raise ValueError(
                    "`diagnostics` asks for 'learning_rate', but the optimizer does not inject "
                    "one (`jos.inject_hyperparams`) and 'learning_rate' is not a swept "
                    "hyperparameter. Sweep it, inject it, or drop 'learning_rate'."
                )
        return out

    return trace


def evaluate(metrics_fn: MetricsFn, params: Any, batch: Any) -> dict[str, jax.Array]:
    """``metrics_fn(params, batch)``, checked to be a dict of real scalars."""
    values = metrics_fn(params, batch)
    if not isinstance(values, Mapping) or not values:
        raise TypeError(
            f"`metrics_fn` must return a non-empty dict {{name: scalar}}, got {type(values).__name__}."
        )
    out = {}
    for name, value in values.items():
        value = jnp.asarray(value)
        if not isinstance(name, str) or value.shape != () or jnp.iscomplexobj(value):
            raise TypeError(
                f"`metrics_fn` must return real scalars under string names; {name!r} has shape "
                f"{value.shape} and dtype {value.dtype}. Reduce it (a mean, a sum) first."
            )
        out[name] = value
    return out
