"""Tests for jaxopt_scratch/_contrib/muon.py (Muon, with the AdamW fallback)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

# Parity after 50 steps. Both run the same float32 Newton-Schulz matmuls; the
# AdamW leaves differ by optax's naive 1 - b**t (see _problems.OPTAX_ADAM),
# measured <= 1e-5 absolute on every leaf.
MUON_TOL = {"rtol": 1e-4, "atol": 3e-5}


def muon_params(dtype=jnp.float32):
    """The nested tree of _problems (vectors and scalars: AdamW) plus a wide, a tall and a 3-D weight."""
    wide = jnp.asarray(np.linspace(-1.0, 1.2, 15).reshape(3, 5), dtype)
    tall = jnp.asarray(np.cos(np.arange(12.0)).reshape(4, 3), dtype)
    return {"nested": _problems.nested_params(dtype), "wide": wide, "tall": tall}


def _run_pair(ours, theirs, params, steps=50):
    got = jax.jit(lambda p: _problems.scan_run(ours, p, _problems.nested_grad, steps))(params)[0]
    want = _problems.optax_run(theirs, params, _problems.nested_grad, steps)[0]
    return got, want


PARITY = (
    ("default", {}),
    ("non_default", {"beta": 0.8, "eps": 1e-6, "weight_decay": 0.1, "nesterov": False,
                     "adam_b1": 0.5, "adam_b2": 0.9, "adam_eps_root": 1e-4,
                     "adam_weight_decay": 0.1, "adam_learning_rate": 0.01,
                     "consistent_rms": 0.2}),
)
# The other structural options change only the matrix path: two matrices, 10 steps.
# adaptive=True scales the step by the nuclear norm, which amplifies float32 rounding
# differences (2e-5 after 10 steps, 1e-2 after 50 on this problem): 3 steps for it.
VARIANTS = (
    ("aol_dion", {"preconditioning": "aol", "ns_coeffs": "dion"}, 10),
    ("schatten_masked_decay", {"preconditioning": "schatten", "weight_decay": 0.1,
                               "weight_decay_mask": {"wide": True, "tall": False}}, 10),
    ("spectral_adaptive", {"preconditioning": "spectral", "adaptive": True}, 3),
)


class ParityTest(chex.TestCase):

    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_over_50_steps(self, kwargs):
        got, want = _run_pair(jos.contrib.muon(0.02, **kwargs),
                              optax.contrib.muon(0.02, **kwargs), muon_params())
        chex.assert_trees_all_close(got, want, **MUON_TOL)
        moved = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(got),
                                                         jax.tree.leaves(muon_params()))]
        self.assertTrue(all(moved))

    @parameterized.named_parameters(*VARIANTS)
    def test_matrix_options_match_optax(self, kwargs, steps):
        params = {k: v for k, v in muon_params().items() if k != "nested"}
        got, want = _run_pair(jos.contrib.muon(0.02, **kwargs),
                              optax.contrib.muon(0.02, **kwargs), params, steps=steps)
        # Same float32 matmuls in a different association order: measured <= 4e-7.
        chex.assert_trees_all_close(got, want, rtol=1e-5, atol=2e-6)

    def test_dimension_numbers_for_a_3d_weight_match_optax(self):
        # A (2, 3, 4) attention-like weight: reduce over axis 0, output axes (1, 2).
        params = {"qkv": jnp.asarray(np.sin(np.arange(24.0)).reshape(2, 3, 4), jnp.float32),
                  "b": jnp.ones(3)}
        dims = {"qkv": jos.contrib.MuonDimensionNumbers(0, (1, 2)), "b": None}
        odims = {"qkv": optax.contrib.MuonDimensionNumbers(0, (1, 2)), "b": None}
        got, want = _run_pair(jos.contrib.muon(0.02, muon_weight_dimension_numbers=dims),
                              optax.contrib.muon(0.02, muon_weight_dimension_numbers=odims),
                              params, steps=20)
        chex.assert_trees_all_close(got, want, **MUON_TOL)

    @chex.variants(with_jit=True)
    def test_scale_by_muon_matches_optax_with_batch_axes(self):
        # Axis 0 is a batch axis: each (3, 4) slice is orthogonalised on its own.
        dims = jos.contrib.MuonDimensionNumbers(1, 2)
        tx = jos.contrib.scale_by_muon(weight_dimension_numbers=dims)
        otx = optax.contrib.scale_by_muon(
            weight_dimension_numbers=optax.contrib.MuonDimensionNumbers(1, 2))
        g = jnp.asarray(np.cos(np.arange(24.0)).reshape(2, 3, 4), jnp.float32)
        state, ostate = tx.init(g), otx.init(g)
        for _ in range(3):
            u, state = self.variant(tx.update)(g, state)
            with jax.numpy_dtype_promotion("standard"):
                ou, ostate = otx.update(g, ostate)
            # optax's naive 1 - beta**t differs from ours by ~1e-7 relative; the
            # iteration's slope (up to a = 3.4 near 0) amplifies it: 7e-6 measured.
            chex.assert_trees_all_close(u, ou, rtol=1e-4, atol=2e-5)


class BehaviourTest(chex.TestCase):

    def test_singular_values_are_pulled_near_one(self):
        # Jordan's coefficients put every singular value in about [0.68, 1.13] after
        # 5 steps, whatever the gradient's scale (the Frobenius normalisation). A wide
        # and a tall matrix (the iteration runs on the wide orientation).
        g = {"wide": 1e3 * jax.random.normal(jax.random.PRNGKey(0), (3, 6)),
             "tall": 1e-3 * jax.random.normal(jax.random.PRNGKey(1), (6, 3))}
        tx = jos.contrib.scale_by_muon(nesterov=False)
        u, _ = jax.jit(tx.update)(g, tx.init(g))
        for leaf in jax.tree.leaves(u):
            s = np.linalg.svd(np.asarray(leaf), compute_uv=False)
            self.assertTrue(np.all((s > 0.6) & (s < 1.2)), s)

    def test_vectors_go_to_adamw(self):
        # The first AdamW step on a vector is -lr * sign(g); Muon would normalise jointly.
        params = {"w": jnp.eye(2), "b": jnp.asarray([0.5, -3.0])}
        tx = jos.contrib.muon(0.1, adam_learning_rate=0.01, nesterov=False)
        u, _ = tx.update(params, tx.init(params), params)
        np.testing.assert_allclose(u["b"], [-0.01, 0.01], rtol=1e-5)

    def test_bfloat16_params(self):
        params = {"w": muon_params(jnp.bfloat16)["wide"], "b": jnp.ones(2, jnp.bfloat16)}
        tx = jos.contrib.muon(0.02)
        final, state = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 10))(
            params)
        for p, q in zip(jax.tree.leaves(final), jax.tree.leaves(params)):
            self.assertEqual(p.dtype, q.dtype)
        muon_state = state.inner_states["muon"].inner_state[0]
        self.assertTrue(all(m.dtype == jnp.float32 for m in jax.tree.leaves(muon_state.mu)))
        ref = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 10))(
            jax.tree.map(lambda x: x.astype(jnp.float32), params))[0]
        # bfloat16 keeps ~3 significant digits of O(1) params over 10 steps.
        chex.assert_trees_all_close(jax.tree.map(lambda x: x.astype(jnp.float32), final), ref,
                                    atol=3e-2)

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, beta, eps, weight_decay, adam_b1, adam_b2, adam_eps_root,
                 adam_weight_decay, adam_learning_rate, a, consistent_rms):
            return jos.contrib.muon(
                learning_rate, ns_coeffs=(a, -4.7750, 2.0315), beta=beta, eps=eps,
                weight_decay=weight_decay, adam_b1=adam_b1, adam_b2=adam_b2,
                adam_eps_root=adam_eps_root, adam_weight_decay=adam_weight_decay,
                adam_learning_rate=adam_learning_rate, consistent_rms=consistent_rms)

        values = {"learning_rate": [0.02, 0.05], "beta": [0.95, 0.5], "eps": [1e-8, 1e-3],
                  "weight_decay": [0.0, 0.1], "adam_b1": [0.9, 0.5], "adam_b2": [0.999, 0.9],
                  "adam_eps_root": [0.0, 1e-2], "adam_weight_decay": [0.0, 0.1],
                  "adam_learning_rate": [0.02, 0.01], "a": [3.4445, 3.0],
                  "consistent_rms": [0.2, 0.3]}
        params = {"w": jnp.asarray([[0.8, -0.3], [1.5, 0.2]]), "s": jnp.asarray(-0.6)}
        _problems.assert_vmap_matches_loop(self, make, values, params=params, rtol=1e-5,
                                           atol=1e-6)


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("coeff_shape", lambda: jos.contrib.scale_by_muon(ns_coeffs=(1.0, 2.0)), "ns_coeffs"),
        ("too_many_rows", lambda: jos.contrib.muon(0.1, ns_coeffs="dion", ns_steps=3),
         "ns_coeffs"),
        ("preset", lambda: jos.contrib.muon(0.1, ns_coeffs="fast"), "ns_coeffs"),
        ("ns_steps", lambda: jos.contrib.scale_by_muon(ns_steps=0), "ns_steps"),
        ("preconditioning", lambda: jos.contrib.scale_by_muon(preconditioning="polar"),
         "preconditioning"),
        ("beta", lambda: jos.contrib.muon(0.1, beta=1.0), "beta"),
        ("adam_b2", lambda: jos.contrib.muon(0.1, adam_b2=1.5), "adam_b2"),
        ("learning_rate", lambda: jos.contrib.muon(-0.1), "learning_rate"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_vector_leaf_in_scale_by_muon_is_explained(self):
        tx = jos.contrib.scale_by_muon()
        with pytest.raises(ValueError, match="rank 1 < 2"):
            tx.update(jnp.ones(3), tx.init(jnp.ones(3)))
