"""Tests for jaxopt_scratch/_transforms/sm3.py (scale_by_sm3, ScaleBySM3State)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import check_optax_parity

import jaxopt_scratch as jos


def cover_params(dtype=jnp.float32):
    """No 0-d leaves: optax's SM3 cannot take them (see test_scalar_leaves)."""
    w = jnp.linspace(-1.0, 1.2, 12, dtype=dtype).reshape(3, 4)
    k = jnp.linspace(0.9, -0.7, 24, dtype=dtype).reshape(2, 4, 3)
    return {"w": w, "k": k, "b": jnp.asarray([0.3, -0.2, 0.1], dtype)}


def _optax_sm3_ema():
    return optax.chain(optax.scale_by_sm3(0.5, 0.9, 1e-3), optax.scale(-0.05))


class ParityTest(chex.TestCase):
    # b2 < 1 averages the squares (b2 = 1, the default sum, runs in
    # test_aliases_rms_variants.py). Float64: double rounding (_problems.OPTAX_X64).

    def test_matches_optax_in_float64_over_50_steps(self):
        check_optax_parity(self, jos.chain(jos.scale_by_sm3(0.5, 0.9, 1e-3),
                                           jos.scale_by_learning_rate(0.05)),
                           "_optax_sm3_ema", _optax_sm3_ema, params_fn=cover_params)

    def test_state_shapes_are_optax_s(self):
        p = cover_params()
        chex.assert_trees_all_equal_shapes(tuple(jos.scale_by_sm3().init(p)),
                                           tuple(optax.scale_by_sm3().init(p)))


class SM3Test(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_accumulators_are_row_and_column_maxima(self):
        g = jnp.asarray([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
        tx = jos.scale_by_sm3(b1=0.0, eps=0.0)
        update = self.variant(tx.update)
        u1, state = update(g, tx.init(g))
        np.testing.assert_allclose(u1, jnp.where(g == 0, 0.0, jnp.sign(g)), rtol=1e-6)
        np.testing.assert_allclose(state.mu[0], [4.0, 9.0])  # max over each row of g^2
        np.testing.assert_allclose(state.mu[1], [9.0, 4.0, 1.0])  # over each column
        u2, _ = update(g, state)
        # nu_2 = g^2 + min(row max, column max), entry by entry (b2 = 1: a sum).
        nu = g**2 + jnp.minimum(jnp.asarray([[4.0], [9.0]]), jnp.asarray([[9.0, 4.0, 1.0]]))
        np.testing.assert_allclose(u2, g / jnp.sqrt(nu), rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_scalar_leaves(self):
        # Deviation (scale_by_sm3's note): optax 0.2.8 fails on a 0-d leaf; here it
        # keeps one 0-d accumulator, like a vector entry.
        tx = jos.scale_by_sm3(b1=0.0)
        u, state = self.variant(tx.update)(jnp.asarray(-2.0), tx.init(jnp.asarray(0.0)))
        np.testing.assert_allclose(u, -1.0, rtol=1e-6)
        self.assertEqual(state.mu[0].shape, ())
        with pytest.raises(IndexError):
            ref = optax.scale_by_sm3()
            ref.update(jnp.asarray(-2.0), ref.init(jnp.asarray(0.0)))

    def test_b2_is_traceable(self):
        # b2 = 1 (a sum) and b2 < 1 (an average) are one jnp.where: vmap over b2 works.
        def run(b2):
            tx = jos.scale_by_sm3(b1=0.0, b2=b2)
            g = jnp.asarray([[1.0, 2.0], [3.0, 4.0]])
            _, state = tx.update(g, tx.init(g))
            return tx.update(g, state)[0]

        batched = jax.vmap(jax.jit(run))(jnp.asarray([1.0, 0.5]))
        for i, b2 in enumerate((1.0, 0.5)):
            chex.assert_trees_all_close(batched[i], run(b2), rtol=1e-6)
        self.assertFalse(np.allclose(batched[0], batched[1]))

    def test_errors_name_the_argument(self):
        with pytest.raises(ValueError, match=r"`b2` must lie in \[0, 1\]"):
            jos.scale_by_sm3(b2=1.5)
        with pytest.raises(TypeError, match="does not support complex params"):
            jos.scale_by_sm3().init(jnp.ones(2, jnp.complex64))
