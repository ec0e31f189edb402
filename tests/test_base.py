"""Tests for jaxopt_scratch/_core/base.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos
from jaxopt_scratch._core import base as _base

# Every primitive, built with defaults (or the minimum required argument).
PRIMITIVES = {
    "identity": jos.identity, "set_to_zero": jos.set_to_zero,
    "stateless": lambda: jos.stateless(lambda u, p: u),
    "scale": lambda: jos.scale(0.5), "scale_by_learning_rate": lambda: jos.scale_by_learning_rate(0.1),
    "scale_by_schedule": lambda: jos.scale_by_schedule(lambda c: 0.5),
    "trace": lambda: jos.trace(0.9), "ema": lambda: jos.ema(0.9),
    "scale_by_rss": jos.scale_by_rss, "scale_by_rms": jos.scale_by_rms,
    "scale_by_stddev": jos.scale_by_stddev, "scale_by_adam": jos.scale_by_adam,
    "scale_by_amsgrad": jos.scale_by_amsgrad, "scale_by_adamax": jos.scale_by_adamax,
    "scale_by_lion": jos.scale_by_lion, "scale_by_trust_ratio": jos.scale_by_trust_ratio,
    "add_decayed_weights": lambda: jos.add_decayed_weights(0.1),
    "clip": lambda: jos.clip(1.0), "clip_by_global_norm": lambda: jos.clip_by_global_norm(1.0),
    "chain": lambda: jos.chain(jos.clip(1.0), jos.scale_by_adam()),
    "named_chain": lambda: jos.named_chain(("a", jos.scale_by_adam())),
    "masked": lambda: jos.masked(jos.scale_by_adam(), _problems.size_mask),
}


class ContractTest(chex.TestCase):

    def test_gradient_transformation_is_a_named_pair(self):
        tx = jos.identity()
        self.assertIsInstance(tx, tuple)
        self.assertEqual(jos.GradientTransformation._fields, ("init", "update"))
        init, update = tx
        self.assertIs(init, tx.init)
        self.assertIs(update, tx.update)

    def test_empty_state_has_no_leaves(self):
        self.assertEqual(jax.tree.leaves(jos.EmptyState()), [])
        self.assertEqual(jos.EmptyState(), ())

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*sorted(PRIMITIVES.items()))
    def test_update_accepts_and_ignores_extra_keyword_arguments(self, make):
        tx = make()
        params = _problems.nested_params()
        grads = _problems.nested_grad(params)

        def both(g, s, p):
            return tx.update(g, s, p)[0], tx.update(g, s, p, value=jnp.float32(3.0), grad=g)[0]

        plain, extra = self.variant(both)(grads, tx.init(params), params)
        chex.assert_trees_all_equal(extra, plain)

    @parameterized.named_parameters(*sorted(PRIMITIVES.items()))
    def test_init_rejects_integer_params(self, make):
        with pytest.raises(TypeError, match="cast|Cast"):
            make().init({"w": jnp.ones(3, jnp.int32), "b": jnp.zeros(1)})


class TrivialTransformsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_identity_returns_updates_unchanged(self):
        tx = jos.identity()
        params = _problems.nested_params()
        grads = _problems.nested_grad(params)
        state = tx.init(params)
        self.assertEqual(state, jos.EmptyState())
        out, new_state = self.variant(tx.update)(grads, state)
        chex.assert_trees_all_equal(out, grads)
        self.assertEqual(new_state, jos.EmptyState())

    @chex.variants(with_jit=True, without_jit=True)
    def test_set_to_zero_zeroes_every_leaf_and_keeps_dtypes(self):
        tx = jos.set_to_zero()
        params = _problems.nested_params(jnp.bfloat16)
        out, _ = self.variant(tx.update)(params, tx.init(params))
        chex.assert_trees_all_equal_structs(out, params)
        for leaf in jax.tree.leaves(out):
            self.assertEqual(leaf.dtype, jnp.bfloat16)
            np.testing.assert_array_equal(leaf, 0)

    @chex.variants(with_jit=True, without_jit=True)
    def test_identity_and_set_to_zero_match_optax_over_50_steps(self):
        # Chained with a plain step they must give optax's numbers exactly.
        params = _problems.nested_params()
        for ours, theirs in ((jos.identity(), optax.identity()),
                             (jos.set_to_zero(), optax.set_to_zero())):
            got = _problems.run_variant(self.variant, jos.chain(ours, jos.scale(-0.05)), params,
                                        _problems.nested_grad, 50)[0]
            want = _problems.optax_run(optax.chain(theirs, optax.scale(-0.05)), params,
                                       _problems.nested_grad, 50)[0]
            chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-7)

    @chex.variants(with_jit=True, without_jit=True)
    def test_stateless_passes_params_through(self):
        seen = []

        def f(updates, params):
            seen.append(params is None)
            return jax.tree.map(lambda u, p: u - p, updates, params) if params is not None else updates

        tx = jos.stateless(f)
        g, p = jnp.asarray([3.0, 1.0]), jnp.asarray([1.0, 1.0])
        out, state = self.variant(tx.update)(g, tx.init(p), p)
        np.testing.assert_allclose(out, [2.0, 0.0])
        self.assertEqual(state, jos.EmptyState())
        out, _ = tx.update(g, tx.init(p))
        np.testing.assert_allclose(out, g)
        self.assertEqual(seen[-1], True)


class CallUpdateTest(chex.TestCase):

    def test_extra_args_reach_only_updates_that_accept_them(self):
        received = {}

        def with_kwargs(u, s, p=None, **kw):
            received["kw"] = kw
            return u, s

        def without_kwargs(u, s, p=None):
            return u, s

        self.assertTrue(_base.accepts_extra_args(with_kwargs))
        self.assertFalse(_base.accepts_extra_args(without_kwargs))
        self.assertFalse(_base.accepts_extra_args(object()))  # no signature at all
        g = jnp.ones(1)
        _base.call_update(jos.GradientTransformation(None, with_kwargs), g, (), None, {"value": 1})
        self.assertEqual(received["kw"], {"value": 1})
        out, _ = _base.call_update(jos.GradientTransformation(None, without_kwargs), g, (), None,
                                   {"value": 1})
        np.testing.assert_array_equal(out, g)


def _needs_loss(updates, state, params=None, *, loss, **extra_args):
    del params, extra_args
    return jax.tree.map(lambda u: u * loss, updates), state


class ExtraArgsTest(chex.TestCase):
    """``GradientTransformationExtraArgs`` and ``with_extra_args_support`` (issue 12, item 3)."""

    def test_chains_are_extra_args_transforms_and_forward_required_keywords(self):
        needs_loss = jos.GradientTransformationExtraArgs(jos.init_empty_state, _needs_loss)
        g = {"w": jnp.array([1.0, -2.0])}
        for tx, factor in ((jos.chain(jos.scale(2.0), needs_loss), 6.0),
                           (jos.named_chain(("s", jos.scale(2.0)), ("l", needs_loss)), 6.0),
                           (jos.masked(needs_loss, {"w": True}), 3.0)):
            self.assertIsInstance(tx, jos.GradientTransformationExtraArgs)
            self.assertIsInstance(tx, jos.GradientTransformation)
            u, _ = tx.update(g, tx.init(g), loss=3.0, ignored="hi")
            np.testing.assert_allclose(u["w"], factor * g["w"])
            with pytest.raises(TypeError, match="loss"):  # a required extra arg stays required
                tx.update(g, tx.init(g))

    def test_keyword_only_update_without_var_kwargs_gets_them_when_declared_extra_args(self):
        # optax passes every extra arg to a GradientTransformationExtraArgs, even when its
        # update declares only some of them; a plain transform gets none.
        def only_loss(updates, state, params=None, *, loss):
            return jax.tree.map(lambda u: u * loss, updates), state

        extra = jos.GradientTransformationExtraArgs(jos.init_empty_state, only_loss)
        u, _ = jos.chain(extra).update(jnp.ones(1), (jos.EmptyState(),), loss=2.0)
        np.testing.assert_allclose(u, [2.0])
        plain = jos.GradientTransformation(jos.init_empty_state, lambda u, s, p=None: (u, s))
        u, _ = jos.chain(plain).update(jnp.ones(1), (jos.EmptyState(),), loss=2.0)
        np.testing.assert_allclose(u, [1.0])

    def test_optax_extra_args_transforms_are_recognised_by_class(self):
        extra = optax.GradientTransformationExtraArgs(optax.init_empty_state, _needs_loss)
        self.assertTrue(_base.supports_extra_args(extra))
        u, _ = jos.chain(extra).update(jnp.ones(1), (optax.EmptyState(),), loss=4.0)
        np.testing.assert_allclose(u, [4.0])

    def test_with_extra_args_support(self):
        plain = optax.GradientTransformation(optax.init_empty_state, lambda u, s, p=None: (u, s))
        wrapped = jos.with_extra_args_support(plain)
        self.assertIsInstance(wrapped, jos.GradientTransformationExtraArgs)
        np.testing.assert_allclose(wrapped.update(jnp.ones(1), jos.EmptyState(), value=1.0)[0], 1)
        chained = jos.chain(jos.scale(1.0))
        self.assertIs(jos.with_extra_args_support(chained), chained)
        # Unlike optax's, the wrapper still forwards to an inner update taking **kwargs.
        inner = jos.GradientTransformation(jos.init_empty_state, _needs_loss)
        out = jos.with_extra_args_support(inner).update(jnp.ones(1), jos.EmptyState(), loss=5.0)
        np.testing.assert_allclose(out[0], [5.0])

    def test_stateless_with_tree_map_matches_optax(self):
        def f(u, p):
            return u if p is None else u * p

        params = {"a": jnp.array([2.0, 3.0]), "b": jnp.array(-1.0)}
        g = {"a": jnp.array([1.0, 1.0]), "b": jnp.array(4.0)}
        ours, theirs = jos.stateless_with_tree_map(f), optax.stateless_with_tree_map(f)
        for p in (params, None):
            chex.assert_trees_all_equal(ours.update(g, ours.init(params), p)[0],
                                        theirs.update(g, theirs.init(params), p)[0])
        self.assertEqual(ours.init(params), jos.EmptyState())

    def test_init_empty_state_rejects_integer_params(self):
        self.assertEqual(jos.init_empty_state({"w": jnp.zeros(2)}), jos.EmptyState())
        with pytest.raises(TypeError, match="`params` leaf"):
            jos.init_empty_state({"w": jnp.zeros(2, jnp.int32)})
