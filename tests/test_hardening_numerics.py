"""Hardening, numerical faults (issue 8, item 2): NaN/Inf, huge and tiny gradients, zeros, lr 0, counts.

Cross-cutting: every alias (and every stateful transform with a step count)
goes through the same faults, so the tests are organised by fault, not by
module. The behaviour each test pins is the one the README's "Guarantees"
section documents.
"""

import functools

import _problems as P
import _registry as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

import jaxopt_scratch as jos

INT32_MAX = np.iinfo(np.int32).max


def _with_bad(grads, value):
    """``grads`` with its first vector entry replaced by ``value`` (NaN or Inf)."""
    return {"w": grads["w"].at[0].set(value), "t": grads["t"]}


def _run(update, tx, params, grads_at, steps):
    """``steps`` updates in a Python loop (``update`` is the chex variant); returns all updates."""
    return P.run_updates(update, tx.init(params), params,
                         [functools.partial(grads_at, k) for k in range(steps)])


# ---------------------------------------------------------------------------------------------
# NaN and Inf gradients, with and without apply_if_finite.
# ---------------------------------------------------------------------------------------------


def _clean_start(name, update, tx):
    """The state a fault meets: ``init``, or after one clean step for a row whose first update
    is zero by design (ADOPT only records g^2 then, so a fault could not show in it)."""
    params = P.tiny_params()
    state = tx.init(params)
    if R.BY_NAME[name].first_update_zero:
        state = update(P.bowl_grad(params), state, params)[1]
    return state


class NonFiniteGradientTest(chex.TestCase):

    @R.registry_variants(R.named())
    def test_without_guard_nan_is_never_hidden(self, name):
        # Documented: without apply_if_finite a NaN gradient gives a NaN update
        # where it lands (the whole leaf for the layer-wise LAMB and LARS), and
        # the other leaves are unaffected.
        tx = R.BY_NAME[name].make(0.1)
        params = P.tiny_params()
        update = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))
        u, _ = update(_with_bad(P.bowl_grad(params), jnp.nan), _clean_start(name, update, tx),
                      params)
        self.assertTrue(np.isnan(u["w"][0]), f"{name} turned a NaN gradient into {u['w'][0]}")
        if not R.BY_NAME[name].couples_leaves:  # L-BFGS: inner products over every leaf
            self.assertTrue(np.isfinite(u["t"][0]), "the NaN leaked into another leaf")

    @R.registry_variants(R.named())
    def test_without_guard_inf_shows_in_the_update_or_the_state(self, name):
        # Documented: an Inf gradient makes the update non-finite, except for
        # Lion (sign(inf) = 1), whose momentum then holds the Inf: either way it
        # is visible, and only apply_if_finite keeps the state clean.
        # signSGD and Rprop keep only sign(g): sign(inf) = 1 is a finite step, nothing to see.
        # ADOPT and Sophia clip the step: sign-like, the Inf shows in their state.
        tx = R.BY_NAME[name].make(0.1)
        params = P.tiny_params()
        update = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))
        u, state = update(_with_bad(P.bowl_grad(params), jnp.inf), _clean_start(name, update, tx),
                          params)
        if R.BY_NAME[name].absorbs_inf:
            self.assertTrue(P.all_finite(u) and P.all_finite(state))
            return
        self.assertFalse(P.all_finite(u) and P.all_finite(state), f"{name} absorbed an Inf")
        if not (R.BY_NAME[name].sign_update or R.BY_NAME[name].bounded_update):
            self.assertFalse(np.isfinite(u["w"][0]))

    @R.registry_variants(
        [(f"{n}_nan", n, "nan") for n in R.BY_NAME]
        # Inf takes the same path through the guard; one alias per kind of state.
        + [(f"{n}_inf", n, "inf") for n in ("adam", "lion", "rmsprop_centered", "lars")])
    def test_apply_if_finite_skips_the_bad_step_exactly(self, name, bad):
        # Documented: a bad step is skipped (zero update, inner state untouched),
        # so the run equals the same run without that step.
        bad_step, steps = 1, 3
        value = jnp.nan if bad == "nan" else -jnp.inf
        guarded = jos.apply_if_finite(R.BY_NAME[name].make(0.1), max_consecutive_errors=3)

        def grads_at(k, p):
            g = P.bowl_grad(p)
            return _with_bad(g, value) if k == bad_step else g

        entry = R.BY_NAME[name]
        params, state, updates = _run(self.variant(entry.update(guarded, P.bowl_loss)), guarded,
                                      P.tiny_params(), grads_at, steps)
        chex.assert_trees_all_equal(updates[bad_step],
                                    jax.tree.map(jnp.zeros_like, updates[bad_step]))
        self.assertEqual(int(state.total_notfinite), 1)
        self.assertTrue(P.all_finite(params) and P.all_finite(state))
        plain = entry.make(0.1)
        ref, ref_state, _ = _run(self.variant(entry.update(plain, P.bowl_loss)), plain,
                                 P.tiny_params(), lambda k, p: P.bowl_grad(p), steps - 1)
        chex.assert_trees_all_close(params, ref, rtol=1e-6, atol=1e-7)  # same float32 program
        chex.assert_trees_all_close(R.comparable(state.inner_state), R.comparable(ref_state),
                                    rtol=1e-6, atol=1e-7)

    @chex.variants(with_jit=True, without_jit=True)
    def test_apply_if_finite_lets_the_fault_through_then_resets(self):
        # Documented: after max_consecutive_errors bad steps in a row, the next
        # one goes through (the failure surfaces), and the count restarts.
        tx = jos.apply_if_finite(jos.sgd(0.1), max_consecutive_errors=2)
        update = self.variant(tx.update)
        state, nan = tx.init(jnp.zeros(1)), jnp.full((1,), jnp.nan)
        seen = []
        for _ in range(5):
            u, state = update(nan, state)
            seen.append((bool(np.isnan(u[0])), int(state.notfinite_count)))
        self.assertEqual(seen, [(False, 1), (False, 2), (True, 0), (False, 1), (False, 2)])
        self.assertEqual(int(state.total_notfinite), 5)


# ---------------------------------------------------------------------------------------------
# Gradients of 1e30 and 1e-30 in float32.
# ---------------------------------------------------------------------------------------------


class ExtremeGradientTest(chex.TestCase):

    @R.registry_variants(
        [(f"{n}_{s:g}", n, s) for n in R.BY_NAME for s in (1e30, 1e-30)])
    def test_updates_stay_finite(self, name, scale):
        tx = R.BY_NAME[name].make(0.1)
        signs = {"w": jnp.asarray([1.0, -1.0, 1.0]), "t": (jnp.asarray(-1.0),)}
        grads = jax.tree.map(lambda s: (s * scale).astype(jnp.float32), signs)
        # The loss whose gradient is the constant `grads`: <grads, p>.
        linear = lambda p: sum(jnp.vdot(g, x) for g, x in zip(jax.tree.leaves(grads),
                                                                jax.tree.leaves(p)))
        update = self.variant(R.BY_NAME[name].update(tx, linear))
        params, state, updates = _run(update, tx, P.tiny_params(), lambda k, p: grads, 4)
        self.assertEqual(grads["w"].dtype, jnp.float32)
        self.assertTrue(all(P.all_finite(u) for u in updates), f"{name}: {updates}")
        self.assertTrue(P.all_finite(params))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("adam", "adam"), ("rmsprop", "rmsprop"),
                                    ("adagrad", "adagrad"), ("amsgrad", "amsgrad"))
    def test_overflowing_second_moment_gives_zero_steps_like_optax(self, name):
        # Documented limit: g^2 above the float32 maximum (|g| > ~1.8e19) makes the
        # second moment inf, and the step g / sqrt(inf) is 0 from then on for that
        # coordinate. optax 0.2.8 computes the same zeros; clip first (next test).

        tx = R.BY_NAME[name].make(0.1)
        g = jnp.asarray([1e30, -1e30], jnp.float32)
        u, state = self.variant(tx.update)(g, tx.init(jnp.zeros(2)), jnp.zeros(2))
        ref_tx = R.BY_NAME[name].make_optax(0.1)
        with jax.numpy_dtype_promotion("standard"):
            ref, _ = ref_tx.update(g, ref_tx.init(jnp.zeros(2)), jnp.zeros(2))
        chex.assert_trees_all_equal(u, jnp.zeros(2))
        chex.assert_trees_all_equal(ref, jnp.zeros(2))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("huge", 1e30), ("larger", 1e37))
    def test_clip_by_global_norm_then_adam_takes_a_full_step(self, scale):
        # The global norm is computed scaled, so clipping a 1e30 gradient gives a
        # unit-norm gradient (optax's naive sum of squares overflows to inf and
        # clips it to 0) and Adam's first step is -lr * sign(g). Limit: the factor
        # max_norm / norm must be a normal float32 (XLA flushes subnormals to 0),
        # so the norm may be up to ~8e37 * max_norm.
        tx = jos.chain(jos.clip_by_global_norm(1.0), jos.adam(0.1))
        g = jnp.asarray([scale, -scale], jnp.float32)
        u, _ = self.variant(tx.update)(g, tx.init(jnp.zeros(2)))
        chex.assert_trees_all_close(u, jnp.asarray([-0.1, 0.1]), rtol=1e-5)  # float32 rounding

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("huge", 1e30), ("tiny", 1e-30))
    def test_lars_trust_ratio_is_right_at_extreme_scales(self, scale):
        # LARS' first step is -lr * eta * |p| / |g| * g: of size lr * eta * |p|
        # whatever |g|. Oracle: the same formula in float64 NumPy.
        tx = jos.lars(0.1, momentum=0.9)
        p = jnp.asarray([3.0, 4.0], jnp.float32)
        g = jnp.asarray([scale, -2 * scale], jnp.float32)
        u, _ = self.variant(tx.update)(g, tx.init(p), p)
        g64 = np.asarray(g, np.float64)
        expected = -0.1 * 1e-3 * 5.0 / np.linalg.norm(g64) * g64
        np.testing.assert_allclose(np.asarray(u, np.float64), expected, rtol=1e-5)  # float32


# ---------------------------------------------------------------------------------------------
# Zero gradients for thousands of steps; learning rate 0.
# ---------------------------------------------------------------------------------------------

ZERO_STEPS = 3000


class ZeroGradientTest(chex.TestCase):

    @R.registry_variants(R.named())
    def test_thousands_of_zero_gradients_stay_finite(self, name):
        tx = R.BY_NAME[name].make(0.1)
        params = P.tiny_params()
        entry = R.BY_NAME[name]
        flat = lambda p: jnp.zeros((), jnp.float32)  # the loss of zero gradients
        final, state = P.run_variant(
            self.variant, tx, params, lambda p: jax.tree.map(jnp.zeros_like, p), ZERO_STEPS,
            update=entry.update(tx, flat))
        self.assertTrue(P.all_finite(final) and P.all_finite(state))
        if entry.drifts:  # noise or nonzero initial moments: finiteness is the claim
            return
        if entry.decays_by_default:
            # Only the decoupled weight decay acts: p_T = (1 - lr * wd)^T p_0.
            wd = entry.hyperparams["weight_decay"][0]  # the alias's default
            factor = (1 - 0.1 * wd) ** ZERO_STEPS
            # float32 rounds each of the 3000 products (~6e-8 relative each).
            chex.assert_trees_all_close(final, jax.tree.map(lambda x: x * factor, params),
                                        rtol=5e-4)
        else:
            chex.assert_trees_all_equal(final, params)


class ZeroLearningRateTest(chex.TestCase):

    @R.registry_variants(
        [(f"{n}_constant", n, "constant") for n in R.BY_NAME]
        # A schedule takes another path (scale_by_schedule); the aliases with weight decay
        # or a trust ratio are where a nonzero step could sneak in.
        + [(f"{n}_schedule", n, "schedule") for n in ("sgd", "adamw", "lion", "lamb", "lars")])
    def test_learning_rate_zero_leaves_params_unchanged(self, name, kind):
        lr = 0.0 if kind == "constant" else jos.constant_schedule(0.0)
        entry = R.BY_NAME[name]
        tx = entry.make(lr)
        params = P.tiny_params()
        final, _ = P.run_variant(self.variant, tx, params, P.bowl_grad, 5,
                                 update=entry.update(tx, P.bowl_loss))
        if entry.moves_at_lr0:
            # MADGRAD weighs step k by (lr + eps) * sqrt(k + 1), eps added to the rate as in
            # optax: at lr 0 the weights are eps-sized and x0 - s / cbrt(nu) still moves (by
            # ~1e-4 in 5 steps). optax 0.2.8 moves the same: the same float32 formulas in
            # another order (measured 6e-8 apart).
            ref = P.optax_run(entry.make_optax(lr), params, P.bowl_grad, 5)[0]
            chex.assert_trees_all_close(final, ref, rtol=1e-6, atol=1e-6)
            self.assertFalse(np.allclose(final["w"], params["w"], rtol=0, atol=1e-6))
            return
        chex.assert_trees_all_equal(final, params)  # exactly: weight decay is scaled by lr too


# ---------------------------------------------------------------------------------------------
# Step counts saturate at the int32 maximum.
# ---------------------------------------------------------------------------------------------

_SCHEDULE = jos.warmup_cosine_decay_schedule(0.0, 1.0, 10, 1000)

# Public state class -> a transform whose state (or inner state) holds it.
WITH_COUNT = {
    "ScaleByAdamState": lambda: jos.scale_by_adam(nesterov=True),
    "ScaleByAmsgradState": lambda: jos.scale_by_amsgrad(),
    "ScaleByLionState": lambda: jos.scale_by_lion(),
    "ScaleByRmsState": lambda: jos.scale_by_rms(bias_correction=True),
    "ScaleByStddevState": lambda: jos.scale_by_stddev(bias_correction=True),
    "EmaState": lambda: jos.ema(0.9),
    "ScaleByScheduleState": lambda: jos.scale_by_schedule(_SCHEDULE),
    "AddDecayedWeightsState": lambda: jos.add_decayed_weights(_SCHEDULE),
    "InjectHyperparamsState": lambda: jos.inject_hyperparams(jos.adamw)(
        learning_rate=_SCHEDULE, weight_decay=_SCHEDULE),
    "JoinTransformsState": lambda: jos.join_transforms([jos.adam(0.1), jos.sgd(0.1)], [5]),
    "MultiStepsState": lambda: jos.MultiSteps(jos.adam(0.1), 2).gradient_transformation(),
    "ApplyIfFiniteState": lambda: jos.apply_if_finite(jos.adamax(0.1), 2),
    "AddNoiseState": lambda: jos.add_noise(0.01, 0.55, 0),
    "FactoredState": lambda: jos.scale_by_factored_rms(),
    "InjectStatefulHyperparamsState": lambda: jos.inject_stateful_hyperparams(jos.adamw)(
        learning_rate=_SCHEDULE),
    "ScaleByBeliefState": lambda: jos.scale_by_belief(),
    "ScaleByLBFGSState": lambda: jos.scale_by_lbfgs(),
    "ScaleByNovogradState": lambda: jos.scale_by_novograd(),
    "ScaleByRStdDevState": lambda: jos.scale_by_stddev(bias_correction=True),  # optax's alias
}


def _int32_scalars(state):
    return [x for x in jax.tree.leaves(state)
            if jnp.result_type(x) == jnp.int32 and jnp.shape(x) == ()]


class CountSaturationTest(chex.TestCase):

    def test_every_public_state_with_a_counter_is_covered(self):
        counters = {"count", "gradient_step", "mini_step", "notfinite_count", "total_notfinite"}
        with_counter = {n for n in jos.__all__ if n.endswith("State")  # not the OptState alias
                        and counters & set(getattr(getattr(jos, n), "_fields", ()))}
        self.assertEqual(with_counter, set(WITH_COUNT))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(k, k) for k in WITH_COUNT])
    def test_counts_saturate_instead_of_wrapping(self, key):
        tx = WITH_COUNT[key]()
        params = P.tiny_params()
        state = tx.init(params)
        self.assertNotEqual(_int32_scalars(state), [], "no counter to test")
        # Every counter one step before the maximum (a state met after ~2e9 steps).
        state = jax.tree.map(
            lambda x: jnp.full_like(x, INT32_MAX - 1)
            if jnp.result_type(x) == jnp.int32 and jnp.shape(x) == () else x, state)
        grads = P.bowl_grad(params)
        if key == "ApplyIfFiniteState":  # its counters move on bad steps
            grads = _with_bad(grads, jnp.nan)
        update = self.variant(tx.update)
        for _ in range(3):
            updates, state = update(grads, state, params)
            if key != "ApplyIfFiniteState":
                self.assertTrue(P.all_finite(updates), f"{key}: {updates}")
        counts = [int(c) for c in _int32_scalars(state)]
        self.assertTrue(all(c >= 0 for c in counts), f"a counter wrapped around: {counts}")
        self.assertEqual(max(counts), INT32_MAX, f"no counter reached the maximum: {counts}")
        top = state.total_notfinite if key == "ApplyIfFiniteState" else (
            state.gradient_step if key == "MultiStepsState" else getattr(state, "count", None))
        self.assertEqual(int(top), INT32_MAX)
