"""Tests for jaxopt_scratch/_engine/pbt.py (and sweep's ``population=``)."""

import jax
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._engine import pbt as _pbt

# The sweep's vmapped program with traced hyperparameters against `run`'s program with
# scheduled ones (inject_hyperparams): XLA may fuse differently, a few float32 ulps per
# step, compounded over the steps of a replay.
REPLAY_RTOL = 1e-5


def _adam(learning_rate, b1):
    return jos.adam(learning_rate, b1=b1)


@pytest.fixture(scope="module")
def xor_population():
    """Six adam configurations on XOR, as a population evolving every 8 of 32 steps."""
    xor = jos.problems.get("xor_a")
    space = {"learning_rate": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0], "b1": [0.9]}
    population = jos.pbt(8, fraction=0.34, factors=(0.5, 2.0), seed=3)
    result = jos.sweep(_adam, space, xor.loss_fn, xor.init_params(), 32, progress=False,
                       population=population)
    return xor, space, result


def test_exploit_replaces_the_worst_by_the_best():
    population = jos.pbt(4, fraction=0.25)
    scores = np.array([5.0, 1.0, np.nan, 3.0, 0.5, 2.0, 4.0, 9.0])
    sources, losers = population.exploit(scores, step=4)
    # ceil(0.25 * 8) = 2 losers: the NaN (worst) and 9.0; their sources are the two best.
    assert losers.tolist() == [2, 7]
    assert set(sources[losers].tolist()) <= {1, 4}
    keep = np.setdiff1d(np.arange(8), losers)
    np.testing.assert_array_equal(sources[keep], keep)
    # mode="max" turns the ranking round (NaN still ranks worst).
    _, losers_max = jos.pbt(4, fraction=0.25, mode="max").exploit(scores, 4)
    assert losers_max.tolist() == [2, 4]
    # Same seed and step, same draws; the quantile never exceeds half the population.
    np.testing.assert_array_equal(population.exploit(scores, 4)[0], sources)
    _, half = jos.pbt(4, fraction=0.5).exploit(np.arange(3.0), 4)
    assert half.tolist() == [2]


def test_explore_multiplies_clips_and_rounds():
    population = jos.pbt(4, factors=(0.5, 2.0))
    values = {"lr": np.array([0.1, 0.2, 0.4]), "k": np.array([3, 4, 7])}
    bounds = {"lr": (0.01, 0.5, False), "k": (1.0, 8.0, True)}
    out = population.explore(values, np.array([0, 2]), bounds, step=4)
    np.testing.assert_array_equal(out["lr"][1], 0.2)  # not a loser: unchanged
    assert out["lr"][0] in (0.05, 0.2) and out["lr"][2] in (0.2, 0.5)  # 0.8 clipped to 0.5
    assert out["k"][0] in (2, 6) and out["k"][2] in (4, 8)  # 3.5 rounds to 4, 14 clips to 8
    assert out["k"].dtype == values["k"].dtype


def test_bounds_come_from_the_search_space():
    space = {"a": [0.1, 0.01, 0.3], "b": jos.loguniform(1e-4, 1e-1), "c": jos.randint(1, 5),
             "d": 0.9}
    assert _pbt.bounds(space) == {"a": (0.01, 0.3, False), "b": (1e-4, 1e-1, False),
                                  "c": (1.0, 4.0, True), "d": (0.9, 0.9, False)}


def test_the_population_evolves(xor_population):
    _, space, result = xor_population
    record = result.population
    assert isinstance(record, jos.PopulationRecord)
    np.testing.assert_array_equal(record.steps, [0, 8, 16, 24])
    lrs = record.hyperparams["learning_rate"]
    assert lrs.shape == (6, 4) and record.parents.shape == (6, 4)
    np.testing.assert_array_equal(lrs[:, 0], space["learning_rate"])
    np.testing.assert_array_equal(record.parents[:, 0], np.arange(6))
    copied = record.parents[:, 1:] != np.arange(6)[:, None]
    assert copied.any(axis=0).all()  # ceil(0.34 * 6) = 3 members replaced in every round
    assert (copied.sum(axis=0) <= 3).all()
    # A replaced member's value is its parent's times 0.5 or 2, clipped to [0.003, 1].
    for k in range(1, 4):
        for i in np.flatnonzero(copied[:, k - 1]):
            parent = lrs[record.parents[i, k], k - 1]
            options = np.clip([parent * 0.5, parent * 2.0], 0.003, 1.0)
            assert np.isclose(lrs[i, k], options).any(), (i, k)
    # The result's table holds the values the members ended with; b1 (fixed) never moves.
    np.testing.assert_array_equal(result.hyperparams["learning_rate"], lrs[:, -1])
    np.testing.assert_array_equal(record.hyperparams["b1"], 0.9)


def test_replay_with_run_equals_the_member(xor_population):
    xor, _, result = xor_population
    record = result.population
    # Every member whose lineage crosses slots (and one that stayed itself, if any).
    members = [m for m in range(6) if len(set(record.lineage(m).tolist())) > 1][:3]
    assert members, "no member changed lineage: the replay proves little"
    for member in members:
        tx = record.replay(_adam, member)
        ref = jos.run(tx, xor.loss_fn, xor.init_params(), 32, record_every=None)
        for a, b in zip(jax.tree.leaves(ref.params), jax.tree.leaves(result.params)):
            np.testing.assert_allclose(a, b[member], rtol=REPLAY_RTOL, atol=1e-6)
        # The losses along the lineage: interval k was trained by slot lineage[k].
        lineage = record.lineage(member)
        along = np.concatenate([result.losses[s, 8 * k:8 * k + 8] for k, s in enumerate(lineage)])
        np.testing.assert_allclose(ref.losses, along, rtol=REPLAY_RTOL)
        np.testing.assert_allclose(ref.final_loss, result.final_losses[member], rtol=REPLAY_RTOL)


def test_replay_with_seeds_starts_from_the_first_ancestor():
    xor = jos.problems.get("xor_b")
    result = jos.sweep(jos.sgd, {"learning_rate": [0.1, 1.0, 3.0]}, xor.loss_fn,
                       xor.init_params, 12, seeds=2, progress=False,
                       population=jos.pbt(4, fraction=0.5, seed=1))
    record = result.population
    np.testing.assert_array_equal(record.seeds, [0, 1, 0, 1, 0, 1])
    crossed = [m for m in range(6) if record.lineage(m)[0] != m]
    assert crossed
    member = crossed[0]
    first = record.seeds[record.lineage(member)[0]]
    init_key, _ = jax.random.split(jax.random.key(first))
    ref = jos.run(record.replay(jos.sgd, member), xor.loss_fn, xor.init_params(init_key), 12)
    for a, b in zip(jax.tree.leaves(ref.params), jax.tree.leaves(result.params)):
        np.testing.assert_allclose(a, b[member], rtol=REPLAY_RTOL, atol=1e-6)


def test_ranking_by_a_metric():
    xor = jos.problems.get("xor_a")

    def metrics_fn(params, batch):
        del batch
        return {"accuracy": xor.accuracy_fn(params)}

    result = jos.sweep(jos.sgd, {"learning_rate": [0.01, 0.3, 1.0, 3.0]}, xor.loss_fn,
                       xor.init_params(), 20, progress=False, metrics_fn=metrics_fn,
                       eval_every=5, population=jos.pbt(10, fraction=0.25, metric="accuracy",
                                                        mode="max"))
    record = result.population
    # Round at step 10 (evaluation 2): the one loser has the lowest accuracy (ties: the later).
    accuracy = result.metrics["accuracy"][:, 1]
    (loser,) = np.flatnonzero(record.parents[:, 1] != np.arange(4))
    assert accuracy[loser] == accuracy.min()
    assert accuracy[record.parents[loser, 1]] == accuracy.max()


def test_errors_name_the_argument():
    bowl = jos.problems.get("bowl")
    args = (jos.sgd, {"learning_rate": [0.1, 0.2]}, bowl.loss_fn, bowl.init_params(), 4)
    with pytest.raises(ValueError, match="`prune` and `population` cannot be combined"):
        jos.sweep(*args, prune=jos.halving(2, 1), population=jos.pbt(2), progress=False)
    with pytest.raises(TypeError, match="`population` must be None or `jos.pbt"):
        jos.sweep(*args, population=2, progress=False)
    with pytest.raises(ValueError, match="`population` ranks by the metric 'acc'"):
        jos.sweep(*args, population=jos.pbt(2, metric="acc"), progress=False)
    for kwargs, match in (({"interval": 0}, "`interval` must be"),
                          ({"interval": 2, "fraction": 0.6}, "`fraction` must be"),
                          ({"interval": 2, "factors": (0.0,)}, "`factors` must be"),
                          ({"interval": 2, "mode": "best"}, "`mode` must be")):
        with pytest.raises(ValueError, match=match):
            jos.pbt(**kwargs)
