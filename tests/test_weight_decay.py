"""Tests for jaxopt_scratch/_transforms/weight_decay.py."""

import _problems
import _references as R
import chex
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given

import jaxopt_scratch as jos

LR = 0.05


def _wd_schedule(count):
    return 0.2 * jnp.exp(-0.05 * count.astype(jnp.float32))


def _wd_schedule_py(k):
    return 0.2 * np.exp(-0.05 * k)


def _optax_wd():
    return optax.chain(optax.add_decayed_weights(0.1), optax.scale(-LR))


def _optax_wd_masked():
    return optax.chain(optax.add_decayed_weights(0.1, mask=_problems.size_mask), optax.scale(-LR))


def _optax_wd_schedule():
    return optax.chain(optax.add_decayed_weights(_wd_schedule), optax.scale(-LR))


def _mask_leaves(params):
    return [bool(m) for m in jax.tree.leaves(_problems.size_mask(params))]


class AddDecayedWeightsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_adds_decay_times_params(self):
        tx = jos.add_decayed_weights(0.1)
        p = {"w": jnp.asarray([2.0, -1.0]), "n": None}
        u, state = self.variant(tx.update)({"w": jnp.asarray([1.0, 1.0]), "n": None}, tx.init(p), p)
        np.testing.assert_allclose(u["w"], [1.2, 0.9], rtol=1e-6)
        self.assertIsNone(u["n"])
        self.assertEqual(state, jos.EmptyState())

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_oracle_over_50_steps(self):
        tx = jos.chain(jos.add_decayed_weights(0.1), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key="wd", optax_build=_optax_wd,
                               oracle=R.Chain(R.WeightDecay(0.1), R.Scale(-LR)))

    @chex.variants(with_jit=True, without_jit=True)
    def test_mask_function_matches_optax_and_oracle(self):
        params = _problems.nested_params()
        tx = jos.chain(jos.add_decayed_weights(0.1, mask=_problems.size_mask), jos.scale(-LR))
        _problems.check_parity(
            self, self.variant, tx, optax_key="wd masked", optax_build=_optax_wd_masked,
            oracle=R.Chain(R.WeightDecay(0.1, _mask_leaves(params)), R.Scale(-LR)))

    @chex.variants(with_jit=True, without_jit=True)
    def test_schedule_matches_optax_and_oracle(self):
        tx = jos.chain(jos.add_decayed_weights(_wd_schedule), jos.scale(-LR))
        self.assertIsInstance(tx.init(_problems.nested_params())[0], jos.AddDecayedWeightsState)
        _problems.check_parity(self, self.variant, tx, optax_key="wd schedule",
                               optax_build=_optax_wd_schedule,
                               oracle=R.Chain(R.WeightDecay(_wd_schedule_py), R.Scale(-LR)))

    @chex.variants(with_jit=True, without_jit=True)
    def test_mask_tree_leaves_unmasked_updates_alone(self):
        p = {"w": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(3.0)}
        tx = jos.add_decayed_weights(0.5, mask={"w": True, "b": False})
        u, _ = self.variant(tx.update)(jax.tree.map(jnp.zeros_like, p), tx.init(p), p)
        np.testing.assert_allclose(u["w"], [0.5, 1.0])
        np.testing.assert_array_equal(u["b"], 0.0)

    def test_schedule_count_saturates(self):
        tx = jos.add_decayed_weights(lambda c: jnp.where(c > 10, 1.0, 0.0))
        p = jnp.ones(2)
        state = jos.AddDecayedWeightsState(count=jnp.asarray(np.iinfo(np.int32).max, jnp.int32))
        u, state = tx.update(jnp.zeros(2), state, p)
        self.assertEqual(int(state.count), np.iinfo(np.int32).max)
        np.testing.assert_array_equal(u, [1.0, 1.0])

    def test_bfloat16_updates_keep_their_dtype(self):
        params = _problems.nested_params(jnp.bfloat16)
        tx = jos.add_decayed_weights(0.1)
        u, _ = tx.update(_problems.nested_grad(params), tx.init(params), params)
        for leaf in jax.tree.leaves(u):
            self.assertEqual(leaf.dtype, jnp.bfloat16)

    def test_needs_params(self):
        tx = jos.add_decayed_weights(0.1)
        with pytest.raises(ValueError, match=r"`add_decayed_weights` needs the current parameters.*"
                                             r"tx.update\(updates, state, params\)"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))

    def test_params_structure_mismatch_shows_both(self):
        tx = jos.add_decayed_weights(0.1)
        with pytest.raises(ValueError, match=r"`add_decayed_weights`: the updates tree does not "
                                             r"match the params.*\n.*\{'a': \*\}.*\n.*\{'b': \*\}"):
            tx.update({"a": jnp.ones(1)}, tx.init({"b": jnp.ones(1)}), {"b": jnp.ones(1)})

    def test_negative_weight_decay_raises_and_traced_does_not(self):
        with pytest.raises(ValueError, match=r"`weight_decay` must lie in \[0, inf\), got -0.1"):
            jos.add_decayed_weights(-0.1)

        def f(wd):
            tx = jos.add_decayed_weights(wd)
            return tx.update(jnp.zeros(1), tx.init(jnp.ones(1)), jnp.ones(1))[0]

        np.testing.assert_allclose(jax.jit(f)(jnp.float32(-0.1)), [-0.1])

    def test_vmap_over_weight_decay(self):
        _problems.assert_vmap_matches_loop(
            self, lambda wd: jos.chain(jos.add_decayed_weights(wd), jos.scale(-LR)),
            [0.0, 0.1, 1.0])


@jax.jit
def _decay_only(p, wd, lr):
    tx = jos.chain(jos.add_decayed_weights(wd), jos.scale_by_learning_rate(lr))
    zero_grad = lambda q: jax.tree.map(jnp.zeros_like, q)
    traj = []
    state = tx.init(p)
    for _ in range(5):
        u, state = tx.update(zero_grad(p), state, p)
        p = jos.apply_updates(p, u)
        traj.append(p)
    return traj


@given(p=hnp.arrays(np.float32, (3,), elements=st.floats(-1e3, 1e3, width=32)),
       wd=st.floats(2.0**-10, 1.0, width=32), lr=st.floats(2.0**-10, 0.5, width=32))
def test_weight_decay_alone_shrinks_geometrically(p, wd, lr):
    traj = _decay_only({"w": jnp.asarray(p)}, jnp.float32(wd), jnp.float32(lr))
    factor = 1.0 - np.float64(lr) * np.float64(wd)
    for k, step in enumerate(traj, start=1):
        # Each step multiplies by (1 - lr * wd) in float32: k roundings of ~6e-8.
        np.testing.assert_allclose(step["w"], p.astype(np.float64) * factor**k, rtol=1e-6 * k,
                                   atol=1e-30)


class NoneUpdatesTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_none_updates_stay_none_like_optax(self):
        weights = (jnp.ones(2), {"a": jnp.ones(2), "b": jnp.full(2, 2.0)})
        tx, ref = jos.add_decayed_weights(0.1), optax.add_decayed_weights(0.1)
        self.assertIsNone(self.variant(tx.update)(None, tx.init(weights), weights)[0])
        self.assertIsNone(ref.update(None, 0, weights)[0])  # optax's own test
        updates = (None, {"a": jnp.zeros(2), "b": None})
        got, _ = self.variant(tx.update)(updates, tx.init(weights), weights)
        with jax.numpy_dtype_promotion("standard"):
            want, _ = ref.update(updates, ref.init(weights), weights)
        self.assertIsNone(got[0])
        self.assertIsNone(got[1]["b"])
        np.testing.assert_allclose(got[1]["a"], want[1]["a"])
        np.testing.assert_allclose(got[1]["a"], [0.1, 0.1])

    def test_none_updates_with_a_mismatched_tree_name_both(self):
        tx = jos.add_decayed_weights(0.1)
        with pytest.raises(ValueError, match="`add_decayed_weights`: the updates tree"):
            tx.update([None, None], tx.init([jnp.ones(1)]), [jnp.ones(1)])
