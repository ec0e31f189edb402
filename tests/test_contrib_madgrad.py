"""Tests for jaxopt_scratch/_contrib/madgrad.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _schedule(count):
    return 0.02 / (1.0 + count.astype(jnp.float32))


class MadgradTest(chex.TestCase):

    @parameterized.named_parameters(
        ("default", 0.02, {}),
        ("non_default", 0.02, {"momentum": 0.5, "weight_decay": 0.1, "eps": 1e-3}),
        ("schedule", _schedule, {}))
    def test_matches_optax_over_50_steps(self, lr, kwargs):
        (got, _), (want, _) = _problems.optax_pair(jos.contrib.madgrad(lr, **kwargs),
                                                   optax.contrib.madgrad(lr, **kwargs))
        # No bias correction; the cube root and sums in another order: 8e-8 measured.
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_PLAIN)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_step_from_the_paper(self):
        # lambda_0 = lr; s = lr g, nu = lr g^2; z = x0 - s / nu^(1/3); x1 = (1-c) z + c x0.
        tx = jos.contrib.madgrad(0.1, momentum=0.9, eps=0.0)
        p, g = jnp.asarray([1.0]), jnp.asarray([8.0])
        u, _ = self.variant(tx.update)(g, tx.init(p), p)
        z = 1.0 - 0.1 * 8.0 / np.cbrt(0.1 * 64.0)
        np.testing.assert_allclose(u, [0.1 * (z - 1.0)], rtol=1e-6)

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda learning_rate, momentum, weight_decay, eps: jos.contrib.madgrad(
                learning_rate, momentum, weight_decay, eps),
            {"learning_rate": [0.02, 0.05], "momentum": [0.9, 0.5], "weight_decay": [0.0, 0.1],
             "eps": [1e-6, 1e-2]})

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.madgrad(0.02)
        u, state = tx.update(params, tx.init(params), params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
        self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))

    @parameterized.named_parameters(("momentum", {"momentum": 1.0}, "momentum"),
                                    ("eps", {"eps": -1.0}, "eps"),
                                    ("weight_decay", {"weight_decay": -1.0}, "weight_decay"))
    def test_bad_arguments_raise_naming_them(self, kwargs, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            jos.contrib.madgrad(0.1, **kwargs)
