"""Tests for jaxopt_scratch/_transforms/layerwise.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

LR = 0.02


def _optax_trust():
    return optax.chain(optax.scale_by_trust_ratio(), optax.scale(-LR))


def _optax_trust_nd():
    return optax.chain(optax.scale_by_trust_ratio(min_norm=0.5, trust_coefficient=0.1, eps=1e-3),
                       optax.scale(-LR))


class TrustRatioTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("default", {}, _optax_trust, {}),
        ("non_default", {"min_norm": 0.5, "trust_coefficient": 0.1, "eps": 1e-3}, _optax_trust_nd,
         {"min_norm": 0.5, "trust_coefficient": 0.1, "eps": 1e-3}))
    def test_matches_optax_and_oracle_over_50_steps(self, kwargs, theirs, oracle_kwargs):
        tx = jos.chain(jos.scale_by_trust_ratio(**kwargs), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"trust {theirs.__name__}",
                               optax_build=theirs,
                               oracle=R.Chain(R.TrustRatio(**oracle_kwargs), R.Scale(-LR)))

    @chex.variants(with_jit=True, without_jit=True)
    def test_hand_computed_ratio_per_leaf(self):
        tx = jos.scale_by_trust_ratio(trust_coefficient=0.5)
        params = {"a": jnp.asarray([3.0, 4.0]), "b": jnp.asarray([1.0])}
        grads = {"a": jnp.asarray([0.0, 0.5]), "b": jnp.asarray([-4.0])}
        u, state = self.variant(tx.update)(grads, tx.init(params), params)
        np.testing.assert_allclose(u["a"], [0.0, 0.5 * 0.5 * 5.0 / 0.5], rtol=1e-6)  # per leaf
        np.testing.assert_allclose(u["b"], [-4.0 * 0.5 * 1.0 / 4.0], rtol=1e-6)
        self.assertEqual(state, jos.EmptyState())

    @chex.variants(with_jit=True, without_jit=True)
    def test_zero_norms_leave_the_update_unscaled_and_finite(self):
        tx = jos.scale_by_trust_ratio()
        params = {"zero_param": jnp.zeros(2), "zero_grad": jnp.ones(2)}
        grads = {"zero_param": jnp.asarray([1.0, -1.0]), "zero_grad": jnp.zeros(2)}
        u, _ = self.variant(tx.update)(grads, tx.init(params), params)
        np.testing.assert_array_equal(u["zero_param"], [1.0, -1.0])
        np.testing.assert_array_equal(u["zero_grad"], [0.0, 0.0])
        g = jax.grad(lambda p: jnp.sum(tx.update(grads, tx.init(params), p)[0]["zero_param"]))(
            params)
        self.assertTrue(all(np.all(np.isfinite(x)) for x in jax.tree.leaves(g)))

    def test_bfloat16_updates_keep_their_dtype(self):
        params = _problems.nested_params(jnp.bfloat16)
        tx = jos.scale_by_trust_ratio()
        u, _ = jax.jit(tx.update)(_problems.nested_grad(params), tx.init(params), params)
        for leaf in jax.tree.leaves(u):
            self.assertEqual(leaf.dtype, jnp.bfloat16)

    def test_needs_params(self):
        tx = jos.scale_by_trust_ratio()
        with pytest.raises(ValueError, match=r"`scale_by_trust_ratio` needs the current parameters"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))

    def test_params_structure_mismatch_shows_both(self):
        tx = jos.scale_by_trust_ratio()
        with pytest.raises(ValueError, match=r"does not match the params.*\n.*PyTreeDef\(\(\*,\)\)"
                                             r"\n.*PyTreeDef\(\[\*\]\)"):
            tx.update((jnp.ones(2),), tx.init([jnp.ones(2)]), [jnp.ones(2)])

    @parameterized.named_parameters(
        ("min_norm", {"min_norm": -1.0}, r"`min_norm` must lie in \[0, inf\)"),
        ("trust_coefficient", {"trust_coefficient": 0.0}, r"`trust_coefficient` must lie in \(0"),
        ("eps", {"eps": -1e-3}, r"`eps` must lie in \[0, inf\)"))
    def test_out_of_range_raises_naming_the_argument(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            jos.scale_by_trust_ratio(**kwargs)

    def test_traced_values_never_raise(self):
        def f(v):
            tx = jos.scale_by_trust_ratio(min_norm=v, trust_coefficient=v, eps=v)
            return tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))[0]

        jax.jit(f)(jnp.float32(-1.0))

    def test_vmap_over_every_hyperparameter(self):
        _problems.assert_vmap_matches_loop(
            self, lambda **kw: jos.chain(jos.scale_by_trust_ratio(**kw), jos.scale(-LR)),
            {"min_norm": [0.0, 0.5, 2.0], "trust_coefficient": [1.0, 0.1, 2.0],
                 "eps": [0.0, 1e-3, 1.0]})


def _optax_block_norm():
    return optax.chain(optax.scale_by_param_block_norm(), optax.scale(-LR))


def _optax_block_rms_nd():
    return optax.chain(optax.scale_by_param_block_rms(min_scale=0.5), optax.scale(-LR))


class ParamBlockScalingTest(chex.TestCase):

    @chex.variants(with_jit=True)
    @parameterized.named_parameters(
        ("norm_default", jos.scale_by_param_block_norm, {}, _optax_block_norm),
        ("rms_non_default", jos.scale_by_param_block_rms, {"min_scale": 0.5},
         _optax_block_rms_nd))
    def test_matches_optax_over_50_steps(self, factory, kwargs, theirs):
        tx = jos.chain(factory(**kwargs), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"block {theirs.__name__}",
                               optax_build=theirs)

    @chex.variants(with_jit=True, without_jit=True)
    def test_factors_by_hand_and_floor_for_zero_blocks(self):
        p = {"w": jnp.asarray([3.0, 4.0]), "z": jnp.zeros(3)}
        g = {"w": jnp.ones(2), "z": jnp.ones(3)}
        norm_tx, rms_tx = jos.scale_by_param_block_norm(0.1), jos.scale_by_param_block_rms(0.1)
        u, _ = self.variant(norm_tx.update)(g, norm_tx.init(p), p)
        np.testing.assert_allclose(u["w"], [5.0, 5.0], rtol=1e-6)
        np.testing.assert_allclose(u["z"], [0.1] * 3, rtol=1e-6)
        u, _ = self.variant(rms_tx.update)(g, rms_tx.init(p), p)
        np.testing.assert_allclose(u["w"], [12.5**0.5] * 2, rtol=1e-6)

    def test_nan_param_spoils_only_its_own_block(self):
        tx = jos.scale_by_param_block_norm()
        p = {"bad": jnp.asarray([jnp.nan, 1.0]), "good": jnp.asarray([3.0, 4.0])}
        u, _ = jax.jit(tx.update)(jax.tree.map(jnp.ones_like, p), tx.init(p), p)
        self.assertTrue(np.all(np.isnan(u["bad"])))
        np.testing.assert_allclose(u["good"], [5.0, 5.0], rtol=1e-6)

    def test_vmap_over_min_scale_matches_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda s: jos.chain(jos.scale_by_param_block_rms(s), jos.scale(-LR)),
            [1e-3, 0.7, 2.0])

    def test_bfloat16_keeps_dtype_and_errors_name_the_argument(self):
        params = _problems.nested_params(jnp.bfloat16)
        tx = jos.scale_by_param_block_norm()
        u, _ = jax.jit(tx.update)(_problems.nested_grad(params), tx.init(params), params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
        with pytest.raises(ValueError, match="`min_scale`"):
            jos.scale_by_param_block_rms(-1.0)
        with pytest.raises(ValueError, match="`scale_by_param_block_norm` needs the current"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
