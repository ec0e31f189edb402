r"""The problem registry: :class:`Problem`, :func:`register`, :func:`names` and :func:`get`.

Problem modules (``surfaces.py``, ``networks.py``, ``datasets.py``) add their factories with
:func:`register` when they are imported; the package's ``__init__`` imports them,
so the table is complete before anyone reads it. Nothing is computed at import
time: a problem is built on the first :func:`get`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

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
        eval_batch: The held-out validation split, for ``eval_batch=`` of
            :func:`run` and :func:`sweep` (``loss_fn`` with ``batch=None`` and
            ``sample_fn`` use the training split only).
        metrics_fn: ``metrics_fn(params, batch=None) -> {name: scalar}`` (the loss
            and an accuracy or bits-per-byte), on ``eval_batch`` when ``batch`` is
            ``None``; ready for :func:`sweep`'s ``metrics_fn``.

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
    eval_batch: Batch | None = None
    metrics_fn: Callable[..., dict[str, jax.Array]] | None = None

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
