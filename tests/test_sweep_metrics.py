"""Tests for any model / any loss (_engine/adapters.py), metrics and diagnostics (_engine/metrics.py)
and the result's rankings and exports (_engine/results.py), through jos.run and jos.sweep."""

import csv
import sys
import types

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxopt_scratch as jos
from jaxopt_scratch._engine import adapters

# A vmapped program with traced hyperparameters against a separately compiled one with
# constant hyperparameters: XLA may fold or fuse differently, a few float32 ulps.
PROGRAM_RTOL = 1e-5

X = jax.random.normal(jax.random.key(0), (32, 3))
Y = X @ jnp.asarray([[1.0], [-2.0], [0.5]])
BATCHES = (X[jax.random.randint(jax.random.key(1), (6, 8), 0, 32)],
           Y[jax.random.randint(jax.random.key(1), (6, 8), 0, 32)])


def _mlp(key):
    return eqx.nn.MLP(3, 1, 8, 1, key=key)  # holds jax.nn.relu and the identity: not arrays


def _aux_loss(model, batch):  # needs a batch: no `batch=None` default
    x, y = batch
    mse = jnp.mean((jax.vmap(model)(x) - y) ** 2)
    return mse, {"rmse": jnp.sqrt(mse)}


def test_equinox_module_with_aux_loss_and_no_eval_batch():
    lrs = [1e-3, 1e-2]
    result = jos.sweep(jos.adam, {"learning_rate": lrs}, _aux_loss, _mlp, 6, seeds=[0, 3],
                       batches=BATCHES, has_aux=True, progress=False)
    assert isinstance(result.params, eqx.nn.MLP) and not result.diverged.any()
    assert result.params.layers[0].weight.shape == (4, 8, 3)  # a runs axis on every array
    # Run 3 is (lr 1e-2, seed 3): exactly jos.run on the same module.
    model = _mlp(jax.random.split(jax.random.key(3))[0])
    ref = jos.run(jos.adam(1e-2), _aux_loss, model, 6, batches=BATCHES, has_aux=True)
    assert isinstance(ref.params, eqx.nn.MLP)
    np.testing.assert_allclose(result.losses[3], ref.losses, rtol=PROGRAM_RTOL)
    # No eval_batch and a loss that needs a batch: the final loss is on the last batch.
    last = (BATCHES[0][-1], BATCHES[1][-1])
    np.testing.assert_allclose(ref.final_loss, _aux_loss(ref.params, last)[0], rtol=1e-6)
    np.testing.assert_allclose(result.final_losses[3], ref.final_loss, rtol=PROGRAM_RTOL)
    final_run3 = jax.tree.map(lambda x: x[3] if eqx.is_array(x) else x, result.params)
    np.testing.assert_allclose(_aux_loss(final_run3, last)[0], result.final_losses[3],
                               rtol=PROGRAM_RTOL)


def test_flax_nnx_state_with_integer_and_key_leaves():
    model = nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.Dropout(0.5, rngs=nnx.Rngs(1)),
                           nnx.Linear(4, 1, rngs=nnx.Rngs(2)))
    graph, state = nnx.split(model)
    kinds = {leaf.dtype.kind if not jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
             else "key" for leaf in jax.tree.leaves(state)}
    assert {"f", "u", "key"} <= kinds  # the dropout's RNG count (uint32) and key are held

    def loss_fn(state, batch):
        net = nnx.merge(graph, state)
        net.eval()
        return jnp.mean((net(batch[0]) - batch[1]) ** 2)

    ref = jos.run(jos.sgd(0.05), loss_fn, state, 6, batches=BATCHES)
    assert isinstance(ref.params, nnx.State)
    result = jos.sweep(jos.sgd, {"learning_rate": [0.01, 0.05]}, loss_fn, state, 6,
                       batches=BATCHES, progress=False)
    np.testing.assert_allclose(result.final_losses[1], ref.final_loss, rtol=PROGRAM_RTOL)
    assert result.final_losses[1] < result.losses[1, 0]


def test_split_and_combine_round_trip():
    tree = {"w": jnp.ones(2), "n": jnp.arange(3), "f": jax.nn.relu, "k": 4, "x": 0.5}
    trained, held, static = adapters.split(tree)
    assert {k for k, v in trained.items() if v is not None} == {"w", "x"}
    assert len(held) == 1 and held[0] is tree["n"]
    back = adapters.combine(trained, held, static)
    assert back["f"] is jax.nn.relu and back["k"] == 4 and back["n"] is tree["n"]
    # A plain tree of arrays is not split (exactly as before), and equal models hash equal.
    assert adapters.split({"w": jnp.ones(2)})[2] is None
    assert adapters.split(_mlp(jax.random.key(0)))[2] == adapters.split(_mlp(jax.random.key(1)))[2]


def test_aux_mismatch_errors_name_has_aux():
    bowl = jos.problems.get("bowl")
    with pytest.raises(TypeError, match="pass `has_aux`=True"):
        jos.run(jos.sgd(0.1), lambda p: (bowl.loss_fn(p), 0.0), bowl.init_params(), 2)
    with pytest.raises(TypeError, match="`has_aux`=True needs `loss_fn` to return a pair"):
        jos.sweep(jos.sgd, {"learning_rate": [0.1]}, bowl.loss_fn, bowl.init_params(), 2,
                  has_aux=True, progress=False)


XOR = jos.problems.get("xor_b")
EVAL = (jnp.asarray([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
        jnp.asarray([[0.0], [1.0], [1.0], [0.0]]))


def _xor_metrics(params, batch):
    return {"accuracy": XOR.accuracy_fn(params, batch), "val_loss": XOR.loss_fn(params, batch)}


def _injected_adam(learning_rate):
    def schedule(count):  # learning_rate / (1 + t)
        return learning_rate / (1.0 + count.astype(learning_rate.dtype))

    return jos.inject_hyperparams(jos.adam)(learning_rate=schedule)


@pytest.fixture(scope="module")
def metered():
    """One sweep with metrics every 4 of 10 steps and every diagnostic (shared by the tests)."""
    return jos.sweep(_injected_adam, {"learning_rate": [0.02, 0.3]}, XOR.loss_fn, XOR.init_params,
                     10, seeds=2, eval_batch=EVAL, metrics_fn=_xor_metrics, eval_every=4,
                     diagnostics=True, progress=False)


def test_metrics_every_eval_every_steps_match_the_trajectory(metered):
    assert metered.eval_steps.tolist() == [4, 8, 10]  # and after the last step
    assert set(metered.metrics) == {"accuracy", "val_loss"}
    assert metered.metrics["accuracy"].shape == (4, 3)
    run = 3  # lr 0.3, seed 1
    init = XOR.init_params(jax.random.split(jax.random.key(1))[0])
    steps = []
    for k in (4, 8, 10):
        ref = jos.run(_injected_adam(jnp.float32(0.3)), XOR.loss_fn, init, k, record_every=None)
        steps.append(ref)
        np.testing.assert_allclose(metered.metrics["val_loss"][run, len(steps) - 1],
                                   XOR.loss_fn(ref.params, EVAL), rtol=PROGRAM_RTOL)
        assert metered.metrics["accuracy"][run, len(steps) - 1] == XOR.accuracy_fn(ref.params, EVAL)
    np.testing.assert_allclose(metered.final_losses[run], steps[-1].final_loss, rtol=1e-6)


def test_diagnostics_are_the_norms_and_the_injected_rate(metered):
    assert set(metered.diagnostics) == {"grad_norm", "update_norm", "learning_rate"}
    assert metered.diagnostics["grad_norm"].shape == (4, 10)
    np.testing.assert_allclose(metered.diagnostics["learning_rate"][2],
                               0.3 / (1.0 + np.arange(10)), rtol=1e-6)
    run = 2  # lr 0.3, seed 0
    params = XOR.init_params(jax.random.split(jax.random.key(0))[0])
    ref = jos.run(_injected_adam(jnp.float32(0.3)), XOR.loss_fn, params, 10)
    path = ref.trajectory
    for t in (0, 5, 9):
        here = jax.tree.map(lambda x, t=t: x[t], path)
        nxt = jax.tree.map(lambda x, t=t: x[t + 1], path)
        grad_norm = jos.tree.norm(jax.grad(XOR.loss_fn)(here))
        update_norm = jos.tree.norm(jax.tree.map(jnp.subtract, nxt, here))
        np.testing.assert_allclose(metered.diagnostics["grad_norm"][run, t], grad_norm, rtol=1e-4)
        np.testing.assert_allclose(metered.diagnostics["update_norm"][run, t], update_norm,
                                   rtol=1e-3)  # a difference of params that moved little


def test_swept_learning_rate_is_the_diagnostic_without_injection():
    bowl = jos.problems.get("bowl")
    result = jos.sweep(jos.sgd, {"learning_rate": [0.1, 0.2]}, bowl.loss_fn, bowl.init_params(),
                       3, diagnostics=["learning_rate"], progress=False)
    np.testing.assert_allclose(result.diagnostics["learning_rate"], [[0.1] * 3, [0.2] * 3])
    with pytest.raises(ValueError, match="does not inject one"):
        jos.sweep(lambda: jos.sgd(0.1), {}, bowl.loss_fn, bowl.init_params(), 3,
                  diagnostics=["learning_rate"], progress=False)
    with pytest.raises(ValueError, match="`diagnostics` must be True, False or a sequence"):
        jos.sweep(jos.sgd, {"learning_rate": [0.1]}, bowl.loss_fn, bowl.init_params(), 3,
                  diagnostics=["lr"], progress=False)


def test_best_by_a_metric_and_exports(metered, tmp_path, monkeypatch):
    accuracy = metered.final_metrics()["accuracy"].reshape(2, 2).mean(axis=1)
    best = metered.best(metric="accuracy", mode="max")
    assert best["index"] == int(np.argmax(accuracy)) and best["accuracy"] == accuracy.max()
    lowest = metered.best(metric="val_loss")
    assert lowest["val_loss"] == metered.config_scores("val_loss").min()
    with pytest.raises(ValueError, match="`metric`='acc' was not recorded"):
        metered.best(metric="acc")
    assert metered.columns == ("learning_rate", "seed", "final_loss", "diverged", "accuracy",
                               "val_loss")
    path = tmp_path / "sweep.csv"
    metered.to_csv(str(path))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == metered.columns and len(rows) == 5
    assert [float(v) for v in rows[4][2:3]] == [metered.final_losses[3].item()]
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    with pytest.raises(ImportError, match=r"jaxopt_scratch\[pandas\]"):
        metered.to_dataframe()
    fake = types.ModuleType("pandas")
    fake.DataFrame = types.SimpleNamespace(from_records=lambda rows, columns: (rows, columns))
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert metered.to_dataframe() == (metered.to_rows(), list(metered.columns))


def test_metrics_fn_errors():
    bowl = jos.problems.get("bowl")
    args = (jos.sgd, {"learning_rate": [0.1]}, bowl.loss_fn, bowl.init_params(), 2)
    with pytest.raises(TypeError, match="real scalars under string names"):
        jos.sweep(*args, metrics_fn=lambda p, b: {"p": p}, progress=False)
    with pytest.raises(ValueError, match="a column name of the result"):
        jos.sweep(*args, metrics_fn=lambda p, b: {"seed": jnp.sum(p)}, progress=False)
    with pytest.raises(ValueError, match="must be a multiple of `eval_every`=2"):
        jos.sweep(*args[:4], 6, metrics_fn=lambda p, b: {"s": jnp.sum(p)}, eval_every=2,
                  chunk_steps=3, progress=False)
