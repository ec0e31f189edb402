"""Tests for jaxopt_scratch/_transforms/per_example.py."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

_KEYS = jax.random.split(jax.random.key(1), 3)
# Five examples; leaves of three ranks; the last example is all zeros (never clipped).
GRADS = {"w": jax.random.normal(_KEYS[0], (5, 3, 2)).at[4].set(0.0),
         "b": [jax.random.normal(_KEYS[1], (5, 3)).at[4].set(0.0),
               3.0 * jax.random.normal(_KEYS[2], (5,)).at[4].set(0.0)]}


def _np_clip(leaves, clip):
    """DP-SGD's clip-then-sum (Abadi et al., 2016, Algorithm 1) in float64 NumPy."""
    flat = np.concatenate([np.asarray(x, np.float64).reshape(5, -1) for x in leaves], axis=1)
    norms = np.linalg.norm(flat, axis=1)
    factors = np.where(norms > clip, clip / np.where(norms > 0, norms, 1), 1.0)
    return [np.tensordot(factors, np.asarray(x, np.float64), axes=1) for x in leaves], int(
        np.sum(factors < 1))


CLIPS = (0.0, 0.7, 2.0, np.inf)  # clips every non-zero example / some / none


class PerExampleClipTest(chex.TestCase):

    def test_global_matches_optax_and_the_paper(self):
        ours = jax.jit(jos.per_example_global_norm_clip)
        with jax.numpy_dtype_promotion("standard"):
            theirs = jax.jit(optax.per_example_global_norm_clip)
            refs = [theirs(GRADS, clip) for clip in CLIPS]
        for clip, (ref_total, ref_n) in zip(CLIPS, refs):
            total, n = ours(GRADS, clip)
            chex.assert_trees_all_close(total, ref_total, rtol=1e-6, atol=1e-6)
            self.assertEqual(int(n), int(ref_n))
            want, want_n = _np_clip(jax.tree.leaves(GRADS), clip)
            for got, w in zip(jax.tree.leaves(total), want):
                np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
            self.assertEqual(int(n), want_n)

    @parameterized.parameters(True, False)
    def test_layer_matches_optax(self, uniform):
        total, n = jax.jit(jos.per_example_layer_norm_clip, static_argnums=2)(GRADS, 1.5, uniform)
        with jax.numpy_dtype_promotion("standard"):
            ref_total, ref_n = jax.jit(optax.per_example_layer_norm_clip, static_argnums=2)(
                GRADS, 1.5, uniform)
        chex.assert_trees_all_close(total, ref_total, rtol=1e-6, atol=1e-6)
        chex.assert_trees_all_equal(n, ref_n)
        self.assertGreater(sum(int(x) for x in jax.tree.leaves(n)), 0)

    def test_clip_is_traceable_vmap_matches_loop(self):
        clips = jnp.asarray([0.1, 1.0, 5.0])
        fn = jax.jit(lambda c: jos.per_example_layer_norm_clip(GRADS, c, False))
        batched = jax.vmap(fn)(clips)
        for i, c in enumerate(clips):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), fn(c),
                                        rtol=1e-6, atol=1e-7)

    def test_integer_grads_give_float32_and_bfloat16_is_kept(self):
        clip = jax.jit(jos.per_example_global_norm_clip)
        grads = [jnp.asarray([[0, 0, 0], [0, 3, 4], [4, 0, 3], [3, 4, 0]])]
        total, n = clip(grads, 1.25)  # optax's doctest
        np.testing.assert_allclose(total[0], [1.75, 1.75, 1.75], rtol=1e-6)
        self.assertEqual((total[0].dtype, int(n)), (jnp.float32, 3))
        total, _ = clip(jax.tree.map(lambda x: x.astype(jnp.bfloat16), GRADS), 1.0)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(total)))

    def test_nan_and_inf_examples(self):
        # A NaN example keeps factor 1 (optax's nan_to_num) and so spreads NaN to the sum;
        # an inf example with a finite clip gets factor 0 times inf, i.e. NaN, as in optax.
        g = [jnp.asarray([[jnp.nan, 0.0], [3.0, 4.0]])]
        total, n = jax.jit(jos.per_example_global_norm_clip)(g, 1.0)
        self.assertTrue(np.isnan(total[0][0]))
        np.testing.assert_allclose(total[0][1], 0.8, rtol=1e-6)
        self.assertEqual(int(n), 1)

    def test_errors_name_the_argument(self):
        with pytest.raises(ValueError, match="axis 0"):
            jos.per_example_global_norm_clip({"a": jnp.ones((2, 3)), "b": jnp.ones((3,))}, 1.0)
        with pytest.raises(ValueError, match="axis 0"):
            jos.per_example_layer_norm_clip([jnp.asarray(1.0)], 1.0)
        with pytest.raises(ValueError, match="`l2_norm_clip`"):
            jos.per_example_global_norm_clip([jnp.ones((2, 3))], -1.0)
        with pytest.raises(ValueError, match="`global_l2_norm_clip`"):
            jos.per_example_layer_norm_clip([jnp.ones((2, 3))], -1.0)
