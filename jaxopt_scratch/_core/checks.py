"""Construction-time validation of hyperparameters; silent on tracers."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def concrete_value(value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array if it is concrete, ``None`` if traced or a schedule."""
    if callable(value) or value is None:
        return None
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001 - anything unconvertible is simply not checked
        return None


def check_interval(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> None:
    """Raises ``ValueError`` naming ``name`` if a concrete ``value`` leaves the interval.

    Traced values and schedules are never checked (a sweep must not crash here).
    """
    v = concrete_value(value)
    if v is None:
        return
    if not np.issubdtype(v.dtype, np.number) or np.iscomplexobj(v):
        raise TypeError(f"`{name}` must be a real number or array, got {value!r}.")
    bad = np.isnan(v)
    if low is not None:
        bad |= (v <= low) if low_open else (v < low)
    if high is not None:
        bad |= (v >= high) if high_open else (v > high)
    if np.any(bad):
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(
            f"`{name}` must lie in {lo}, {hi}, got {value!r}." + (f" {hint}" if hint else "")
        )


def check_callable(name: str, value: Any, what: str) -> None:
    """Raises ``TypeError`` naming ``name`` unless ``value`` is callable; ``what`` says what it must be."""
    if not callable(value):
        raise TypeError(f"`{name}` must be {what}, got {value!r}.")


def check_transform_factory(name: str, value: Any) -> None:
    """A function of the hyperparameters returning a gradient transformation (``jos.adam``)."""
    check_callable(
        name, value,
        "a function of the hyperparameters returning a gradient transformation "
        "(for example `jos.adam`)",
    )


def check_decay(name: str, value: Any) -> None:
    """A decay rate: ``[0, 1)``."""
    check_interval(
        name, value, 0.0, 1.0, high_open=True,
        hint="A decay of 1 would never forget (and never bias-correct); use e.g. 0.9 or 0.999.",
    )


def check_nonnegative(name: str, value: Any, hint: str = "") -> None:
    """A quantity that must be ``>= 0``."""
    check_interval(name, value, 0.0, None, hint=hint)
