r"""Search spaces of a sweep: grids, zips and sampled distributions (random or scrambled Sobol).

A search space maps hyperparameter names to values. :func:`table` turns it into
the configuration table of :func:`sweep`, ``{name: (configs,) array}``:

* ``mode="grid"``: the product of 1-D sequences; ``mode="zip"``: sequences taken together;
* ``mode="random"`` or ``"sobol"``: ``num_samples`` draws where an axis may be a
  distribution (:func:`uniform`, :func:`loguniform`, :func:`randint`), a sequence
  (one of its values, uniformly) or a single number (fixed). Each configuration is
  one point :math:`u \in [0, 1)^d` of a uniform random sample or of a scrambled
  Sobol sequence, mapped through each axis's inverse distribution function.

Only NumPy is used; the draws depend only on ``seed``, so a sweep is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

# Primitive polynomials and initial direction numbers of Joe & Kuo's file
# new-joe-kuo-6.21201, dimensions 2..16: (degree s, coefficients a, m_1..m_s).
_JOE_KUO = (
    (1, 0, (1,)), (2, 1, (1, 3)), (3, 1, (1, 3, 1)), (3, 2, (1, 1, 1)), (4, 1, (1, 1, 3, 3)),
    (4, 4, (1, 3, 5, 13)), (5, 2, (1, 1, 5, 5, 17)), (5, 4, (1, 1, 5, 5, 5)),
    (5, 7, (1, 1, 7, 11, 19)), (5, 11, (1, 1, 5, 1, 1)), (5, 13, (1, 1, 1, 3, 11)),
    (5, 14, (1, 3, 5, 5, 31)), (6, 1, (1, 3, 3, 9, 7, 49)), (6, 13, (1, 1, 1, 15, 21, 21)),
    (6, 16, (1, 3, 1, 13, 27, 49)),
)
MAX_SOBOL_DIMS = len(_JOE_KUO) + 1
_BITS = 30  # binary digits per coordinate: up to 2**30 distinct points


class Uniform(NamedTuple):
    """A real hyperparameter drawn uniformly from ``[low, high)``."""

    low: float
    high: float

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class LogUniform(NamedTuple):
    """A positive hyperparameter whose logarithm is uniform on ``[log low, log high)``."""

    low: float
    high: float

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))


class RandInt(NamedTuple):
    """An integer hyperparameter drawn uniformly from ``low, low + 1, ..., high - 1``."""

    low: int
    high: int

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.minimum(np.floor(u * (self.high - self.low)),
                                     self.high - self.low - 1).astype(np.int64)


Distribution = Uniform | LogUniform | RandInt


def _check_range(who: str, low: Any, high: Any, positive: bool = False) -> tuple[float, float]:
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                math.isfinite(value)):
            raise TypeError(f"`{name}` of `{who}` must be a finite real number, got {value!r}.")
    if not low < high or (positive and low <= 0):
        need = "0 < `low` < `high`" if positive else "`low` < `high`"
        raise ValueError(f"`{who}` needs {need}, got low={low!r}, high={high!r}.")
    return float(low), float(high)


def uniform(low: float, high: float) -> Uniform:
    r"""A hyperparameter drawn uniformly from :math:`[\mathrm{low}, \mathrm{high})`.

    Args:
        low: The smallest value (finite).
        high: The upper end, ``> low``.

    Returns:
        A :class:`Uniform` axis for ``jos.sweep(..., mode="random" or "sobol")``.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> table = jos.sample_hyperparams({"momentum": jos.uniform(0.8, 1.0)}, 4, seed=0)
        >>> bool(((0.8 <= table["momentum"]) & (table["momentum"] < 1.0)).all())
        True
    """
    return Uniform(*_check_range("uniform", low, high))


def loguniform(low: float, high: float) -> LogUniform:
    r"""A positive hyperparameter with :math:`\log x` uniform on :math:`[\log \mathrm{low}, \log \mathrm{high})`.

    The usual prior for learning rates and weight decays (Bergstra & Bengio, 2012):
    every decade gets the same share of the samples.

    Args:
        low: The smallest value, ``> 0``.
        high: The upper end, ``> low``.

    Returns:
        A :class:`LogUniform` axis.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> table = jos.sample_hyperparams({"learning_rate": jos.loguniform(1e-4, 1.0)}, 8,
        ...                                method="sobol", seed=0)
        >>> # Sobol points are balanced: two per decade.
        >>> [int(((10.0**-k <= table["learning_rate"]) & (table["learning_rate"] < 10.0**(1 - k))).sum())
        ...  for k in (1, 2, 3, 4)]
        [2, 2, 2, 2]

    References:
        Bergstra & Bengio, "Random search for hyper-parameter optimization", JMLR 2012.
    """
    return LogUniform(*_check_range("loguniform", low, high, positive=True))


def randint(low: int, high: int) -> RandInt:
    r"""An integer hyperparameter drawn uniformly from ``low, ..., high - 1`` (NumPy's convention).

    Args:
        low: The smallest value.
        high: One more than the largest value, ``> low``.

    Returns:
        A :class:`RandInt` axis; the sampled column is an integer array.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> sorted(set(jos.sample_hyperparams({"k": jos.randint(1, 4)}, 32, seed=0)["k"].tolist()))
        [1, 2, 3]
    """
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"`{name}` of `randint` must be an int, got {value!r}.")
    if not low < high:
        raise ValueError(f"`randint` needs `low` < `high`, got low={low!r}, high={high!r}.")
    return RandInt(int(low), int(high))


def _directions(dim: int) -> np.ndarray:
    """``(dim, _BITS)`` direction numbers :math:`v_{d,j}`, as ``_BITS``-bit integers."""
    v = np.zeros((dim, _BITS), np.int64)
    v[0] = [1 << (_BITS - 1 - j) for j in range(_BITS)]  # the first coordinate: van der Corput
    for d, (s, a, m) in enumerate(_JOE_KUO[:dim - 1], start=1):
        row = [m[j] << (_BITS - 1 - j) for j in range(s)]
        for j in range(s, _BITS):  # Bratley & Fox's recurrence
            x = row[j - s] ^ (row[j - s] >> s)
            for k in range(1, s):
                if (a >> (s - 1 - k)) & 1:
                    x ^= row[j - k]
            row.append(x)
        v[d] = row
    return v


def _scramble(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Matoušek's linear matrix scramble: each coordinate's digits times a random unit
    lower-triangular binary matrix (the net property is kept)."""
    dim = v.shape[0]
    shifts = _BITS - 1 - np.arange(_BITS)
    digits = (v[:, :, None] >> shifts) & 1  # (dim, column j, digit k), most significant first
    lower = np.tril(rng.integers(0, 2, (dim, _BITS, _BITS)), -1) + np.eye(_BITS, dtype=np.int64)
    scrambled = np.einsum("dkl,djl->djk", lower, digits) & 1
    return (scrambled << shifts).sum(axis=-1)


def sobol(num_samples: int, dim: int, *, seed: int | None = 0) -> np.ndarray:
    r"""``(num_samples, dim)`` points of a Sobol sequence in :math:`[0, 1)^{\mathrm{dim}}`.

    Point :math:`i` is :math:`\bigoplus_j b_j(g_i)\, v_{\cdot, j}` (Gray-code order,
    :math:`g_i = i \oplus \lfloor i/2 \rfloor`) with Joe & Kuo's direction numbers.
    With a ``seed`` the sequence is scrambled (random linear matrix scramble and a
    random digital shift, Matoušek 1998), so the points are random yet keep the
    Sobol balance: among the first :math:`2^m` points, every dyadic box of volume
    :math:`2^{t-m}` holds the same count. Use powers of two for ``num_samples``.

    Args:
        num_samples: The number of points, ``>= 1``.
        dim: The number of coordinates, ``1 <= dim <= 16``.
        seed: The scramble's seed; ``None`` gives the plain sequence (which starts at 0).

    Returns:
        A float64 array.

    Examples:
        >>> from jaxopt_scratch._engine import spaces
        >>> spaces.sobol(4, 2, seed=None).tolist()
        [[0.0, 0.0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]

    References:
        Joe & Kuo, "Constructing Sobol sequences with better two-dimensional projections",
        SIAM J. Sci. Comput. 2008. Matoušek, "On the L2-discrepancy for anchored boxes",
        J. Complexity 1998 (linear scrambling).
    """
    if not 1 <= dim <= MAX_SOBOL_DIMS:
        raise ValueError(
            f"A Sobol sequence here has 1 to {MAX_SOBOL_DIMS} coordinates (one per sampled "
            f"hyperparameter), got {dim}. Use `mode`='random' for more hyperparameters."
        )
    v = _directions(dim)
    shift = np.zeros(dim, np.int64)
    if seed is not None:
        rng = np.random.default_rng(seed)
        v = _scramble(v, rng)
        shift = rng.integers(0, 1 << _BITS, dim)
    index = np.arange(num_samples, dtype=np.int64)
    gray = index ^ (index >> 1)
    points = np.broadcast_to(shift, (num_samples, dim)).copy()
    for j in range(_BITS):
        points ^= ((gray >> j) & 1)[:, None] * v[:, j]
    return points / float(1 << _BITS)


def _axis(name: str, values: Any) -> Distribution | np.ndarray:
    if isinstance(values, (Uniform, LogUniform, RandInt)):
        return values
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"`hyperparams[{name!r}]` must be a non-empty 1-D sequence of real numbers "
            f"(they are traced) or a distribution such as `jos.loguniform(1e-4, 1e-1)`, got "
            f"{values!r}. Structural options (bools, strings, dtypes) cannot be swept in one "
            f"program: fix them inside `make_optimizer`, or call `sweep` once per value."
        )
    return arr


def sample_hyperparams(space: Mapping[str, Any], num_samples: int, *, method: str = "random",
                       seed: int = 0) -> dict[str, np.ndarray]:
    r"""``num_samples`` configurations drawn from a search space, ``{name: (num_samples,) array}``.

    Args:
        space: ``{name: axis}``; an axis is a distribution (:func:`uniform`,
            :func:`loguniform`, :func:`randint`), a 1-D sequence (one of its values,
            each equally likely) or a number (fixed).
        num_samples: The number of configurations, ``>= 1``.
        method: ``"random"`` (independent uniform draws) or ``"sobol"`` (a scrambled
            Sobol sequence, more even in few samples; at most 16 sampled axes).
        seed: The NumPy seed of the draws or of the scramble: same seed, same table.

    Returns:
        The configuration table, as ``jos.sweep(..., mode="zip")`` takes it.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> space = {"learning_rate": jos.loguniform(1e-3, 1e-1), "b1": [0.8, 0.9]}
        >>> table = jos.sample_hyperparams(space, 4, method="sobol", seed=1)
        >>> sorted(table), table["b1"].shape
        (['b1', 'learning_rate'], (4,))
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"`num_samples` must be a Python int >= 1, got {num_samples!r}.")
    if method not in ("random", "sobol"):
        raise ValueError(f"`method` must be 'random' or 'sobol', got {method!r}.")
    axes = {name: _axis(name, values) for name, values in space.items()}
    drawn = [n for n, a in axes.items() if not (isinstance(a, np.ndarray) and a.size == 1)]
    if method == "sobol" and drawn:
        unit = sobol(num_samples, len(drawn), seed=seed)
    else:
        unit = np.random.default_rng(seed).random((num_samples, len(drawn)))
    table = {}
    for name, axis in axes.items():
        if name not in drawn:
            table[name] = np.repeat(axis, num_samples)
            continue
        u = unit[:, drawn.index(name)]
        if isinstance(axis, np.ndarray):
            table[name] = axis[np.minimum((u * axis.size).astype(np.int64), axis.size - 1)]
        else:
            table[name] = axis.from_unit(u)
    return table


def table(hyperparams: Mapping[str, Any], mode: str, num_samples: int | None = None,
          seed: int = 0) -> dict[str, np.ndarray]:
    """The configurations of :func:`sweep` as ``{name: (configs,) array}``."""
    if not isinstance(hyperparams, Mapping):
        raise TypeError(
            f"`hyperparams` must be a dict mapping names to 1-D sequences of numbers, "
            f"for example {{'learning_rate': [1e-3, 1e-2]}}; got {hyperparams!r}."
        )
    if mode in ("random", "sobol"):
        if num_samples is None:
            raise ValueError(f"`mode`={mode!r} samples the space: give `num_samples`, the "
                             f"number of configurations to draw.")
        return sample_hyperparams(hyperparams, num_samples, method=mode, seed=seed)
    if mode not in ("grid", "zip"):
        raise ValueError(f"`mode` must be 'grid' or 'zip' (tables of values), or 'random' or "
                         f"'sobol' (sampled, with `num_samples`), got {mode!r}.")
    if num_samples is not None:
        raise ValueError(f"`num_samples` is for `mode`='random' or 'sobol'; `mode`={mode!r} "
                         f"takes every value given. Drop `num_samples` or change `mode`.")
    axes = {name: _axis(name, values) for name, values in hyperparams.items()}
    for name, axis in axes.items():
        if not isinstance(axis, np.ndarray):
            raise TypeError(
                f"`hyperparams[{name!r}]` is a distribution ({type(axis).__name__}); "
                f"`mode`={mode!r} needs values. Sample it with `mode`='random' or 'sobol' "
                f"and `num_samples`, or give a list of values."
            )
    if mode == "grid":
        grids = np.meshgrid(*axes.values(), indexing="ij") if axes else []
        return {n: g.reshape(-1) for n, g in zip(axes, grids)}
    lengths = {n: a.size for n, a in axes.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"`mode`='zip' needs every hyperparameter axis to have the same length, got "
            f"{lengths}. Use `mode`='grid' for the product of the axes."
        )
    return axes
