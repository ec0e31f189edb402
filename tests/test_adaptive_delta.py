"""Tests for jaxopt_scratch/_transforms/adaptive_delta.py (scale_by_adadelta).

optax parity over 50 steps is in test_aliases_rms_variants.py.
"""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos


class AdadeltaTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_two_steps_by_hand(self):
        rho, eps = 0.5, 1e-2
        g1, g2 = jnp.asarray([0.5, -2.0]), jnp.asarray([1.0, 1.0])
        tx = jos.scale_by_adadelta(rho, eps)
        update = self.variant(tx.update)
        u1, state = update(g1, tx.init(g1))
        u2, state = update(g2, state)
        eg1 = (1 - rho) * g1**2
        x1 = np.sqrt(eps) / np.sqrt(eg1 + eps) * g1
        ex1 = (1 - rho) * x1**2
        eg2 = rho * eg1 + (1 - rho) * g2**2
        x2 = np.sqrt(ex1 + eps) / np.sqrt(eg2 + eps) * g2
        np.testing.assert_allclose(u1, x1, rtol=1e-6)  # float32 rounding
        np.testing.assert_allclose(u2, x2, rtol=1e-6)
        np.testing.assert_allclose(state.e_x, rho * ex1 + (1 - rho) * x2**2, rtol=1e-6)

    def test_nan_stays_in_its_coordinate(self):
        tx = jos.scale_by_adadelta()
        u, _ = tx.update(jnp.asarray([jnp.nan, 1.0]), tx.init(jnp.zeros(2)))
        self.assertTrue(np.isnan(u[0]) and np.isfinite(u[1]))

    def test_out_of_range_names_the_argument(self):
        with pytest.raises(ValueError, match=r"`rho` must lie in \[0, 1\)"):
            jos.scale_by_adadelta(rho=1.0)
        with pytest.raises(ValueError, match=r"`eps` must lie in \[0, inf\)"):
            jos.scale_by_adadelta(eps=-1.0)
