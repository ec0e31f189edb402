"""Tests for jaxopt_scratch/_optimizers/sgd_variants.py (noisy_sgd, fromage)."""

import _problems
import chex
import jax.numpy as jnp
import numpy as np
import optax
from absl.testing import parameterized

import jaxopt_scratch as jos


def _optax_noisy():
    return optax.noisy_sgd(0.02, key=0)


def _optax_fromage():
    return optax.fromage(0.02)


def _optax_fromage_nd():
    return optax.fromage(0.3, min_norm=0.5)


def _schedule(count):
    return 0.05 / (1.0 + count.astype(jnp.float32))


def _optax_fromage_schedule():
    return optax.fromage(_schedule)


class ParityTest(chex.TestCase):
    # Noisy SGD draws the same float32 noise as optax (same keys): equal up to fused
    # multiply-adds (measured: equal to the bit; other eta, gamma and a typed key:
    # tests/test_noise.py, eagerly too). Fromage:
    # rounding only (the sign flips of our chain are exact; measured <= 1.2e-7 after 50
    # steps, from the trust ratio's scaled norm).

    @parameterized.named_parameters(
        ("noisy_sgd_default", lambda: jos.noisy_sgd(0.02, key=0), _optax_noisy,
         {"rtol": 1e-6, "atol": 1e-7}),
        ("fromage_default", lambda: jos.fromage(0.02), _optax_fromage, _problems.OPTAX_PLAIN),
        ("fromage_schedule", lambda: jos.fromage(_schedule), _optax_fromage_schedule,
         _problems.OPTAX_PLAIN))
    def test_matches_optax_in_float32_over_50_steps(self, ours, theirs, tol):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs, dtype_name="float32",
                                     tol=tol)

    def test_fromage_matches_optax_in_float64_over_50_steps(self):
        _problems.check_optax_parity(self, jos.fromage(0.3, min_norm=0.5), "_optax_fromage_nd",
                                     _optax_fromage_nd)


class NoisySgdTest(chex.TestCase):

    def test_inject_hyperparams_keeps_the_key_an_integer(self):
        # The key is a seed, never a traced float: inject_hyperparams stores it as int32
        # (and a vmap over seeds would just work); the noise is the plain alias's.
        p = jnp.asarray([1.0, -2.0])
        tx = jos.inject_hyperparams(jos.noisy_sgd)(learning_rate=0.1, key=3)
        state = tx.init(p)
        self.assertEqual(state.hyperparams["key"].dtype, jnp.int32)
        plain = jos.noisy_sgd(0.1, key=3)
        chex.assert_trees_all_equal(tx.update(p, state)[0], plain.update(p, plain.init(p))[0])


class FromageTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_zero_gradients_shrink_by_one_over_sqrt_one_plus_lr_squared(self):
        tx = jos.fromage(0.5)
        p = jnp.asarray([3.0, -4.0])
        update, state = self.variant(tx.update), tx.init(p)
        for _ in range(3):
            u, state = update(jnp.zeros(2), state, p)
            p = jos.apply_updates(p, u)
        np.testing.assert_allclose(p, np.asarray([3.0, -4.0]) / 1.25**1.5, rtol=1e-6)
