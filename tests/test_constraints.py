"""Tests for jaxopt_scratch/_transforms/constraints.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos


def _optax_nonneg():
    return optax.chain(optax.sgd(0.1), optax.keep_params_nonnegative())


def _optax_zero_nans():
    return optax.chain(optax.zero_nans(), optax.sgd(0.1))


def _grad_with_nans(params):
    """:func:`_problems.nested_grad`, with a NaN in the first entry of every vector leaf."""
    return jax.tree.map(lambda g: g.at[0].set(jnp.nan) if g.ndim else g,
                        _problems.nested_grad(params))


def _pushed_down(params):
    """:func:`_problems.nested_grad` plus 1: the minimum is below zero, so steps hit the wall."""
    return jax.tree.map(lambda g: g + 1.0, _problems.nested_grad(params))


class ZeroNansTest(chex.TestCase):

    @chex.variants(with_jit=True)
    def test_matches_optax_over_50_steps_with_nans_every_step(self):
        tx = jos.chain(jos.zero_nans(), jos.sgd(0.1))
        params = _problems.nested_params()
        ours, state = self.variant(lambda p: _problems.scan_run(tx, p, _grad_with_nans, 50))(
            params)
        ref = _problems.optax_run(_optax_zero_nans(), params, _grad_with_nans, 50)[0]
        chex.assert_trees_all_close(ours, ref, **_problems.OPTAX_PLAIN)
        self.assertTrue(_problems.all_finite(ours))
        found = state[0].found_nan
        self.assertEqual([bool(x) for x in jax.tree.leaves(found)],
                         [jnp.ndim(p) > 0 for p in jax.tree.leaves(params)])

    @chex.variants(with_jit=True, without_jit=True)
    def test_infinities_pass_and_flags_are_per_leaf(self):
        tx = jos.zero_nans()
        g = {"a": jnp.asarray([1.0, jnp.nan], jnp.bfloat16), "b": jnp.asarray([jnp.inf])}
        state = tx.init(g)
        self.assertEqual(jax.tree.leaves(state.found_nan), [False, False])
        u, state = self.variant(tx.update)(g, state)
        np.testing.assert_array_equal(np.asarray(u["a"], np.float32), [1.0, 0.0])
        self.assertEqual(u["a"].dtype, jnp.bfloat16)
        np.testing.assert_array_equal(u["b"], [np.inf])
        self.assertEqual(jax.tree.leaves(state.found_nan), [True, False])

    def test_state_structure_mismatch_raises(self):
        tx = jos.zero_nans()
        with pytest.raises(ValueError, match="`zero_nans`"):
            tx.update({"a": jnp.ones(1)}, tx.init({"b": jnp.ones(1)}))


class KeepParamsNonnegativeTest(chex.TestCase):

    @chex.variants(with_jit=True)
    def test_matches_optax_over_50_steps(self):
        params = jax.tree.map(jnp.abs, _problems.nested_params())
        tx = jos.chain(jos.sgd(0.1), jos.keep_params_nonnegative())
        ours = self.variant(lambda p: _problems.scan_run(tx, p, _pushed_down, 50))(params)[0]
        ref = _problems.optax_run(_optax_nonneg(), params, _pushed_down, 50)[0]
        chex.assert_trees_all_close(ours, ref, **_problems.OPTAX_PLAIN)
        self.assertTrue(all(np.all(x >= 0) for x in _problems.np_leaves(ours)))
        self.assertTrue(any(np.any(x == 0) for x in _problems.np_leaves(ours)))  # it clipped

    @chex.variants(with_jit=True, without_jit=True)
    def test_lands_on_zero_negative_params_go_to_zero_nan_stays(self):
        tx = jos.keep_params_nonnegative()
        p = jnp.asarray([0.5, 2.0, -1.0, 1.0])
        u, state = self.variant(tx.update)(jnp.asarray([-1.0, -1.0, 0.5, jnp.nan]), tx.init(p), p)
        np.testing.assert_array_equal(u, [-0.5, -1.0, 1.0, np.nan])
        self.assertIsInstance(state, jos.NonNegativeParamsState)

    def test_none_leaves_and_errors(self):
        tx = jos.keep_params_nonnegative()
        p = {"a": jnp.ones(1), "b": None}
        u, _ = tx.update({"a": -jnp.full(1, 2.0), "b": None}, tx.init(p), p)
        self.assertIsNone(u["b"])
        np.testing.assert_array_equal(u["a"], [-1.0])
        with pytest.raises(ValueError, match="`keep_params_nonnegative` needs the current"):
            tx.update(jnp.ones(1), tx.init(jnp.ones(1)))
        with pytest.raises(ValueError, match="does not match the params tree"):
            tx.update({"a": jnp.ones(1)}, tx.init(p), [jnp.ones(1)])
