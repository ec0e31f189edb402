"""Tests for jaxopt_scratch/_contrib/sophia.py (Sophia, Hutchinson's estimator)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _loss(params):
    return sum(jnp.sum(x**2 - jnp.cos(3 * x) / 3) for x in jax.tree.leaves(params))


def _obj(params):
    del params
    return {"obj_fn": _loss}


class SophiaTest(chex.TestCase):

    @parameterized.named_parameters(
        ("default", {}, 50),
        ("non_default", {"b1": 0.5, "b2": 0.9, "eps": 1e-3, "weight_decay": 0.1, "gamma": 0.1,
                         "clip_threshold": 0.5, "update_interval": 3}, 50),
        # Unclipped: h is near 0 or negative where cos(3x) < -2/3, so eps floors it at 1.
        ("unclipped", {"clip_threshold": None, "update_interval": 2, "eps": 1.0, "gamma": 1.0},
         50))
    def test_matches_optax(self, kwargs, steps):
        (got, state), (want, ostate) = _problems.optax_pair(
            jos.contrib.sophia(0.02, **kwargs), optax.contrib.sophia(0.02, **kwargs),
            extra=_obj, steps=steps)
        # Adam-style bias correction of m (optax's naive 1 - b**t): see OPTAX_ADAM.
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)
        chex.assert_trees_all_close(state[0].nu, ostate[0].nu, rtol=1e-4, atol=1e-6)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_hutchinson_is_exact_for_a_diagonal_hessian(self):
        # u * (H u) with u_i = +-1 and H diagonal is diag(H) for every probe.
        tx = jos.contrib.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(3))
        p = {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(0.5)}
        f = lambda q: 3.0 * jnp.sum(q["a"] ** 2) + jnp.sin(q["b"])
        est, state = self.variant(lambda q, s: tx.update(q, s, q, obj_fn=f))(p, tx.init(p))
        chex.assert_trees_all_close(est, {"a": jnp.asarray([6.0, 6.0]),
                                          "b": -jnp.sin(jnp.asarray(0.5))}, rtol=1e-6)
        self.assertFalse(np.array_equal(jax.random.key_data(state.key),
                                        jax.random.key_data(jax.random.PRNGKey(3))))

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, b1, b2, eps, weight_decay, gamma, clip_threshold):
            inner = jos.contrib.sophia(learning_rate, b1, b2, eps, weight_decay, None, gamma,
                                       clip_threshold, update_interval=2)
            return jos.GradientTransformation(
                inner.init, lambda g, s, p: inner.update(g, s, p, obj_fn=_loss))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [0.02, 0.05], "b1": [0.965, 0.5], "b2": [0.99, 0.5],
            "eps": [1e-8, 1e-1], "weight_decay": [1e-4, 0.1], "gamma": [0.01, 1.0],
            "clip_threshold": [1.0, 0.5]}, steps=5)

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.sophia(0.02)
        u, state = tx.update(params, tx.init(params), params, obj_fn=_loss)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
        self.assertTrue(all(x.dtype == jnp.float32 for x in jax.tree.leaves(state[0].nu)))

    @parameterized.named_parameters(("gamma", {"gamma": 0.0}, "gamma"),
                                    ("clip", {"clip_threshold": -1.0}, "clip_threshold"),
                                    ("interval", {"update_interval": 0}, "update_interval"),
                                    ("b2", {"b2": 1.0}, "b2"))
    def test_bad_arguments_raise_naming_them(self, kwargs, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            jos.contrib.sophia(0.1, **kwargs)

    def test_hutchinson_needs_the_objective(self):
        tx = jos.contrib.sophia(0.1)
        with pytest.raises(ValueError, match="obj_fn="):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))
