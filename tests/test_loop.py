"""Tests for jaxopt_scratch/_engine/loop.py.

P1-P9 of ``docs/tutorial_claims.rst`` are reproduced through ``jos.run`` on
``jos.problems``, at that page's float32 tolerances (``_problems.F32_*``): the
loop's bookkeeping (which loss goes with which step, what the trajectory holds)
is what is tested.
"""

import _problems as fixtures
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos

PLAIN = {"rtol": fixtures.F32_RTOL_PLAIN, "atol": fixtures.F32_ATOL_PLAIN}
ADAM = {"rtol": fixtures.F32_RTOL_ADAM, "atol": fixtures.F32_ATOL_ADAM}


def _after(result):
    """Loss after k updates, k = 0 .. num_steps (the run's losses, then its final loss)."""
    return np.append(np.asarray(result.losses, np.float64), float(result.final_loss))


def _points(result):
    """The trajectory as a (steps + 1, dim) float64 array."""
    path = result.trajectory
    if isinstance(path, dict):  # linear regression: {"w": (T,), "b": (T,)}
        path = jnp.stack([path["w"], path["b"]], axis=1)
    path = np.asarray(path, np.float64)
    return path[:, None] if path.ndim == 1 else path


def _check(result, key, tol, *, loss=True):
    """Every checkpoint of ``SEED_REFERENCE[key]``: position (and loss) after k updates."""
    path, after = _points(result), _after(result)
    dim = path.shape[1]
    for k, ref in fixtures.SEED_REFERENCE[key].items():
        np.testing.assert_allclose(path[k], ref[:dim], err_msg=f"{key} after {k}", **tol)
        if loss and len(ref) > dim:
            np.testing.assert_allclose(after[k], ref[dim], err_msg=f"{key} loss {k}", **tol)


def _run(tx, name, steps, **kwargs):
    problem = jos.problems.get(name)
    return jos.run(tx, problem.loss_fn, problem.init_params(), steps, **kwargs)


def test_p1_bowl_sgd():
    result = _run(jos.sgd(0.1), "bowl", 14)
    _check(result, "P1 bowl sgd", PLAIN)
    assert float(result.losses[0]) == 25.0  # the loss before any update


def test_p2_ravine_sgd():
    result = _run(jos.sgd(0.01), "ravine", 30)
    # x is 0 after one step in exact arithmetic; XLA fuses p + (-lr) * g into one FMA,
    # which leaves |x| ~ 2e-8 in float32: inside the reference's atol.
    _check(result, "P2 ravine sgd", PLAIN)


def test_p3_ravine_heavy_ball():
    _check(_run(jos.sgd(0.01, momentum=0.9), "ravine", 30), "P3 ravine heavy-ball", PLAIN)


P4_OPTIMIZERS = {
    "sgd": (jos.sgd(5e-4), PLAIN, 144),
    "momentum": (jos.sgd(5e-4, momentum=0.9), PLAIN, 29),
    "rmsprop": (jos.rmsprop(5e-3, eps_in_sqrt=False), PLAIN, 133),
    "adam": (jos.adam(1e-2), ADAM, 74),
}


@pytest.mark.parametrize("name", sorted(P4_OPTIMIZERS))
def test_p4_beale_like_showdown_with_value_clipping(name):
    tx, tol, clipped_steps = P4_OPTIMIZERS[name]
    result = _run(jos.chain(jos.clip(10.0), tx), "beale_like", 200)
    _check(result, f"P4 showdown {name}", tol)
    # Tutorial 3's analytic gradient at each step's starting point: docs/tutorial_claims.rst
    # counts the steps with a clipped component.
    problem = jos.problems.get("beale_like")
    grads = jax.jit(jax.vmap(problem.grad_fn))(result.trajectory[:-1])
    assert int(jnp.sum(jnp.any(jnp.abs(grads) > 10.0, axis=1))) == clipped_steps


def test_p5_theta_squared_adam():
    result = _run(jos.adam(1e-3), "theta_squared", 1000)
    _check(result, "P5 parabola adam", ADAM, loss=False)
    # Tutorial 2's stop test |2 theta| < 1e-7 never fires: theta stays above 4.
    assert float(jnp.min(jnp.abs(result.trajectory))) > 4.0


def test_p6_linear_regression_adam():
    result = _run(jos.adam(1e-2), "linear_regression", 200)
    _check(result, "P6 linreg adam", ADAM)
    # Tutorial 2 prints the loss *before* epoch t's update: losses[t - 1].
    printed = {1: 57.0, 50: 30.797351, 100: 14.620063, 150: 6.1501699, 200: 2.2923333}
    for epoch, value in printed.items():
        np.testing.assert_allclose(result.losses[epoch - 1], value, err_msg=f"epoch {epoch}",
                                   **ADAM)


def test_p7_gd_diverges():
    result = _run(jos.sgd(0.2), "elongated", 550)
    _check(result, "P7 ellipse gd lr0.2", PLAIN)
    # y is multiplied by -3 per step: float32 overflows at epoch 39 (docs/tutorial_claims.rst).
    after = _after(result)
    assert np.isfinite(after[38]) and not np.isfinite(after[39])
    assert not np.isfinite(float(result.final_loss))


def test_p7_adam_lr_02():
    result = _run(jos.adam(0.2), "elongated", 550)
    _check(result, "P7 ellipse adam lr0.2", ADAM)
    assert float(result.final_loss) < 1e-24  # reference 7.7e-26; float32 scatters


def test_p7_ema_momentum_without_bias_correction():
    tx = jos.chain(jos.ema(0.9, debias=False), jos.scale_by_learning_rate(0.1))
    _check(_run(tx, "elongated", 100), "P7 ellipse ema momentum", PLAIN)


def test_p7_adam_lr_01():
    _check(_run(jos.adam(0.1), "elongated", 100), "P7 ellipse adam lr0.1", ADAM)


def test_p8_ewma_with_bias_correction():
    tx = jos.chain(jos.ema(0.9), jos.scale_by_learning_rate(0.1))
    _check(_run(tx, "ill_conditioned", 100), "P8 valley ewma debiased", PLAIN)


def test_p8_rmsprop():
    tx = jos.rmsprop(0.1, eps_in_sqrt=False)
    _check(_run(tx, "ill_conditioned", 100), "P8 valley rmsprop", PLAIN)


def test_p8_adam_eps_inside_sqrt():
    tx = jos.adam(0.2, eps=0.0, eps_root=1e-8)
    _check(_run(tx, "ill_conditioned", 100), "P8 valley adam eps inside", ADAM)


# docs/tutorial_claims.rst, P9: loss after 3000 updates, printed at epoch 3000 (before update 3000),
# at epochs 1, 200 and 1000 (before those updates). Accuracy is 100 % everywhere.
P9 = {
    ("xor_a", "adam"): (3.0952068e-4, 3.1003629e-4, 0.31775449, 0.13126230, 0.12535882),
    ("xor_a", "sgd"): (7.4169164e-3, 7.4225105e-3, 0.31775449, 0.20002544, 0.14357321),
    ("xor_a", "momentum"): (7.8345783e-3, 7.8407701e-3, 0.31775449, 0.20139613, 0.14443544),
    ("xor_b", "adam"): (1.2000081e-3, 1.2010400e-3, 1.0446756, 0.55011605, 0.018907880),
    ("xor_b", "sgd"): (5.7736708e-2, 5.7771624e-2, 1.0446756, 0.68291956, 0.44900126),
    ("xor_b", "momentum"): (5.8551230e-2, 5.8587102e-2, 1.0446756, 0.68429429, 0.46122433),
}


def test_p9_xor_both_setups_three_optimizers_in_one_program():
    # Six independent trainings in ONE jos.run: the loss is the sum of the six losses (so
    # each part's gradient is its own loss's gradient) and each optimizer is masked onto
    # its own copies; all three are elementwise, so nothing couples the parts.
    setups = {name: jos.problems.get(name) for name in ("xor_a", "xor_b")}
    optimizers = {"adam": jos.adam(0.01), "sgd": jos.sgd(0.1),
                  "momentum": jos.sgd(0.01, momentum=0.9)}
    params = {(s, o): setups[s].init_params() for s, o in P9}

    def total_loss(p):
        return sum(setups[s].loss_fn(p[(s, o)]) for s, o in P9)

    def only(opt):
        def mask(p):
            return {key: jax.tree.map(lambda _, k=key: k[1] == opt, leaves)
                    for key, leaves in p.items()}
        return mask

    tx = jos.chain(*(jos.masked(t, only(o)) for o, t in optimizers.items()))
    result = jos.run(tx, total_loss, params, 3000)
    for (s, o), (final, printed3000, ep1, ep200, ep1000) in P9.items():
        part = result.trajectory[(s, o)]
        losses = jax.jit(jax.vmap(setups[s].loss_fn))(
            jax.tree.map(lambda x: x[jnp.asarray([0, 199, 999, 2999, 3000])], part))
        # docs/tutorial_claims.rst: XOR 3000 epochs in float32, rtol 1e-3.
        np.testing.assert_allclose(losses, [ep1, ep200, ep1000, printed3000, final], rtol=1e-3,
                                   err_msg=f"{s} {o}")
        assert float(setups[s].accuracy_fn(result.params[(s, o)])) == 1.0
    # The one robust qualitative claim: Adam ends lowest in both setups.
    for s, problem in setups.items():
        finals = {o: float(problem.loss_fn(result.params[(s, o)])) for o in optimizers}
        assert min(finals, key=finals.get) == "adam"


# --- the loop's contract -------------------------------------------------------------

def _linreg_grad_step(tx, loss_fn, params, state, batch):
    grads = jax.grad(loss_fn)(params, batch)
    updates, state = tx.update(grads, state, params)
    return jos.apply_updates(params, updates), state


def test_minibatches_with_a_steps_axis_match_a_python_loop():
    problem = jos.problems.get("linear_regression")
    x = jnp.arange(1.0, 6.0)
    idx = jnp.asarray([[0, 1], [2, 3], [4, 0], [1, 3], [2, 4], [0, 4]])
    batches = (x[idx], 2 * x[idx] + 1)  # leaves of shape (6 steps, 2)
    tx = jos.adam(0.1)
    result = jos.run(tx, problem.loss_fn, problem.init_params(), 6, batches=batches)
    params, state = problem.init_params(), tx.init(problem.init_params())
    step = jax.jit(lambda p, s, b: _linreg_grad_step(tx, problem.loss_fn, p, s, b))
    loss_fn = jax.jit(problem.loss_fn)
    for t in range(6):
        batch = (batches[0][t], batches[1][t])
        np.testing.assert_allclose(result.losses[t], loss_fn(params, batch), rtol=1e-6)
        params, state = step(params, state, batch)
    # Same float32 operations, one scanned and one stepped: equal up to fusion (few ulps).
    np.testing.assert_allclose(result.params["w"], params["w"], rtol=1e-6)
    np.testing.assert_allclose(result.params["b"], params["b"], rtol=1e-6)
    # Without eval_batch, the final loss is over the whole data set.
    np.testing.assert_allclose(result.final_loss, problem.loss_fn(params), rtol=1e-6)


def test_sample_fn_draws_batch_t_from_fold_in_key_t():
    problem = jos.problems.get("linear_regression")
    x = jnp.arange(1.0, 6.0)

    def sample_fn(key):
        idx = jax.random.randint(key, (2,), 0, 5)
        return x[idx], 2 * x[idx] + 1

    key = jax.random.key(4)
    tx = jos.sgd(0.01)
    eval_batch = (x[:2], 2 * x[:2] + 1)
    result = jos.run(tx, problem.loss_fn, problem.init_params(), 5, sample_fn=sample_fn,
                     key=key, eval_batch=eval_batch)
    params, state = problem.init_params(), tx.init(problem.init_params())
    step = jax.jit(lambda p, s, b: _linreg_grad_step(tx, problem.loss_fn, p, s, b))
    loss_fn = jax.jit(problem.loss_fn)
    draw = jax.jit(lambda t: sample_fn(jax.random.fold_in(key, t)))
    for t in range(5):
        batch = draw(t)
        np.testing.assert_allclose(result.losses[t], loss_fn(params, batch), rtol=1e-6)
        params, state = step(params, state, batch)
    np.testing.assert_allclose(result.final_loss, loss_fn(params, eval_batch), rtol=1e-6)
    # A different key gives different batches.
    other = jos.run(tx, problem.loss_fn, problem.init_params(), 5, sample_fn=sample_fn,
                    key=jax.random.key(5), eval_batch=eval_batch)
    assert not np.array_equal(other.losses, result.losses)


def test_record_every_subsamples_the_trajectory():
    problem = jos.problems.get("ravine")
    tx = jos.sgd(0.01, momentum=0.9)
    full = jos.run(tx, problem.loss_fn, problem.init_params(), 30)
    sparse = jos.run(tx, problem.loss_fn, problem.init_params(), 30, record_every=10)
    ends = jos.run(tx, problem.loss_fn, problem.init_params(), 30, record_every=None)
    assert full.trajectory.shape == (31, 2) and sparse.trajectory.shape == (4, 2)
    np.testing.assert_array_equal(sparse.trajectory, full.trajectory[::10])
    np.testing.assert_array_equal(ends.trajectory, full.trajectory[::30])
    np.testing.assert_array_equal(sparse.losses, full.losses)
    np.testing.assert_array_equal(full.params, full.trajectory[-1])
    # The optimizer state comes back too: 30 updates of momentum left a velocity.
    assert jax.tree.structure(full.opt_state) == jax.tree.structure(tx.init(full.params))


def test_zero_steps():
    problem = jos.problems.get("bowl")
    result = jos.run(jos.sgd(0.1), problem.loss_fn, problem.init_params(), 0)
    assert result.losses.shape == (0,) and result.trajectory.shape == (1, 2)
    assert float(result.final_loss) == 25.0


def test_compiles_once_for_repeated_calls():
    traces = []

    def loss_fn(p):
        traces.append(None)  # runs only while tracing
        return jnp.sum(p**2)

    tx = jos.sgd(0.1)
    for start in (1.0, 2.0, 3.0):
        jos.run(tx, loss_fn, jnp.full(2, start), 5)
    # Traced once for the steps and once for the final loss; never again.
    assert len(traces) == 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_steps": -1}, ValueError, "`num_steps` must be a Python int >= 0"),
    ({"num_steps": 3.0}, ValueError, "`num_steps` must be a Python int"),
    ({"record_every": 4}, ValueError, "`record_every`=4 must divide `num_steps`=6"),
    ({"record_every": 0}, ValueError, "`record_every` must be a Python int >= 1"),
    ({"batches": jnp.zeros((5, 2))}, ValueError, "leading steps axis of length `num_steps`=6"),
    ({"batches": jnp.zeros((6, 2)), "sample_fn": lambda k: None}, ValueError, "not both"),
    ({"sample_fn": 3}, TypeError, "`sample_fn` must be a function"),
    ({"optimizer": object()}, TypeError, "`optimizer` must be a gradient transformation"),
    ({"loss_fn": 3}, TypeError, "`loss_fn` must be a function"),
])
def test_errors_name_the_argument(kwargs, error, match):
    args = {"optimizer": jos.sgd(0.1), "loss_fn": lambda p: jnp.sum(p**2),
            "params": jnp.ones(2), "num_steps": 6, **kwargs}
    with pytest.raises(error, match=match):
        jos.run(**args)


def _distance(params, batch):
    del batch  # no eval_batch: metrics_fn gets None
    return {"distance": jnp.linalg.norm(params), "x": params[0]}


def test_metrics_every_eval_every_steps_match_the_trajectory_and_the_sweep():
    problem = jos.problems.get("bowl")
    tx, start = jos.sgd(0.1), problem.init_params()
    result = jos.run(tx, problem.loss_fn, start, 14, metrics_fn=_distance, eval_every=4)
    np.testing.assert_array_equal(result.eval_steps, [4, 8, 12, 14])  # and after the last step
    path = np.asarray(result.trajectory)[result.eval_steps]
    np.testing.assert_allclose(result.metrics["distance"], np.linalg.norm(path, axis=1),
                               rtol=1e-6)
    np.testing.assert_allclose(result.metrics["x"], path[:, 0], rtol=1e-6)
    # The sweep evaluates the same steps with the same function.
    swept = jos.sweep(jos.sgd, {"learning_rate": [0.1]}, problem.loss_fn, start, 14,
                      metrics_fn=_distance, eval_every=4, progress=False)
    np.testing.assert_array_equal(swept.eval_steps, result.eval_steps)
    np.testing.assert_allclose(swept.metrics["distance"][0], result.metrics["distance"],
                               rtol=1e-6)
    # Default: about a twentieth of the steps (as the sweep's default chunk); none without it.
    default = jos.run(tx, problem.loss_fn, start, 40, metrics_fn=_distance)
    np.testing.assert_array_equal(default.eval_steps, np.arange(2, 41, 2))
    assert result.metrics.keys() == {"distance", "x"} and default.metrics["x"].shape == (20,)
    plain = jos.run(tx, problem.loss_fn, start, 14)
    assert plain.metrics == {} and plain.eval_steps.shape == (0,)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"eval_every": 0}, ValueError, "`eval_every` must be a Python int >= 1"),
    ({"metrics_fn": 3}, TypeError, "`metrics_fn` must be a function"),
])
def test_metrics_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        jos.run(jos.sgd(0.1), lambda p: jnp.sum(p**2), jnp.ones(2), 6,
                **{"metrics_fn": _distance, **kwargs})
