"""Fromage's step and shrinkage coefficients, for a constant or scheduled learning rate."""

from __future__ import annotations

from jaxopt_scratch._core import base as _base


def _map_rate(learning_rate: _base.ScalarOrSchedule, fn) -> _base.ScalarOrSchedule:
    """``fn(learning_rate)`` for a scalar (may be traced); ``fn`` after the schedule otherwise."""
    if callable(learning_rate):
        return lambda count: fn(_base.evaluate_schedule(learning_rate, count, "learning_rate"))
    return fn(learning_rate)


def _shrink(eta):
    # The same expression for a Python float (exact in double, as optax has it) and an array.
    return 1 / (1 + eta**2) ** 0.5


def fromage_step_size(learning_rate: _base.ScalarOrSchedule) -> _base.ScalarOrSchedule:
    r"""Fromage's step :math:`\eta / \sqrt{1 + \eta^2}`, a scalar or a schedule like ``learning_rate``.

    Examples:
        >>> from jaxopt_scratch._transforms import fromage
        >>> print(round(fromage.fromage_step_size(0.75), 6))  # 0.75 / 1.25
        0.6
    """
    return _map_rate(learning_rate, lambda eta: eta * _shrink(eta))


def fromage_shrinkage(learning_rate: _base.ScalarOrSchedule) -> _base.ScalarOrSchedule:
    r"""Fromage's weight shrinkage :math:`1 - 1/\sqrt{1 + \eta^2} \in [0, 1)`.

    Used as a (nonnegative) weight decay after the step has been scaled, it
    multiplies the params by :math:`1/\sqrt{1+\eta^2}`, which keeps their norm
    from growing.

    Examples:
        >>> from jaxopt_scratch._transforms import fromage
        >>> print(round(fromage.fromage_shrinkage(0.75), 6))  # 1 - 1 / 1.25
        0.2
        >>> import jax.numpy as jnp
        >>> print(fromage.fromage_shrinkage(lambda k: jnp.float32(0.75))(0))
        0.19999999
    """
    return _map_rate(learning_rate, lambda eta: 1 - _shrink(eta))

