"""Tests for jaxopt_scratch/_wrappers/multistep.py."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import counting, run_updates
from absl.testing import parameterized

import jaxopt_scratch as jos

PARAMS = {"w": jnp.array([[0.5, -1.0], [1.5, 0.25]]), "b": jnp.array([0.1, -0.2])}
GRADS = [jax.tree.map(lambda p, k=k: jnp.cos(p * (k + 1)) - 0.05 * k, PARAMS) for k in range(9)]


def run(update, state, params=PARAMS, grads=GRADS):
    return run_updates(update, state, params, grads)


class MultiStepsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("mean", True), ("sum", False))
    def test_matches_optax_multisteps(self, use_grad_mean):
        ms = jos.MultiSteps(jos.sgd(0.1, momentum=0.9), 3, use_grad_mean=use_grad_mean)
        params, state, hist = run(self.variant(ms.update), ms.init(PARAMS))
        ref = optax.MultiSteps(optax.sgd(0.1, momentum=0.9), 3, use_grad_mean=use_grad_mean)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32
            ref_params, ref_state, ref_hist = run(jax.jit(ref.update), ref.init(PARAMS))
        # Same Welford mean in float32; sgd has no formula differences.
        chex.assert_trees_all_close(hist, ref_hist, rtol=1e-6, atol=1e-7)
        chex.assert_trees_all_close(params, ref_params, rtol=1e-6, atol=1e-7)
        assert int(state.gradient_step) == int(ref_state.gradient_step) == 3
        assert bool(ms.has_updated(state)) and bool(ref.has_updated(ref_state))

    @chex.variants(with_jit=True, without_jit=True)
    def test_equals_the_inner_optimizer_on_averaged_gradients(self):
        ms = jos.MultiSteps(jos.adam(0.1), every_k_schedule=3)
        params, _, hist = run(self.variant(ms.update), ms.init(PARAMS))
        adam = jos.adam(0.1)
        means = [jax.tree.map(lambda *g: sum(g) / 3, *GRADS[i:i + 3]) for i in (0, 3, 6)]
        ref_params, _, ref_hist = run(adam.update, adam.init(PARAMS), grads=means)
        chex.assert_trees_all_close(params, ref_params, rtol=1e-5)  # mean summation order
        zeros = jax.tree.map(jnp.zeros_like, PARAMS)
        for i, u in enumerate(hist):
            expected = ref_hist[i // 3] if i % 3 == 2 else zeros
            chex.assert_trees_all_close(u, expected, rtol=1e-5, atol=1e-8)

    @parameterized.named_parameters(("lax_cond", True), ("eager", False))
    def test_inner_update_runs_once_per_k_micro_steps(self, jit):
        calls = []
        ms = jos.MultiSteps(jos.chain(counting(calls), jos.sgd(0.1)), 3)
        update = jax.jit(ms.update) if jit else ms.update
        run(update, ms.init(PARAMS))
        jax.effects_barrier()
        assert len(calls) == 3  # 9 micro-steps, k = 3 (optax's MultiSteps would run it 9 times)

    def test_vmap_over_k_matches_loop(self):
        def updates(k):
            ms = jos.MultiSteps(jos.sgd(1.0), k)
            _, _, hist = run(ms.update, ms.init(PARAMS))
            return jnp.stack([u["b"] for u in hist])

        ks = [1, 2, 3, 4]
        batched = jax.jit(jax.vmap(updates))(jnp.asarray(ks))
        one = jax.jit(updates)  # one compile; k is an argument
        for i, k in enumerate(ks):
            np.testing.assert_allclose(batched[i], one(jnp.asarray(k)), rtol=1e-6)
            emitted = np.any(np.asarray(batched[i]) != 0, axis=1)
            np.testing.assert_array_equal(emitted, (np.arange(9) + 1) % k == 0)

    def test_k_as_a_schedule_of_the_gradient_step(self):
        ms = jos.MultiSteps(jos.sgd(1.0), lambda step: jnp.where(step < 2, 1, 3))
        _, state, hist = run(jax.jit(ms.update), ms.init(PARAMS))
        emitted = [bool(np.any(np.asarray(u["b"]) != 0)) for u in hist]
        # k = 1 for the first two updates, then 3: updates after micro-steps 1, 2, 5, 8.
        assert emitted == [True, True, False, False, True, False, False, True, False]
        assert int(state.gradient_step) == 4 and int(state.mini_step) == 1

    @chex.variants(with_jit=True, without_jit=True)
    def test_bf16_updates_accumulate_in_float32(self):
        bf16 = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
        grads = [jax.tree.map(lambda x: x.astype(jnp.bfloat16), g) for g in GRADS[:4]]
        ms = jos.MultiSteps(jos.sgd(1.0), 4)
        update, state = self.variant(ms.update), ms.init(bf16)
        for g in grads[:3]:
            _, state = update(g, state, bf16)
            assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(state.acc_grads))
        u, _ = update(grads[3], state, bf16)
        mean = jax.tree.map(lambda *g: np.mean([np.float32(x) for x in g], axis=0), *grads)
        assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u))
        chex.assert_trees_all_close(jax.tree.map(lambda x: x.astype(jnp.float32), u),
                                    jax.tree.map(lambda m: -m, mean), rtol=8e-3)  # bf16 output

    @chex.variants(with_jit=True, without_jit=True)
    def test_skipped_micro_steps_change_nothing(self):
        def skip_not_finite(updates, gradient_step, params):
            del gradient_step, params
            leaves = jax.tree.leaves(updates)
            finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
            return ~finite, {"skipped": ~finite}

        ms = jos.MultiSteps(jos.sgd(1.0), 2, should_skip_update_fn=skip_not_finite)
        update, state = self.variant(ms.update), ms.init(PARAMS)
        _, state = update(GRADS[0], state, PARAMS)
        bad = jax.tree.map(lambda x: jnp.full_like(x, jnp.nan), PARAMS)
        u, skipped = update(bad, state, PARAMS)
        chex.assert_trees_all_equal(u, jax.tree.map(jnp.zeros_like, PARAMS))
        chex.assert_trees_all_equal(skipped._replace(skip_state=None),
                                    state._replace(skip_state=None))
        assert bool(skipped.skip_state["skipped"])
        u, _ = update(GRADS[1], skipped, PARAMS)  # the window completes as if nothing happened
        chex.assert_trees_all_close(u, jax.tree.map(lambda a, b: -(a + b) / 2, GRADS[0], GRADS[1]),
                                    rtol=1e-6)

    def test_gradient_transformation_and_inner_opt(self):
        inner = jos.sgd(1.0)
        ms = jos.MultiSteps(inner, 1)
        tx = jos.chain(jos.clip(0.5), ms.gradient_transformation())
        u, _ = tx.update(jnp.array([2.0, -0.25]), tx.init(jnp.zeros(2)))
        np.testing.assert_allclose(u, [-0.5, 0.25])
        assert ms.inner_opt is inner

    def test_errors(self):
        with pytest.raises(ValueError, match="`every_k_schedule`"):
            jos.MultiSteps(jos.sgd(1.0), 0)
        ms = jos.MultiSteps(jos.sgd(1.0), 2)
        with pytest.raises(ValueError, match="does not match the accumulator"):
            ms.update({"x": jnp.ones(2)}, ms.init(PARAMS))
        with pytest.raises(ValueError, match="bool scalar"):
            bad = jos.MultiSteps(jos.sgd(1.0), 2, should_skip_update_fn=lambda u, s, p: (1.0, ()))
            bad.update(PARAMS, bad.init(PARAMS))
