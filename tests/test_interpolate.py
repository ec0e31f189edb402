"""Tests for jaxopt_scratch/_schedules/interpolate.py."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos
from tests._schedule_harness import (
    ATOL,
    COUNTS,
    RTOL,
    check_one_trace,
    check_vmap_matches_loop,
    optax_curve,
)


def _pair_form(init_value, b1, b2, s1, s2, interpolate_type):
    # Boundaries given out of order on purpose: the schedule sorts them.
    return jos.piecewise_interpolate_schedule(interpolate_type, init_value, ((b2, b1), (s2, s1)))


_BASE = {"init_value": 1.0, "b1": 5, "b2": 20, "s1": 0.5, "s2": 0.1}
_SWEEPS = {"init_value": [0.0, 1.0, 2.0], "b1": [0, 5, 10], "b2": [20, 30],
           "s1": [0.0, 0.5, 2.0], "s2": [0.1, 1.0]}
SPECS = {kind: (_pair_form, _BASE, _SWEEPS, {"interpolate_type": kind})
         for kind in ("linear", "cosine")}
# b2 and s2 go through the same code as b1 and s1; the one-trace test traces them all.
SWEEPS = [(name, arg) for name in SPECS for arg in ("init_value", "b1", "s1")]


@pytest.mark.parametrize(("name", "arg"), SWEEPS, ids=[f"{n}-{a}" for n, a in SWEEPS])
def test_vmap_over_each_argument_matches_loop(name, arg):
    check_vmap_matches_loop(SPECS[name], arg)


@pytest.mark.parametrize("name", list(SPECS))
def test_jit_with_every_argument_traced_compiles_once(name):
    first, last = check_one_trace(SPECS[name])
    assert not np.array_equal(np.asarray(first), np.asarray(last))


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("boundaries_and_scales", [{10: 2.0, 3: 0.5, 30: 0.0}, {0: 0.5, 1: 3.0}])
def test_matches_optax(kind, boundaries_and_scales):
    expected = optax_curve(optax.piecewise_interpolate_schedule(kind, 0.7, boundaries_and_scales))
    got = np.asarray(jos.piecewise_interpolate_schedule(kind, 0.7, boundaries_and_scales)(
        jnp.asarray(COUNTS)))
    # Same float32 formulas; the cosine term is grouped differently (a few ulp).
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_dict_and_pair_forms_agree_and_ramps_by_hand():
    a = jos.piecewise_interpolate_schedule("cosine", 1.0, {4: 0.1, 8: 0.01})
    b = jos.piecewise_interpolate_schedule("cosine", 1.0, ((8, 4), (0.01, 0.1)))
    counts = jnp.asarray(COUNTS)
    np.testing.assert_array_equal(np.asarray(a(counts)), np.asarray(b(counts)))
    np.testing.assert_allclose([float(a(k)) for k in (0, 2, 4, 6, 8, 100)],
                               [1.0, 0.55, 0.1, 0.0505, 0.001, 0.001], rtol=1e-6)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`interpolate_type`"):
        jos.piecewise_interpolate_schedule("step", 1.0, {2: 0.5})
    with pytest.raises(ValueError, match="`boundaries_and_scales`"):
        jos.piecewise_interpolate_schedule("linear", 1.0, {2: -0.5})
    with pytest.raises(ValueError, match="`boundaries_and_scales`"):
        jos.piecewise_interpolate_schedule("linear", 1.0, ((1, 2), (0.5,)))
