"""Tests for jaxopt_scratch/_contrib/momo.py (MoMo, MoMo-Adam)."""

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
    """The loss whose gradient is _problems.nested_grad, shifted so that 10 is a lower bound gap."""
    return sum(jnp.sum(x**2 - jnp.cos(3 * x) / 3) for x in jax.tree.leaves(params)) + 10.0


def _value(params):
    return {"value": _loss(params)}


CASES = (
    ("momo_default", "momo", {}, _problems.OPTAX_PLAIN),
    ("momo_non_default", "momo", {"learning_rate": 0.5, "beta": 0.5, "lower_bound": 5.0,
                                  "weight_decay": 0.1, "adapt_lower_bound": True},
     _problems.OPTAX_PLAIN),
    # MoMo-Adam bias-corrects like Adam: optax's naive 1 - b**t (see _problems.OPTAX_ADAM).
    ("momo_adam_default", "momo_adam", {}, _problems.OPTAX_ADAM),
    ("momo_adam_non_default", "momo_adam",
     {"learning_rate": 0.05, "b1": 0.5, "b2": 0.9, "eps": 1e-3, "lower_bound": 5.0,
      "weight_decay": 0.1, "adapt_lower_bound": True}, _problems.OPTAX_ADAM),
)


class ParityTest(chex.TestCase):

    @parameterized.named_parameters(*CASES)
    def test_matches_optax_over_50_steps(self, name, kwargs, tol):
        (got, state), (want, ostate) = _problems.optax_pair(
            getattr(jos.contrib, name)(**kwargs), getattr(optax.contrib, name)(**kwargs),
            extra=_value)
        chex.assert_trees_all_close(got, want, **tol)
        np.testing.assert_allclose(state.lb, ostate.lb, rtol=1e-5)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_momo_step_is_the_polyak_step(self):
        # d = g, f_bar = f, gamma = <g, x>: tau = min(lr, f / |g|^2).
        tx = jos.contrib.momo(learning_rate=10.0)
        p = jnp.asarray([1.0, -2.0])
        u, _ = self.variant(tx.update)(2 * p, tx.init(p), p, value=jnp.sum(p**2))
        np.testing.assert_allclose(u, -(5.0 / 20.0) * 2 * p, rtol=1e-6)


class BehaviourTest(chex.TestCase):

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, beta, lower_bound, weight_decay, b2, eps):
            inner = jos.chain(
                jos.contrib.momo(learning_rate, beta, lower_bound, weight_decay,
                                 adapt_lower_bound=True),
                jos.contrib.momo_adam(learning_rate, beta, b2, eps, lower_bound, weight_decay))
            return jos.GradientTransformation(
                inner.init, lambda g, s, p: inner.update(g, s, p, value=_loss(p)))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [1.0, 0.5], "beta": [0.9, 0.5], "lower_bound": [0.0, 5.0],
            "weight_decay": [0.0, 0.1], "b2": [0.999, 0.9], "eps": [1e-8, 1e-3]}, steps=5,
            rtol=1e-5, atol=1e-6)

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        for tx in (jos.contrib.momo(), jos.contrib.momo_adam()):
            u, state = tx.update(params, tx.init(params), params, value=jnp.float32(1.0))
            self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
            self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))


class ErrorTest(parameterized.TestCase):

    def test_update_needs_the_loss_value(self):
        tx = jos.contrib.momo()
        with pytest.raises(ValueError, match="value=loss"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))

    @parameterized.named_parameters(("beta", lambda: jos.contrib.momo(beta=1.0), "beta"),
                                    ("b2", lambda: jos.contrib.momo_adam(b2=-1.0), "b2"),
                                    ("lb", lambda: jos.contrib.momo(lower_bound=float("nan")),
                                     "lower_bound"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()
