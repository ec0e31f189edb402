"""Tests for jaxopt_scratch/_transforms/noise.py (add_noise, AddNoiseState)."""

import warnings

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _noise_only(lib, key):
    # A zero gradient isolates the noise: u_t = sigma_t z_t (eta and gamma not optax's
    # noisy_sgd defaults, which test_aliases_sgd_variants.py runs for 50 steps).
    return lib.add_noise(0.1, 1.0, key)


class AddNoiseTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("int_seed", 3), ("typed_key", jax.random.key(3)))
    def test_same_noise_as_optax(self, key):
        # Same key schedule (split into next and sample key, then one key per leaf in tree
        # order) and the same float32 draws over three steps; a jitted g + sigma z may be
        # fused into one multiply-add, so allow an ulp (measured: 1 ulp, 8.8e-8 relative).
        params = _problems.small_params()
        zeros = jax.tree.map(jnp.zeros_like, params)
        tx, ref = _noise_only(jos, key), _noise_only(optax, key)
        update = self.variant(tx.update)
        state, ref_state = tx.init(params), ref.init(params)
        for _ in range(3):
            u, state = update(zeros, state)
            with jax.numpy_dtype_promotion("standard"):
                r, ref_state = ref.update(zeros, ref_state)
            chex.assert_trees_all_close(u, r, rtol=2e-7, atol=0)
        self.assertEqual(int(state.count), 3)

    def test_variance_decays_as_eta_over_t_to_the_gamma(self):
        # sigma_t^2 = eta / t^gamma: the sample variance of 20000 draws at t = 1 and t = 4.
        tx = jos.add_noise(2.0, 1.0, 0)
        zeros = jnp.zeros(20000)
        state = tx.init(zeros)
        variances = []
        for _ in range(4):
            u, state = tx.update(zeros, state)
            variances.append(float(jnp.var(u)))
        # Standard error of a variance estimate: sigma^2 sqrt(2/n) = 1 % of it.
        np.testing.assert_allclose([variances[0], variances[3]], [2.0, 0.5], rtol=0.05)

    def test_state_is_plain_numbers(self):
        # Deviation (note): the raw key data (uint32), not optax's typed key, so that
        # np.asarray, allclose and checkpoints work on the state.
        state = jos.add_noise(0.1, 0.55, jax.random.key(0)).init(jnp.zeros(2))
        self.assertEqual(np.asarray(state.rng_key).dtype, np.uint32)
        chex.assert_trees_all_equal(
            state.rng_key, jax.random.key_data(jax.random.key(0)))

    def test_low_precision_gets_unrounded_noise(self):
        # Noise drawn in float32, added in float32, rounded once to the leaf's dtype.
        tx = jos.add_noise(1.0, 0.0, 0)
        u16, _ = tx.update(jnp.zeros(4, jnp.bfloat16), tx.init(jnp.zeros(4, jnp.bfloat16)))
        u32, _ = tx.update(jnp.zeros(4), tx.init(jnp.zeros(4)))
        self.assertEqual(u16.dtype, jnp.bfloat16)
        np.testing.assert_array_equal(u16, u32.astype(jnp.bfloat16))

    def test_key_arguments(self):
        a = jos.add_noise(0.1, 0.5).init(jnp.zeros(1))  # None: seed 0, without a warning
        b = jos.add_noise(0.1, 0.5, 0).init(jnp.zeros(1))
        chex.assert_trees_all_equal(a, b)
        with pytest.warns(DeprecationWarning, match="`seed` is deprecated"):
            c = jos.add_noise(0.1, 0.5, seed=0).init(jnp.zeros(1))
        chex.assert_trees_all_equal(a, c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(ValueError, match="either `key` or the deprecated `seed`"):
                jos.add_noise(0.1, 0.5, 1, seed=0)
        with pytest.raises(TypeError, match="`key` must be a typed PRNG key"):
            jos.add_noise(0.1, 0.5, 0.5)
        with pytest.raises(ValueError, match=r"`eta` must lie in \[0, inf\)"):
            jos.add_noise(-0.1, 0.5, 0)
