"""Tests for jaxopt_scratch/_core/update.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_scratch as jos


class ApplyUpdatesTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_adds_leafwise_and_passes_none_leaves(self):
        params = _problems.nested_params()
        updates = _problems.nested_grad(params)
        out = self.variant(jos.apply_updates)(params, updates)
        chex.assert_trees_all_equal_structs(out, params)
        for o, p, u in zip(*map(_problems.np_leaves, (out, params, updates))):
            np.testing.assert_allclose(o, p + u, rtol=1e-6)  # one float32 addition
        self.assertIsNone(out["frozen"])
        self.assertIsNone(out["stack"][1])

    def test_never_negates(self):
        out = jos.apply_updates(jnp.asarray([1.0]), jnp.asarray([0.25]))
        np.testing.assert_array_equal(out, [1.25])

    @chex.variants(with_jit=True, without_jit=True)
    def test_result_has_the_param_dtype_and_is_rounded_once(self):
        p = jnp.asarray([1.0, 256.0, -3.0], jnp.bfloat16)
        u = jnp.asarray([1e-3, 0.9, 0.00390625], jnp.float32)
        out = self.variant(jos.apply_updates)(p, u)
        self.assertEqual(out.dtype, jnp.bfloat16)
        # Sum in float32, then one rounding to bfloat16 (not u rounded first).
        expected = (np.asarray(p, np.float32) + np.asarray(u)).astype(jnp.bfloat16)
        np.testing.assert_array_equal(out, expected)
        out = jos.apply_updates(jnp.zeros(2, jnp.float32), jnp.ones(2, jnp.bfloat16))
        self.assertEqual(out.dtype, jnp.float32)

    def test_float64_params_under_x64(self):
        with jax.enable_x64(True):
            p = jnp.asarray([1.0], jnp.float64)
            out = jos.apply_updates(p, jnp.asarray([1e-12], jnp.float64))
            self.assertEqual(out.dtype, jnp.float64)
            np.testing.assert_array_equal(out, [1.0 + 1e-12])

    def test_interoperates_with_optax_apply_updates(self):
        params = _problems.nested_params()
        tx = jos.adam(0.1)
        updates, _ = tx.update(_problems.nested_grad(params), tx.init(params), params)
        with jax.numpy_dtype_promotion("standard"):
            theirs = optax.apply_updates(params, updates)  # optax accepts our updates
            optax_updates, _ = optax.adam(0.1).update(
                _problems.nested_grad(params), optax.adam(0.1).init(params), params)
        chex.assert_trees_all_equal(jos.apply_updates(params, updates), theirs)
        # ...and we accept optax's (the Adam directions differ by float32 rounding only).
        chex.assert_trees_all_close(jos.apply_updates(params, optax_updates), theirs, atol=1e-6)
