r"""Test problems: the seeds' landscapes and classic 2-D surfaces, behind one registry.

A :class:`Problem` bundles a pure ``loss_fn(params, batch=None)``, a way to make
initial parameters, the known minimisers and the plot bounds. The networks and
data-set problems (linear regression, XOR, the MLP) live in ``_problems_nets.py``;
both files register into the same table, read by :func:`get` and :func:`names`.

Nothing is computed at import time: a problem is built on the first :func:`get`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Params = Any
Batch = Any
Bounds = tuple[tuple[float, float], tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class Problem:
    r"""An optimisation problem: a loss, a starting point and what is known about it.

    Attributes:
        name: The registry name (``jos.problems.get(name)``).
        description: One line: the formula and where the problem comes from.
        loss_fn: Pure ``loss_fn(params, batch=None) -> scalar``. With ``batch=None``
            it evaluates the whole problem (the full data set, if there is one).
        init_params: ``init_params(key=None) -> params``. Deterministic problems
            ignore ``key``; random ones draw from it (``None`` means the
            problem's documented default).
        minima: Known global minimisers (parameters), empty when unknown.
        min_loss: The loss at the minima, ``None`` when unknown.
        bounds: ``((x_lo, x_hi), (y_lo, y_hi))`` for contour plots of 2-D problems.
        num_steps: The number of updates the reference setup runs.
        target_loss: A loss worth reaching within ``num_steps`` (the command-line
            tool's default tolerance).
        grad_fn: The analytic gradient ``grad_fn(params, batch=None)``, where the
            source wrote one; it agrees with ``jax.grad(loss_fn)``.
        sample_fn: ``sample_fn(key) -> batch`` drawing a minibatch, for data sets.
        accuracy_fn: ``accuracy_fn(params, batch=None) -> fraction correct``, for
            classifiers.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> ravine = jos.problems.get("ravine")
        >>> print(ravine.init_params(), ravine.loss_fn(ravine.init_params()))
        [1. 8.] 114.0
        >>> ravine.minimum
        (0.0, 0.0)
    """

    name: str
    description: str
    loss_fn: Callable[..., jax.Array]
    init_params: Callable[..., Params]
    minima: tuple[Any, ...] = ()
    min_loss: float | None = None
    bounds: Bounds | None = None
    num_steps: int = 100
    target_loss: float | None = None
    grad_fn: Callable[..., Params] | None = None
    sample_fn: Callable[[jax.Array], Batch] | None = None
    accuracy_fn: Callable[..., jax.Array] | None = None

    @property
    def minimum(self) -> Any:
        """The first known minimiser, or ``None``."""
        return self.minima[0] if self.minima else None

    @property
    def is_2d(self) -> bool:
        """Whether the parameters are one point of the plane (a contour plot makes sense)."""
        return self.bounds is not None


_FACTORIES: dict[str, Callable[..., Problem]] = {}
_CACHE: dict[tuple[Any, ...], Problem] = {}


def register(name: str) -> Callable[[Callable[..., Problem]], Callable[..., Problem]]:
    """Decorator adding a problem factory to the registry under ``name``."""

    def add(factory: Callable[..., Problem]) -> Callable[..., Problem]:
        _FACTORIES[name] = factory
        return factory

    return add


def names() -> tuple[str, ...]:
    """The registered problem names, in teaching order.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> jos.problems.names()[:3]
        ('bowl', 'ravine', 'elongated')
    """
    _load_all()
    return tuple(_FACTORIES)


def get(name: str, **options: Any) -> Problem:
    """The problem called ``name``, built with ``options`` (cached when they are hashable).

    Hyphens and underscores are interchangeable (``"xor-a"`` is ``"xor_a"``).

    Args:
        name: One of :func:`names`.
        **options: Keyword arguments of the problem's factory (for example
            ``get("mlp", num_samples=2000)``).

    Raises:
        ValueError: For an unknown name, listing the known ones.
        TypeError: For an option the problem does not take.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> jos.problems.get("theta-squared").init_params()
        Array(5., dtype=float32)
        >>> jos.problems.get("banana")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown problem `name`='banana'. Known problems: bowl, ravine, ...
    """
    _load_all()
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a problem name (a string), got {name!r}.")
    key = name.strip().lower().replace("-", "_")
    if key not in _FACTORIES:
        raise ValueError(
            f"Unknown problem `name`={name!r}. Known problems: {', '.join(_FACTORIES)}."
        )
    factory = _FACTORIES[key]
    try:
        # Arrays are built in JAX's default float dtype, which x64 mode changes.
        cache_key = (key, bool(jax.config.jax_enable_x64), tuple(sorted(options.items())))
        hash(cache_key)
    except TypeError:
        cache_key = None
    if cache_key is not None and cache_key in _CACHE:
        return _CACHE[cache_key]
    try:
        problem = factory(**options)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        raise TypeError(
            f"Problem {key!r} does not take the option(s) {sorted(options)}: {err}."
        ) from None
    if cache_key is not None:
        _CACHE[cache_key] = problem
    return problem


def _load_all() -> None:
    # The network problems register themselves when their module is imported.
    from jaxopt_scratch import _problems_nets  # noqa: F401


def as_float(value: Any) -> jax.Array:
    """``value`` as an array of JAX's default float dtype (float32, or float64 under x64)."""
    return jnp.asarray(value, dtype=jnp.result_type(float))


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
    """Seed 003's bowl :math:`x^2 + y^2` from (4, 3) (REFERENCE.md P1)."""
    return _surface(
        "bowl", "x^2 + y^2 from (4, 3): seed 003's bowl (P1)",
        lambda p: p[0] ** 2 + p[1] ** 2, (4.0, 3.0),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-5.0, 5.0), (-4.0, 4.0)),
        num_steps=15, target_loss=1e-2,
    )


@register("ravine")
def ravine() -> Problem:
    """Seed 003's ravine :math:`50x^2 + y^2` from (1, 8) (P2, P3)."""
    return _surface(
        "ravine", "50 x^2 + y^2 from (1, 8): seed 003's ravine (P2, P3)",
        lambda p: 50 * p[0] ** 2 + p[1] ** 2, (1.0, 8.0),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-1.5, 1.5), (-4.0, 9.0)),
        num_steps=30, target_loss=1e-1,
    )


@register("elongated")
def elongated() -> Problem:
    """Seed 001's elongated quadratic :math:`x^2 + 10y^2` from (1.5, 1.5) (P7)."""
    return _surface(
        "elongated", "x^2 + 10 y^2 from (1.5, 1.5): seed 001's steep valley (P7)",
        lambda p: p[0] ** 2 + 10 * p[1] ** 2, (1.5, 1.5),
        minima=((0.0, 0.0),), min_loss=0.0, bounds=((-2.0, 2.0), (-2.0, 2.0)),
        num_steps=100, target_loss=1e-3,
    )


@register("ill_conditioned")
def ill_conditioned() -> Problem:
    """Seed 004's ill-conditioned quadratic :math:`0.1x^2 + 5y^2` from (9, -3) (P8)."""
    return _surface(
        "ill_conditioned", "0.1 x^2 + 5 y^2 from (9, -3): seed 004's ill-conditioned bowl (P8)",
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
    # The seed's hand-derived gradient: d/dx = 2a(y - 1) + 2b(y^2 - 1), d/dy = 2ax + 4bxy.
    x, y = p[0], p[1]
    a, b = _beale_residuals(p)
    return jnp.stack([2 * a * (y - 1) + 2 * b * (y**2 - 1), 2 * a * x + 4 * b * x * y])


@register("beale_like")
def beale_like() -> Problem:
    """Seed 003's two-term "Beale-like" surface from (0.5, 3.5) (P4).

    The only zero is (3, 0.5), but every descent method started at (0.5, 3.5)
    moves away from it into the valley at negative ``x`` (the first gradient is
    (+190.9, +57.9)); the seed clips gradients to [-10, 10] on this problem.
    """
    return _surface(
        "beale_like",
        "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 from (0.5, 3.5): seed 003's showdown (P4)",
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
    """Seed 002's scalar :math:`\\theta^2` from 5 (P5)."""
    return _surface(
        "theta_squared", "theta^2 from 5: seed 002's one-parameter Adam demo (P5)",
        lambda p: p**2, 5.0, minima=(0.0,), min_loss=0.0, num_steps=1000, target_loss=1e-3,
    )
