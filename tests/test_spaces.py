"""Tests for jaxopt_scratch/_engine/spaces.py: distributions, Sobol points, sampled sweeps."""

import numpy as np
import pytest
from scipy.stats import qmc

import jaxopt_scratch as jos
from jaxopt_scratch._engine import spaces


def test_plain_sobol_equals_scipys_joe_kuo_sequence():
    # SciPy (a test oracle only) ships Joe & Kuo's table; ours is typed in for 16 dimensions.
    ours = spaces.sobol(512, spaces.MAX_SOBOL_DIMS, seed=None)
    theirs = qmc.Sobol(spaces.MAX_SOBOL_DIMS, scramble=False).random(512)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", [0, 7])
def test_scrambled_sobol_keeps_the_net_property(seed):
    points = spaces.sobol(256, 4, seed=seed)
    assert points.min() >= 0 and points.max() < 1
    # Every coordinate: one point in each of the 256 intervals [k/256, (k+1)/256).
    for d in range(4):
        assert (np.bincount((points[:, d] * 256).astype(int), minlength=256) == 1).all()
    # The first two coordinates form a (0, 8, 2)-net: one point per 16 x 16 box.
    boxes = (points[:, 0] * 16).astype(int) * 16 + (points[:, 1] * 16).astype(int)
    assert (np.bincount(boxes, minlength=256) == 1).all()
    assert not np.array_equal(points, spaces.sobol(256, 4, seed=seed + 1))


def test_sampled_tables_are_reproducible_and_in_range():
    space = {"learning_rate": jos.loguniform(1e-4, 1e-1), "b1": jos.uniform(0.8, 0.99),
             "k": jos.randint(1, 5), "eps": [1e-8, 1e-6], "b2": 0.999}
    for method in ("random", "sobol"):
        table = jos.sample_hyperparams(space, 64, method=method, seed=3)
        again = jos.sample_hyperparams(space, 64, method=method, seed=3)
        for name in space:
            np.testing.assert_array_equal(table[name], again[name])
        lr = table["learning_rate"]
        assert ((1e-4 <= lr) & (lr < 1e-1)).all() and ((0.8 <= table["b1"]) & (table["b1"] < 0.99)).all()
        assert table["k"].dtype.kind == "i" and set(table["k"].tolist()) == {1, 2, 3, 4}
        assert set(table["eps"].tolist()) == {1e-8, 1e-6} and (table["b2"] == 0.999).all()
        assert not np.array_equal(lr, jos.sample_hyperparams(space, 64, method=method,
                                                             seed=4)["learning_rate"])
    # Sobol balance: with 64 points, each of the three decades of the log-uniform axis gets
    # its share up to one point (64 / 3 is not whole), and each randint value exactly 16.
    sobol = jos.sample_hyperparams(space, 64, method="sobol", seed=3)
    decades = np.floor(np.log10(sobol["learning_rate"])).astype(int)
    assert np.abs(np.bincount(decades + 4) - 64 / 3).max() < 1.5
    assert (np.bincount(sobol["k"])[1:] == 16).all()


def test_sweep_samples_the_space_with_num_samples():
    bowl = jos.problems.get("bowl")
    space = {"learning_rate": jos.loguniform(1e-3, 0.5), "momentum": [0.0, 0.5]}

    def momentum_sgd(learning_rate, momentum):
        return jos.sgd(learning_rate, momentum=momentum)

    result = jos.sweep(momentum_sgd, space, bowl.loss_fn, bowl.init_params(), 4, mode="sobol",
                       num_samples=8, sample_seed=5, progress=False)
    table = jos.sample_hyperparams(space, 8, method="sobol", seed=5)
    assert result.num_configs == 8
    np.testing.assert_array_equal(result.hyperparams["learning_rate"], table["learning_rate"])
    np.testing.assert_array_equal(result.hyperparams["momentum"], table["momentum"])


@pytest.mark.parametrize("call, error, match", [
    (lambda: jos.loguniform(0.0, 1.0), ValueError, "0 < `low` < `high`"),
    (lambda: jos.uniform(1.0, 1.0), ValueError, "`low` < `high`"),
    (lambda: jos.uniform("a", 1.0), TypeError, "`low` of `uniform` must be a finite"),
    (lambda: jos.randint(1.5, 3), TypeError, "`low` of `randint` must be an int"),
    (lambda: jos.sample_hyperparams({"a": [1.0]}, 0), ValueError, "`num_samples` must be"),
    (lambda: jos.sample_hyperparams({"a": [1.0]}, 4, method="lhs"), ValueError, "`method`"),
    (lambda: spaces.sobol(4, 17), ValueError, "1 to 16 coordinates"),
    (lambda: spaces.table({"a": jos.uniform(0, 1)}, "grid"), TypeError, "needs values"),
    (lambda: spaces.table({"a": [1.0]}, "random"), ValueError, "give `num_samples`"),
    (lambda: spaces.table({"a": [1.0]}, "zip", 4), ValueError, "Drop `num_samples`"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
