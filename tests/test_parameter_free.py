"""Tests for jaxopt_scratch/_transforms/parameter_free.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

ND = {"reps_rel": 1e-3, "eps": 1e-4, "global_scale": -0.5}


def _vector_params():
    """:func:`_problems.nested_params` without its 0-d leaves (optax reshapes those, see below)."""
    p = _problems.nested_params()
    return {"dense": p["dense"], "pair": (p["pair"][0],), "stack": [p["stack"][0], None]}


def _np_dog(leaves, steps, reps_rel=1e-6, eps=1e-8, global_scale=1.0):
    """The LDoG recursion of Ivgi et al. (2023) in float64 NumPy, leaf by leaf."""
    x0 = [x.copy() for x in leaves]
    r = [reps_rel * (1 + np.linalg.norm(x)) for x in leaves]
    s = [0.0 for _ in leaves]
    xs = [x.copy() for x in leaves]
    for _ in range(steps):
        g = _problems.np_grad(xs)
        r = [max(ri, np.linalg.norm(x - x_0)) for ri, x, x_0 in zip(r, xs, x0)]
        s = [si + np.sum(gi**2) for si, gi in zip(s, g)]
        xs = [x + global_scale * ri / np.sqrt(si + eps) * gi for x, ri, si, gi in zip(xs, r, s, g)]
    return xs


class DistanceOverGradientsTest(chex.TestCase):

    @chex.variants(with_jit=True)
    @parameterized.named_parameters(
        # reps_rel = 1e-6: the first distances (~1e-6) are differences of O(1) float32
        # numbers, known only to ~6e-8, i.e. to a few percent; the step grows from them, so
        # float32 and the float64 oracle differ by ~4e-4 relative after 50 steps (measured).
        ("default", {"global_scale": -1.0}, {"rtol": 2e-3, "atol": 2e-4}),
        ("non_default", ND, _problems.ORACLE))
    def test_matches_optax_and_the_paper_over_50_steps(self, kwargs, oracle_tol):
        tx = jos.scale_by_distance_over_gradients(**kwargs)
        params = _vector_params()
        ours = self.variant(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 50))(
            params)[0]
        ref = _problems.optax_run(optax.scale_by_distance_over_gradients(**kwargs), params,
                                  _problems.nested_grad, 50)[0]
        chex.assert_trees_all_close(ours, ref, **_problems.OPTAX_PLAIN)
        oracle = _np_dog(_problems.np_leaves(params), 50, **kwargs)
        for got, want in zip(_problems.np_leaves(ours), oracle):
            np.testing.assert_allclose(got, want, **oracle_tol)
        moved = [not np.allclose(a, b) for a, b in zip(_problems.np_leaves(ours),
                                                       _problems.np_leaves(params))]
        self.assertTrue(all(moved))

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_step_by_hand_and_state_shapes_as_optax(self):
        tx = jos.scale_by_distance_over_gradients(reps_rel=0.1, eps=0.0)
        p = {"a": jnp.asarray([3.0, 4.0]), "b": jnp.asarray(0.0)}
        g = {"a": jnp.asarray([0.0, 2.0]), "b": jnp.asarray(-0.5)}
        u, state = self.variant(tx.update)(g, tx.init(p), p)
        np.testing.assert_allclose(u["a"], [0.0, 0.6], rtol=1e-6)  # 0.1 * (1 + 5) / 2 * g
        np.testing.assert_allclose(u["b"], -0.1, rtol=1e-6)  # 0.1 * (1 + 0) / 0.5 * g
        theirs = optax.scale_by_distance_over_gradients().init(p)
        self.assertEqual([jnp.shape(x) for x in jax.tree.leaves(state)],
                         [jnp.shape(x) for x in jax.tree.leaves(theirs)])

    def test_zero_dimensional_leaf_keeps_its_shape(self):
        # Deviation: optax returns a shape-(1,) update for a 0-d leaf (and so a (1,) param).
        p = jnp.asarray(1.0)
        ours = jos.scale_by_distance_over_gradients()
        theirs = optax.scale_by_distance_over_gradients()
        self.assertEqual(ours.update(p, ours.init(p), p)[0].shape, ())
        self.assertEqual(theirs.update(p, theirs.init(p), p)[0].shape, (1,))

    def test_bfloat16_updates_keep_their_dtype_and_state_is_float32(self):
        params = _vector_params()
        params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), params)
        tx = jos.scale_by_distance_over_gradients()
        u, state = jax.jit(tx.update)(_problems.nested_grad(params), tx.init(params), params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
        self.assertTrue(all(x.dtype == jnp.float32 for x in
                            jax.tree.leaves((state.max_dist, state.init_params))))

    def test_vmap_over_hyperparameters_matches_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda **kw: jos.scale_by_distance_over_gradients(**kw),
            {"reps_rel": [1e-6, 1e-3, 1e-2], "eps": [1e-8, 1e-4, 1.0],
             "global_scale": [-1.0, -0.5, -0.1]}, rtol=1e-5, atol=1e-6)

    def test_zero_gradient_gives_zero_update_and_nan_spreads_to_its_leaf_only(self):
        tx = jos.scale_by_distance_over_gradients()
        p = {"a": jnp.ones(2), "b": jnp.ones(2)}
        u, _ = tx.update({"a": jnp.zeros(2), "b": jnp.zeros(2)}, tx.init(p), p)
        np.testing.assert_array_equal(u["a"], [0.0, 0.0])  # eps keeps 0 / sqrt(0 + eps) finite
        u, state = tx.update({"a": jnp.asarray([jnp.nan, 1.0]), "b": jnp.ones(2)}, tx.init(p), p)
        self.assertTrue(np.all(np.isnan(u["a"])) and np.all(np.isfinite(u["b"])))
        self.assertTrue(np.isnan(state.grad_sum_of_squares["a"]).all())

    def test_errors_name_the_argument(self):
        with pytest.raises(ValueError, match="`reps_rel`"):
            jos.scale_by_distance_over_gradients(reps_rel=0.0)
        with pytest.raises(ValueError, match="`eps`"):
            jos.scale_by_distance_over_gradients(eps=-1.0)
        tx = jos.scale_by_distance_over_gradients()
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
