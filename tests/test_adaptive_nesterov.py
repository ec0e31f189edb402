"""Tests for jaxopt_scratch/_transforms/adaptive_nesterov.py (scale_by_adan).

optax parity over 50 steps is in test_aliases_adam_variants.py.
"""

import chex
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import nested_params

import jaxopt_scratch as jos


class AdanTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_two_steps_by_hand(self):
        b1, b2, b3, eps = 0.5, 0.8, 0.9, 1e-3
        g1, g2 = jnp.asarray([0.5, -2.0]), jnp.asarray([1.5, -1.0])
        tx = jos.scale_by_adan(b1, b2, b3, eps)
        update = self.variant(tx.update)
        u1, state = update(g1, tx.init(g1))
        u2, state = update(g2, state)
        # Step 1 has no difference yet; step 2 uses g2 - g1 (Algorithm 1, decays as keep rates).
        m1, v1, n1 = (1 - b1) * g1, 0 * g1, (1 - b3) * g1**2
        d = g2 - g1
        m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * d
        n2 = b3 * n1 + (1 - b3) * (g2 + (1 - b2) * d) ** 2
        hat = lambda x, b: x / (1 - b**2)
        expected = (hat(m2, b1) + (1 - b2) * hat(v2, b2)) / (jnp.sqrt(hat(n2, b3)) + eps)
        np.testing.assert_allclose(u1, (m1 / (1 - b1)) / (jnp.sqrt(n1 / (1 - b3)) + eps),
                                   rtol=1e-5)  # float32 rounding
        np.testing.assert_allclose(u2, expected, rtol=1e-5)
        chex.assert_trees_all_equal(state.g, g2)  # the previous gradient, for the next step
        self.assertEqual(int(state.t), 2)

    def test_state_fields_and_shapes_are_optax_s(self):
        # Same names (Adan's count is `t`) and leaf shapes, so an optax state maps over.
        p = nested_params()
        ours, theirs = jos.scale_by_adan().init(p), optax.scale_by_adan().init(p)
        self.assertEqual(ours._fields, theirs._fields)
        chex.assert_trees_all_equal_shapes(tuple(ours), tuple(theirs))

    def test_out_of_range_decay_names_it(self):
        with pytest.raises(ValueError, match=r"`b3` must lie in \[0, 1\)"):
            jos.scale_by_adan(b3=1.0)
