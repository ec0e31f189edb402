"""Tests for jaxopt_scratch/_schedules/warmup.py."""

from __future__ import annotations

import chex
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given

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


def _sgdr(d1, w1, p1, d2, e2):
    return jos.sgdr_schedule([
        dict(init_value=0.0, peak_value=p1, warmup_steps=w1, decay_steps=d1),
        dict(init_value=0.1, peak_value=1.0, warmup_steps=2, decay_steps=d2, end_value=e2),
    ])


_CYCLIC_BASE = dict(init_value=0.1, peak_value=1.0, step_size_up=5, step_size_down=3, gamma=0.9)
_CYCLIC_SWEEPS = dict(init_value=[0.0, 0.1], peak_value=[0.5, 1.0, 2.0],
                      step_size_up=[0, 1, 5], step_size_down=[0, 3, 5], gamma=[0.9, 1.0])

# (build, base, sweeps, static); degenerate values (0 steps, decay == warmup) are swept too.
SPECS = {
    "warmup_constant": (
        jos.warmup_constant_schedule, dict(init_value=0.1, peak_value=1.0, warmup_steps=10),
        dict(init_value=[0.0, 0.1], peak_value=[0.0, 1.0, 2.0], warmup_steps=[0, 1, 10]), {},
    ),
    "warmup_cosine": (
        jos.warmup_cosine_decay_schedule,
        dict(init_value=0.1, peak_value=1.0, warmup_steps=10, decay_steps=30, end_value=0.05,
             exponent=1.0),
        dict(init_value=[0.0, 0.1], peak_value=[0.0, 1.0, 2.0], warmup_steps=[0, 1, 10, 30],
             decay_steps=[10, 11, 30], end_value=[0.0, 0.05, 0.5], exponent=[0.5, 1.0, 2.0]),
        {},
    ),
    "warmup_exponential": (
        jos.warmup_exponential_decay_schedule,
        dict(init_value=0.0, peak_value=1.0, warmup_steps=6, transition_steps=5, decay_rate=0.5,
             transition_begin=4, end_value=0.01),
        dict(init_value=[0.0, 0.2], peak_value=[0.0, 1.0], warmup_steps=[0, 1, 6],
             transition_steps=[0, 1, 5], decay_rate=[0.0, 0.5, 1.5], transition_begin=[0, 4],
             end_value=[0.01, 0.5]),
        dict(staircase=True),
    ),
    "linear_onecycle": (
        jos.linear_onecycle_schedule,
        dict(transition_steps=40, peak_value=1.0, pct_start=0.3, pct_final=0.85, div_factor=25.0,
             final_div_factor=1e4),
        dict(transition_steps=[0, 1, 10, 40], peak_value=[0.5, 2.0], pct_start=[0.0, 0.3, 0.85],
             pct_final=[0.3, 0.85, 1.0], div_factor=[1.0, 25.0], final_div_factor=[1.0, 1e4]),
        {},
    ),
    "cosine_onecycle": (
        jos.cosine_onecycle_schedule,
        dict(transition_steps=40, peak_value=1.0, pct_start=0.3, div_factor=25.0,
             final_div_factor=1e4),
        dict(transition_steps=[0, 1, 10, 40], peak_value=[0.5, 2.0], pct_start=[0.0, 0.3, 1.0],
             div_factor=[1.0, 25.0], final_div_factor=[1.0, 1e4]),
        {},
    ),
    "sgdr": (
        _sgdr, dict(d1=10, w1=3, p1=1.0, d2=20, e2=0.0),
        dict(d1=[5, 10, 20], w1=[0, 3, 5], p1=[0.5, 1.0], d2=[2, 20], e2=[0.0, 0.2]), {},
    ),
    **{f"cyclic_{policy}": (jos.cyclic_schedule, _CYCLIC_BASE, _CYCLIC_SWEEPS, dict(policy=policy))
       for policy in ("triangular", "triangular2", "exp_range")},
}
SWEEPS = [(name, arg) for name, spec in SPECS.items() for arg in spec[2]]


@pytest.mark.parametrize(("name", "arg"), SWEEPS, ids=[f"{n}-{a}" for n, a in SWEEPS])
def test_vmap_over_each_argument_matches_loop(name, arg):
    check_vmap_matches_loop(SPECS[name], arg)


@pytest.mark.parametrize("name", list(SPECS))
def test_jit_with_every_argument_traced_compiles_once(name):
    first, last = check_one_trace(SPECS[name])
    assert not np.array_equal(np.asarray(first), np.asarray(last))


PARITY = [
    (jos.warmup_constant_schedule, optax.warmup_constant_schedule,
     dict(init_value=0.1, peak_value=2.0, warmup_steps=7)),
    (jos.warmup_cosine_decay_schedule, optax.warmup_cosine_decay_schedule,
     dict(init_value=0.1, peak_value=1.0, warmup_steps=10, decay_steps=40, end_value=0.05,
          exponent=1.5)),
    (jos.warmup_cosine_decay_schedule, optax.warmup_cosine_decay_schedule,
     dict(init_value=0.0, peak_value=1.0, warmup_steps=0, decay_steps=30)),
    (jos.warmup_cosine_decay_schedule, optax.warmup_cosine_decay_schedule,
     dict(init_value=0.2, peak_value=0.0, warmup_steps=5, decay_steps=30, end_value=0.5)),
    (jos.warmup_exponential_decay_schedule, optax.warmup_exponential_decay_schedule,
     dict(init_value=0.0, peak_value=1.0, warmup_steps=6, transition_steps=5, decay_rate=0.5,
          transition_begin=4, staircase=True, end_value=0.01)),
    (jos.warmup_exponential_decay_schedule, optax.warmup_exponential_decay_schedule,
     dict(init_value=0.0, peak_value=1.0, warmup_steps=0, transition_steps=3, decay_rate=0.8)),
    (jos.linear_onecycle_schedule, optax.linear_onecycle_schedule,
     dict(transition_steps=40, peak_value=2.0)),
    (jos.linear_onecycle_schedule, optax.linear_onecycle_schedule,
     dict(transition_steps=1000, peak_value=0.1, pct_start=0.25, pct_final=0.7, div_factor=10.0,
          final_div_factor=100.0)),
    (jos.cosine_onecycle_schedule, optax.cosine_onecycle_schedule,
     dict(transition_steps=37, peak_value=2.0)),
    (jos.cosine_onecycle_schedule, optax.cosine_onecycle_schedule,
     dict(transition_steps=1000, peak_value=0.1, pct_start=0.1, div_factor=5.0,
          final_div_factor=50.0)),
    (jos.sgdr_schedule, optax.sgdr_schedule,
     dict(cosine_kwargs=[dict(init_value=0.0, peak_value=1.0, warmup_steps=3, decay_steps=10),
                         dict(init_value=0.1, peak_value=0.5, warmup_steps=2, decay_steps=20,
                              end_value=0.05)])),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), PARITY,
                         ids=[f"{p[0].__name__}-{i}" for i, p in enumerate(PARITY)])
def test_matches_optax_with_concrete_arguments(ours, theirs, kwargs):
    expected = optax_curve(theirs(**kwargs))
    got = np.asarray(ours(**kwargs)(jnp.asarray(COUNTS)))
    # Same float32 formulas; the cosine argument is grouped differently (a few ulp).
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("policy", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize(("up", "down"), [(5, 5), (3, 7)])
def test_cyclic_matches_torch_cycliclr(policy, up, down):
    torch = pytest.importorskip("torch")
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1)
    sched = torch.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.1, max_lr=1.0, step_size_up=up, step_size_down=down, mode=policy,
        gamma=0.99, cycle_momentum=False)
    expected = []
    for _ in range(60):  # torch's first lr is for the first update: our count 0
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = jos.cyclic_schedule(0.1, 1.0, up, down, 0.99, policy=policy)(jnp.arange(60))
    # torch computes in float64, we in float32.
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


def test_done_when_vmap_over_peak_and_warmup_equals_loop():
    peaks = jnp.array([1e-3, 1e-2, 0.1, 0.1])
    warms = jnp.array([0, 10, 100, 1000])  # 1000 == decay_steps: no cosine phase at all
    out = jax.vmap(lambda peak, warm: jos.warmup_cosine_decay_schedule(0.0, peak, warm, 1000)(
        jnp.arange(1000)))(peaks, warms)
    loop = np.stack([np.asarray(jos.warmup_cosine_decay_schedule(0.0, float(p), int(w), 1000)(
        jnp.arange(1000))) for p, w in zip(peaks, warms)])
    assert out.shape == (4, 1000) and not np.any(np.isnan(out))
    np.testing.assert_allclose(out, loop, rtol=RTOL, atol=1e-9)


def _quadratic_grads(params):
    target = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([0.3])}
    return jax.tree.map(lambda p, t: 2 * (p - t), params, target)


def _train_adamw(peak, warm, wd, steps=20):
    tx = jos.adamw(jos.warmup_cosine_decay_schedule(0.0, peak, warm, steps), weight_decay=wd)
    params = {"w": jnp.zeros(3), "b": jnp.ones(1)}

    def step(carry, _):
        params, state = carry
        updates, state = tx.update(_quadratic_grads(params), state, params)
        return (jos.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params


def test_done_when_adamw_sweep_over_lr_warmup_and_decay_in_one_jitted_vmap():
    grid = np.array(np.meshgrid([1e-2, 5e-2], [0, 5], [0.0, 0.1], indexing="ij")).reshape(3, -1)
    peaks, warms, wds = jnp.asarray(grid[0], jnp.float32), jnp.asarray(grid[1], jnp.int32), \
        jnp.asarray(grid[2], jnp.float32)
    swept = jax.jit(jax.vmap(_train_adamw))(peaks, warms, wds)

    chex.clear_trace_counter()
    one = jax.jit(chex.assert_max_traces(_train_adamw, n=1))  # one compile for every config
    loop = [one(p, w, d) for p, w, d in zip(peaks, warms, wds)]
    for i, params in enumerate(loop):
        chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], swept), params,
                                    rtol=1e-5, atol=1e-6)  # vmap vs loop: XLA fusion only
    # The traced path equals a plain Python run with concrete hyperparameters.
    concrete = _train_adamw(5e-2, 5, 0.1)
    chex.assert_trees_all_close(jax.tree.map(lambda x: x[-1], swept), concrete,
                                rtol=1e-5, atol=1e-6)
    # The sweep is not degenerate: different configurations end in different places.
    assert len({float(x) for x in swept["b"][:, 0]}) == 8


class TestBoundariesAndDegenerateLengths:

    def test_warmup_cosine_values_at_each_boundary(self):
        s = jos.warmup_cosine_decay_schedule(0.1, 1.0, 4, 12, end_value=0.2)
        got = [float(s(k)) for k in (0, 2, 4, 8, 12, 13, INT32_MAX)]
        mid = 0.2 + 0.8 * 0.5  # half-way through the cosine
        np.testing.assert_allclose(got, [0.1, 0.55, 1.0, mid, 0.2, 0.2, 0.2], rtol=1e-6)

    @pytest.mark.parametrize("build", [
        lambda w: jos.warmup_constant_schedule(0.1, 1.0, w),
        lambda w: jos.warmup_cosine_decay_schedule(0.1, 1.0, w, 20),
        lambda w: jos.warmup_exponential_decay_schedule(0.1, 1.0, w, 5, 0.5),
    ], ids=["constant", "cosine", "exponential"])
    def test_zero_warmup_starts_at_the_peak_concrete_or_traced(self, build):
        # warmup_steps -> 0 removes the ramp; optax's warmup_constant instead stays at
        # init_value forever (its linear_schedule with 0 steps is constant).
        counts = jnp.asarray(COUNTS)
        concrete = build(0)(counts)
        traced = jax.jit(lambda w: build(w)(counts))(0)
        assert float(concrete[0]) == 1.0
        np.testing.assert_array_equal(traced, concrete)

    def test_decay_steps_equal_to_warmup_jumps_to_the_end_value(self):
        counts = jnp.asarray(COUNTS)
        concrete = jos.warmup_cosine_decay_schedule(0.0, 1.0, 5, 5, end_value=0.1)(counts)
        traced = jax.jit(lambda d: jos.warmup_cosine_decay_schedule(0.0, 1.0, 5, d, 0.1)(counts))(5)
        expected = np.where(COUNTS < 5, COUNTS / 5, np.where(COUNTS == 5, 1.0, 0.1))
        np.testing.assert_allclose(concrete, expected, rtol=1e-6)
        np.testing.assert_array_equal(traced, concrete)

    def test_onecycle_values_at_its_boundaries(self):
        s = jos.linear_onecycle_schedule(20, 2.0, div_factor=4.0, final_div_factor=10.0)
        got = [float(s(k)) for k in (0, 6, 17, 20, INT32_MAX)]  # floor(.3*20), floor(.85*20)
        np.testing.assert_allclose(got, [0.5, 2.0, 0.5, 0.05, 0.05], rtol=1e-6)
        c = jos.cosine_onecycle_schedule(20, 2.0, div_factor=4.0, final_div_factor=10.0)
        np.testing.assert_allclose([float(c(k)) for k in (0, 3, 6, 20)],
                                   [0.5, 0.5 + 1.5 * 0.5 * (1 - np.cos(np.pi / 2)), 2.0, 0.05],
                                   rtol=1e-6)

    def test_onecycle_with_zero_steps_is_the_final_value(self):
        for s in (jos.linear_onecycle_schedule(0, 2.0), jos.cosine_onecycle_schedule(0, 2.0)):
            np.testing.assert_allclose(s(jnp.asarray(COUNTS)), 2.0 / 25.0 / 1e4, rtol=1e-6)

    def test_cyclic_boundaries_and_zero_lengths(self):
        s = jos.cyclic_schedule(0.0, 1.0, 4, 2)
        assert [float(s(k)) for k in (0, 4, 6, 10)] == [0.0, 1.0, 0.0, 1.0]
        flat = jos.cyclic_schedule(0.2, 1.0, 0, 0)(jnp.asarray(COUNTS))
        np.testing.assert_array_equal(flat, np.ones(COUNTS.shape, np.float32))
        saw = jos.cyclic_schedule(0.0, 1.0, 0, 4)  # no rising half: a falling sawtooth
        assert [float(saw(k)) for k in range(5)] == [1.0, 0.75, 0.5, 0.25, 1.0]

    def test_cyclic_stays_within_its_bounds_at_huge_counts(self):
        out = jos.cyclic_schedule(0.1, 1.0, 7, 3)(jnp.asarray(COUNTS))
        assert float(out.min()) >= 0.1 - 1e-7 and float(out.max()) <= 1.0 + 1e-7


@jax.jit
def _warmup_cosine_curve(init, peak, warm, decay, end):
    return jos.warmup_cosine_decay_schedule(init, peak, warm, decay, end)(jnp.arange(64))


@given(init=st.floats(0.0, 1.0), peak=st.floats(1.0, 4.0), end=st.floats(0.0, 1.0),
       warm=st.integers(0, 30), extra=st.integers(0, 30))
def test_warmup_cosine_is_bounded_monotone_in_warmup_and_continuous(init, peak, end, warm,
                                                                    extra):
    out = np.asarray(_warmup_cosine_curve(jnp.float32(init), jnp.float32(peak), warm,
                                          warm + extra, jnp.float32(end)))
    tol = 1e-5 * peak  # float32 rounding of the O(peak) values
    assert out.min() >= min(init, end) - tol and out.max() <= peak + tol
    assert np.all(np.diff(out[: warm + 1]) >= -tol)  # rises during warmup
    assert abs(out[warm] - peak) <= tol  # the ramp ends exactly at the peak
    if warm > 0:  # the last warmup step is one ramp increment below the peak
        assert abs(out[warm - 1] - (peak - (peak - init) / warm)) <= tol
    if 0 < extra and warm + extra < 64:  # the decay ends exactly at end_value
        assert abs(out[warm + extra] - end) <= tol


class TestErrors:

    @pytest.mark.parametrize(("build", "name"), [
        (lambda: jos.warmup_constant_schedule(0.0, 1.0, -1), "warmup_steps"),
        (lambda: jos.warmup_cosine_decay_schedule(0.0, 1.0, -1, 10), "warmup_steps"),
        (lambda: jos.warmup_cosine_decay_schedule(0.0, 1.0, 10, 5), "decay_steps"),
        (lambda: jos.warmup_exponential_decay_schedule(0.0, 1.0, -2, 5, 0.5), "warmup_steps"),
        (lambda: jos.linear_onecycle_schedule(-10, 1.0), "transition_steps"),
        (lambda: jos.cosine_onecycle_schedule(-10, 1.0), "transition_steps"),
        (lambda: jos.linear_onecycle_schedule(10, 1.0, pct_start=1.5), "pct_start"),
        (lambda: jos.cosine_onecycle_schedule(10, 1.0, div_factor=0.0), "div_factor"),
        (lambda: jos.cyclic_schedule(0.0, 1.0, -1), "step_size_up"),
        (lambda: jos.cyclic_schedule(0.0, 1.0, 2, -1), "step_size_down"),
        (lambda: jos.cyclic_schedule(0.0, 1.0, 2, gamma=0.0), "gamma"),
    ])
    def test_bad_concrete_values_raise_naming_the_argument(self, build, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            build()

    def test_structural_errors(self):
        with pytest.raises(ValueError, match="`policy` must be one of"):
            jos.cyclic_schedule(0.0, 1.0, policy="triangle")
        with pytest.raises(ValueError, match="at least one cycle"):
            jos.sgdr_schedule([])
