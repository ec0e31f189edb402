"""Tests for jaxopt_scratch/_transforms/optimistic.py (scale_by_optimistic_gradient).

optax parity over 50 steps is in test_aliases_optimistic.py.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos


class OptimisticGradientTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_three_steps_by_hand(self):
        alpha, beta = 0.7, 0.2
        grads = [jnp.asarray([1.0, -2.0]), jnp.asarray([3.0, 0.5]), jnp.asarray([-1.0, 1.0])]
        tx = jos.scale_by_optimistic_gradient(alpha, beta)
        update, state, out = self.variant(tx.update), tx.init(grads[0]), []
        for g in grads:
            u, state = update(g, state)
            out.append(u)
        # The first step uses g_0 := g_1, so it is alpha g_1.
        np.testing.assert_allclose(out[0], alpha * grads[0], rtol=1e-6)
        for t in (1, 2):
            np.testing.assert_allclose(out[t], (alpha + beta) * grads[t] - beta * grads[t - 1],
                                       rtol=1e-6)
        self.assertFalse(bool(state.is_initial_step))
        chex.assert_trees_all_equal(state.previous_gradient, grads[2])

    def test_alpha_and_beta_are_traceable(self):
        def second(alpha, beta):
            tx = jos.scale_by_optimistic_gradient(alpha, beta)
            _, state = tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
            return tx.update(3 * jnp.ones(2), state)[0]

        out = jax.vmap(jax.jit(second))(jnp.asarray([1.0, 0.5]), jnp.asarray([1.0, 2.0]))
        np.testing.assert_allclose(out, [[5.0, 5.0], [5.5, 5.5]], rtol=1e-6)

    def test_nan_coefficient_is_refused(self):
        with pytest.raises(ValueError, match=r"`beta` must lie in \(-inf, inf\)"):
            jos.scale_by_optimistic_gradient(beta=float("nan"))
