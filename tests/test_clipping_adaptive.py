"""Tests for jaxopt_scratch/_transforms/clipping_adaptive.py."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos
from jaxopt_scratch._transforms import clipping_adaptive as _clipping_adaptive

_KEYS = jax.random.split(jax.random.key(0), 10)
# One leaf of every rank the unit-wise norm knows: scalar, bias, dense, multi-head, conv, conv3d.
PARAMS = {
    "scalar": jax.random.normal(_KEYS[0], ()),
    "bias": jax.random.normal(_KEYS[1], (3,)),
    "dense": jax.random.normal(_KEYS[2], (4, 3)),
    "heads": jax.random.normal(_KEYS[3], (4, 2, 3)),
    "conv": jax.random.normal(_KEYS[4], (2, 2, 3, 2)),
    "conv3d": jax.random.normal(_KEYS[5], (2, 1, 2, 2, 3)),
}
# Gradients of mixed sizes, so that some units are clipped and others are not.
GRADS = {k: 3.0 * jax.random.normal(_KEYS[6 + i % 4], v.shape) * (0.1 if i % 2 else 1.0)
         for i, (k, v) in enumerate(PARAMS.items())}


def _optax_update(tx, grads, params=None):
    with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and arrays
        return tx.update(grads, tx.init(params if params is not None else grads), params)[0]


class ClipByBlockRmsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters(0.5, 100.0)  # clips most blocks / none
    def test_matches_optax(self, threshold):
        tx = jos.clip_by_block_rms(threshold)
        got, _ = self.variant(tx.update)(GRADS, tx.init(GRADS))
        chex.assert_trees_all_close(got, _optax_update(optax.clip_by_block_rms(threshold), GRADS),
                                    rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_each_block_rms_is_at_most_the_threshold_and_direction_kept(self):
        tx = jos.clip_by_block_rms(0.5)
        got, _ = self.variant(tx.update)(GRADS, tx.init(GRADS))
        for g, u in zip(jax.tree.leaves(GRADS), jax.tree.leaves(got)):
            rms_g, rms_u = float(jnp.sqrt(jnp.mean(g**2))), float(jnp.sqrt(jnp.mean(u**2)))
            np.testing.assert_allclose(rms_u, min(rms_g, 0.5), rtol=1e-5)
            np.testing.assert_allclose(u * rms_g, g * rms_u, rtol=1e-5, atol=1e-6)

    def test_zero_threshold_and_zero_leaf_give_zeros_not_nan(self):
        tx = jos.clip_by_block_rms(0.0)
        got, _ = tx.update({"a": jnp.zeros(3), "b": jnp.ones(2)}, tx.init({"a": jnp.zeros(3),
                                                                           "b": jnp.zeros(2)}))
        chex.assert_trees_all_equal(got, {"a": jnp.zeros(3), "b": jnp.zeros(2)})

    def test_vmap_over_threshold_matches_loop(self):
        def clipped(threshold):
            tx = jos.clip_by_block_rms(threshold)
            return tx.update(GRADS, tx.init(GRADS))[0]

        values = [0.0, 0.1, 1.0, 10.0]
        batched = jax.jit(jax.vmap(clipped))(jnp.asarray(values))
        for i, t in enumerate(values):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), clipped(t),
                                        rtol=1e-6, atol=1e-7)  # jit fusion vs eager

    def test_bf16_updates_keep_their_dtype(self):
        g = jnp.array([3.0, 4.0], jnp.bfloat16)
        tx = jos.clip_by_block_rms(1.0)
        u, _ = tx.update(g, tx.init(g))
        assert u.dtype == jnp.bfloat16

    def test_negative_threshold_raises(self):
        with pytest.raises(ValueError, match="`threshold`"):
            jos.clip_by_block_rms(-1.0)


class AdaptiveGradClipTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters((0.05, 1e-3), (1.0, 0.5))
    def test_matches_optax(self, clipping, eps):
        tx = jos.adaptive_grad_clip(clipping, eps)
        got, _ = self.variant(tx.update)(GRADS, tx.init(PARAMS), PARAMS)
        want = _optax_update(optax.adaptive_grad_clip(clipping, eps), GRADS, PARAMS)
        chex.assert_trees_all_close(got, want, rtol=2e-6, atol=1e-7)

    def test_explicit_axis_matches_optax(self):
        params, grads = {"x": PARAMS["conv"]}, {"x": GRADS["conv"]}
        tx = jos.adaptive_grad_clip(0.05, axis=(0, 1))
        got, _ = tx.update(grads, tx.init(params), params)
        want = _optax_update(optax.adaptive_grad_clip(0.05, axis=(0, 1)), grads, params)
        chex.assert_trees_all_close(got, want, rtol=2e-6)

    def test_units_are_clipped_to_the_ratio_of_their_param_norm(self):
        p = jnp.array([[3.0, 0.0], [4.0, 1e-5]])  # unit 0 norm 5; unit 1 norm ~0 -> eps
        g = jnp.array([[6.0, 0.1], [8.0, 0.0]])  # unit 0 norm 10 > 0.5 * 5; unit 1 norm 0.1
        tx = jos.adaptive_grad_clip(0.5, eps=1.0)
        u, _ = tx.update(g, tx.init(p), p)
        np.testing.assert_allclose(u[:, 0], g[:, 0] * 2.5 / 10.0, rtol=1e-6)  # clipped
        np.testing.assert_allclose(u[:, 1], g[:, 1], rtol=1e-6)  # 0.1 < 0.5 * max(~0, 1)

    def test_vmap_over_clipping_and_eps_matches_loop(self):
        def clipped(clipping, eps):
            tx = jos.adaptive_grad_clip(clipping, eps)
            return tx.update(GRADS, tx.init(PARAMS), PARAMS)[0]

        pairs = [(0.0, 1e-3), (0.05, 1e-3), (0.5, 1.0), (5.0, 0.0)]
        batched = jax.jit(jax.vmap(clipped))(*(jnp.asarray(v) for v in zip(*pairs)))
        for i, (c, e) in enumerate(pairs):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched),
                                        clipped(c, e), rtol=1e-6, atol=1e-7)

    def test_unitwise_norm_layouts(self):
        dense = jnp.arange(6.0).reshape(3, 2)
        np.testing.assert_allclose(_clipping_adaptive.unitwise_norm(dense)[0],
                                   np.linalg.norm(np.arange(6.0).reshape(3, 2), axis=0))
        with pytest.raises(ValueError, match="pass `axis=`"):
            _clipping_adaptive.unitwise_norm(jnp.ones((1, 2, 1, 2, 1, 2)))

    def test_needs_params_and_valid_values(self):
        tx = jos.adaptive_grad_clip(0.1)
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(GRADS, tx.init(PARAMS))
        with pytest.raises(ValueError, match="`clipping`"):
            jos.adaptive_grad_clip(-0.1)
        with pytest.raises(ValueError, match="`eps`"):
            jos.adaptive_grad_clip(0.1, eps=-1.0)


class UnitwiseTest(chex.TestCase):

    def test_norm_and_clip_match_optax_on_every_rank(self):
        @jax.jit  # one compilation for every leaf
        def ours(params, grads):
            norms = jax.tree.map(jos.unitwise_norm, params)
            return norms, jax.tree.map(jos.unitwise_clip, jax.tree.map(jos.unitwise_norm, grads),
                                       norms, grads)

        @jax.jit
        def theirs(params, grads):
            norms = jax.tree.map(optax.transforms.unitwise_norm, params)
            return norms, jax.tree.map(optax.transforms.unitwise_clip, jax.tree.map(
                optax.transforms.unitwise_norm, grads), norms, grads)

        norms, clipped = ours(PARAMS, GRADS)
        with jax.numpy_dtype_promotion("standard"):
            ref_norms, ref_clipped = theirs(PARAMS, GRADS)
        chex.assert_trees_all_close(norms, ref_norms, rtol=1e-6)
        chex.assert_trees_all_close(clipped, ref_clipped, rtol=1e-6)
        self.assertFalse(all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(clipped),
                                                                jax.tree.leaves(GRADS))))

    def test_clip_by_hand_zero_unit_and_traced_max_norm(self):
        g = jnp.asarray([[3.0, 0.0], [4.0, 0.0]])
        n = jos.unitwise_norm(g)
        got = jax.jit(jax.vmap(lambda m: jos.unitwise_clip(n, jnp.full((2, 2), m), g)))(
            jnp.asarray([1.0, 10.0]))
        np.testing.assert_allclose(got[0], [[0.6, 0.0], [0.8, 0.0]], rtol=1e-6)
        np.testing.assert_array_equal(got[1], g)

    def test_errors_name_the_arguments(self):
        with pytest.raises(ValueError, match="`g_norm`, `max_norm` and `grad`"):
            jos.unitwise_clip(jnp.ones(2), jnp.ones(3), jnp.ones(2))
        with pytest.raises(ValueError, match="`unitwise_norm`.*axis"):
            jos.unitwise_norm(jnp.ones((2,) * 6))
        with pytest.raises(ValueError, match="`div_eps`"):
            jos.unitwise_clip(jnp.ones(2), jnp.ones(2), jnp.ones(2), div_eps=0.0)
