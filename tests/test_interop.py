"""jaxopt_scratch inside flax, equinox and optax code, tested against the real libraries.

This file tests cross-library behaviour, not one module: a jos optimizer must drop
into a flax linen ``TrainState``, a flax nnx ``Optimizer`` and an equinox training
loop with no glue, mix with optax transforms in one chain either way round, and
share ``apply_updates`` with optax. Each training test also runs the same loop with
the optax optimizer of the same name and checks that both end at the same params.

optax itself is not clean under the suite's ``jax_numpy_dtype_promotion="strict"``
(its bias correction raises a Python float to an int32 power), so every call
that traces optax code runs under ``jax.numpy_dtype_promotion("standard")``; jos
code alone always runs strict.
"""

from __future__ import annotations

import contextlib

import chex
import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized
from flax import nnx
from flax.training import train_state

import jaxopt_scratch as jos

STEPS = 5
# jos computes 1 - b**t with expm1/log1p, optax naively: Adam's bias corrections differ
# by ~1e-6 relative per step, far below any real training difference.
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _optax_promotion(uses_optax: bool):
    return jax.numpy_dtype_promotion("standard") if uses_optax else contextlib.nullcontext()


def _data():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(16, 3)).astype(np.float32))
    y = jnp.asarray(rng.normal(size=(16, 1)).astype(np.float32))
    return x, y


# ---------------------------------------------------------------------------
# flax linen: TrainState.create(tx=jos.adamw(...)).apply_gradients(...)
# ---------------------------------------------------------------------------


class _LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(nn.tanh(nn.Dense(8)(x)))


def _linen_run(tx, uses_optax):
    x, y = _data()
    model = _LinenMLP()
    state = train_state.TrainState.create(
        apply_fn=model.apply, params=model.init(jax.random.key(0), x), tx=tx
    )

    def loss_fn(params):
        return jnp.mean(jnp.square(state.apply_fn(params, x) - y))

    @jax.jit
    def train_step(state):
        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    with _optax_promotion(uses_optax):
        losses = []
        for _ in range(STEPS):
            state, loss = train_step(state)
            losses.append(float(loss))
    return state, losses


def test_flax_linen_train_state_drives_jos_adamw():
    state, losses = _linen_run(jos.adamw(1e-2, weight_decay=1e-2), uses_optax=False)
    ref, _ = _linen_run(optax.adamw(1e-2, weight_decay=1e-2), uses_optax=True)
    assert losses[-1] < losses[0]
    assert int(state.step) == STEPS
    assert jax.tree.structure(state.opt_state) == jax.tree.structure(
        jos.adamw(1e-2).init(state.params))
    chex.assert_trees_all_close(state.params, ref.params, **TOL)


# ---------------------------------------------------------------------------
# flax nnx: nnx.Optimizer(model, jos.adam(...), wrt=nnx.Param)
# ---------------------------------------------------------------------------


class _NnxTiny(nnx.Module):
    def __init__(self, rngs):
        self.norm = nnx.BatchNorm(3, rngs=rngs)  # BatchStat variables: not optimized
        self.hidden = nnx.Linear(3, 8, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(self.norm(x))))


def _nnx_run(tx, uses_optax):
    x, y = _data()
    model = _NnxTiny(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean(jnp.square(m(x) - y)))(model)
        optimizer.update(model, grads)
        return loss

    with _optax_promotion(uses_optax):
        losses = [float(train_step(model, optimizer)) for _ in range(STEPS)]
    return model, optimizer, losses


def test_flax_nnx_optimizer_drives_jos_adam():
    model, optimizer, losses = _nnx_run(jos.adam(1e-2), uses_optax=False)
    ref_model, _, _ = _nnx_run(optax.adam(1e-2), uses_optax=True)
    assert losses[-1] < losses[0]
    assert int(optimizer.step[...]) == STEPS
    # The Adam count in the jos state advanced once per update.
    counts = [leaf for leaf in jax.tree.leaves(nnx.state(optimizer.opt_state))
              if jnp.issubdtype(leaf.dtype, jnp.integer)]
    assert [int(c) for c in counts] == [STEPS]
    chex.assert_trees_all_close(nnx.state(model, nnx.Param), nnx.state(ref_model, nnx.Param), **TOL)
    # Only Params are optimized: the optimizer state holds nothing for the batch statistics.
    n_params = len(jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert len(jax.tree.leaves(nnx.state(optimizer.opt_state))) == 1 + 2 * n_params  # count, mu, nu


# ---------------------------------------------------------------------------
# equinox: eqx.filter / eqx.filter_value_and_grad + jos
# ---------------------------------------------------------------------------


def _eqx_run(tx, uses_optax, apply_updates=eqx.apply_updates):
    x, y = _data()
    model = eqx.nn.MLP(3, 1, 8, 1, activation=jnp.tanh, key=jax.random.key(0))
    state = tx.init(eqx.filter(model, eqx.is_array))  # activations are None leaves

    @eqx.filter_jit
    def train_step(model, state):
        loss, grads = eqx.filter_value_and_grad(
            lambda m: jnp.mean(jnp.square(jax.vmap(m)(x) - y)))(model)
        updates, state = tx.update(grads, state, eqx.filter(model, eqx.is_array))
        return apply_updates(model, updates), state, loss

    with _optax_promotion(uses_optax):
        losses = []
        for _ in range(STEPS):
            model, state, loss = train_step(model, state)
            losses.append(float(loss))
    return model, state, losses


@pytest.mark.parametrize("apply_updates", [eqx.apply_updates, jos.apply_updates])
def test_equinox_model_trains_with_jos(apply_updates):
    model, state, losses = _eqx_run(jos.adam(1e-2), uses_optax=False, apply_updates=apply_updates)
    ref, _, _ = _eqx_run(optax.adam(1e-2), uses_optax=True)
    assert losses[-1] < losses[0]
    assert int(state[0].count) == STEPS
    assert model.activation is jnp.tanh  # the non-array fields came through untouched
    chex.assert_trees_all_close(eqx.filter(model, eqx.is_array), eqx.filter(ref, eqx.is_array),
                                **TOL)


def test_jos_apply_updates_on_equinox_model_with_none_updates():
    model = eqx.nn.Linear(2, 1, key=jax.random.key(0))
    updates = jax.tree.map(jnp.ones_like, eqx.filter(model, eqx.is_array))
    updates = eqx.tree_at(lambda m: m.bias, updates, replace=None)  # a frozen leaf
    new = jos.apply_updates(model, updates)
    chex.assert_trees_all_equal(new.weight, model.weight + 1)
    chex.assert_trees_all_equal(new.bias, model.bias)
    chex.assert_trees_all_equal(new, eqx.apply_updates(model, updates))


# ---------------------------------------------------------------------------
# optax and jos transforms in one chain, both ways round
# ---------------------------------------------------------------------------

PARAMS = {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array([0.5])}


def _grads(i):
    return jax.tree.map(lambda p: jnp.cos(p * (i + 1)), PARAMS)


class MixedChainTest(chex.TestCase):

    def _run(self, tx, **extra_args):
        update = self.variant(tx.update)
        params, state = PARAMS, tx.init(PARAMS)
        for i in range(STEPS):
            updates, state = update(_grads(i), state, params, **extra_args)
            params = jos.apply_updates(params, updates)
        return params

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("jos_chain_of_optax_adam",
         lambda: jos.chain(optax.scale_by_adam(), jos.scale_by_learning_rate(1e-2)),
         lambda: optax.adam(1e-2)),
        ("optax_chain_of_jos_adam",
         lambda: optax.chain(jos.scale_by_adam(), optax.scale_by_learning_rate(1e-2)),
         lambda: optax.adam(1e-2)),
        ("jos_clip_then_optax_adam",
         lambda: jos.chain(jos.clip_by_global_norm(0.5), optax.adam(1e-2)),
         lambda: optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-2))),
        ("optax_clip_then_jos_adam",
         lambda: optax.chain(optax.clip_by_global_norm(0.5), jos.adam(1e-2)),
         lambda: optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-2))),
    )
    def test_mixed_chain_matches_pure_optax(self, make_tx, make_reference):
        with jax.numpy_dtype_promotion("standard"):
            mixed = self._run(make_tx())
            ref = self._run(make_reference())
        chex.assert_trees_all_close(mixed, ref, **TOL)

    @chex.variants(with_jit=True, without_jit=True)
    def test_extra_args_reach_optax_transform_inside_jos_chain(self):
        # reduce_on_plateau needs `value=`; jos.chain forwards it to whoever accepts it.
        plateau = optax.contrib.reduce_on_plateau(patience=1, factor=0.5)
        tx = jos.chain(jos.sgd(1.0), plateau)
        update = self.variant(tx.update)
        state = tx.init(PARAMS)
        with jax.numpy_dtype_promotion("standard"):
            for _ in range(4):  # a loss that never improves
                _, state = update(_grads(0), state, PARAMS, value=jnp.float32(1.0))
        self.assertLess(float(state[1].scale), 1.0)

    @chex.variants(with_jit=True, without_jit=True)
    def test_optax_chain_passes_extra_args_through_jos_transforms(self):
        tx = optax.chain(jos.adam(1e-2), optax.contrib.reduce_on_plateau(patience=1, factor=0.5))
        update = self.variant(tx.update)
        state = tx.init(PARAMS)
        with jax.numpy_dtype_promotion("standard"):
            for _ in range(4):
                _, state = update(_grads(0), state, PARAMS, value=jnp.float32(1.0))
        self.assertLess(float(state[1].scale), 1.0)
        self.assertEqual(int(state[0][0].count), 4)


# ---------------------------------------------------------------------------
# optax.apply_updates and jos.apply_updates are interchangeable
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_apply_updates_interchangeable(dtype):
    rng = np.random.default_rng(1)
    params = {"w": jnp.asarray(rng.normal(size=(3, 2)), dtype), "frozen": None,
              "b": jnp.asarray(rng.normal(size=(2,)), dtype)}
    updates = {"w": jnp.asarray(rng.normal(size=(3, 2)), dtype), "frozen": None,
               "b": jnp.asarray(rng.normal(size=(2,)), dtype)}
    ours, theirs = jos.apply_updates(params, updates), optax.apply_updates(params, updates)
    assert ours["frozen"] is None and theirs["frozen"] is None
    chex.assert_trees_all_equal(ours, theirs)  # one rounding each: bit-identical
    chex.assert_trees_all_equal_dtypes(ours, params)


def test_updates_of_either_library_apply_with_the_other():
    grads = _grads(0)
    with jax.numpy_dtype_promotion("standard"):
        optax_updates, _ = optax.sgd(0.1, momentum=0.9).update(
            grads, optax.sgd(0.1, momentum=0.9).init(PARAMS), PARAMS)
    jos_updates, _ = jos.sgd(0.1, momentum=0.9).update(
        grads, jos.sgd(0.1, momentum=0.9).init(PARAMS), PARAMS)
    chex.assert_trees_all_close(jos_updates, optax_updates, rtol=1e-6)  # same algorithm
    chex.assert_trees_all_equal(jos.apply_updates(PARAMS, optax_updates),
                                optax.apply_updates(PARAMS, optax_updates))
    chex.assert_trees_all_equal(optax.apply_updates(PARAMS, jos_updates),
                                jos.apply_updates(PARAMS, jos_updates))
