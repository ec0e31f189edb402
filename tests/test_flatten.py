"""Tests for jaxopt_scratch/_wrappers/flatten.py."""

from unittest import mock

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos
from jaxopt_scratch._wrappers import flatten as _flatten

STEPS = 5
# The flat path does the same elementwise float32 arithmetic as the per-leaf
# path, but XLA may fuse (and so round, e.g. with FMA) the flat kernel differently
# from the per-leaf ones: a few float32 ulps per step on O(1) numbers.
ELEMENTWISE_RTOL, ELEMENTWISE_ATOL = 1e-5, 1e-6


def _params():
    """Leaves of three shapes in an interleaved order, a scalar and a None leaf."""
    return {
        "a": jnp.asarray([0.5, -1.0, 2.0]),
        "m": jnp.asarray([[0.1, -0.2], [0.3, 0.4]]),
        "b": jnp.asarray([-0.7, 0.2, 0.05]),
        "s": jnp.asarray(1.5),
        "c": [jnp.asarray([1.0, 1.1, -1.2]), None, jnp.asarray([[2.0, -2.0], [0.5, 0.0]])],
    }


def _run(update, tx, params, steps=STEPS):
    state = tx.init(params)
    for _ in range(steps):
        updates, state = update(_problems.nested_grad(params), state, params)
        params = jos.apply_updates(params, updates)
    return params, state


class FlattenTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("adam", lambda: jos.adam(0.1)),
        ("adamw", lambda: jos.adamw(0.1, weight_decay=0.1)),
        ("sgd_momentum", lambda: jos.sgd(0.1, momentum=0.9, nesterov=True)),
        ("rmsprop", lambda: jos.rmsprop(0.05)),
    )
    def test_elementwise_inner_matches_the_per_leaf_transform(self, make):
        got, _ = _run(self.variant(jos.flatten(make()).update), jos.flatten(make()), _params())
        want, _ = _run(self.variant(make().update), make(), _params())
        chex.assert_trees_all_close(got, want, rtol=ELEMENTWISE_RTOL, atol=ELEMENTWISE_ATOL)

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_flatten(self):
        params = _params()
        got, _ = _run(self.variant(jos.flatten(jos.adam(0.1)).update), jos.flatten(jos.adam(0.1)),
                      params)
        want, _ = _problems.optax_run(optax.flatten(optax.adam(0.1)), params,
                                      _problems.nested_grad, STEPS)
        # optax forms Adam's bias corrections differently (see tests/test_combine.py).
        chex.assert_trees_all_close(got, want, rtol=1e-4, atol=2e-5)

    @chex.variants(with_jit=True, without_jit=True)
    def test_global_norm_inside_agrees_to_rounding(self):
        # Clipping is active (the gradient norm is ~6 > 1); the flat vector sums the
        # squares in a different order than the per-leaf sum: float32 rounding only.
        make = lambda: jos.chain(jos.clip_by_global_norm(1.0), jos.adam(0.1))
        got, _ = _run(self.variant(jos.flatten(make()).update), jos.flatten(make()), _params())
        want, _ = _run(self.variant(make().update), make(), _params())
        chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_updates_keep_tree_order_and_dtypes(self):
        params = {"hi": jnp.arange(4.0), "lo": jnp.asarray([1.0, -2.0], jnp.bfloat16),
                  "mid": jnp.asarray([[3.0]])}
        tx = jos.flatten(jos.sgd(1.0))
        grads = {"hi": jnp.asarray([1.0, 2.0, 3.0, 4.0]), "lo": jnp.asarray([5.0, 6.0], jnp.bfloat16),
                 "mid": jnp.asarray([[7.0]])}
        updates, _ = self.variant(tx.update)(grads, tx.init(params), params)
        chex.assert_trees_all_equal_dtypes(updates, params)
        chex.assert_trees_all_close(updates, jax.tree.map(jnp.negative, grads))

    def test_state_is_one_vector_per_dtype(self):
        params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3), "h": jnp.ones(4, jnp.bfloat16)}
        state = jos.flatten(jos.scale_by_adam()).init(params)
        self.assertIsInstance(state, jos.FlattenState)
        mu = state.inner_state.mu
        self.assertEqual([(x.shape, x.dtype) for x in mu],
                         [((4,), jnp.dtype(jnp.float32)), ((9,), jnp.dtype(jnp.float32))])
        # bfloat16 params get a float32 moment, as in the per-leaf path (_tree_math.moment_dtype).

    @chex.variants(with_jit=True, without_jit=True)
    def test_blocks_of_same_shaped_leaves(self):
        # With blocks of 4, ten (2,) leaves make 3 blocks and one (3,) leaf a fourth;
        # values must land in the right leaves across block boundaries.
        params = {f"v{i}": jnp.asarray([i, -i], jnp.float32) for i in range(10)}
        params["z"] = jnp.asarray([0.5, 0.25, 0.125])
        with mock.patch.object(_flatten, "_BLOCK", 4):
            tx = jos.flatten(jos.sgd(1.0))
            state = tx.init(params)
            self.assertEqual([len(o) for o in state.offsets], [4])
            starts = [int(s) for s in state.offsets[0]]
            updates, _ = self.variant(tx.update)(params, state, params)
        self.assertEqual(starts, [0, 8, 16, 20])  # (2,) leaves first (sorted by shape), then (3,)
        chex.assert_trees_all_close(updates, jax.tree.map(jnp.negative, params))

    def test_layout_gives_at_most_block_many_relative_starts_per_shape(self):
        # The reason for blocks: each leaf's slice is "runtime block start + a constant",
        # and kernels that differ only in the runtime start are compiled once.
        shapes = tuple([(5,)] * 100 + [(2, 2)] * 3)
        group = _flatten._group(list(range(len(shapes))), shapes)
        relative = {(shapes[i], group.place[i][1]) for i in group.order}
        self.assertEqual(len(relative), _flatten._BLOCK + 3)
        self.assertEqual(len(group.block_starts), 4 + 1)  # ceil(100 / 32) blocks, then one
        self.assertEqual(group.size, 512)

    def test_vmap_over_learning_rate_matches_a_loop(self):
        params = _problems.small_params()
        grads = _problems.nested_grad(params)
        lrs = jnp.asarray([0.01, 0.1, 1.0])

        def one(lr):
            tx = jos.flatten(jos.adam(lr))
            return tx.update(grads, tx.init(params), params)[0]

        batched = jax.jit(jax.vmap(one))(lrs)
        for i, lr in enumerate(lrs):
            row = jax.tree.map(lambda x, i=i: x[i], batched)
            chex.assert_trees_all_close(row, one(lr), rtol=1e-6)

    def test_empty_tree(self):
        tx = jos.flatten(jos.adam(0.1))
        updates, _ = tx.update({}, tx.init({}), {})
        self.assertEqual(updates, {})

    def test_different_structure_at_update_raises(self):
        tx = jos.flatten(jos.adam(0.1))
        state = tx.init({"a": jnp.ones(3)})
        with pytest.raises(ValueError, match=r"`flatten`.*Call `init` with params of the same"):
            tx.update({"a": jnp.ones(3), "h": jnp.ones(3, jnp.bfloat16)}, state)
        # Same dtypes and blocks but more elements: the inner transform sees a longer vector.
        with pytest.raises(ValueError, match=r"Call `init` with params"):
            tx.update({"a": jnp.ones(3), "b": jnp.ones(3)}, state)

    def test_rejects_non_transform_and_integer_params(self):
        with pytest.raises(TypeError, match=r"`flatten` inner must be a gradient transformation"):
            jos.flatten(lambda g: g)
        with pytest.raises(TypeError, match=r"floating-point"):
            jos.flatten(jos.adam(0.1)).init({"n": jnp.arange(3)})

    def test_extra_args_reach_the_inner_transform(self):
        seen = {}

        def update(updates, state, params=None, **extra_args):
            seen.update(extra_args)
            return updates, state

        tx = jos.flatten(jos.GradientTransformation(lambda p: jos.EmptyState(), update))
        tx.update({"a": jnp.ones(2)}, tx.init({"a": jnp.ones(2)}), value=jnp.asarray(3.0))
        self.assertEqual(float(seen["value"]), 3.0)

    def test_numpy_leaves_are_accepted(self):
        params = {"a": np.ones(3, np.float32)}
        tx = jos.flatten(jos.sgd(0.5))
        updates, _ = tx.update(params, tx.init(params))
        chex.assert_trees_all_close(updates, {"a": np.full(3, -0.5, np.float32)})
