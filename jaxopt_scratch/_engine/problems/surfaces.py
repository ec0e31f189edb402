r"""Deterministic test surfaces: the tutorials' bowls and ravines and the classic 2-D functions.

The tutorials' problems (P1-P5, P7, P8) are described in ``docs/tutorial_claims.rst``.
Each factory registers itself in :mod:`registry` under its name; the parameters
are one point of the plane (or a scalar) and there is no data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxopt_scratch._core.tree_math import as_float
from jaxopt_scratch._engine.problems.registry import Bounds, Params, Problem, register


def _fixed(value: Any) -> Callable[..., Params]:
    def init_params(key: jax.Array | None = None) -> Params:
        del key  # a fixed starting point
        return as_float(value)

    return init_params


def _surface(
    name: str,
    description: str,
    loss_fn: Callable[[jax.Array], jax.Array],
    start: tuple[float, ...] | float,
    *,
    minima: tuple[Any, ...] = (),
    min_loss: float | None = None,
    bounds: Bounds | None = None,
    num_steps: int = 100,
    target_loss: float | None = None,
    grad_fn: Callable[[jax.Array], jax.Array] | None = None,
) -> Problem:
    """A deterministic problem whose params are one point (no data, ``batch`` ignored)."""

    def loss(params, batch=None):
        del batch  # nothing to sample: the surface is the whole problem
        return loss_fn(params)

    grad = None
    if grad_fn is not None:

        def grad(params, batch=None):
            del batch
            return grad_fn(params)

    return Problem(
        name=name, description=description, loss_fn=loss, init_params=_fixed(start),
        minima=minima, min_loss=min_loss, bounds=bounds, num_steps=num_steps,
        target_loss=target_loss, grad_fn=grad,
    )


@register("bowl")
def bowl() -> Problem:
    """Tutorial 3's bowl :math:`x^2 + y^2` from (4, 3) (``docs/tutorial_claims.rst``, P1)."""
    return _surface(
        "bowl", "x^2 + y^2 from (4, 3): tutorial 3's bowl (docs/tutorial_claims.rst, P1)",
        lambda p: p[0] ** 2 + p[1] ** 2, (4.0, 3.0),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-5.0, 5.0), (-4.0, 4.0)),
        num_steps=15, target_loss=1e-2,
    )


@register("ravine")
def ravine() -> Problem:
    """Tutorial 3's ravine :math:`50x^2 + y^2` from (1, 8).

    Problems P2 and P3 of ``docs/tutorial_claims.rst``.
    """
    return _surface(
        "ravine",
        "50 x^2 + y^2 from (1, 8): tutorial 3's ravine (docs/tutorial_claims.rst, P2, P3)",
        lambda p: 50 * p[0] ** 2 + p[1] ** 2, (1.0, 8.0),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-1.5, 1.5), (-4.0, 9.0)),
        num_steps=30, target_loss=1e-1,
    )


@register("elongated")
def elongated() -> Problem:
    """Tutorial 1's elongated quadratic :math:`x^2 + 10y^2` from (1.5, 1.5).

    Problem P7 of ``docs/tutorial_claims.rst``.
    """
    return _surface(
        "elongated",
        "x^2 + 10 y^2 from (1.5, 1.5): tutorial 1's steep valley (docs/tutorial_claims.rst, P7)",
        lambda p: p[0] ** 2 + 10 * p[1] ** 2, (1.5, 1.5),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-2.0, 2.0), (-2.0, 2.0)),
        num_steps=100, target_loss=1e-3,
    )


@register("ill_conditioned")
def ill_conditioned() -> Problem:
    """Tutorial 4's ill-conditioned quadratic :math:`0.1x^2 + 5y^2` from (9, -3).

    Problem P8 of ``docs/tutorial_claims.rst``.
    """
    return _surface(
        "ill_conditioned",
        "0.1 x^2 + 5 y^2 from (9, -3): tutorial 4's ill-conditioned bowl "
        "(docs/tutorial_claims.rst, P8)",
        lambda p: 0.1 * p[0] ** 2 + 5 * p[1] ** 2, (9.0, -3.0),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-10.0, 10.0), (-4.0, 4.0)),
        num_steps=100, target_loss=1e-2,
    )


def _beale_residuals(p: jax.Array) -> tuple[jax.Array, jax.Array]:
    x, y = p[0], p[1]
    return 1.5 - x + x * y, 2.25 - x + x * y**2


def _beale_like_loss(p: jax.Array) -> jax.Array:
    a, b = _beale_residuals(p)
    return a**2 + b**2


def _beale_like_grad(p: jax.Array) -> jax.Array:
    # Tutorial 3's hand-derived gradient: d/dx = 2a(y - 1) + 2b(y^2 - 1), d/dy = 2ax + 4bxy.
    x, y = p[0], p[1]
    a, b = _beale_residuals(p)
    return jnp.stack([2 * a * (y - 1) + 2 * b * (y**2 - 1), 2 * a * x + 4 * b * x * y])


@register("beale_like")
def beale_like() -> Problem:
    """Tutorial 3's two-term "Beale-like" surface from (0.5, 3.5).

    Problem P4 of ``docs/tutorial_claims.rst``.

    The only zero is (3, 0.5), but every descent method started at (0.5, 3.5)
    moves away from it into the valley at negative ``x`` (the first gradient is
    (+190.9, +57.9)); tutorial 3 clips gradients to [-10, 10] on this problem.
    """
    return _surface(
        "beale_like",
        "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 from (0.5, 3.5): tutorial 3's showdown "
        "(docs/tutorial_claims.rst, P4)",
        _beale_like_loss, (0.5, 3.5),
        minima=((3.0, 0.5),), min_loss=0.0, bounds=((-1.5, 3.5), (0.0, 4.0)),
        num_steps=200, target_loss=1.0, grad_fn=_beale_like_grad,
    )


@register("beale")
def beale() -> Problem:
    """The full three-term Beale function, minimum 0 at (3, 0.5)."""

    def loss(p):
        a, b = _beale_residuals(p)
        c = 2.625 - p[0] + p[0] * p[1] ** 3
        return a**2 + b**2 + c**2

    return _surface(
        "beale", "Beale (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2 from (1, 1.5)",
        loss, (1.0, 1.5),
        minima=((3.0, 0.5),), min_loss=0.0, bounds=((-4.5, 4.5), (-4.5, 4.5)),
        num_steps=1000, target_loss=1e-3,
    )


@register("rosenbrock")
def rosenbrock() -> Problem:
    """Rosenbrock's banana valley :math:`(1-x)^2 + 100(y-x^2)^2` from (-1.2, 1)."""
    return _surface(
        "rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1): Rosenbrock's banana",
        lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2, (-1.2, 1.0),
        minima=((1.0, 1.0),), min_loss=0.0, bounds=((-2.0, 2.0), (-1.0, 3.0)),
        num_steps=2000, target_loss=1e-3,
    )


@register("himmelblau")
def himmelblau() -> Problem:
    """Himmelblau's function: four valleys, each with minimum 0."""
    return _surface(
        "himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2 from (0, 0): four minima",
        lambda p: (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2, (0.0, 0.0),
        minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                (3.584428, -1.848126)),
        min_loss=0.0, bounds=((-5.0, 5.0), (-5.0, 5.0)), num_steps=500, target_loss=1e-3,
    )


@register("saddle")
def saddle() -> Problem:
    r"""A saddle at the origin between two minima: :math:`x^2 + (y^2 - 1)^2 / 4`.

    The start (1, 0.001) sits almost on the ridge ``y = 0``, where the pull
    towards either valley (0, +-1) is tiny: plain descent lingers at the saddle.
    """
    return _surface(
        "saddle", "x^2 + (y^2 - 1)^2 / 4 from (1, 0.001): saddle at 0, minima (0, +-1)",
        lambda p: p[0] ** 2 + (p[1] ** 2 - 1) ** 2 / 4, (1.0, 1e-3),
        minima=((0.0, 1.0), (0.0, -1.0)), min_loss=0.0, bounds=((-1.5, 1.5), (-1.5, 1.5)),
        num_steps=200, target_loss=1e-3,
    )


@register("theta_squared")
def theta_squared() -> Problem:
    """Tutorial 2's scalar :math:`\\theta^2` from 5 (``docs/tutorial_claims.rst``, P5)."""
    return _surface(
        "theta_squared",
        "theta^2 from 5: tutorial 2's one-parameter Adam demo (docs/tutorial_claims.rst, P5)",
        lambda p: p**2, 5.0, minima=(0.0,), min_loss=0.0, num_steps=1000, target_loss=1e-3,
    )
