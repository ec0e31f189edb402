"""Tests for jaxopt_scratch/_contrib/privacy.py (DP-SGD)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

# Per-example gradients: 4 examples, a (3,) leaf and a scalar leaf.
GRADS = {"a": jax.random.normal(jax.random.PRNGKey(1), (4, 3)),
         "b": jax.random.normal(jax.random.PRNGKey(2), (4,))}
PARAMS = {"a": jnp.zeros(3), "b": jnp.zeros(())}


class DpsgdTest(chex.TestCase):

    @parameterized.named_parameters(
        ("no_noise", {"l2_norm_clip": 1.0, "noise_multiplier": 0.0}),
        ("noise_momentum", {"l2_norm_clip": 0.5, "noise_multiplier": 1.3, "momentum": 0.9,
                            "nesterov": True}))
    def test_matches_optax_step_by_step(self, kwargs):
        # Same key splitting, so even the noise agrees.
        tx = jos.contrib.dpsgd(0.1, seed=3, **kwargs)
        with pytest.warns(DeprecationWarning):  # optax's dpsgd passes its own deprecated seed=
            otx = optax.contrib.dpsgd(0.1, seed=3, **kwargs)
        def three(t):
            state, out = t.init(PARAMS), []
            for _ in range(3):
                u, state = t.update(GRADS, state, PARAMS)
                out.append(u)
            return out

        got = jax.jit(lambda: three(tx))()
        with jax.numpy_dtype_promotion("standard"):
            want = jax.jit(lambda: three(otx))()
        chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-7)

    def test_clip_then_average_without_noise(self):
        tx = jos.contrib.differentially_private_aggregate(1.0, 0.0, key=jax.random.key(0))
        g = jnp.asarray([[3.0, 4.0], [0.3, 0.4]])
        u, _ = jax.jit(tx.update)(g, tx.init(jnp.zeros(2)))
        np.testing.assert_allclose(u, [(0.6 + 0.3) / 2, (0.8 + 0.4) / 2], rtol=1e-6)

    def test_noise_has_the_stated_scale(self):
        # Zero gradients: the update is N(0, (C sigma)^2) / B per coordinate.
        tx = jos.contrib.differentially_private_aggregate(2.0, 1.5, key=7)
        u, _ = jax.jit(tx.update)(jnp.zeros((4, 20000)), tx.init(jnp.zeros(20000)))
        np.testing.assert_allclose(np.std(u), 2.0 * 1.5 / 4, rtol=0.03)  # 20000 samples

    def test_vmap_over_clip_and_noise_matches_the_loop(self):
        def run(c, s):
            tx = jos.contrib.dpsgd(0.1, c, s, seed=0)
            return tx.update(GRADS, tx.init(PARAMS), PARAMS)[0]

        values = jnp.asarray([0.5, 1.0]), jnp.asarray([0.0, 1.0])
        batched = jax.vmap(jax.jit(run))(*values)
        for i in range(2):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched),
                                        jax.jit(run)(values[0][i], values[1][i]), rtol=1e-6)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="`l2_norm_clip`"):
            jos.contrib.dpsgd(0.1, -1.0, 1.0, seed=0)
        with pytest.raises(ValueError, match="`noise_multiplier`"):
            jos.contrib.differentially_private_aggregate(1.0, -1.0)
