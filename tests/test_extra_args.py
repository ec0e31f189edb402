"""Tests for jaxopt_scratch/_engine/extra_args.py: what run and sweep pass besides the gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos

ROSENBROCK = jos.problems.get("rosenbrock")
BOWL = jos.problems.get("bowl")


def test_run_drives_lbfgs_with_no_extra_arguments_from_the_user():
    result = jos.run(jos.lbfgs(), ROSENBROCK.loss_fn, ROSENBROCK.init_params(), 50)
    np.testing.assert_allclose(result.params, [1.0, 1.0], atol=1e-5)
    assert float(result.final_loss) < 1e-10
    # Monotone: every accepted step decreased the loss (sufficient decrease).
    assert (np.diff(result.losses) <= 0).all()


def test_a_line_search_evaluation_is_reused_not_repeated():
    calls = []

    def loss(params, batch=None):
        del batch
        jax.debug.callback(lambda: calls.append(1))
        return ROSENBROCK.loss_fn(params)

    full = jos.run(jos.lbfgs(), loss, ROSENBROCK.init_params(), 10, record_every=None)
    jax.effects_barrier()
    full_calls, calls[:] = len(calls), []
    # The same data as "minibatches": the loop cannot know the loss is deterministic, so
    # it evaluates the loss at every step, then the line search evaluates its trials.
    batched = jos.run(jos.lbfgs(), loss, ROSENBROCK.init_params(), 10, record_every=None,
                      batches=jnp.zeros((10, 1)))
    jax.effects_barrier()
    np.testing.assert_array_equal(full.losses, batched.losses)  # the same iterates
    # Full batch: one evaluation at the first step, then the searches' last trials reused.
    assert full_calls == len(calls) - 9


def test_minibatches_and_polyak_and_plateau_get_the_loss_value():
    # polyak_sgd reads `value`; reduce_on_plateau too. On the bowl (minimum 0, so
    # f_min = 0 is exact) the Polyak step halves the distance to 0 each step.
    tx = jos.chain(jos.polyak_sgd(), jos.contrib.reduce_on_plateau(patience=100))
    result = jos.run(tx, BOWL.loss_fn, BOWL.init_params(), 4)
    np.testing.assert_allclose(result.losses, [25.0, 6.25, 1.5625, 0.390625], rtol=1e-6)
    batches = jnp.ones((4, 1))
    per_batch = jos.run(jos.polyak_sgd(), lambda p, b=(1.0,): BOWL.loss_fn(p) * b[0],
                        BOWL.init_params(), 4, batches=batches)
    np.testing.assert_allclose(per_batch.losses, result.losses, rtol=1e-6)


def test_sweep_passes_the_extra_arguments_to_every_run():
    result = jos.sweep(jos.polyak_sgd, {"max_learning_rate": [0.1, 1.0]}, BOWL.loss_fn,
                       BOWL.init_params(), 3, progress=False)
    for i, config in enumerate(result.configs()):
        ref = jos.run(jos.polyak_sgd(**config), BOWL.loss_fn, BOWL.init_params(), 3,
                      record_every=None)
        np.testing.assert_allclose(result.losses[i], ref.losses, rtol=1e-6)
    assert result.final_losses[0] > result.final_losses[1]  # the cap 0.1 binds


def test_optax_lbfgs_runs_too():
    result = jos.run(optax.lbfgs(), ROSENBROCK.loss_fn, ROSENBROCK.init_params(), 50,
                     record_every=None)
    np.testing.assert_allclose(result.params, [1.0, 1.0], atol=1e-5)


def _noisy_sgd(learning_rate):
    # A transform that declares `key`: the loop passes a fresh key at every step.
    def update(updates, state, params=None, *, key, **extra_args):
        del params, extra_args
        noise = jax.tree.map(lambda u: jax.random.normal(key, u.shape), updates)
        return jax.tree.map(lambda u, n: -learning_rate * u + 0.1 * n, updates, noise), state

    return jos.GradientTransformationExtraArgs(jos.init_empty_state, update)


def test_a_key_is_passed_to_transforms_that_declare_one():
    tx = _noisy_sgd(0.0)  # noise only: the params move by 0.1 * N(0, 1) per step
    first = jos.run(tx, BOWL.loss_fn, BOWL.init_params(), 20, key=jax.random.key(1))
    again = jos.run(tx, BOWL.loss_fn, BOWL.init_params(), 20, key=jax.random.key(1))
    other = jos.run(tx, BOWL.loss_fn, BOWL.init_params(), 20, key=jax.random.key(2))
    np.testing.assert_array_equal(first.params, again.params)
    assert not np.allclose(first.params, other.params)
    steps = np.diff(np.asarray(first.trajectory), axis=0) / 0.1
    assert len({tuple(s) for s in np.round(steps, 5).tolist()}) == 20  # a new key every step


def test_errors_name_the_missing_argument_outside_the_loop():
    tx = jos.polyak_sgd()
    with pytest.raises(TypeError, match="`value`.*jos.run"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))
