"""Tests for jaxopt_scratch/_engine/lr_find.py: the learning-rate range test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos

BOWL = jos.problems.get("bowl")
XOR = jos.problems.get("xor_b")


def test_the_ramp_is_one_run_with_an_injected_exponential_rate():
    found = jos.lr_find(jos.adam, XOR.loss_fn, XOR.init_params, num_steps=12, seeds=2,
                        start_learning_rate=1e-3, end_learning_rate=1.0, smoothing=0.5)
    assert found.raw_losses.shape == (2, 12)
    rates = np.geomspace(1e-3, 1.0, 12)

    def ramp(count):
        return 1e-3 * 1000.0 ** (count.astype(jnp.float32) / 11)

    for seed in (0, 1):
        params = XOR.init_params(jax.random.split(jax.random.key(seed))[0])
        ref = jos.run(jos.inject_hyperparams(jos.adam)(learning_rate=ramp), XOR.loss_fn, params,
                      13, record_every=None)
        # raw_losses[:, t] is the loss after the update made with rate t. Vmapped over seeds
        # and traced rates against one run: a few float32 ulps.
        np.testing.assert_allclose(found.raw_losses[seed], ref.losses[1:], rtol=1e-5)
    # The smoothed curve: fastai's bias-corrected EMA of the seed mean.
    mean, moment, smoothed = found.raw_losses.mean(axis=0), 0.0, []
    for t, loss in enumerate(mean):
        moment = 0.5 * moment + 0.5 * loss
        smoothed.append(moment / (1 - 0.5 ** (t + 1)))
    n = len(found.losses)
    np.testing.assert_allclose(found.losses, smoothed[:n], rtol=1e-6)
    np.testing.assert_allclose(found.learning_rates, rates[:n], rtol=1e-12)


def test_suggestion_is_the_steepest_fall_before_divergence():
    # x^2 + y^2 from (4, 3): gradient descent contracts by |1 - 2 lr|, diverges for lr > 1.
    found = jos.lr_find(jos.sgd, BOWL.loss_fn, BOWL.init_params(), num_steps=60,
                        start_learning_rate=1e-4, end_learning_rate=1e2, smoothing=0.5)
    n = len(found.losses)
    assert 10 < n < 60 and np.isfinite(found.losses).all()
    # Cut at the first step where the smoothed loss exceeds 4x its running minimum (with no
    # cut, lr would reach 100).
    moment, smoothed = 0.0, []
    for t, loss in enumerate(found.raw_losses[0].astype(np.float64)):
        moment = 0.5 * moment + 0.5 * loss
        smoothed.append(moment / (1 - 0.5 ** (t + 1)))
    over = np.asarray(smoothed) > 4 * np.minimum.accumulate(smoothed)
    assert not over[:n].any() and over[n] and found.learning_rates[-1] < 10.0
    slopes = np.diff(found.losses) / np.diff(np.log(found.learning_rates))
    assert found.suggestion == found.learning_rates[int(np.argmin(slopes))]
    assert 1e-2 < found.suggestion < 1.0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"start_learning_rate": 1.0, "end_learning_rate": 0.1}, ValueError, "0 < `start_learning"),
    ({"num_steps": 1}, ValueError, "`num_steps` must be a Python int >= 2"),
    ({"smoothing": 1.0}, ValueError, "`smoothing` must be in"),
    ({"diverge_factor": "x"}, TypeError, "`diverge_factor` must be a finite"),
    ({"make_optimizer": 3}, TypeError, "`make_optimizer` must be"),
])
def test_errors_name_the_argument(kwargs, error, match):
    args = {"make_optimizer": jos.sgd, "loss_fn": BOWL.loss_fn, "params": BOWL.init_params(),
            **kwargs}
    with pytest.raises(error, match=match):
        jos.lr_find(**args)
