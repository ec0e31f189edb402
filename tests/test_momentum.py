"""Tests for jaxopt_scratch/_transforms/accumulation.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import ELLIPSE, VALLEY
from absl.testing import parameterized

import jaxopt_scratch as jos

LR = 0.05


def _optax_trace():
    return optax.chain(optax.trace(0.9), optax.scale(-LR))


def _optax_nesterov():
    return optax.chain(optax.trace(0.5, nesterov=True), optax.scale(-LR))


def _optax_ema():
    return optax.chain(optax.ema(0.9), optax.scale(-LR))


def _optax_ema_raw():
    return optax.chain(optax.ema(0.8, debias=False), optax.scale(-LR))


PARITY = (
    ("heavy_ball_default", lambda: jos.trace(0.9), _optax_trace, lambda: R.HeavyBall(0.9)),
    ("nesterov", lambda: jos.trace(0.5, nesterov=True), _optax_nesterov,
     lambda: R.HeavyBall(0.5, nesterov=True)),
    ("ema_debiased", lambda: jos.ema(0.9), _optax_ema, lambda: R.Ema(0.9)),
    ("ema_raw", lambda: jos.ema(0.8, debias=False), _optax_ema_raw, lambda: R.Ema(0.8, False)),
)


class TraceTest(chex.TestCase):

    def test_init_is_float32_zeros_even_for_bfloat16(self):
        params = _problems.nested_params(jnp.bfloat16)
        state = jos.trace(0.9).init(params)
        self.assertIsInstance(state, jos.TraceState)
        chex.assert_trees_all_equal_structs(state.trace, params)
        for leaf in jax.tree.leaves(state.trace):
            self.assertEqual(leaf.dtype, jnp.float32)
            np.testing.assert_array_equal(leaf, 0)
        acc = jos.trace(0.9, accumulator_dtype=jnp.bfloat16).init(params)
        self.assertEqual(acc.trace["pair"][0].dtype, jnp.bfloat16)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("heavy_ball", False, [1.0, 1.9, 2.71]),
                                    ("nesterov", True, [1.9, 2.71, 3.439]))
    def test_hand_computed_steps(self, nesterov, expected):
        # v = 1, 1.9, 2.71 for g = 1; Nesterov returns g + 0.9 v.
        tx = jos.trace(0.9, nesterov=nesterov)
        update = self.variant(tx.update)
        g, state = jnp.ones(1), tx.init(jnp.zeros(1))
        outs = []
        for _ in range(3):
            u, state = update(g, state)
            outs.append(float(u[0]))
        np.testing.assert_allclose(outs, expected, rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_bfloat16_updates_keep_their_dtype(self):
        tx = jos.trace(0.9)
        g = jnp.asarray([1.0, -3.0], jnp.bfloat16)
        u, state = self.variant(tx.update)(g, tx.init(g))
        self.assertEqual(u.dtype, jnp.bfloat16)
        self.assertEqual(state.trace.dtype, jnp.float32)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`decay` must lie in \[0, 1\), got 1.0"):
            jos.trace(1.0)
        tx = jos.trace(0.9)
        with pytest.raises(ValueError, match=r"`trace`: the updates tree does not match"):
            tx.update({"a": jnp.ones(1)}, tx.init({"b": jnp.ones(1)}))

    def test_vmap_over_decay(self):
        _problems.assert_vmap_matches_loop(self, jos.trace, [0.0, 0.5, 0.9])
        _problems.assert_vmap_matches_loop(self, lambda d: jos.trace(d, nesterov=True), [0.0, 0.9])


class EmaTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("debiased", True, [2.0, 2.0]),
                                    ("raw", False, [0.2, 0.38]))
    def test_hand_computed_steps(self, debias, expected):
        # m1 = 0.1 g, m2 = 0.19 g for a constant g = 2; debiased both are g.
        tx = jos.ema(0.9, debias=debias)
        update = self.variant(tx.update)
        g, state = jnp.asarray([2.0]), tx.init(jnp.zeros(1))
        u1, state = update(g, state)
        u2, state = update(g, state)
        np.testing.assert_allclose([float(u1[0]), float(u2[0])], expected, rtol=1e-6)
        self.assertEqual(int(state.count), 2)
        np.testing.assert_allclose(state.ema, [0.38], rtol=1e-6)  # the raw average is stored

    def test_count_saturates_and_stays_finite(self):
        tx = jos.ema(0.9)
        params = _problems.nested_params()
        state = tx.init(params)._replace(count=jnp.asarray(np.iinfo(np.int32).max - 1, jnp.int32))
        for _ in range(2):
            u, state = tx.update(_problems.nested_grad(params), state)
        self.assertEqual(int(state.count), np.iinfo(np.int32).max)
        self.assertTrue(all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u)))

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`decay` must lie in \[0, 1\), got -0.5"):
            jos.ema(-0.5)
        tx = jos.ema(0.9)
        with pytest.raises(ValueError, match=r"`ema`: the updates tree does not match"):
            tx.update((jnp.ones(1),), tx.init([jnp.ones(1)]))

    def test_vmap_over_decay(self):
        _problems.assert_vmap_matches_loop(self, jos.ema, [0.0, 0.5, 0.9])
        _problems.assert_vmap_matches_loop(self, lambda d: jos.ema(d, debias=False), [0.1, 0.9])


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_oracle_over_50_steps(self, ours, theirs, oracle):
        tx = jos.chain(ours(), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"momentum {theirs.__name__}",
                               optax_build=theirs, oracle=R.Chain(oracle(), R.Scale(-LR)))


class SeedReferenceTest(chex.TestCase):
    """Tutorial 1's uncorrected and tutorial 4's bias-corrected EWMA momentum.

    Problems P7 and P8 of ``docs/tutorial_claims.rst``.
    """

    def test_p7_tutorial1_ema_momentum(self):
        tx = jos.chain(jos.ema(0.9, debias=False), jos.scale_by_learning_rate(0.1))
        traj = _problems.trajectory(tx, ELLIPSE, 100)
        _problems.check_against_reference(self, traj, ELLIPSE, "P7 ellipse ema momentum",
                                          rtol=_problems.F32_RTOL_PLAIN,
                                          atol=_problems.F32_ATOL_PLAIN)

    def test_p8_tutorial4_ewma_with_bias_correction(self):
        tx = jos.chain(jos.ema(0.9), jos.scale_by_learning_rate(0.1))
        traj = _problems.trajectory(tx, VALLEY, 100)
        # The first debiased step is plain GD: (9, -3) - 0.1 * (1.8, -30) = (8.82, 0), up to
        # float32 rounding of m / (1 - b) (one ulp of 30 times lr is ~2.4e-7).
        np.testing.assert_allclose(traj[0], [8.82, 0.0], rtol=1e-7, atol=3e-7)
        _problems.check_against_reference(self, traj, VALLEY, "P8 valley ewma debiased",
                                          rtol=_problems.F32_RTOL_PLAIN,
                                          atol=_problems.F32_ATOL_PLAIN)

    def test_p8_in_float64(self):
        with jax.enable_x64(True):
            tx = jos.chain(jos.ema(0.9), jos.scale_by_learning_rate(0.1))
            traj = _problems.trajectory(tx, VALLEY, 100, jnp.float64)
            _problems.check_against_reference(self, traj, VALLEY, "P8 valley ewma debiased",
                                              rtol=_problems.F64_RTOL, atol=_problems.F64_ATOL)


def _optax_apply_every():
    return optax.chain(optax.apply_every(3), optax.scale(-0.05))


class ApplyEveryTest(chex.TestCase):

    @chex.variants(with_jit=True)
    def test_matches_optax_over_50_steps(self):
        tx = jos.chain(jos.apply_every(3), jos.scale(-0.05))
        _problems.check_parity(self, self.variant, tx, optax_key="apply_every 3",
                               optax_build=_optax_apply_every)

    @chex.variants(with_jit=True, without_jit=True)
    def test_emits_the_window_sum_on_the_last_step_only(self):
        tx = jos.apply_every(2)
        update = self.variant(tx.update)
        state = tx.init(jnp.zeros(1))
        got = []
        for g in (1.0, 3.0, 5.0, 7.0, 11.0):
            u, state = update(jnp.asarray([g]), state)
            got.append(float(u[0]))
        self.assertEqual(got, [0.0, 4.0, 0.0, 12.0, 0.0])
        self.assertEqual(int(state.count), 1)

    def test_k_is_traceable_vmap_matches_loop(self):
        def run(k):
            tx = jos.chain(jos.apply_every(k), jos.scale(-0.1))
            return _problems.scan_run(tx, _problems.small_params(), _problems.nested_grad, 6)[0]

        ks = [1, 2, 3]
        chex.clear_trace_counter()
        jitted = jax.jit(chex.assert_max_traces(run, n=1))
        looped = [jitted(jnp.int32(k)) for k in ks]
        batched = jax.vmap(jitted)(jnp.asarray(ks, jnp.int32))
        for i, want in enumerate(looped):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), want,
                                        rtol=1e-6)
        self.assertFalse(np.allclose(looped[0]["w"], looped[2]["w"]))

    def test_nan_stays_in_its_window(self):
        # Deviation (docstring note): optax multiplies the old sum by 0, so a NaN spreads to
        # every later update, emitted or not.
        tx, theirs = jos.apply_every(2), optax.apply_every(2)
        s, t = tx.init(jnp.zeros(1)), theirs.init(jnp.zeros(1))
        ours, ref = [], []
        for g in (jnp.nan, 1.0, 2.0, 3.0):
            u, s = tx.update(jnp.asarray([g]), s)
            with jax.numpy_dtype_promotion("standard"):  # optax multiplies floats by bools
                v, t = theirs.update(jnp.asarray([g]), t)
            ours.append(float(u[0]))
            ref.append(float(v[0]))
        np.testing.assert_array_equal(ours, [0.0, np.nan, 0.0, 5.0])
        self.assertTrue(np.isnan(ref[2]) and np.isnan(ref[3]))

    def test_bad_k_raises_naming_it(self):
        with pytest.raises(ValueError, match="`k`"):
            jos.apply_every(0)
        with pytest.raises(TypeError, match="`k`"):
            jos.apply_every(1.5)
