"""Tests for jaxopt_scratch/_engine/sweep.py."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos

REPO = Path(__file__).resolve().parents[1]
# A vmapped program with traced hyperparameters against a separately compiled one with
# constant hyperparameters: XLA may fold or fuse differently, a few float32 ulps.
PROGRAM_RTOL = 1e-6


def _momentum_sgd(learning_rate, momentum):
    return jos.sgd(learning_rate, momentum=momentum)


def test_grid_sweep_equals_the_loop_over_its_configurations():
    ravine = jos.problems.get("ravine")
    grid = {"learning_rate": [0.005, 0.01, 0.02], "momentum": [0.0, 0.9]}
    result = jos.sweep(_momentum_sgd, grid, ravine.loss_fn, ravine.init_params(), 25,
                       progress=False)
    assert result.num_configs == 6 and result.num_seeds == 1
    assert result.losses.shape == (6, 25) and result.params.shape == (6, 2)
    # The product, the last axis varying fastest.
    assert result.configs() == [{"learning_rate": lr, "momentum": m}
                                for lr in grid["learning_rate"] for m in grid["momentum"]]
    for i, config in enumerate(result.configs()):
        ref = jos.run(_momentum_sgd(**config), ravine.loss_fn, ravine.init_params(), 25,
                      record_every=None)
        np.testing.assert_allclose(result.losses[i], ref.losses, rtol=PROGRAM_RTOL)
        np.testing.assert_allclose(result.final_losses[i], ref.final_loss, rtol=PROGRAM_RTOL)
        np.testing.assert_allclose(result.params[i], ref.params, rtol=PROGRAM_RTOL, atol=1e-7)
    assert not result.diverged.any()
    # The configurations really differ (or the comparison above proves little).
    assert len(set(np.round(result.final_losses, 3).tolist())) == 6


def test_zip_mode_pairs_the_axes():
    bowl = jos.problems.get("bowl")
    result = jos.sweep(_momentum_sgd, {"learning_rate": [0.01, 0.05], "momentum": [0.5, 0.9]},
                       bowl.loss_fn, bowl.init_params(), 10, mode="zip", progress=False)
    assert result.configs() == [{"learning_rate": 0.01, "momentum": 0.5},
                                {"learning_rate": 0.05, "momentum": 0.9}]
    ref = jos.run(jos.sgd(0.05, momentum=0.9), bowl.loss_fn, bowl.init_params(), 10)
    np.testing.assert_allclose(result.final_losses[1], ref.final_loss, rtol=PROGRAM_RTOL)


XOR_X = jnp.asarray([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = jnp.asarray([[0.0], [1.0], [1.0], [0.0]])


def _xor_rows(key):
    rows = jax.random.randint(key, (3,), 0, 4)  # three rows, with replacement
    return XOR_X[rows], XOR_Y[rows]


DRAWS = []  # one entry per draw of _counted_rows, from a host callback


def _counted_rows(key):
    # Vmapped over a batched key the callback runs once per run; over an unbatched key, once.
    jax.debug.callback(lambda k: DRAWS.append(k.shape), jax.random.key_data(key))
    return _xor_rows(key)


def test_seeds_axis_draws_init_and_batches_from_each_seed():
    problem = jos.problems.get("xor_b")
    lrs, seeds = [0.01, 0.1], [3, 7]
    DRAWS.clear()
    result = jos.sweep(jos.adam, {"learning_rate": lrs}, problem.loss_fn, problem.init_params,
                       12, seeds=seeds, sample_fn=_counted_rows, progress=False)
    assert len(DRAWS) == 12 * 4  # each run draws its own batch at each step
    assert result.hyperparams["seed"].tolist() == [3, 7, 3, 7]
    assert result.hyperparams["learning_rate"].tolist() == [0.01, 0.01, 0.1, 0.1]
    for r in (1, 2):  # (lr 0.01, seed 7) and (lr 0.1, seed 3)
        lr, seed = lrs[r // 2], seeds[r % 2]
        init_key, data_key = jax.random.split(jax.random.key(seed))
        ref = jos.run(jos.adam(lr), problem.loss_fn, problem.init_params(init_key), 12,
                      sample_fn=_xor_rows, key=data_key, record_every=None)
        np.testing.assert_allclose(result.losses[r], ref.losses, rtol=PROGRAM_RTOL, atol=1e-7)
        np.testing.assert_allclose(result.final_losses[r], ref.final_loss, rtol=PROGRAM_RTOL)
    # Different seeds, different inits (same lr, first step); the mean is per configuration.
    assert result.losses[0, 0] != result.losses[1, 0]
    np.testing.assert_allclose(result.config_final_losses(),
                               result.final_losses.reshape(2, 2).mean(axis=1))


def test_one_seed_draws_each_batch_once_for_the_whole_group():
    # With one seed every run trains on the same batches, so the chunk program takes the
    # seed unbatched and draws a step's batch once for the group, not once per run (a
    # third less CPU per step on the digits MLP); the per-run count is pinned above.
    problem = jos.problems.get("xor_b")
    DRAWS.clear()
    shared = jos.sweep(jos.adam, {"learning_rate": [0.01, 0.1]}, problem.loss_fn,
                       problem.init_params, 12, sample_fn=_counted_rows, progress=False)
    assert len(DRAWS) == 12  # one per step
    init_key, data_key = jax.random.split(jax.random.key(0))  # seed 0's keys
    ref = jos.run(jos.adam(0.1), problem.loss_fn, problem.init_params(init_key), 12,
                  sample_fn=_xor_rows, key=data_key, record_every=None)
    np.testing.assert_allclose(shared.losses[1], ref.losses, rtol=PROGRAM_RTOL, atol=1e-7)


def test_seed_count_and_no_hyperparameters():
    bowl = jos.problems.get("bowl")
    result = jos.sweep(lambda: jos.sgd(0.1), {}, bowl.loss_fn, bowl.init_params(), 3, seeds=3,
                       progress=False)
    assert result.num_configs == 1 and result.hyperparams["seed"].tolist() == [0, 1, 2]
    assert result.configs() == [{}]
    # Same start, full batch: the seeds cannot matter.
    assert len(set(result.final_losses.tolist())) == 1


def test_diverged_and_nan_runs_are_kept_and_marked():
    ellipse = jos.problems.get("elongated")
    lrs = [0.05, 0.2, 0.01]  # 0.2 multiplies y by -3 per step (docs/tutorial_claims.rst, P7)
    result = jos.sweep(jos.sgd, {"learning_rate": lrs}, ellipse.loss_fn, ellipse.init_params(),
                       120, progress=False)
    assert result.diverged.tolist() == [False, True, False]
    assert not np.isfinite(result.final_losses[1]) and np.isnan(result.params[1]).any()
    assert np.isfinite(result.losses[[0, 2]]).all()
    # The healthy runs are untouched by their diverging neighbour.
    ref = jos.run(jos.sgd(0.05), ellipse.loss_fn, ellipse.init_params(), 120)
    np.testing.assert_allclose(result.losses[0], ref.losses, rtol=PROGRAM_RTOL)
    assert result.best()["learning_rate"] == 0.05
    assert result.to_dicts()[1]["diverged"] is True
    assert result.config_final_losses()[1] == np.inf
    all_bad = jos.sweep(jos.sgd, {"learning_rate": [0.2, 0.3]}, ellipse.loss_fn,
                        ellipse.init_params(), 120, progress=False)
    assert all_bad.diverged.all()
    with pytest.raises(ValueError, match="Every configuration of the sweep diverged"):
        all_bad.best()


def test_chunking_along_steps_and_configurations_changes_nothing():
    xor = jos.problems.get("xor_a")
    lrs = {"learning_rate": np.geomspace(0.01, 1.0, 5)}
    whole = jos.sweep(jos.adam, lrs, xor.loss_fn, xor.init_params(), 30, chunk_steps=30,
                      progress=False)
    # 3 groups of 2 runs (the last padded), 5 chunks of 7 steps (the last padded).
    pieces = jos.sweep(jos.adam, lrs, xor.loss_fn, xor.init_params(), 30, max_batch=2,
                       chunk_steps=7, progress=False)
    np.testing.assert_array_equal(pieces.losses, whole.losses)
    np.testing.assert_array_equal(pieces.final_losses, whole.final_losses)
    for a, b in zip(jax.tree.leaves(pieces.params), jax.tree.leaves(whole.params)):
        np.testing.assert_array_equal(a, b)


def test_one_compilation_for_all_chunks_and_groups():
    calls = []

    def make(learning_rate):
        calls.append(type(learning_rate).__name__)  # runs only while tracing
        return jos.sgd(learning_rate)

    bowl = jos.problems.get("bowl")
    kwargs = {"max_batch": 2, "chunk_steps": 4, "progress": False}
    first = jos.sweep(make, {"learning_rate": [0.01, 0.02, 0.03, 0.04, 0.05]}, bowl.loss_fn,
                      bowl.init_params(), 20, **kwargs)
    # Once for the optimizer state's init, once for the chunk program; 3 groups x 5 chunks.
    assert len(calls) == 2
    assert all("Tracer" in name for name in calls)  # hyperparameters arrive traced
    jos.sweep(make, {"learning_rate": [0.1, 0.2, 0.3, 0.4, 0.5]}, bowl.loss_fn,
              bowl.init_params(), 20, **kwargs)
    assert len(calls) == 2  # new values, same program
    assert first.losses.shape == (5, 20)


def test_shared_minibatches_with_a_steps_axis():
    problem = jos.problems.get("linear_regression")
    x = jnp.arange(1.0, 6.0)
    idx = jnp.asarray([[0, 4], [1, 3], [2, 2], [3, 0]])
    batches = (x[idx], 2 * x[idx] + 1)
    result = jos.sweep(jos.sgd, {"learning_rate": [0.001, 0.01]}, problem.loss_fn,
                       problem.init_params(), 4, batches=batches, progress=False)
    ref = jos.run(jos.sgd(0.01), problem.loss_fn, problem.init_params(), 4, batches=batches)
    np.testing.assert_allclose(result.losses[1], ref.losses, rtol=PROGRAM_RTOL)
    np.testing.assert_allclose(result.final_losses[1], ref.final_loss, rtol=PROGRAM_RTOL)


def test_rows_and_dicts_are_plain_python():
    bowl = jos.problems.get("bowl")
    result = jos.sweep(_momentum_sgd, {"learning_rate": [0.1], "momentum": [0.0, 0.5]},
                       bowl.loss_fn, bowl.init_params(), 5, seeds=2, progress=False)
    assert result.columns == ("learning_rate", "momentum", "seed", "final_loss", "diverged")
    rows = result.to_rows()
    assert len(rows) == 4
    for row in rows:
        assert [type(v) for v in row] == [float, float, int, float, bool]
    assert result.to_dicts()[3] == dict(zip(result.columns, rows[3]))
    assert rows[2][:3] == (0.1, 0.5, 0)
    best = result.best()
    assert set(best) == {"learning_rate", "momentum", "final_loss", "index"}
    assert best["final_loss"] == min(result.config_final_losses())


def test_progress_bar_on_stderr(capsys, monkeypatch):
    bowl = jos.problems.get("bowl")

    def sweep(progress):
        return jos.sweep(jos.sgd, {"learning_rate": [0.1]}, bowl.loss_fn, bowl.init_params(),
                         10, chunk_steps=5, progress=progress)

    sweep("my label")
    out, err = capsys.readouterr()
    assert out == "" and "my label" in err and "10/10" in err
    sweep(False)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now fails
    sweep(True)
    out, err = capsys.readouterr()
    assert out == "" and err.endswith("sweep: 10/10 steps\n")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"hyperparams": [0.1]}, TypeError, "`hyperparams` must be a dict"),
    ({"hyperparams": {"learning_rate": ["fast"]}}, TypeError, r"`hyperparams\['learning_rate'\]`"),
    ({"hyperparams": {"nesterov": [True, False]}}, TypeError, "Structural options"),
    ({"hyperparams": {"learning_rate": []}}, TypeError, "non-empty 1-D"),
    ({"hyperparams": {"learning_rate": [0.1, 0.2], "momentum": [0.9]}, "mode": "zip"},
     ValueError, "same length"),
    ({"mode": "product"}, ValueError, "`mode` must be 'grid' or 'zip'"),
    ({"seeds": 0}, ValueError, "`seeds` must be a Python int >= 1"),
    ({"seeds": [0.5]}, ValueError, "`seeds` must be a count"),
    ({"max_batch": 0}, ValueError, "`max_batch` must be a Python int >= 1"),
    ({"chunk_steps": 0}, ValueError, "`chunk_steps` must be a Python int >= 1"),
    ({"num_steps": 2.5}, ValueError, "`num_steps` must be a Python int"),
    ({"make_optimizer": "adam"}, TypeError, "`make_optimizer` must be a function"),
    ({"batches": jnp.zeros((3, 2))}, ValueError, "leading steps axis"),
])
def test_errors_name_the_argument(kwargs, error, match):
    bowl = jos.problems.get("bowl")
    args = {"make_optimizer": jos.sgd, "hyperparams": {"learning_rate": [0.1]},
            "loss_fn": bowl.loss_fn, "init_params": bowl.init_params(), "num_steps": 4,
            "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        jos.sweep(**args)


SHARDED_SCRIPT = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax  # only now: the flag must be set before jax starts
    import numpy as np
    import jaxopt_scratch as jos
    from jaxopt_scratch._engine import programs as _programs

    assert jax.device_count() == 8, jax.devices()
    seen = []
    chunk_program = _programs.chunk_program

    def spy(*args):
        out = chunk_program(*args)
        seen.append(len(out[2].sharding.device_set))
        return out

    _programs.chunk_program = spy
    xor = jos.problems.get("xor_b")
    grid = {"learning_rate": np.geomspace(1e-3, 3.0, 5)}   # 5 configs x 2 seeds = 10 runs
    args = (jos.adam, grid, xor.loss_fn, xor.init_params, 20)
    many = jos.sweep(*args, seeds=2, chunk_steps=10, progress=False)
    assert set(seen) == {8}, seen                          # every chunk ran on 8 devices
    capped = jos.sweep(*args, seeds=2, chunk_steps=7, max_batch=3, progress=False)  # padded
    seen.clear()
    one = jos.sweep(*args, seeds=2, chunk_steps=10, progress=False, devices=jax.devices()[:1])
    assert set(seen) == {1}, seen
    for other in (many, capped):
        np.testing.assert_allclose(other.losses, one.losses, rtol=1e-6)
        np.testing.assert_allclose(other.final_losses, one.final_losses, rtol=1e-6)
        for a, b in zip(jax.tree.leaves(other.params), jax.tree.leaves(one.params)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert many.losses.shape == (10, 20) and not many.diverged.any()
    print("sharded sweep OK")
""")


def test_sharded_sweep_equals_single_device_with_8_cpu_devices():
    # A subprocess: the device count is fixed when jax initialises.
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sharded sweep OK" in proc.stdout
