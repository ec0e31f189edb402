"""Tests for jaxopt_scratch/_wrappers/partition.py."""

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

PARAMS = {"w": jnp.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]), "b": jnp.array([0.1, -0.2, 0.3])}
TARGET = jax.tree.map(lambda p: 0.5 * p + 0.25, PARAMS)


def grads_at(params):
    """Gradient of sum((p - target)^2): a fixed, deterministic problem."""
    return jax.tree.map(lambda p, t: 2 * (p - t), params, TARGET)


def run(update, state, params, steps, grads_fn=grads_at):
    """Applies ``steps`` updates; returns the final params, state and every step's updates."""
    return run_updates(update, state, params, [grads_fn] * steps)


def optax_run(tx, params, steps, grads_fn=grads_at):
    with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32 counts
        return run(jax.jit(tx.update), tx.init(params), params, steps, grads_fn)


LABELS = {"w": "adam", "b": "sgd"}


class MultiTransformTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_with_labels_as_tree_and_as_function(self):
        for labels in (LABELS, lambda p: jax.tree.map(lambda _, lab: lab, p, LABELS)):
            tx = jos.multi_transform({"adam": jos.adam(0.1), "sgd": jos.sgd(0.05, momentum=0.9)},
                                     labels)
            params, _, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS, 8)
            ref = optax.multi_transform({"adam": optax.adam(0.1),
                                         "sgd": optax.sgd(0.05, momentum=0.9)}, labels)
            ref_params, _, ref_hist = optax_run(ref, PARAMS, 8)
            # adam's bias correction uses expm1 here, 1 - b**t in optax (~1e-5 relative);
            # grads 2 (p - t) cancel as p -> t, so compare absolutely at float32 scale too.
            chex.assert_trees_all_close(hist, ref_hist, rtol=2e-5, atol=2e-6)
            chex.assert_trees_all_close(params, ref_params, rtol=2e-5, atol=2e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_prefix_labels_route_whole_subtrees(self):
        params = {"gen": {"w": jnp.ones(2), "b": jnp.zeros(1)}, "disc": {"w": -jnp.ones(3)}}
        grads = jax.tree.map(lambda p: p + 0.5, params)
        tx = jos.partition({"g": jos.adam(0.1), "d": jos.sgd(0.5)}, {"gen": "g", "disc": "d"})
        updates, state = self.variant(tx.update)(grads, tx.init(params), params)
        adam = jos.adam(0.1)
        expected_gen, _ = adam.update(grads["gen"], adam.init(params["gen"]))
        chex.assert_trees_all_close(updates["gen"], expected_gen, rtol=1e-6)
        chex.assert_trees_all_close(updates["disc"], {"w": -0.5 * grads["disc"]["w"]}, rtol=1e-6)
        assert int(state.inner_states["g"].inner_state[0].count) == 1

    def test_partition_is_multi_transform(self):
        assert jos.partition is jos.multi_transform

    def test_label_without_transform_raises(self):
        tx = jos.multi_transform({"adam": jos.adam(0.1)}, LABELS)
        with pytest.raises(ValueError, match=r"labels \['sgd'\] that have no optimizer"):
            tx.init(PARAMS)

    def test_rejects_non_mapping_transforms(self):
        with pytest.raises(TypeError, match="non-empty dict"):
            jos.multi_transform([jos.sgd(0.1)], LABELS)


class FreezeTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_frozen_leaves_never_move_and_others_follow_the_optimizer(self):
        tx = jos.chain(jos.freeze({"w": True, "b": False}), jos.adam(0.1))
        params, _, _ = run(self.variant(tx.update), tx.init(PARAMS), PARAMS, 5)
        np.testing.assert_array_equal(params["w"], PARAMS["w"])
        adam = jos.adam(0.1)
        ref, _, _ = run(adam.update, adam.init(PARAMS["b"]), PARAMS["b"], 5,
                        lambda b: grads_at({"w": PARAMS["w"], "b": b})["b"])
        chex.assert_trees_all_close(params["b"], ref, rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_freeze(self):
        mask = {"w": False, "b": True}
        tx, ref = jos.freeze(mask), optax.freeze(mask)
        got, _ = self.variant(tx.update)(grads_at(PARAMS), tx.init(PARAMS))
        with jax.numpy_dtype_promotion("standard"):
            want, _ = ref.update(grads_at(PARAMS), ref.init(PARAMS))
        chex.assert_trees_all_equal(got, want)

    def test_bool_masks_freeze_all_or_nothing(self):
        g = grads_at(PARAMS)
        everything, nothing = jos.freeze(True), jos.freeze(False)
        chex.assert_trees_all_equal(everything.update(g, everything.init(PARAMS))[0],
                                    jax.tree.map(jnp.zeros_like, g))
        chex.assert_trees_all_equal(nothing.update(g, nothing.init(PARAMS))[0], g)


def _nan_like(tree):
    return jax.tree.map(lambda x: jnp.full_like(x, jnp.nan), tree)


class ApplyIfFiniteTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_until_it_gives_up(self):
        # bad steps 2 and 3 (optax and we both skip them: 2 < max_consecutive_errors = 3)
        def grads_fn_factory():
            step = [0]

            def grads_fn(params):
                step[0] += 1
                g = grads_at(params)
                return _nan_like(g) if step[0] in (2, 3) else g

            return grads_fn

        tx = jos.apply_if_finite(jos.adam(0.1), 3)
        params, state, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS, 6,
                                  grads_fn_factory())
        ref = optax.apply_if_finite(optax.adam(0.1), 3)
        ref_params, ref_state, ref_hist = optax_run(ref, PARAMS, 6, grads_fn_factory())
        chex.assert_trees_all_close(hist, ref_hist, rtol=2e-5, atol=2e-6)  # adam: see above
        assert int(state.total_notfinite) == int(ref_state.total_notfinite) == 2
        assert int(state.notfinite_count) == int(ref_state.notfinite_count) == 0

    @chex.variants(with_jit=True, without_jit=True)
    def test_bad_step_returns_zeros_and_keeps_the_inner_state(self):
        tx = jos.apply_if_finite(jos.adam(0.1), 5)
        update = self.variant(tx.update)
        _, state = update(grads_at(PARAMS), tx.init(PARAMS), PARAMS)
        for bad in (_nan_like(PARAMS), jax.tree.map(lambda x: x.at[0].set(jnp.inf), PARAMS)):
            updates, new_state = update(bad, state, PARAMS)
            chex.assert_trees_all_equal(updates, jax.tree.map(jnp.zeros_like, PARAMS))
            chex.assert_trees_all_equal(new_state.inner_state, state.inner_state)
            assert not bool(new_state.last_finite)

    @chex.variants(with_jit=True, without_jit=True)
    def test_counts_and_reset_after_letting_a_bad_step_through(self):
        tx = jos.apply_if_finite(jos.sgd(1.0), max_consecutive_errors=2)
        update, state = self.variant(tx.update), tx.init(jnp.zeros(1))
        pattern = [1.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 2.0, np.nan]
        passed, in_a_row, totals = [], [], []
        for g in pattern:
            u, state = update(jnp.array([g], jnp.float32), state)
            passed.append(bool(u[0] != 0))  # NaN != 0: a let-through bad step is visible
            in_a_row.append(int(state.notfinite_count))
            totals.append(int(state.total_notfinite))
        # The 3rd bad step in a row goes through, then the count restarts (optax would let
        # the 4th, 5th, ... through as well).
        assert passed == [True, False, False, True, False, False, True, True, False]
        assert in_a_row == [0, 1, 2, 0, 1, 2, 0, 0, 1]
        assert totals == [0, 1, 2, 3, 4, 5, 6, 6, 7]

    @parameterized.named_parameters(("lax_cond", True), ("eager", False))
    def test_inner_update_is_not_computed_on_rejected_steps(self, jit):
        calls = []
        tx = jos.apply_if_finite(jos.chain(counting(calls), jos.sgd(0.1)), 10)
        update, state = jax.jit(tx.update) if jit else tx.update, tx.init(jnp.zeros(2))
        for g in (1.0, np.nan, np.nan, 2.0):
            _, state = update(jnp.full(2, g, jnp.float32), state)
        jax.effects_barrier()
        assert len(calls) == 2

    def test_vmap_over_max_consecutive_errors_matches_loop(self):
        grads = jnp.array([[1.0], [np.nan], [np.nan], [np.nan], [3.0]], jnp.float32)

        def final(max_errors):
            tx = jos.apply_if_finite(jos.sgd(1.0), max_errors)
            state, out = tx.init(jnp.zeros(1)), []
            for g in grads:
                u, state = tx.update(g, state)
                out.append(u)
            return jnp.stack(out), state.notfinite_count

        values = [0, 1, 2, 5]
        batched = jax.jit(jax.vmap(final))(jnp.asarray(values))
        one = jax.jit(final)  # the loop: one compile, a concrete budget per call
        for i, m in enumerate(values):
            chex.assert_trees_all_equal(jax.tree.map(lambda x, i=i: x[i], batched),
                                        one(jnp.asarray(m)))

    def test_negative_budget_raises(self):
        with pytest.raises(ValueError, match="`max_consecutive_errors`"):
            jos.apply_if_finite(jos.sgd(0.1), -1)


class JoinTransformsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_adam_then_sgd_equals_running_them_one_after_the_other(self):
        tx = jos.join_transforms([jos.adam(0.05), jos.sgd(0.1, momentum=0.9)], [4])
        params, state, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS, 9)
        adam, sgd = jos.adam(0.05), jos.sgd(0.1, momentum=0.9)
        mid, adam_state, first = run(adam.update, adam.init(PARAMS), PARAMS, 4)
        ref, _, second = run(sgd.update, sgd.init(PARAMS), mid, 5)  # SGD starts fresh
        chex.assert_trees_all_close(hist, first + second, rtol=1e-6, atol=1e-7)
        chex.assert_trees_all_close(params, ref, rtol=1e-6, atol=1e-7)
        # Adam's state is kept as it was when SGD took over; the count keeps going.
        chex.assert_trees_all_close(state.inner_states[0], adam_state, rtol=1e-6)
        assert int(state.count) == 9

    @parameterized.named_parameters(("lax_switch", True), ("eager", False))
    def test_only_the_active_transform_runs(self, jit):
        first, second = [], []
        tx = jos.join_transforms([jos.chain(counting(first), jos.sgd(0.1)),
                                  jos.chain(counting(second), jos.sgd(0.2))], [3])
        update, state = jax.jit(tx.update) if jit else tx.update, tx.init(jnp.zeros(2))
        for _ in range(5):
            _, state = update(jnp.ones(2), state)
        jax.effects_barrier()
        assert (len(first), len(second)) == (3, 2)

    def test_vmap_over_boundaries_matches_loop(self):
        def updates(b1, b2):
            tx = jos.join_transforms([jos.sgd(1.0), jos.sgd(0.5), jos.adam(0.1)],
                                     jnp.stack([b1, b2]))
            state, out = tx.init(jnp.zeros(1)), []
            for k in range(6):
                u, state = tx.update(jnp.array([1.0 + k]), state)
                out.append(u[0])
            return jnp.stack(out)

        pairs = [(0, 0), (0, 3), (2, 4), (6, 6)]
        b1, b2 = (jnp.asarray(v) for v in zip(*pairs))
        batched = jax.jit(jax.vmap(updates))(b1, b2)
        one = jax.jit(updates)
        loop = np.stack([one(jnp.asarray(x), jnp.asarray(y)) for x, y in pairs])
        np.testing.assert_allclose(batched, loop, rtol=1e-6)
        np.testing.assert_allclose(batched[3], -np.arange(1.0, 7.0))  # never leaves plain SGD

    def test_single_transform_needs_no_boundary(self):
        tx = jos.join_transforms([jos.sgd(0.5)], [])
        u, _ = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
        np.testing.assert_array_equal(u, -0.5 * np.ones(2))

    def test_boundary_errors(self):
        two = [jos.sgd(0.1), jos.sgd(0.2)]
        with pytest.raises(ValueError, match="one boundary fewer"):
            jos.join_transforms(two, [1, 2])
        with pytest.raises(ValueError, match="non-decreasing"):
            jos.join_transforms(two + two, [5, 2, 7])
        with pytest.raises(ValueError, match="`boundaries`"):
            jos.join_transforms(two, [-1])
        with pytest.raises(ValueError, match="at least one transform"):
            jos.join_transforms([], [])


FREEZE = {"w": True, "b": False}


class SelectiveTransformTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_keeps_no_state_for_frozen_leaves(self):
        tx = jos.selective_transform(jos.adam(0.1), freeze_mask=FREEZE)
        params, state, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS, 8)
        ref = optax.selective_transform(optax.adam(0.1), freeze_mask=FREEZE)
        _, ref_state, ref_hist = optax_run(ref, PARAMS, 8)
        # Adam's bias correction: expm1 here, 1 - b**t in optax (see MultiTransformTest).
        chex.assert_trees_all_close(hist, ref_hist, rtol=2e-5, atol=2e-6)
        np.testing.assert_array_equal(params["w"], PARAMS["w"])
        self.assertIsInstance(state, jos.PartitionState)
        self.assertIsInstance(state.inner_states["train"].inner_state[0].mu["w"], jos.MaskedNode)
        self.assertEqual([np.shape(x) for x in jax.tree.leaves(state)],
                         [np.shape(x) for x in jax.tree.leaves(ref_state)])

    def test_tree_map_params_reaches_each_group_state(self):
        tx = jos.selective_transform(jos.sgd(0.1, momentum=0.9), freeze_mask=FREEZE)
        got = jos.tree.map_params(tx, lambda v: v + 1, tx.init(PARAMS))
        np.testing.assert_array_equal(got.inner_states["train"].inner_state[0].trace["b"],
                                      np.ones(3))
        self.assertIsInstance(got.inner_states["train"].inner_state[0].trace["w"], jos.MaskedNode)

    def test_scalar_and_function_masks(self):
        for mask, frozen in ((True, True), (False, False), (lambda p: FREEZE, None)):
            tx = jos.selective_transform(jos.sgd(1.0), freeze_mask=mask)
            u, _ = tx.update(PARAMS, tx.init(PARAMS), PARAMS)
            want_w = 0.0 if frozen in (True, None) else -1.0
            want_b = 0.0 if frozen is True else -1.0
            np.testing.assert_array_equal(u["w"], want_w * PARAMS["w"])
            np.testing.assert_array_equal(u["b"], want_b * PARAMS["b"])

    def test_names_and_extra_args_option(self):
        self.assertIs(jos.MultiTransformState, jos.PartitionState)
        self.assertIs(jos.transforms.PartitionState, jos.PartitionState)

        def counter(updates, state, params=None, *, grad=None, **extra_args):
            del params, extra_args
            n = len(jax.tree.leaves(grad))
            return jax.tree.map(lambda u: u * n, updates), state

        inner = jos.GradientTransformationExtraArgs(lambda p: jos.EmptyState(), counter)
        for flag, scale in ((False, 2.0), (True, 1.0)):
            tx = jos.partition({"a": inner, "b": jos.identity()}, {"w": "a", "b": "b"},
                               mask_compatible_extra_args=flag)
            u, _ = tx.update(PARAMS, tx.init(PARAMS), PARAMS, grad=PARAMS)
            np.testing.assert_allclose(u["w"], scale * PARAMS["w"])
