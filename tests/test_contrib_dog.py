"""Tests for jaxopt_scratch/_contrib/dog.py (DoG, DoWG)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

CASES = (
    ("dog_default", {}, "dog"),
    ("dog_distance", {"learning_rate": 0.5, "init_step": ("distance", 0.1), "eps": 1e-3,
                      "weight_decay": 0.1, "mask": _problems.size_mask}, "dog"),
    ("dog_learning_rate", {"init_step": ("learning_rate", 0.05)}, "dog"),
    ("dowg_default", {}, "dowg"),
    ("dowg_non_default", {"learning_rate": 0.5, "init_estim_sq_dist": 0.1, "eps": 1e-3,
                          "weight_decay": 0.1}, "dowg"),
)


class ParityTest(chex.TestCase):

    @parameterized.named_parameters(*CASES)
    def test_matches_optax_over_50_steps(self, kwargs, name):
        (got, _), (want, _) = _problems.optax_pair(getattr(jos.contrib, name)(**kwargs),
                                                   getattr(optax.contrib, name)(**kwargs))
        # Same float32 formulas (global norms in a different order): measured <= 1e-11.
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_PLAIN)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_dog_step_with_a_learning_rate_init(self):
        tx = jos.contrib.dog(init_step=("learning_rate", 0.1))
        p = jnp.asarray([1.0, -2.0])
        u, state = self.variant(tx.update)(2 * p, tx.init(p), p)
        np.testing.assert_allclose(u, -0.1 * 2 * p, rtol=1e-6)
        self.assertFalse(bool(state[1].is_init_step))


class BehaviourTest(chex.TestCase):

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, r0, eps, weight_decay, sq0, eps2):
            return jos.chain(
                jos.contrib.dog(learning_rate, ("heuristic", r0), eps, weight_decay),
                jos.contrib.dowg(learning_rate, sq0, eps2, weight_decay))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [1.0, 0.5], "r0": [1e-2, 1e-1], "eps": [1e-8, 1e-3],
            "weight_decay": [0.0, 0.1], "sq0": [1e-2, 1e-1], "eps2": [1e-4, 1e-2]}, steps=5,
            rtol=1e-5, atol=1e-6)

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        for tx in (jos.contrib.dog(), jos.contrib.dowg()):
            u, state = tx.update(params, tx.init(params), params)
            self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
            self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("kind", lambda: jos.contrib.dog(init_step=("guess", 1.0)), "init_step"),
        ("value", lambda: jos.contrib.dog(init_step=("distance", -1.0)), "init_step"),
        ("dowg_eps", lambda: jos.contrib.dowg(eps=-1.0), "eps"),
        ("dowg_sq", lambda: jos.contrib.dowg(init_estim_sq_dist=-1.0), "init_estim_sq_dist"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_update_needs_params(self):
        tx = jos.contrib.dog()
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
