"""Tests for jaxopt_scratch/_transforms/sign.py (scale_by_sign, scale_by_rprop)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos

# A gradient sequence with sign changes, zeros and a NaN-free mix of sizes (3 entries).
GRADS = [jnp.asarray(g, jnp.float32) for g in
         ([1.0, -2.0, 0.0], [3.0, 1.0, 0.5], [2.0, -1.0, 0.5], [-1.0, -1.0, 0.5],
          [1.0, 2.0, 0.5], [0.5, 2.0, -0.5])]


def rprop_oracle(grads, lr, eta_minus, eta_plus, lo, hi):
    """iRprop- (Igel & Huesken 2003, Fig. 1) in float64 NumPy: the update to subtract."""
    step = np.full(3, lr)
    prev = np.zeros(3)  # the previous gradient, zeroed after a sign change
    out = []
    for g in grads:
        g = np.asarray(g, np.float64).copy()
        s = np.sign(g) * np.sign(prev)
        step = np.where(s > 0, np.minimum(step * eta_plus, hi),
                        np.where(s < 0, np.maximum(step * eta_minus, lo), step))
        g[s < 0] = 0.0
        out.append(step * np.sign(g))
        prev = g
    return out


def _run(variant, tx, grads):
    update, state, out = variant(tx.update), tx.init(grads[0]), []
    for g in grads:
        u, state = update(g, state)
        out.append(u)
    return out, state


class ScaleBySignTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_sign_keeps_zero_nan_and_dtype(self):
        tx = jos.scale_by_sign()
        g = jnp.asarray([2.0, -0.5, 0.0, jnp.nan], jnp.bfloat16)
        u, _ = self.variant(tx.update)(g, tx.init(g))
        self.assertEqual(u.dtype, jnp.bfloat16)
        np.testing.assert_array_equal(np.asarray(u, np.float32)[:3], [1.0, -1.0, 0.0])
        self.assertTrue(np.isnan(np.asarray(u, np.float32)[3]))


class RpropTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_the_paper_s_irprop_minus(self):
        args = (0.1, 0.5, 1.2, 0.03, 0.15)  # the clips act within these six steps
        ours, _ = _run(self.variant, jos.scale_by_rprop(*args), GRADS)
        for got, want in zip(ours, rprop_oracle(GRADS, *args)):
            np.testing.assert_allclose(got, want, rtol=1e-6)  # float32 rounding

    def test_optax_returns_the_previous_step_s_update(self):
        # Deviation (scale_by_rprop's note, optax#1725): on the same gradients the states
        # agree exactly; optax's update at step t is ours at t - 1 (0 after a sign change).
        ours, state = _run(jax.jit, jos.scale_by_rprop(0.1), GRADS)
        ref = optax.scale_by_rprop(0.1)
        with jax.numpy_dtype_promotion("standard"):
            s, theirs = ref.init(GRADS[0]), []
            for g in GRADS:
                u, s = ref.update(g, s)
                theirs.append(u)
        chex.assert_trees_all_close(tuple(state), tuple(s), rtol=1e-6)
        chex.assert_trees_all_equal(theirs[0], jnp.zeros(3))
        for t in range(1, len(GRADS)):
            changed = np.sign(GRADS[t]) * np.sign(ours[t - 1]) < 0
            np.testing.assert_allclose(theirs[t], np.where(changed, 0.0, ours[t - 1]), rtol=1e-6)

    def test_invariant_to_rescaling_the_gradient(self):
        # Deviation (note): signs, not products, so 1e-33 gradients adapt like 1.0 ones
        # (optax's products underflow to 0 there and its step sizes stop adapting).
        big, _ = _run(jax.jit, jos.scale_by_rprop(0.1), GRADS)
        tiny, _ = _run(jax.jit, jos.scale_by_rprop(0.1), [1e-33 * g for g in GRADS])
        chex.assert_trees_all_equal(tiny, big)

    def test_inf_gradient_is_a_unit_sign(self):
        # Documented: sign(inf) = 1, so an Inf gradient gives a finite step and state.
        tx = jos.scale_by_rprop(0.1)
        u, state = tx.update(jnp.asarray([jnp.inf, 1.0, 1.0]), tx.init(jnp.zeros(3)))
        np.testing.assert_allclose(u, [0.1, 0.1, 0.1])
        self.assertTrue(np.all(np.isfinite(state.step_sizes)))

    def test_errors_name_the_argument(self):
        with pytest.raises(TypeError, match="`learning_rate` of Rprop is the initial step size"):
            jos.scale_by_rprop(lambda count: 0.1)
        with pytest.raises(ValueError, match=r"`eta_minus` must lie in \[0, inf\)"):
            jos.scale_by_rprop(0.1, eta_minus=-0.5)
        with pytest.raises(ValueError, match="`max_step_size` .* must be at least `min_step_size`"):
            jos.scale_by_rprop(0.1, min_step_size=1.0, max_step_size=0.5)
