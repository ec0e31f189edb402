"""Tests for jaxopt_scratch/_schedules/decays.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos
from tests._schedule_harness import (
    ATOL,
    COUNTS,
    INT32_MAX,
    RTOL,
    check_one_trace,
    check_vmap_matches_loop,
    optax_curve,
)


def _piecewise(init_value, boundaries, scales):
    return jos.piecewise_constant_schedule(init_value, (boundaries, scales))


def _join(boundary, value):
    return jos.join_schedules(
        [jos.constant_schedule(value), jos.linear_schedule(value, 0.0, 10)], [boundary])


# (build, base, sweeps, static): every numeric argument is swept, degenerate values included.
SPECS = {
    "constant": (jos.constant_schedule, dict(value=0.3), dict(value=[0.0, 0.3, 2.0]), {}),
    "linear": (
        jos.linear_schedule,
        dict(init_value=1.0, end_value=0.1, transition_steps=10, transition_begin=3),
        dict(init_value=[0.0, 1.0, 5.0], end_value=[0.0, 0.1, 2.0],
             transition_steps=[0, 1, 10], transition_begin=[-2, 0, 3, 50]),
        {},
    ),
    "polynomial": (
        jos.polynomial_schedule,
        dict(init_value=1.0, end_value=0.1, power=2.0, transition_steps=10, transition_begin=3),
        dict(init_value=[0.0, 1.0], end_value=[0.0, 0.5], power=[0.0, 0.5, 1.0, 3.0],
             transition_steps=[0, 1, 10], transition_begin=[0, 3, 50]),
        {},
    ),
    "exponential": (
        jos.exponential_decay,
        dict(init_value=1.0, transition_steps=7, decay_rate=0.5, transition_begin=3,
             end_value=0.05),
        dict(init_value=[0.0, 1.0, 3.0], transition_steps=[0, 1, 7], decay_rate=[0.0, 0.5, 1.5],
             transition_begin=[0, 3, 40], end_value=[0.0, 0.05, 2.0]),
        {},
    ),
    "exponential_staircase": (
        jos.exponential_decay,
        dict(init_value=1.0, transition_steps=4, decay_rate=0.5, transition_begin=2),
        dict(init_value=[1.0, 3.0], transition_steps=[0, 1, 4], decay_rate=[0.0, 0.5, 2.0],
             transition_begin=[0, 2, 40]),
        dict(staircase=True),
    ),
    "piecewise_constant": (
        _piecewise,
        dict(init_value=1.0, boundaries=np.array([5, 20]), scales=np.array([0.5, 0.1])),
        dict(init_value=[0.0, 1.0, 3.0], boundaries=[[0, 0], [5, 20], [30, 3]],
             scales=[[0.5, 0.1], [1.0, 0.0], [2.0, 0.3]]),
        {},
    ),
    "cosine_decay": (
        jos.cosine_decay_schedule,
        dict(init_value=2.0, decay_steps=25, alpha=0.1, exponent=1.0),
        dict(init_value=[0.0, 2.0], decay_steps=[0, 1, 25], alpha=[0.0, 0.1, 1.0],
             exponent=[0.5, 1.0, 3.0]),
        {},
    ),
    "join": (_join, dict(boundary=5, value=1.0),
             dict(boundary=[0, 5, 40], value=[0.0, 1.0, 2.0]), {}),
}
SWEEPS = [(name, arg) for name, spec in SPECS.items() for arg in spec[2]]


@pytest.mark.parametrize(("name", "arg"), SWEEPS, ids=[f"{n}-{a}" for n, a in SWEEPS])
def test_vmap_over_each_argument_matches_loop(name, arg):
    check_vmap_matches_loop(SPECS[name], arg)


@pytest.mark.parametrize("name", list(SPECS))
def test_jit_with_every_argument_traced_compiles_once(name):
    first, last = check_one_trace(SPECS[name])
    assert not np.array_equal(np.asarray(first), np.asarray(last))  # the arguments mattered


# (ours, optax's, kwargs) with concrete arguments that optax accepts.
PARITY = [
    (jos.constant_schedule, optax.constant_schedule, dict(value=0.25)),
    (jos.linear_schedule, optax.linear_schedule,
     dict(init_value=1.0, end_value=0.1, transition_steps=10, transition_begin=3)),
    (jos.linear_schedule, optax.linear_schedule,
     dict(init_value=1.0, end_value=0.1, transition_steps=0)),
    (jos.linear_schedule, optax.linear_schedule,
     dict(init_value=0.0, end_value=2.0, transition_steps=7, transition_begin=-4)),
    (jos.polynomial_schedule, optax.polynomial_schedule,
     dict(init_value=1.0, end_value=0.01, power=2.5, transition_steps=30, transition_begin=5)),
    (jos.exponential_decay, optax.exponential_decay,
     dict(init_value=1.0, transition_steps=7, decay_rate=0.5, transition_begin=3)),
    (jos.exponential_decay, optax.exponential_decay,
     dict(init_value=1.0, transition_steps=4, decay_rate=0.5, staircase=True, end_value=0.1)),
    (jos.exponential_decay, optax.exponential_decay,
     dict(init_value=0.1, transition_steps=3, decay_rate=1.5, end_value=1.0)),
    (jos.exponential_decay, optax.exponential_decay,
     dict(init_value=1.0, transition_steps=0, decay_rate=0.5)),
    (jos.exponential_decay, optax.exponential_decay,
     dict(init_value=1.0, transition_steps=5, decay_rate=0.0)),
    (jos.piecewise_constant_schedule, optax.piecewise_constant_schedule,
     dict(init_value=2.0, boundaries_and_scales={20: 0.1, 5: 0.5, 30: 3.0})),
    (jos.piecewise_constant_schedule, optax.piecewise_constant_schedule,
     dict(init_value=2.0, boundaries_and_scales=None)),
    (jos.cosine_decay_schedule, optax.cosine_decay_schedule,
     dict(init_value=2.0, decay_steps=25, alpha=0.1, exponent=2.0)),
    (jos.cosine_decay_schedule, optax.cosine_decay_schedule, dict(init_value=1.0, decay_steps=1)),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), PARITY,
                         ids=[f"{p[0].__name__}-{i}" for i, p in enumerate(PARITY)])
def test_matches_optax_with_concrete_arguments(ours, theirs, kwargs):
    expected = optax_curve(theirs(**kwargs))
    got = np.asarray(ours(**kwargs)(jnp.asarray(COUNTS)))
    # Same float32 formulas; cosine's pi*k/D is grouped differently (a few ulp).
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_join_schedules_matches_optax():
    ours = jos.join_schedules([jos.linear_schedule(0.0, 1.0, 5),
                               jos.cosine_decay_schedule(1.0, 10),
                               jos.constant_schedule(0.3)], [5, 15])
    theirs = optax.join_schedules([optax.linear_schedule(0.0, 1.0, 5),
                                   optax.cosine_decay_schedule(1.0, 10),
                                   optax.constant_schedule(0.3)], [5, 15])
    np.testing.assert_allclose(ours(jnp.asarray(COUNTS)), optax_curve(theirs),
                               rtol=RTOL, atol=ATOL)


class TestBoundariesAndEdges:
    """Values at count 0, at each boundary step and at the int32 maximum, from the formulas."""

    def test_linear_at_its_boundaries(self):
        s = jos.linear_schedule(1.0, 0.2, transition_steps=8, transition_begin=4)
        assert float(s(0)) == 1.0 and float(s(4)) == 1.0  # not started yet at k = b
        np.testing.assert_allclose(float(s(5)), 1.0 - 0.8 / 8, rtol=1e-6)
        np.testing.assert_allclose([float(s(12)), float(s(INT32_MAX))], [0.2, 0.2], rtol=1e-6)

    def test_polynomial_midpoint(self):
        s = jos.polynomial_schedule(1.0, 0.0, power=3.0, transition_steps=10)
        np.testing.assert_allclose(float(s(5)), 0.5**3, rtol=1e-6)

    def test_exponential_staircase_jumps_exactly_at_multiples(self):
        s = jos.exponential_decay(1.0, 4, 0.5, transition_begin=2, staircase=True)
        got = [float(s(k)) for k in (0, 2, 5, 6, 9, 10)]
        assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
        assert float(s(INT32_MAX)) == 0.0  # 0.5 ** huge underflows to 0, not NaN

    def test_exponential_end_value_is_a_floor_or_a_ceiling(self):
        assert float(jos.exponential_decay(1.0, 1, 0.5, end_value=0.3)(10)) == pytest.approx(0.3)
        assert float(jos.exponential_decay(1.0, 1, 2.0, end_value=5.0)(10)) == pytest.approx(5.0)
        assert float(jos.exponential_decay(0.0, 1, 2.0)(INT32_MAX)) == 0.0  # no 0 * inf

    def test_piecewise_scale_applies_from_its_boundary(self):
        s = jos.piecewise_constant_schedule(1.0, {3: 0.5, 6: 0.1})
        got = [float(s(k)) for k in (0, 2, 3, 5, 6, INT32_MAX)]
        np.testing.assert_allclose(got, [1.0, 1.0, 0.5, 0.5, 0.05, 0.05], rtol=1e-6)

    def test_piecewise_arrays_equal_the_dict_form(self):
        from_dict = jos.piecewise_constant_schedule(2.0, {4: 0.5, 9: 0.2})
        from_arrays = jos.piecewise_constant_schedule(
            2.0, (jnp.array([9, 4]), jnp.array([0.2, 0.5])))  # order does not matter
        np.testing.assert_allclose(from_arrays(jnp.asarray(COUNTS)),
                                   from_dict(jnp.asarray(COUNTS)), rtol=1e-6)

    def test_cosine_at_count_zero_half_and_end(self):
        s = jos.cosine_decay_schedule(2.0, decay_steps=10, alpha=0.1)
        np.testing.assert_allclose([float(s(0)), float(s(5)), float(s(10)), float(s(INT32_MAX))],
                                   [2.0, 2.0 * (0.9 * 0.5 + 0.1), 0.2, 0.2], rtol=1e-6)

    def test_join_switches_at_the_boundary_with_relative_count(self):
        seen = []

        def spy(count):
            seen.append(jnp.asarray(count).dtype)
            return jnp.asarray(count).astype(jnp.float32)

        s = jos.join_schedules([jos.constant_schedule(-1.0), spy], [3])
        assert [float(s(k)) for k in (0, 2, 3, 7)] == [-1.0, -1.0, 0.0, 4.0]
        assert all(d == jnp.int32 for d in seen)  # the inner schedule sees an integer count


class TestDegenerateLengths:
    """Zero lengths give limiting values, concrete or traced, never NaN."""

    @pytest.mark.parametrize("build", [
        lambda t: jos.linear_schedule(1.0, 0.1, t),
        lambda t: jos.polynomial_schedule(1.0, 0.1, 2.0, t),
        lambda t: jos.exponential_decay(1.0, t, 0.5),
    ], ids=["linear", "polynomial", "exponential"])
    def test_zero_transition_steps_is_the_init_value_like_optax(self, build):
        counts = jnp.asarray(COUNTS)
        concrete = build(0)(counts)
        traced = jax.jit(lambda t: build(t)(counts))(jnp.asarray(0))
        np.testing.assert_array_equal(concrete, np.ones_like(COUNTS, np.float32))
        np.testing.assert_array_equal(traced, concrete)

    def test_zero_decay_steps_is_the_limit_of_short_decays(self):
        counts = jnp.asarray(COUNTS)
        concrete = jos.cosine_decay_schedule(2.0, 0, alpha=0.1)(counts)
        traced = jax.jit(lambda d: jos.cosine_decay_schedule(2.0, d, alpha=0.1)(counts))(0)
        expected = np.where(COUNTS == 0, 2.0, 0.2).astype(np.float32)  # D -> 0+ pointwise
        np.testing.assert_allclose(concrete, expected, rtol=1e-6)
        np.testing.assert_array_equal(traced, concrete)

    def test_a_length_beyond_int32_works_like_optax(self):
        # 1e10 steps does not fit int32; optax's own test (975.52826 at 1e9) pins the value.
        sched = jos.cosine_decay_schedule(1000.0, int(1e10), 0.0, 1)
        np.testing.assert_allclose(sched(int(1e9)), 975.52826, rtol=1e-6)
        np.testing.assert_allclose(jax.jit(sched)(int(1e9)), 975.52826, rtol=1e-6)

    def test_join_at_boundary_zero_starts_with_the_second_schedule(self):
        s = jos.join_schedules([jos.constant_schedule(1.0), jos.constant_schedule(2.0)], [0])
        assert float(s(0)) == 2.0


class TestDtypesAndShapes:

    def test_float32_scalar_for_int_count(self):
        for s in (jos.linear_schedule(1, 0, 10), jos.piecewise_constant_schedule(1, {2: 0.5}),
                  jos.exponential_decay(1, 3, 0.5), jos.constant_schedule(1)):
            out = s(jnp.asarray(3, jnp.int32))
            assert out.dtype == jnp.float32 and out.shape == ()

    def test_float64_under_x64(self):
        with jax.enable_x64(True):
            out = jos.cosine_decay_schedule(1.0, 10)(jnp.arange(3))
            assert out.dtype == jnp.float64

    def test_output_follows_count_shape(self):
        counts = jnp.arange(6).reshape(2, 3)
        for s in (jos.constant_schedule(0.5), jos.piecewise_constant_schedule(1.0, {2: 0.5}),
                  jos.cosine_decay_schedule(1.0, 4)):
            assert s(counts).shape == (2, 3)


class TestErrors:

    @pytest.mark.parametrize(("build", "name"), [
        (lambda: jos.linear_schedule(1.0, 0.0, -1), "transition_steps"),
        (lambda: jos.polynomial_schedule(1.0, 0.0, 1.0, -5), "transition_steps"),
        (lambda: jos.exponential_decay(1.0, -2, 0.5), "transition_steps"),
        (lambda: jos.cosine_decay_schedule(1.0, -1), "decay_steps"),
        (lambda: jos.join_schedules([jos.constant_schedule(1.0)] * 2, [-3]), "boundaries"),
        (lambda: jos.piecewise_constant_schedule(1.0, {-1: 0.5}), "boundaries_and_scales"),
    ])
    def test_negative_lengths_raise_naming_the_argument(self, build, name):
        with pytest.raises(ValueError, match=f"`{name}`.*got"):
            build()

    def test_negative_rates_and_scales_raise(self):
        with pytest.raises(ValueError, match="`decay_rate`"):
            jos.exponential_decay(1.0, 2, -0.5)
        with pytest.raises(ValueError, match="`boundaries_and_scales`.*flip the sign"):
            jos.piecewise_constant_schedule(1.0, {2: -0.5})
        with pytest.raises(ValueError, match="`exponent`"):
            jos.cosine_decay_schedule(1.0, 10, exponent=0.0)
        with pytest.raises(ValueError, match="`power`"):
            jos.polynomial_schedule(1.0, 0.0, -1.0, 10)

    def test_join_checks_count_and_order_of_boundaries(self):
        two = [jos.constant_schedule(1.0), jos.constant_schedule(2.0)]
        with pytest.raises(ValueError, match="one boundary fewer"):
            jos.join_schedules(two, [1, 2])
        with pytest.raises(ValueError, match="non-decreasing"):
            jos.join_schedules(two + two[:1], [5, 2])
        with pytest.raises(TypeError, match="non-empty list of schedules"):
            jos.join_schedules([], [])

    def test_piecewise_rejects_malformed_boundaries_and_scales(self):
        with pytest.raises(TypeError, match="dict `{boundary: scale}`"):
            jos.piecewise_constant_schedule(1.0, [1, 2, 3])
        with pytest.raises(ValueError, match="one scale per boundary"):
            jos.piecewise_constant_schedule(1.0, (jnp.array([1, 2]), jnp.array([0.5])))

    def test_traced_negative_length_does_not_raise(self):
        out = jax.jit(lambda t: jos.linear_schedule(1.0, 0.0, t)(jnp.arange(3)))(-4)
        np.testing.assert_array_equal(out, np.ones(3, np.float32))  # treated as zero steps
