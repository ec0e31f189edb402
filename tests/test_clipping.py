"""Tests for jaxopt_scratch/_transforms/clipping.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

LR = 0.05


def _optax_clip():
    return optax.chain(optax.clip(0.5), optax.scale(-LR))


def _optax_clip_by_global_norm():
    return optax.chain(optax.clip_by_global_norm(1.0), optax.scale(-LR))


class ClipTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_clips_each_coordinate(self):
        tx = jos.clip(1.0)
        g = {"a": jnp.asarray([3.0, -0.5, -2.0]), "b": None}
        u, state = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_array_equal(u["a"], [1.0, -0.5, -1.0])
        self.assertIsNone(u["b"])
        self.assertEqual(state, jos.EmptyState())

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_oracle_over_50_steps(self):
        tx = jos.chain(jos.clip(0.5), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key="clip", optax_build=_optax_clip,
                               oracle=R.Chain(R.Clip(0.5), R.Scale(-LR)))

    def test_bfloat16_and_negative_max_delta(self):
        g = jnp.asarray([3.0, -4.0], jnp.bfloat16)
        u, _ = jos.clip(2.0).update(g, jos.clip(2.0).init(g))
        self.assertEqual(u.dtype, jnp.bfloat16)
        with pytest.raises(ValueError, match=r"`max_delta` must lie in \[0, inf\), got -1.0"):
            jos.clip(-1.0)

    def test_traced_max_delta_and_vmap(self):
        def f(d):
            tx = jos.clip(d)
            return tx.update(jnp.asarray([3.0]), tx.init(jnp.zeros(1)))[0]

        jax.jit(f)(jnp.float32(-1.0))  # out of range but traced: no error
        _problems.assert_vmap_matches_loop(
            self, lambda d: jos.chain(jos.clip(d), jos.scale(-LR)), [0.1, 0.5, 10.0])


class ClipByGlobalNormTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_rescales_all_leaves_together(self):
        tx = jos.clip_by_global_norm(1.0)
        g = {"a": jnp.asarray([3.0]), "b": (jnp.asarray([4.0]), None)}
        u, _ = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u["a"], [0.6], rtol=1e-6)
        np.testing.assert_allclose(u["b"][0], [0.8], rtol=1e-6)
        small = {"a": jnp.asarray([0.3]), "b": (jnp.asarray([0.4]), None)}
        u, _ = self.variant(tx.update)(small, tx.init(small))
        chex.assert_trees_all_equal(u, small)  # below the threshold: untouched

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_oracle_over_50_steps(self):
        tx = jos.chain(jos.clip_by_global_norm(1.0), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key="clip_by_global_norm",
                               optax_build=_optax_clip_by_global_norm,
                               oracle=R.Chain(R.ClipGlobalNorm(1.0), R.Scale(-LR)))

    def test_bfloat16_updates_keep_their_dtype_and_norm_is_float32(self):
        g = {"a": jnp.full((64,), 300.0, jnp.bfloat16)}  # sum of squares overflows bf16 precision
        tx = jos.clip_by_global_norm(1.0)
        u, _ = tx.update(g, tx.init(g))
        self.assertEqual(u["a"].dtype, jnp.bfloat16)
        np.testing.assert_allclose(np.asarray(u["a"], np.float32), 1.0 / 8.0, rtol=1e-2)

    @parameterized.parameters(0.0, -1.0)
    def test_non_positive_max_norm_raises(self, value):
        with pytest.raises(ValueError, match=r"`max_norm` must lie in \(0, inf\)"):
            jos.clip_by_global_norm(value)

    def test_traced_max_norm_and_vmap(self):
        def f(c):
            tx = jos.clip_by_global_norm(c)
            return tx.update(jnp.asarray([3.0]), tx.init(jnp.zeros(1)))[0]

        jax.jit(f)(jnp.float32(0.0))  # out of range but traced: no error
        _problems.assert_vmap_matches_loop(
            self, lambda c: jos.chain(jos.clip_by_global_norm(c), jos.scale(-LR)), [0.1, 1.0, 10.0])
