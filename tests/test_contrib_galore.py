"""Tests for jaxopt_scratch/_contrib/galore.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def galore_params(dtype=jnp.float32):
    """A tall and a wide matrix (projected) plus a vector and a scalar (not projected).

    optax's GaLore cannot take ``None`` leaves, so the nested tree of _problems is not used.
    """
    return {"tall": jnp.asarray(np.sin(np.arange(24.0)).reshape(6, 4), dtype),
            "wide": jnp.asarray(np.cos(np.arange(15.0)).reshape(3, 5), dtype),
            "b": jnp.asarray([0.3, -0.2, 0.1], dtype), "s": jnp.asarray(0.7, dtype)}


class GaloreTest(chex.TestCase):

    @parameterized.named_parameters(
        ("default_adam", lambda m: {"rank": 2, "update_proj_gap": 10}),
        ("non_default", lambda m: {"rank": 1, "update_proj_gap": 5, "scale": 0.5,
                                   "weight_decay": 0.1}),
        ("sgd_base", lambda m: {"rank": 2, "base_optimizer": m.sgd(1.0, momentum=0.9)}))
    def test_matches_optax_over_50_steps(self, kwargs):
        (got, state), (want, _) = _problems.optax_pair(
            jos.contrib.galore(0.02, **kwargs(jos)), optax.contrib.galore(0.02, **kwargs(optax)),
            params=galore_params())
        # Same SVDs; Adam's bias correction as in _problems.OPTAX_ADAM.
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)
        self.assertEqual(state[0].projector["tall"].shape[0], 6)  # left projector for m >= n
        self.assertEqual(state[0].projector["wide"].shape[0], 5)  # right projector for m < n

    def test_dimension_numbers_for_a_3d_weight_match_optax(self):
        params = {"qkv": jnp.asarray(np.sin(np.arange(24.0)).reshape(4, 2, 3), jnp.float32),
                  "b": jnp.ones(2)}
        (got, _), (want, _) = _problems.optax_pair(
            jos.contrib.galore(0.02, rank=2, weight_dimension_numbers={
                "qkv": jos.contrib.GaLoreDimensionNumbers(0, (1, 2)), "b": None}),
            optax.contrib.galore(0.02, rank=2, weight_dimension_numbers={
                "qkv": optax.contrib.GaLoreDimensionNumbers(0, (1, 2)), "b": None}),
            params=params, steps=10)
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)

    def test_projected_update_lies_in_the_gradient_subspace(self):
        # With rank 1 and SGD as base, the update is P P^T G: the best rank-1 part of G.
        g = jnp.asarray(np.outer([1.0, 2.0, 3.0], [1.0, -1.0]) + 0.01 * np.eye(3, 2), jnp.float32)
        tx = jos.contrib.scale_by_galore(rank=1, base_optimizer=jos.identity())
        u, _ = jax.jit(tx.update)(g, tx.init(g))
        uu, ss, vt = np.linalg.svd(np.asarray(g))
        np.testing.assert_allclose(u, ss[0] * np.outer(uu[:, 0], vt[0]), atol=1e-5)

    def test_vmap_over_the_numeric_hyperparameters_matches_the_loop(self):
        params = {"w": jnp.asarray([[0.8, -0.3], [1.5, 0.2], [0.1, 0.4]]), "s": jnp.asarray(-0.6)}
        _problems.assert_vmap_matches_loop(
            self, lambda lr, scale, wd: jos.contrib.galore(lr, rank=1, scale=scale,
                                                           weight_decay=wd),
            {"lr": [0.02, 0.05], "scale": [1.0, 0.5], "wd": [0.0, 0.1]}, params=params)

    def test_bfloat16_params(self):
        tx = jos.contrib.galore(0.02, rank=2)
        params = galore_params(jnp.bfloat16)
        u, _ = jax.jit(tx.update)(params, tx.init(params), params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="`rank`"):
            jos.contrib.galore(0.1, rank=0)
        with pytest.raises(TypeError, match="`rank`"):
            jos.contrib.galore(0.1, rank=2.0)
        with pytest.raises(ValueError, match="`update_proj_gap`"):
            jos.contrib.galore(0.1, update_proj_gap=0)
