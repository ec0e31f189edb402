"""Optimizers that evaluate elsewhere than they train, in jos.run and jos.sweep.

Schedule-Free trains at y and evaluates at the average x; lookahead trains the fast
weights and evaluates the slow ones; SAM's params are perturbed between outer steps.
The final loss, the rungs of halving and ``metrics_fn`` must use the evaluation
params (``jos.contrib.eval_params``), unless ``eval_params=False``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos

# A vmapped program with traced hyperparameters against a separately compiled one with
# constant hyperparameters: XLA may fold or fuse differently, a few float32 ulps.
PROGRAM_RTOL = 1e-5

STEPS = 24
LRS = np.array([0.3, 0.5, 0.7, 1.0], np.float32)  # x ranks 0.5 best, y ranks 1.0 best
EVAL = jnp.zeros(3)
DATA_KEY = jax.random.split(jax.random.key(0))[1]  # jos.sweep's seed 0


def _loss(p, batch):
    return 0.5 * jnp.sum((p - batch) ** 2)


def _sample(key):  # noisy targets around 0: y jitters, the average x does not
    return jax.random.normal(key, (3,))


def _metrics(params, batch):
    return {"val": _loss(params, batch)}


P0 = jnp.full(3, 3.0)


@jax.jit
def _by_hand(lrs):
    """Loss on EVAL at y and at x after every step, for every lr: ((lrs, STEPS), (lrs, STEPS))."""

    def one(lr):
        tx = jos.contrib.schedule_free_adamw(lr)

        def step(carry, t):
            y, state = carry
            grads = jax.grad(_loss)(y, _sample(jax.random.fold_in(DATA_KEY, t)))
            updates, state = tx.update(grads, state, y)
            y = jos.apply_updates(y, updates)
            x = jos.contrib.schedule_free_eval_params(state, y)
            return (y, state), (_loss(y, EVAL), _loss(x, EVAL))

        _, out = jax.lax.scan(step, (P0, tx.init(P0)), jnp.arange(STEPS))
        return out

    return jax.vmap(one)(lrs)


@pytest.fixture(scope="module")
def by_hand():
    at_y, at_x = _by_hand(jnp.asarray(LRS))
    return np.asarray(at_y), np.asarray(at_x)


def _sweep(**kwargs):  # one chunk program (12 steps, 4 runs) shared by the tests below
    return jos.sweep(jos.contrib.schedule_free_adamw, {"learning_rate": LRS}, _loss, P0, STEPS,
                     sample_fn=_sample, eval_batch=EVAL, metrics_fn=_metrics, eval_every=12,
                     progress=False, **kwargs)


def test_schedule_free_sweep_ranks_by_the_loss_at_the_averaged_params(by_hand):
    at_y, at_x = by_hand
    assert np.argmin(at_x[:, -1]) != np.argmin(at_y[:, -1])  # the setup tells them apart
    result = _sweep()
    np.testing.assert_allclose(result.final_losses, at_x[:, -1], rtol=PROGRAM_RTOL)
    assert result.best()["index"] == np.argmin(at_x[:, -1])
    # metrics_fn sees x too, after steps 12 and 24.
    np.testing.assert_allclose(result.metrics["val"], at_x[:, 11::12], rtol=PROGRAM_RTOL)
    # The returned params are the training ones, y.
    np.testing.assert_allclose(np.sum(np.asarray(result.params) ** 2, axis=1) / 2, at_y[:, -1],
                               rtol=PROGRAM_RTOL)


def test_schedule_free_halving_rungs_rank_at_the_averaged_params(by_hand):
    _, at_x = by_hand
    result = _sweep(prune=jos.halving(2, min_steps=12))
    keep = np.sort(np.argsort(at_x[:, 11])[:2])  # the rung at 12 steps keeps the best 2 of 4
    expected = np.where(np.isin(np.arange(4), keep), STEPS, 12)
    np.testing.assert_array_equal(result.stopped_at, expected)
    stopped = result.stopped_at == 12
    np.testing.assert_allclose(result.final_losses[stopped], at_x[stopped, 11], rtol=PROGRAM_RTOL)


def test_schedule_free_run_reports_the_averaged_params(by_hand):
    at_y, at_x = by_hand
    tx = jos.contrib.schedule_free_adamw(float(LRS[1]))
    result = jos.run(tx, _loss, P0, STEPS, sample_fn=_sample, key=DATA_KEY, eval_batch=EVAL,
                     metrics_fn=_metrics, eval_every=10)
    np.testing.assert_allclose(result.final_loss, at_x[1, -1], rtol=PROGRAM_RTOL)
    np.testing.assert_array_equal(result.eval_steps, [10, 20, 24])
    np.testing.assert_allclose(result.metrics["val"], at_x[1, [9, 19, 23]], rtol=PROGRAM_RTOL)
    # The training params are returned; their evaluation params are one call away.
    x = jos.contrib.eval_params(result.opt_state, result.params)
    np.testing.assert_allclose(_loss(x, EVAL), result.final_loss, rtol=1e-6)
    np.testing.assert_allclose(_loss(result.params, EVAL), at_y[1, -1], rtol=PROGRAM_RTOL)


def _bowl(p):
    return jnp.sum(p.fast**2)  # a loss of the fast weights, as lookahead trains


def _lookahead(learning_rate):
    return jos.lookahead(jos.sgd(learning_rate), sync_period=3, slow_step_size=0.5)


def test_lookahead_reports_the_slow_weights():
    start = jos.LookaheadParams.init_synced(jnp.array([1.0, -2.0]))
    result = jos.sweep(_lookahead, {"learning_rate": [0.1, 0.2]}, _bowl, start, 7,
                       progress=False)  # 7 steps: the fast weights left the slow ones
    slow = np.sum(np.asarray(result.params.slow) ** 2, axis=1)
    fast = np.sum(np.asarray(result.params.fast) ** 2, axis=1)
    assert not np.allclose(slow, fast)
    np.testing.assert_allclose(result.final_losses, slow, rtol=PROGRAM_RTOL)
    one = jos.run(_lookahead(0.2), _bowl, start, 7)
    np.testing.assert_allclose(one.final_loss, slow[1], rtol=PROGRAM_RTOL)
    train = jos.sweep(_lookahead, {"learning_rate": [0.1, 0.2]}, _bowl, start, 7,
                      progress=False, eval_params=False)  # opted out: the fast weights
    np.testing.assert_allclose(train.final_losses, fast, rtol=PROGRAM_RTOL)


def test_sam_run_reports_the_unperturbed_params():
    tx = jos.contrib.sam(jos.sgd(0.1), jos.chain(jos.contrib.normalize(), jos.sgd(0.05)))
    result = jos.run(tx, lambda p: jnp.sum(p**2), jnp.array([1.0, 2.0]), 3)  # ends perturbed
    true = jos.contrib.eval_params(result.opt_state, result.params)
    assert not np.allclose(true, result.params)
    np.testing.assert_allclose(result.final_loss, jnp.sum(true**2), rtol=1e-6)


def test_eval_params_must_be_a_bool():
    with pytest.raises(TypeError, match="`eval_params` must be True"):
        jos.run(jos.sgd(0.1), lambda p: jnp.sum(p**2), jnp.ones(2), 2, eval_params="train")
