"""Tests for jaxopt_scratch/_wrappers/skipping.py."""

import functools

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_scratch as jos

TREE = {"a": jnp.asarray([1.0, -2.0, jnp.inf]), "b": (jnp.asarray(jnp.nan), jnp.ones(2))}


def _run(tx, spike, apply=jos.apply_updates, steps=40):
    """``steps`` scanned updates on :func:`_problems.nested_params`; every 7th gradient (from
    step 3) is multiplied by ``spike`` (100 or NaN)."""

    def body(carry, i):
        p, s = carry
        factor = jnp.where(i % 7 == 3, spike, 1.0)
        g = jax.tree.map(lambda x: factor * x, _problems.nested_grad(p))
        u, s = tx.update(g, s, p)
        return (apply(p, u), s), None

    params = _problems.nested_params()
    with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32 counts
        return jax.jit(lambda p: jax.lax.scan(body, (p, tx.init(p)), jnp.arange(steps))[0])(
            params)


class SkipFunctionsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_outputs_match_optax(self):
        ours = self.variant(jos.skip_not_finite)(TREE, 0, None)
        theirs = optax.skip_not_finite(TREE, 0, None)
        chex.assert_trees_all_equal(ours, theirs)
        finite = {"a": jnp.asarray([1.0, -2.0]), "b": (jnp.asarray(3.0), jnp.ones(2))}
        for m in (5.0, 16.0, 100.0):
            ours = self.variant(jos.skip_large_updates)(finite, 0, None, m)
            theirs = optax.skip_large_updates(finite, 0, None, m)
            chex.assert_trees_all_equal(ours, theirs)
        skip, info = jos.skip_large_updates(TREE, 0, None, 1e30)
        self.assertTrue(bool(skip) and np.isnan(info["norm_squared"]))  # NaN skips

    def test_multisteps_with_skipping_matches_optax_over_40_steps(self):
        for ours_fn, theirs_fn, spike in (
                (functools.partial(jos.skip_large_updates, max_squared_norm=400.0),
                 functools.partial(optax.skip_large_updates, max_squared_norm=400.0), 100.0),
                (jos.skip_not_finite, optax.skip_not_finite, jnp.nan)):
            tx = jos.MultiSteps(jos.sgd(0.05), 2, should_skip_update_fn=ours_fn)
            ref = optax.MultiSteps(optax.sgd(0.05), 2, should_skip_update_fn=theirs_fn)
            ours, state = _run(tx, spike)
            want, ref_state = _run(ref, spike, optax.apply_updates)
            chex.assert_trees_all_close(ours, want, **_problems.OPTAX_PLAIN)
            chex.assert_trees_all_close(state.skip_state, ref_state.skip_state, rtol=1e-6)
            self.assertTrue(_problems.all_finite(ours))
            self.assertEqual(int(state.gradient_step), (40 - 6) // 2)  # 6 spikes skipped

    def test_threshold_is_traceable(self):
        finite = {"a": jnp.asarray([3.0, 4.0])}
        skips = jax.jit(jax.vmap(lambda m: jos.skip_large_updates(finite, 0, None, m)[0]))(
            jnp.asarray([1.0, 25.0, 26.0]))
        np.testing.assert_array_equal(skips, [True, True, False])

    def test_bfloat16_sum_in_float32(self):
        # 300 ones: a bfloat16 running sum of squares would stall at 256.
        _, info = jos.skip_large_updates(jnp.ones(300, jnp.bfloat16), 0, None, 1e6)
        self.assertEqual(float(info["norm_squared"]), 300.0)
        self.assertEqual(info["norm_squared"].dtype, jnp.float32)
