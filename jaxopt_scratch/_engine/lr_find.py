r"""The learning-rate range test (Smith 2017; fastai's ``lr_find``): one run, an exponential ramp.

The learning rate of step :math:`t` is
:math:`\eta_t = \eta_0 (\eta_1/\eta_0)^{t/(T-1)}`, from ``start_learning_rate``
:math:`\eta_0` to ``end_learning_rate`` :math:`\eta_1` over :math:`T` steps. The
loss falls slowly while :math:`\eta_t` is too small, fastest around a good
learning rate, and blows up once it is too large; the suggestion is where the
smoothed loss falls fastest per decade of learning rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._engine import sweep as _sweep
from jaxopt_scratch._wrappers import inject as _inject


class LRFindResult(NamedTuple):
    """What :func:`lr_find` returns (NumPy arrays), up to where the loss diverged."""

    learning_rates: np.ndarray  # (n,) the learning rate of each update
    losses: np.ndarray  # (n,) the loss after that update: seed mean, smoothed, bias-corrected
    suggestion: float  # where `losses` falls fastest against log(learning_rates); NaN if n < 2
    raw_losses: np.ndarray  # (seeds, num_steps) the loss after each update, every seed, unsmoothed


@dataclasses.dataclass(frozen=True)
class _Ramp:
    """``make_optimizer`` with an exponentially growing injected learning rate (hashable)."""

    make_optimizer: Callable[..., _base.GradientTransformation]
    num_steps: int

    def __call__(self, start_learning_rate, end_learning_rate):
        span = max(self.num_steps - 1, 1)

        def schedule(count):
            fraction = count.astype(jnp.result_type(start_learning_rate)) / span
            return start_learning_rate * (end_learning_rate / start_learning_rate) ** fraction

        return _inject.inject_hyperparams(self.make_optimizer)(learning_rate=schedule)


def learning_rates(start_learning_rate: float, end_learning_rate: float,
                   num_steps: int) -> np.ndarray:
    """The ramp :math:`\\eta_t`, ``t = 0 .. num_steps - 1`` (float64)."""
    return np.geomspace(start_learning_rate, end_learning_rate, num_steps)


@jax.jit
def _smooth(losses: jax.Array, smoothing: jax.Array) -> jax.Array:
    """Bias-corrected EMA of a curve (fastai's smoothing), with the shared moment helpers."""
    def step(carry, loss):
        moment, count = carry
        moment = _tree_math.update_moment(loss, moment, smoothing)
        count = count + 1
        return (moment, count), _tree_math.bias_correction(moment, smoothing, count)

    start = (jnp.zeros((), losses.dtype), jnp.zeros((), jnp.int32))
    return jax.lax.scan(step, start, losses)[1]


def lr_find(
    make_optimizer: Callable[..., _base.GradientTransformation],
    loss_fn: _loop.LossFn,
    params: Any,
    *,
    start_learning_rate: float = 1e-7,
    end_learning_rate: float = 10.0,
    num_steps: int = 100,
    seeds: int | Sequence[int] | None = None,
    batches: Any = None,
    sample_fn: _loop.SampleFn | None = None,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    has_aux: bool = False,
    progress: bool | str = False,
) -> LRFindResult:
    r"""Learning-rate range test: trains once with an exponentially growing learning rate.

    .. math::

        \eta_t = \eta_0 \left(\frac{\eta_1}{\eta_0}\right)^{t/(T-1)}, \qquad
        \bar\ell_t = \frac{m_t}{1 - \beta^{t+1}}, \quad
        m_t = \beta m_{t-1} + (1 - \beta)\, \ell_{t+1}

    where :math:`\ell_{t+1}` is the loss after the update with :math:`\eta_t`
    (averaged over seeds; the runs are one vmapped :func:`sweep`). The curve
    stops before the first :math:`t` where :math:`\bar\ell_t` is not finite or
    exceeds ``diverge_factor`` times its minimum so far. The suggestion is the
    :math:`\eta_t` where :math:`(\bar\ell_{t+1} - \bar\ell_t) / (\log\eta_{t+1} -
    \log\eta_t)` is most negative: the steepest fall, Smith's recommendation.

    Args:
        make_optimizer: ``make_optimizer(learning_rate=...) -> GradientTransformation``
            (any alias); the rate is injected with :func:`inject_hyperparams`.
        loss_fn: As in :func:`run`.
        params: A params pytree, or a function of a PRNG key returning one.
        start_learning_rate: :math:`\eta_0 > 0`.
        end_learning_rate: :math:`\eta_1 > \eta_0`.
        num_steps: :math:`T \ge 2` updates.
        seeds: As in :func:`sweep` (init and batches of each run).
        batches: Minibatches with a leading axis of ``num_steps + 1`` (one more
            step measures the loss after the last update).
        sample_fn: A function of a PRNG key returning one minibatch.
        smoothing: :math:`\beta \in [0, 1)`, the EMA decay (fastai's 0.98).
        diverge_factor: Stop once the smoothed loss exceeds this multiple of its minimum.
        has_aux: ``loss_fn`` returns ``(loss, aux)``.
        progress: Show a progress bar; a string is its label.

    Returns:
        An :class:`LRFindResult`.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> bowl = jos.problems.get("bowl")   # x^2 + y^2: plain gradient descent diverges for lr > 1
        >>> found = jos.lr_find(jos.sgd, bowl.loss_fn, bowl.init_params(), num_steps=60,
        ...                     start_learning_rate=1e-4, end_learning_rate=10.0)
        >>> bool(1e-2 < found.suggestion < 1.0)     # where the loss falls fastest
        True
        >>> found.learning_rates.shape == found.losses.shape   # cut where the loss blew up
        True

    References:
        Smith, "Cyclical learning rates for training neural networks", WACV 2017,
        section 3.3 (the "LR range test"); fastai's ``Learner.lr_find``.
    """
    _checks.check_transform_factory("make_optimizer", make_optimizer)
    _loop.check_count("num_steps", num_steps, 2)
    for name, value in (("start_learning_rate", start_learning_rate),
                        ("end_learning_rate", end_learning_rate),
                        ("diverge_factor", diverge_factor), ("smoothing", smoothing)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
                value):
            raise TypeError(f"`{name}` must be a finite Python number, got {value!r}.")
    if not 0 < start_learning_rate < end_learning_rate:
        raise ValueError(f"`lr_find` needs 0 < `start_learning_rate` < `end_learning_rate`, got "
                         f"{start_learning_rate!r} and {end_learning_rate!r}.")
    if not 0 <= smoothing < 1 or diverge_factor <= 1:
        raise ValueError(f"`smoothing` must be in [0, 1) and `diverge_factor` > 1, got "
                         f"{smoothing!r} and {diverge_factor!r}.")
    result = _sweep.sweep(
        _Ramp(make_optimizer, num_steps),
        {"start_learning_rate": [start_learning_rate], "end_learning_rate": [end_learning_rate]},
        loss_fn, params, num_steps + 1, seeds=seeds, batches=batches, sample_fn=sample_fn,
        has_aux=has_aux, progress="lr_find" if progress is True else progress,
    )
    raw = result.losses[:, 1:]  # the loss after the update with rate t
    smoothed = np.asarray(_smooth(jnp.asarray(raw.mean(axis=0)), jnp.asarray(smoothing)))
    best = np.minimum.accumulate(np.where(np.isfinite(smoothed), smoothed, np.inf))
    bad = ~np.isfinite(smoothed) | (smoothed > diverge_factor * best)
    keep = int(np.argmax(bad)) if bad.any() else num_steps
    rates = learning_rates(start_learning_rate, end_learning_rate, num_steps)[:keep]
    curve = smoothed[:keep]
    suggestion = math.nan
    if keep >= 2:
        slopes = np.diff(curve) / np.diff(np.log(rates))
        suggestion = float(rates[int(np.argmin(slopes))])
    return LRFindResult(rates, curve, suggestion, raw)
