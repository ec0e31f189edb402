"""Tests for jaxopt_scratch/_core/tree_math.py."""

import math

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from jaxopt_scratch._core import tree_math as _tree_math


class CheckTest(chex.TestCase):

    @parameterized.named_parameters(("int32", jnp.int32), ("bool", jnp.bool_), ("uint8", jnp.uint8))
    def test_integer_params_raise_type_error_naming_the_leaf(self, dtype):
        params = {"ok": jnp.zeros(2), "bad": [jnp.zeros(3, dtype)]}
        with pytest.raises(TypeError, match=r"leaf \['bad'\]\[0\] has dtype .*Cast it first"):
            _tree_math.check_float_params(params)

    def test_float_complex_and_none_params_pass(self):
        _tree_math.check_float_params({"a": jnp.zeros(2, jnp.bfloat16), "b": jnp.zeros(1, jnp.complex64),
                                  "c": None, "d": 1.5})

    def test_missing_params_message(self):
        with pytest.raises(ValueError, match=r"`my_tx` needs the current parameters.*"
                                             r"tx.update\(updates, state, params\)"):
            _tree_math.check_params_given(None, "my_tx")
        _tree_math.check_params_given({}, "my_tx")  # an empty tree is not None

    def test_structure_mismatch_shows_both_structures(self):
        a = {"w": jnp.zeros(2), "b": (jnp.zeros(1),)}
        b = {"w": jnp.zeros(2), "b": [jnp.zeros(1)]}
        with pytest.raises(ValueError) as err:
            _tree_math.check_same_structure(a, b, "my_tx")
        msg = str(err.value)
        self.assertIn("`my_tx`", msg)
        self.assertIn(str(jax.tree.structure(a)), msg)
        self.assertIn(str(jax.tree.structure(b)), msg)
        _tree_math.check_same_structure(a, jax.tree.map(jnp.ones_like, a), "my_tx")


class DtypeTest(chex.TestCase):

    def test_promote_types_works_under_strict_promotion(self):
        # conftest sets strict promotion, where jnp.promote_types(bf16, f32) raises.
        self.assertEqual(_tree_math.promote_types(jnp.bfloat16, jnp.float32), jnp.float32)
        self.assertEqual(_tree_math.promote_types(jnp.float32, jnp.complex64), jnp.complex64)

    @parameterized.named_parameters(
        ("bf16", jnp.bfloat16, None, jnp.float32), ("f16", jnp.float16, None, jnp.float32),
        ("f32", jnp.float32, None, jnp.float32), ("c64", jnp.complex64, None, jnp.complex64),
        ("requested_bf16", jnp.float32, jnp.bfloat16, jnp.bfloat16))
    def test_moment_dtype(self, dtype, requested, expected):
        self.assertEqual(_tree_math.moment_dtype(dtype, requested), jnp.dtype(expected))

    def test_moment_dtype_keeps_float64(self):
        with jax.enable_x64(True):
            self.assertEqual(_tree_math.moment_dtype(jnp.float64), jnp.float64)

    def test_full_like_state_shapes_dtypes_values_and_none_leaves(self):
        params = _problems.nested_params(jnp.bfloat16)
        state = _tree_math.full_like_state(params, 0.25)
        chex.assert_trees_all_equal_structs(state, params)
        for s, p in zip(jax.tree.leaves(state), jax.tree.leaves(params)):
            self.assertEqual(s.shape, p.shape)
            self.assertEqual(s.dtype, jnp.float32)
            np.testing.assert_array_equal(s, 0.25)
        zeros = _tree_math.zeros_like_state({"c": jnp.ones(2, jnp.complex64)}, real=True)
        self.assertEqual(zeros["c"].dtype, jnp.float32)
        with pytest.raises(TypeError, match="Cast"):
            _tree_math.zeros_like_state({"i": jnp.ones(2, jnp.int32)})

    def test_upcast_and_cast_like(self):
        tree = {"a": jnp.ones(2, jnp.bfloat16), "b": jnp.ones(1, jnp.float32)}
        up = _tree_math.upcast(tree)
        self.assertEqual(up["a"].dtype, jnp.float32)
        back = _tree_math.cast_like(up, tree)
        self.assertEqual(back["a"].dtype, jnp.bfloat16)
        self.assertEqual(back["b"].dtype, jnp.float32)


class MathTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_update_moment_first_and_second_order(self):
        g = {"a": jnp.asarray([1.0, -2.0]), "b": jnp.asarray([[3.0]])}
        m = {"a": jnp.asarray([0.5, 0.5]), "b": jnp.asarray([[-1.0]])}
        first = self.variant(lambda g, m: _tree_math.update_moment(g, m, 0.9))(g, m)
        second = self.variant(lambda g, m: _tree_math.update_moment(g, m, 0.9, order=2))(g, m)
        # d m + (1 - d) g^k written out by hand.
        np.testing.assert_allclose(first["a"], [0.9 * 0.5 + 0.1 * 1.0, 0.9 * 0.5 - 0.1 * 2.0],
                                   rtol=1e-6)
        np.testing.assert_allclose(second["b"], [[0.9 * -1.0 + 0.1 * 9.0]], atol=1e-6)  # ~0

    def test_update_moment_squares_bf16_in_float32_and_complex_as_modulus(self):
        g = jnp.asarray([300.0], jnp.bfloat16)  # 300^2 = 90000 is not a bfloat16 number
        nu = _tree_math.update_moment(g, jnp.zeros(1, jnp.float32), 0.0, order=2)
        self.assertEqual(nu.dtype, jnp.float32)
        np.testing.assert_array_equal(nu, [90000.0])
        c = jnp.asarray([3.0 + 4.0j], jnp.complex64)
        nu = _tree_math.update_moment(c, jnp.zeros(1, jnp.float32), 0.0, order=2)
        np.testing.assert_allclose(nu, [25.0], rtol=1e-6)

    @parameterized.parameters(0.9, 0.99, 0.999, 0.9999)
    def test_one_minus_power_is_accurate_in_float32(self, decay):
        counts = np.array([1, 2, 3, 10, 100, 1000, 10_000, 1_000_000], np.int32)
        d32 = np.float32(decay)
        # What the EMA really uses is d32, so the correction must be 1 - d32**t
        # (not 1 - 0.999**t); float64 on the host is the truth here.
        exact = np.array([-math.expm1(int(t) * math.log(float(d32))) for t in counts])
        ours = np.asarray(jax.vmap(lambda t: _tree_math.one_minus_power(decay, t))(jnp.asarray(counts)))
        naive = 1 - np.float32(d32) ** counts.astype(np.float32)
        ours_err = np.max(np.abs(ours / exact - 1))
        naive_err = np.max(np.abs(naive / exact - 1))
        # expm1/log1p keep float32's relative precision (a few ulps, 1 ulp ~ 6e-8)...
        self.assertLess(ours_err, 5e-7)
        # ...where the naive float32 form cancels: measured 6.7e-6 for 0.999 and
        # 1.0e-4 for 0.9999 (8e-7 for 0.99, too close to call).
        if decay >= 0.999:
            self.assertGreater(naive_err, 10 * ours_err)

    def test_one_minus_power_with_traced_decay_and_saturated_count(self):
        f = jax.jit(lambda d, t: _tree_math.one_minus_power(d, t))
        np.testing.assert_allclose(f(jnp.float32(0.5), jnp.int32(3)), 0.875, rtol=1e-7)
        self.assertEqual(float(f(jnp.float32(0.9), jnp.int32(np.iinfo(np.int32).max))), 1.0)

    def test_bias_correction_uses_leaf_precision(self):
        tree = {"a": jnp.asarray([0.1, -0.2])}
        out = _tree_math.bias_correction(tree, 0.9, jnp.int32(1))
        np.testing.assert_allclose(out["a"], [1.0, -2.0], rtol=1e-6)
        with jax.enable_x64(True):
            tree64 = {"a": jnp.asarray([0.1], jnp.float64)}
            out = _tree_math.bias_correction(tree64, 0.9, jnp.int32(2))
            self.assertEqual(out["a"].dtype, jnp.float64)
            # 1 - 0.9^2 = 0.19: float64 keeps ~1e-15; float32 could not get below ~1e-8.
            np.testing.assert_allclose(out["a"], [0.1 / 0.19], rtol=1e-14)

    @chex.variants(with_jit=True, without_jit=True)
    def test_safe_increment_saturates(self):
        top = np.iinfo(np.int32).max
        inc = self.variant(_tree_math.safe_increment)
        self.assertEqual(int(inc(jnp.int32(0))), 1)
        self.assertEqual(int(inc(jnp.int32(top - 1))), top)
        out = inc(jnp.int32(top))
        self.assertEqual(int(out), top)
        self.assertEqual(out.dtype, jnp.int32)

    def test_zero_count(self):
        c = _tree_math.zero_count()
        self.assertEqual((c.shape, c.dtype, int(c)), ((), jnp.int32, 0))

    def test_scale_tree_keeps_dtypes(self):
        tree = {"a": jnp.ones(2, jnp.bfloat16), "b": jnp.ones(1, jnp.float32), "n": None}
        out = _tree_math.scale_tree(tree, jnp.float32(0.5))
        self.assertEqual(out["a"].dtype, jnp.bfloat16)
        np.testing.assert_array_equal(out["b"], [0.5])
        self.assertIsNone(out["n"])

    @chex.variants(with_jit=True, without_jit=True)
    def test_global_norm_matches_numpy(self):
        params = _problems.nested_params()
        got = self.variant(_tree_math.global_norm)(params)
        expected = math.sqrt(sum(float(np.sum(x**2)) for x in _problems.np_leaves(params)))
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        self.assertEqual(float(_tree_math.global_norm({})), 0.0)
        bf = _tree_math.global_norm({"a": jnp.full((64,), 300.0, jnp.bfloat16)})
        self.assertEqual(bf.dtype, jnp.float32)  # a bf16 sum of squares would lose digits
        np.testing.assert_allclose(bf, 2400.0, rtol=1e-6)

    def test_normalize_places_eps_outside_and_eps_root_inside(self):
        n, v = jnp.asarray([2.0]), jnp.asarray([4.0])
        np.testing.assert_allclose(_tree_math.normalize(n, v, 1.0), [2.0 / 3.0], rtol=1e-6)
        np.testing.assert_allclose(_tree_math.normalize(n, v, 0.0, 5.0), [2.0 / 3.0], rtol=1e-6)
        out = _tree_math.normalize(jnp.asarray([2.0], jnp.bfloat16), v, 0.0)
        self.assertEqual(out.dtype, jnp.bfloat16)
