"""Tests for jaxopt_scratch/_transforms/factored.py (scale_by_factored_rms, FactoredState)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import check_optax_parity
from absl.testing import parameterized

import jaxopt_scratch as jos


def matrix_params(dtype=jnp.float32):
    """A matrix, a 3-d block, a vector and a scalar (what the factoring rule tells apart)."""
    w = jnp.linspace(-1.0, 1.2, 12, dtype=dtype).reshape(3, 4)
    k = jnp.linspace(0.9, -0.7, 24, dtype=dtype).reshape(2, 4, 3)
    return {"w": w, "k": k, "b": jnp.asarray([0.3, -0.2, 0.1], dtype), "s": jnp.asarray(0.7, dtype)}


def _capped(step, rate):  # a custom schedule (Zhai et al.): capped at 0.9
    return jnp.minimum(0.9, 1 - (jnp.asarray(step).astype(jnp.float32) + 1) ** -rate)


CONFIGS = {
    "factored": {"min_dim_size_to_factor": 3},  # w and k factored
    "non_default": {"min_dim_size_to_factor": 2, "decay_rate": 0.5, "step_offset": -3,
                    "epsilon": 1e-3, "decay_rate_fn": _capped},
}


def _build(lib, name):
    return lib.chain(lib.scale_by_factored_rms(**CONFIGS[name]), lib.scale_by_learning_rate(0.02))


# Module-level optax builders, so that the runs are cached.
OPTAX = {name: (lambda name=name: _build(optax, name)) for name in CONFIGS}


class ParityTest(chex.TestCase):
    # Formulas in float64 (to double rounding, _problems.OPTAX_X64) and the float32 run
    # (rounding only: rsqrt against optax's x ** -0.5; measured <= 1.2e-7 absolute).

    def test_matches_optax_in_float64_over_50_steps(self):
        check_optax_parity(self, _build(jos, "non_default"), "factored non_default",
                           OPTAX["non_default"], params_fn=matrix_params)

    # The unfactored path (every leaf under the default min_dim_size_to_factor) runs in
    # test_aliases_rms_variants.py's Adafactor parity.
    def test_matches_optax_in_float32_over_50_steps(self):
        check_optax_parity(self, _build(jos, "factored"), "factored factored",
                           OPTAX["factored"], dtype_name="float32",
                           tol={"rtol": 1e-5, "atol": 1e-6}, params_fn=matrix_params)

    @parameterized.named_parameters(("factored", 3), ("default", 128))
    def test_state_shapes_are_optax_s(self, min_dim):
        p = matrix_params()
        ours = jos.scale_by_factored_rms(min_dim_size_to_factor=min_dim).init(p)
        theirs = optax.scale_by_factored_rms(min_dim_size_to_factor=min_dim).init(p)
        self.assertEqual(ours._fields, theirs._fields)
        chex.assert_trees_all_equal_shapes(tuple(ours), tuple(theirs))


class FactoredRmsTest(chex.TestCase):

    @chex.variants(with_jit=True)
    def test_rank_one_squares_are_factored_exactly(self):
        # For |g|^2 = r c^T the row/column estimate is exact, so u = g / |g| = sign(g).
        g = jnp.outer(jnp.asarray([1.0, -2.0, 0.5]), jnp.asarray([2.0, 1.0, -4.0, 3.0]))
        tx = jos.scale_by_factored_rms(min_dim_size_to_factor=3, epsilon=0.0)
        u, state = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u, jnp.sign(g), rtol=1e-6)
        self.assertEqual((state.v_row.shape, state.v_col.shape, state.v.shape),
                         ((3,), (4,), (1,)))

    def test_traced_decay_rate_and_offset(self):
        def run(decay_rate, offset):
            tx = jos.scale_by_factored_rms(decay_rate=decay_rate, step_offset=offset)
            g = jnp.asarray([1.0, 2.0])
            state = tx.init(g)
            for scale in (1.0, 3.0):
                u, state = tx.update(scale * g, state)
            return u

        batched = jax.vmap(jax.jit(run))(jnp.asarray([0.8, 0.5]), jnp.asarray([0.0, -2.0]))
        for i, (rate, offset) in enumerate([(0.8, 0.0), (0.5, -2.0)]):
            chex.assert_trees_all_close(batched[i], run(rate, offset), rtol=1e-6)
        self.assertFalse(np.allclose(batched[0], batched[1]))

    def test_shape_mismatch_names_the_leaf(self):
        tx = jos.scale_by_factored_rms(min_dim_size_to_factor=2)
        state = tx.init({"w": jnp.ones((3, 4))})
        with pytest.raises(ValueError, match=r"\['w'\] has shape \(3, 5\)"):
            tx.update({"w": jnp.ones((3, 5))}, state)

    def test_min_dim_size_to_factor_must_be_an_int(self):
        with pytest.raises(TypeError, match="`min_dim_size_to_factor` must be a Python int"):
            jos.scale_by_factored_rms(min_dim_size_to_factor=2.5)

    def test_bad_values_name_the_argument(self):
        with pytest.raises(ValueError, match=r"`epsilon` must lie in \[0, inf\)"):
            jos.scale_by_factored_rms(epsilon=-1.0)
        with pytest.raises(TypeError, match="`decay_rate_fn` must be a function"):
            jos.scale_by_factored_rms(decay_rate_fn=0.8)
