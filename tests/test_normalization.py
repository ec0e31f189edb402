"""Tests for jaxopt_scratch/_transforms/normalization.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

LR = 0.05


def _optax_normalize():
    return optax.chain(optax.normalize_by_update_norm(), optax.scale(-LR))


def _optax_normalize_nd():
    return optax.normalize_by_update_norm(scale_factor=-0.03, eps=0.5)


def _optax_centralize():
    return optax.chain(optax.centralize(), optax.scale(-LR))


class NormalizeByUpdateNormTest(chex.TestCase):

    @chex.variants(with_jit=True)
    @parameterized.named_parameters(
        ("default", {}, LR, _optax_normalize),
        ("non_default", {"scale_factor": -0.03, "eps": 0.5}, None, _optax_normalize_nd))
    def test_matches_optax_over_50_steps(self, kwargs, lr, theirs):
        tx = jos.normalize_by_update_norm(**kwargs)
        tx = tx if lr is None else jos.chain(tx, jos.scale(-lr))
        _problems.check_parity(self, self.variant, tx, optax_key=f"normalize {theirs.__name__}",
                               optax_build=theirs)

    @chex.variants(with_jit=True, without_jit=True)
    def test_step_length_is_the_scale_factor(self):
        tx = jos.normalize_by_update_norm(scale_factor=2.0, eps=0.0)
        g = {"a": jnp.asarray([3.0, 0.0]), "b": (jnp.asarray(4.0),)}
        u, state = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(np.linalg.norm(np.concatenate(
            [np.ravel(x) for x in jax.tree.leaves(u)])), 2.0, rtol=1e-6)
        np.testing.assert_allclose(u["a"], [1.2, 0.0], rtol=1e-6)
        self.assertEqual(state, jos.EmptyState())

    def test_huge_float32_gradient_still_gives_a_unit_step(self):
        # The naive sum of squares overflows to inf and optax's step becomes 0.
        tx = jos.normalize_by_update_norm(eps=0.0)
        u, _ = jax.jit(tx.update)(jnp.asarray([3e30, 4e30]), tx.init(jnp.zeros(2)))
        np.testing.assert_allclose(u, [0.6, 0.8], rtol=1e-6)

    def test_zero_update_stays_zero_and_nan_spreads(self):
        tx = jos.normalize_by_update_norm()
        u, _ = tx.update({"a": jnp.zeros(2)}, tx.init({"a": jnp.zeros(2)}))
        np.testing.assert_array_equal(u["a"], [0.0, 0.0])
        g = {"a": jnp.asarray([1.0, jnp.nan]), "b": jnp.ones(1)}
        u, _ = tx.update(g, tx.init(g))
        self.assertTrue(np.all(np.isnan(u["a"])) and np.all(np.isnan(u["b"])))  # as optax

    def test_bfloat16_updates_keep_their_dtype(self):
        g = _problems.nested_grad(_problems.nested_params(jnp.bfloat16))
        tx = jos.normalize_by_update_norm()
        u, _ = jax.jit(tx.update)(g, tx.init(g))
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))

    def test_vmap_over_hyperparameters_matches_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda scale_factor, eps: jos.normalize_by_update_norm(scale_factor, eps),
            {"scale_factor": [-0.1, -0.02, 0.05], "eps": [1e-6, 0.3, 2.0]})

    def test_negative_eps_raises(self):
        with pytest.raises(ValueError, match="`eps`"):
            jos.normalize_by_update_norm(eps=-1.0)


class CentralizeTest(chex.TestCase):

    @chex.variants(with_jit=True)
    def test_matches_optax_over_50_steps_on_matrices(self):
        keys = jax.random.split(jax.random.key(0), 3)
        params = {"w": jax.random.normal(keys[0], (3, 4)), "b": jax.random.normal(keys[1], (3,)),
                  "conv": (jax.random.normal(keys[2], (2, 2, 3)),)}
        tx = jos.chain(jos.centralize(), jos.scale(-LR))
        ours = self.variant(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 50))(
            params)[0]
        ref = _problems.optax_run(_optax_centralize(), params, _problems.nested_grad, 50)[0]
        chex.assert_trees_all_close(ours, ref, **_problems.OPTAX_PLAIN)

    @chex.variants(with_jit=True, without_jit=True)
    def test_rows_lose_their_mean_and_vectors_pass_through(self):
        tx = jos.centralize()
        g = {"m": jnp.asarray([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]]), "v": jnp.asarray([1.0, 5.0]),
             "s": jnp.asarray(2.0)}
        u, _ = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u["m"], [[-2.0, -1.0, 3.0], [-1.0, -1.0, 2.0]], rtol=1e-6)
        np.testing.assert_array_equal(u["v"], g["v"])
        np.testing.assert_array_equal(u["s"], g["s"])

    def test_bfloat16_keeps_its_dtype_and_a_constant_row_centres_to_zero(self):
        # 300 equal bfloat16 numbers: a bfloat16 running sum would stall at 256.
        g = jnp.concatenate([jnp.ones((1, 300)), jnp.full((1, 300), 3.0)]).astype(jnp.bfloat16)
        tx = jos.centralize()
        u, _ = jax.jit(tx.update)(g, tx.init(g))
        self.assertEqual(u.dtype, jnp.bfloat16)
        np.testing.assert_array_equal(np.asarray(u, np.float32), np.zeros((2, 300)))

    def test_nan_stays_in_its_row(self):
        tx = jos.centralize()
        g = jnp.asarray([[1.0, jnp.nan], [2.0, 4.0]])
        u, _ = jax.jit(tx.update)(g, tx.init(g))
        self.assertTrue(np.all(np.isnan(u[0])))
        np.testing.assert_array_equal(u[1], [-1.0, 1.0])
