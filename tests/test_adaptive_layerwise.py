"""Tests for jaxopt_scratch/_transforms/adaptive_layerwise.py (scale_by_novograd).

optax parity over 50 steps is in test_aliases_adam_variants.py.
"""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos

P = {"w": jnp.asarray([1.0, 2.0]), "s": jnp.asarray(-0.5)}


class NovogradTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_two_steps_by_hand(self):
        b1, b2, eps, wd = 0.9, 0.25, 1e-3, 0.1
        g1 = {"w": jnp.asarray([3.0, -4.0]), "s": jnp.asarray(2.0)}
        g2 = {"w": jnp.asarray([1.0, 1.0]), "s": jnp.asarray(-1.0)}
        tx = jos.scale_by_novograd(b1, b2, eps, weight_decay=wd)
        update = self.variant(tx.update)
        _, state = update(g1, tx.init(P), P)
        u2, state = update(g2, state, P)
        for k, p in P.items():
            n1 = np.sum(np.square(g1[k]))  # the first step starts the average at ||g||^2
            m1 = g1[k] / (np.sqrt(n1) + eps) + wd * p
            n2 = b2 * n1 + (1 - b2) * np.sum(np.square(g2[k]))
            m2 = b1 * m1 + g2[k] / (np.sqrt(n2) + eps) + wd * p
            np.testing.assert_allclose(u2[k], m2, rtol=1e-6)  # float32 rounding
            np.testing.assert_allclose(state.nu[k], n2, rtol=1e-6)
            self.assertEqual(state.nu[k].shape, ())  # one second moment per leaf

    def test_needs_params(self):
        tx = jos.scale_by_novograd()
        with pytest.raises(ValueError, match="`scale_by_novograd` needs the current parameters"):
            tx.update(P, tx.init(P))

    def test_nan_fills_its_leaf_only(self):
        tx = jos.scale_by_novograd()
        u, _ = tx.update({"w": jnp.asarray([jnp.nan, 1.0]), "s": jnp.asarray(1.0)}, tx.init(P), P)
        self.assertTrue(np.all(np.isnan(u["w"])) and np.isfinite(u["s"]))  # the norm is per leaf

    def test_out_of_range_names_the_argument(self):
        with pytest.raises(ValueError, match=r"`weight_decay` must lie in \[0, inf\)"):
            jos.scale_by_novograd(weight_decay=-1.0)
