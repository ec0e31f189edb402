"""Shared fixtures of the cross-cutting hardening tests (tests/test_hardening_*.py, test_properties.py).

One registry of every public alias (plus the structural variants that change
the computation: momentum, Nesterov, centered), tiny parameter trees and small
runners. Test scaffolding only; the expected values in the tests come from
optax, from NumPy, or from the mathematics, never from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_scratch as jos

# name -> builder(learning_rate). Every public alias at its defaults, plus the
# structural variants. A new alias gets every hardening test by adding a line.
ALIASES: dict[str, Callable[[Any], jos.GradientTransformation]] = {
    "sgd": lambda lr: jos.sgd(lr),
    "sgd_momentum": lambda lr: jos.sgd(lr, momentum=0.9),
    "sgd_nesterov": lambda lr: jos.sgd(lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: jos.rmsprop(lr),
    "rmsprop_centered": lambda lr: jos.rmsprop(lr, centered=True, momentum=0.5),
    "adagrad": lambda lr: jos.adagrad(lr),
    "adam": lambda lr: jos.adam(lr),
    "adamw": lambda lr: jos.adamw(lr),
    "nadam": lambda lr: jos.nadam(lr),
    "nadamw": lambda lr: jos.nadamw(lr),
    "amsgrad": lambda lr: jos.amsgrad(lr),
    "adamax": lambda lr: jos.adamax(lr),
    "adamaxw": lambda lr: jos.adamaxw(lr),
    "lion": lambda lr: jos.lion(lr),
    "lamb": lambda lr: jos.lamb(lr),
    "lars": lambda lr: jos.lars(lr),
}

# The public alias functions themselves (for signature checks).
ALIAS_FUNCTIONS = ("sgd", "rmsprop", "adagrad", "adam", "adamw", "nadam", "nadamw", "amsgrad",
                   "adamax", "adamaxw", "lion", "lamb", "lars")

# Aliases whose update reads the params (weight decay or a trust ratio).
NEEDS_PARAMS = ("adamw", "nadamw", "adamaxw", "lion", "lamb", "lars")

# Aliases with a nonzero default weight decay (params shrink even with zero gradients).
DECAYS_BY_DEFAULT = ("adamw", "nadamw", "adamaxw", "lion")


def optax_alias(name: str, lr: float) -> Any:
    """optax's counterpart of ``ALIASES[name](lr)`` (test oracle only)."""
    import optax

    return {
        "sgd": lambda: optax.sgd(lr),
        "sgd_momentum": lambda: optax.sgd(lr, momentum=0.9),
        "sgd_nesterov": lambda: optax.sgd(lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: optax.rmsprop(lr),
        "rmsprop_centered": lambda: optax.rmsprop(lr, centered=True, momentum=0.5),
        "adagrad": lambda: optax.adagrad(lr),
        "adam": lambda: optax.adam(lr),
        "adamw": lambda: optax.adamw(lr),
        "nadam": lambda: optax.nadam(lr),
        "nadamw": lambda: optax.nadamw(lr),
        "amsgrad": lambda: optax.amsgrad(lr),
        "adamax": lambda: optax.adamax(lr),
        "adamaxw": lambda: optax.adamaxw(lr),
        "lion": lambda: optax.lion(lr),
        "lamb": lambda: optax.lamb(lr),
        "lars": lambda: optax.lars(lr),
    }[name]()


def named(names=None) -> list[tuple[str, str]]:
    """``(testcase_name, alias)`` pairs for ``parameterized.named_parameters``."""
    return [(n, n) for n in (ALIASES if names is None else names)]


def tiny_params(dtype: Any = jnp.float32) -> dict:
    """Two leaves of two shapes (a vector and a scalar), nested in a dict and a tuple."""
    return {"w": jnp.asarray([0.8, -1.3, 0.4], dtype), "t": (jnp.asarray(-0.6, dtype),)}


def bowl_grad(params: Any) -> Any:
    """Gradient of ``sum_i c_i p_i^2 / 2`` with curvatures 1..3 along the vector leaf."""
    return {"w": params["w"] * jnp.asarray([1.0, 2.0, 3.0], params["w"].dtype),
            "t": (params["t"][0],)}


def bowl_loss(params: Any) -> jax.Array:
    w, t = params["w"].astype(jnp.float32), params["t"][0].astype(jnp.float32)
    return 0.5 * (jnp.sum(jnp.asarray([1.0, 2.0, 3.0]) * w**2) + t**2)


def scan_steps(tx: Any, params: Any, grad_fn: Callable[[Any], Any], steps: int,
               state: Any = None) -> tuple[Any, Any, Any]:
    """``steps`` updates in one ``lax.scan``; returns ``(params, state, last updates)``."""
    state = tx.init(params) if state is None else state
    zeros = jax.tree.map(jnp.zeros_like, params)

    def body(carry, _):
        p, s, _u = carry
        u, s = tx.update(grad_fn(p), s, p)
        return (jos.apply_updates(p, u), s, u), None

    return jax.lax.scan(body, (params, state, zeros), None, length=steps)[0]


def float_leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


def all_finite(tree: Any) -> bool:
    return all(np.all(np.isfinite(np.asarray(x, np.complex128 if np.iscomplexobj(x)
                                              else np.float64)))
               for x in float_leaves(tree))
