"""Tests for jaxopt_scratch/_contrib/coin_betting.py (COCOB, Mechanic)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


class ParityTest(chex.TestCase):

    @parameterized.named_parameters(
        ("default", {}),
        ("non_default", {"learning_rate": 0.5, "alpha": 10.0, "eps": 1e-3, "weight_decay": 0.1,
                         "mask": _problems.size_mask}))
    def test_cocob_matches_optax_over_50_steps(self, kwargs):
        (got, _), (want, _) = _problems.optax_pair(jos.contrib.cocob(**kwargs),
                                                   optax.contrib.cocob(**kwargs))
        # The same float32 formulas: measured equal to the last bit.
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_PLAIN)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @parameterized.named_parameters(
        ("sgd", lambda m: m.sgd(0.1), {}, 50),
        # Mechanic's scale grows geometrically and amplifies optax's naive 1 - b**t in
        # the inner Adam (1.6e-3 apart after 50 steps, 6e-6 after 20): 20 steps.
        ("adam_non_default", lambda m: m.adam(0.1),
         {"weight_decay": 0.1, "eps": 1e-6, "s_init": 1e-3, "num_betas": 3}, 20))
    def test_mechanize_matches_optax(self, inner, kwargs, steps):
        (got, state), (want, ostate) = _problems.optax_pair(
            jos.contrib.mechanize(inner(jos), **kwargs),
            optax.contrib.mechanize(inner(optax), **kwargs), steps=steps)
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)
        np.testing.assert_allclose(state.s, ostate.s, rtol=1e-4)


class BehaviourTest(chex.TestCase):

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, alpha, eps, weight_decay, mech_decay, mech_eps, s_init):
            return jos.chain(
                jos.contrib.cocob(learning_rate, alpha, eps, weight_decay),
                jos.contrib.mechanize(jos.sgd(learning_rate), mech_decay, mech_eps, s_init))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [1.0, 0.5], "alpha": [100.0, 10.0], "eps": [1e-8, 1e-2],
            "weight_decay": [0.0, 0.1], "mech_decay": [1e-2, 0.1], "mech_eps": [1e-8, 1e-3],
            "s_init": [1e-6, 1e-3]}, steps=5, rtol=1e-5, atol=1e-6)

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        for tx in (jos.contrib.cocob(), jos.contrib.mechanize(jos.sgd(0.1))):
            u, state = tx.update(params, tx.init(params), params)
            self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
            self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("alpha", lambda: jos.contrib.cocob(alpha=float("nan")), "alpha"),
        ("eps", lambda: jos.contrib.scale_by_cocob(eps=-1.0), "eps"),
        ("s_init", lambda: jos.contrib.mechanize(jos.sgd(1.0), s_init=0.0), "s_init"),
        ("num_betas", lambda: jos.contrib.mechanize(jos.sgd(1.0), num_betas=0), "num_betas"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_base_optimizer_must_be_a_transform(self):
        with pytest.raises(TypeError, match="`base_optimizer`"):
            jos.contrib.mechanize(jos.sgd)
