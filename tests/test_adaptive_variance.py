"""Tests for jaxopt_scratch/_transforms/adaptive_variance.py (scale_by_belief, scale_by_yogi, scale_by_radam).

optax parity over 50 steps is in test_aliases_adam_variants.py; here: hand-computed
steps, the special cases (RAdam's switch, Yogi's overflow), NaN, errors.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

G = jnp.asarray([0.5, -2.0, 3.0])


def _steps(variant, tx, grads):
    update, state, out = variant(tx.update), tx.init(grads[0]), []
    for g in grads:
        u, state = update(g, state)
        out.append(u)
    return out, state


class BeliefTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_two_steps_by_hand(self):
        b1, b2, eps, eps_root = 0.9, 0.99, 1e-3, 1e-4
        g1, g2 = G, jnp.asarray([1.0, 1.0, -1.0])
        (u1, u2), state = _steps(self.variant, jos.scale_by_belief(b1, b2, eps, eps_root),
                                 [g1, g2])
        m1 = (1 - b1) * g1
        s1 = (1 - b2) * (g1 - m1) ** 2 + eps_root  # eps_root is added to the stored s_t
        m2 = b1 * m1 + (1 - b1) * g2
        s2 = b2 * s1 + (1 - b2) * (g2 - m2) ** 2 + eps_root
        expected = (m2 / (1 - b1**2)) / (jnp.sqrt(s2 / (1 - b2**2)) + eps)
        np.testing.assert_allclose(u1, (m1 / (1 - b1)) / (jnp.sqrt(s1 / (1 - b2)) + eps),
                                   rtol=1e-5)  # float32 rounding
        np.testing.assert_allclose(u2, expected, rtol=1e-5)
        np.testing.assert_allclose(state.nu, s2, rtol=1e-5)

    @chex.variants(with_jit=True, without_jit=True)
    def test_nesterov_uses_the_look_ahead_first_moment(self):
        (u,), _ = _steps(self.variant, jos.scale_by_belief(eps=0.0, eps_root=0.0,
                                                           nesterov=True), [G])
        # m_hat = b1 m_1 / (1 - b1^2) + (1 - b1) g / (1 - b1) with m_1 = 0.1 g.
        m_hat = 0.9 * 0.1 * G / (1 - 0.81) + G
        np.testing.assert_allclose(u, m_hat / (0.9 * jnp.abs(G) / jnp.sqrt(1.0)), rtol=1e-5)

    def test_nan_stays_in_its_coordinate(self):
        tx = jos.scale_by_belief()
        u, _ = tx.update(G.at[1].set(jnp.nan), tx.init(G))
        self.assertTrue(np.isnan(u[1]) and np.isfinite(u[0]) and np.isfinite(u[2]))


class YogiTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_second_moment_moves_by_the_sign_rule(self):
        b2, v0 = 0.9, 1.0
        tx = jos.scale_by_yogi(b2=b2, initial_accumulator_value=v0)
        g = jnp.asarray([0.5, 2.0, 1.0])  # g^2 below, above and equal to v0
        _, state = _steps(self.variant, tx, [g])
        np.testing.assert_allclose(state.nu, v0 - (1 - b2) * jnp.sign(v0 - g**2) * g**2,
                                   rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_overflowing_square_gives_zero_steps_not_nan(self):
        # Deviation (scale_by_yogi's note): optax turns v = inf into NaN at the next
        # step (sign(inf - inf)); here v stays inf and the steps are 0.
        g = jnp.asarray([1e30, -1e30], jnp.float32)
        us, state = _steps(self.variant, jos.scale_by_yogi(), [g, g, g])
        for u in us:
            chex.assert_trees_all_equal(u, jnp.zeros(2))
        self.assertTrue(np.all(np.isposinf(state.nu)))
        ref = optax.scale_by_yogi()
        with jax.numpy_dtype_promotion("standard"):
            s = ref.init(g)
            for _ in range(2):
                _, s = ref.update(g, s)
        self.assertTrue(np.all(np.isnan(s.nu)))  # optax 0.2.8's behaviour


class RadamTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_momentum_until_rho_reaches_the_threshold(self):
        # b2 = 0.999: rho_t ~ t (rho_5 = 4.996, rho_6 = 5.994), so the first five steps
        # are the bias-corrected momentum and the sixth is rectified.
        tx, plain = jos.scale_by_radam(), jos.ema(0.9)
        grads = [G * (k + 1) for k in range(6)]
        ours, _ = _steps(self.variant, tx, grads)
        momentum, _ = _steps(self.variant, plain, grads)
        for k in range(5):
            np.testing.assert_allclose(ours[k], momentum[k], rtol=1e-6)
        self.assertFalse(np.allclose(ours[5], momentum[5], rtol=1e-3))
        rho_inf = 2 / 0.001 - 1
        rho = rho_inf - 2 * 6 * 0.999**6 / (1 - 0.999**6)
        r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        adam, _ = _steps(self.variant, jos.scale_by_adam(), grads)
        np.testing.assert_allclose(ours[5], r * adam[5], rtol=2e-4)  # r in float32 (rho ~6)

    def test_threshold_is_traceable_and_gradients_stay_finite(self):
        # A traced threshold picks the branch with jnp.where; below the threshold the
        # rectifier's square root is of a negative number, kept out of the gradient.
        def third_step(threshold, g):
            tx = jos.scale_by_radam(threshold=threshold)
            state = tx.init(g)
            for _ in range(3):
                u, state = tx.update(g, state)
            return jnp.sum(u)

        values = jax.vmap(jax.jit(third_step), in_axes=(0, None))(jnp.asarray([5.0, 2.5]), G)
        self.assertTrue(np.isfinite(values[0]))
        self.assertTrue(np.isnan(values[1]))  # rho_3 = 2.999 >= 2.5: (rho - 4) < 0, as optax
        grad = jax.grad(third_step, argnums=1)(jnp.float32(5.0), G)
        self.assertTrue(np.all(np.isfinite(grad)))


class ErrorsTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("belief_b1", lambda: jos.scale_by_belief(b1=1.0), "b1", r"\[0, 1\)"),
        ("belief_eps_root", lambda: jos.scale_by_belief(eps_root=-1.0), "eps_root", r"\[0, inf\)"),
        ("yogi_initial", lambda: jos.scale_by_yogi(initial_accumulator_value=-1.0),
         "initial_accumulator_value", r"\[0, inf\)"),
        ("radam_threshold", lambda: jos.scale_by_radam(threshold=float("nan")), "threshold",
         r"\(-inf, inf\)"))
    def test_out_of_range_names_the_argument(self, make, name, interval):
        with pytest.raises(ValueError, match=rf"`{name}` must lie in {interval}"):
            make()

    def test_mismatched_tree_names_the_transform(self):
        tx = jos.scale_by_belief()
        with pytest.raises(ValueError, match="`scale_by_belief`"):
            tx.update({"a": jnp.ones(2)}, tx.init({"b": jnp.ones(2)}))
