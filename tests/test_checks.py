"""Tests for jaxopt_scratch/_core/checks.py."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from jaxopt_scratch._core import checks as _checks


class CheckIntervalTest(chex.TestCase):

    @parameterized.named_parameters(
        ("below_closed", -0.1, {"low": 0.0}, r"\[0, inf\)"),
        ("at_open_low", 0.0, {"low": 0.0, "low_open": True}, r"\(0, inf\)"),
        ("at_open_high", 1.0, {"low": 0.0, "high": 1.0, "high_open": True}, r"\[0, 1\)"),
        ("above_closed", 2.0, {"high": 1.0}, r"\(-inf, 1\]"),
        ("nan", float("nan"), {"low": 0.0}, r"\[0, inf\)"),
    )
    def test_out_of_range_raises_naming_the_argument_and_value(self, value, bounds, interval):
        with pytest.raises(ValueError, match=rf"`my_arg` must lie in {interval}, got {value!r}"):
            _checks.check_interval("my_arg", value, **bounds)

    @parameterized.parameters(0.0, 0.5, 1.0)
    def test_closed_bounds_accept_their_end_points(self, value):
        _checks.check_interval("x", value, 0.0, 1.0)

    def test_any_bad_element_of_an_array_raises(self):
        _checks.check_interval("x", np.array([0.1, 0.2]), 0.0)
        with pytest.raises(ValueError, match="`x`"):
            _checks.check_interval("x", jnp.asarray([0.1, -0.2]), 0.0)

    def test_hint_is_appended(self):
        with pytest.raises(ValueError, match="got -1.0. Try 1e-8."):
            _checks.check_interval("eps", -1.0, 0.0, hint="Try 1e-8.")

    @parameterized.named_parameters(("string", "0.1"), ("complex", 1j), ("bool", True))
    def test_non_real_values_raise_type_error(self, value):
        with pytest.raises(TypeError, match="`x` must be a real number"):
            _checks.check_interval("x", value, 0.0)

    @chex.variants(with_jit=True, without_jit=True)
    def test_tracers_and_schedules_are_never_checked(self):
        def f(x):
            _checks.check_interval("x", x, 0.0, 1.0)  # a sweep may pass anything
            _checks.check_decay("x", x)
            return x * 2

        out = self.variant(f)(jnp.float32(0.5))
        np.testing.assert_allclose(out, 1.0)
        # Under jit the argument is a tracer, so even an out-of-range value passes.
        np.testing.assert_allclose(jax.jit(f)(jnp.float32(5.0)), 10.0)
        jax.vmap(f)(jnp.asarray([-1.0, 3.0]))
        _checks.check_interval("lr", lambda count: -1.0, 0.0)  # schedules are not evaluated
        _checks.check_interval("x", None, 0.0)

    def test_concrete_value(self):
        self.assertIsNone(_checks.concrete_value(lambda c: c))
        self.assertIsNone(_checks.concrete_value(None))
        np.testing.assert_array_equal(_checks.concrete_value(jnp.asarray([1.0])), [1.0])
        seen = []
        jax.jit(lambda x: seen.append(_checks.concrete_value(x)) or x)(1.0)
        self.assertEqual(seen, [None])


class NamedChecksTest(chex.TestCase):

    @parameterized.parameters(0.0, 0.9, 0.999999)
    def test_decay_accepts_the_half_open_unit_interval(self, value):
        _checks.check_decay("b1", value)

    @parameterized.parameters(1.0, -1e-9, 2.0)
    def test_decay_rejects_outside(self, value):
        with pytest.raises(ValueError, match=r"`b2` must lie in \[0, 1\).*never forget"):
            _checks.check_decay("b2", value)

    def test_nonnegative(self):
        _checks.check_nonnegative("eps", 0.0)
        with pytest.raises(ValueError, match=r"`eps` must lie in \[0, inf\), got -1e-12. Use 0."):
            _checks.check_nonnegative("eps", -1e-12, hint="Use 0.")
