"""Tests for jaxopt_scratch/_core/combine.py."""

import _problems
import chex
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given

import jaxopt_scratch as jos
from jaxopt_scratch._core import combine as _combine

STEPS = 50
# Adam-family runs against optax differ by ~2e-5 relative per step: optax forms
# 1 - b**t naively in float32 (and 1 - b in float64), we use one consistent
# float32 b with expm1/log1p. Over 50 steps on O(1) params this stays < 1e-5
# absolute; 1e-4 relative covers coordinates that pass near zero.
ADAM_RTOL, ADAM_ATOL = 1e-4, 2e-5


def _optax_masked_adam():
    return optax.chain(optax.masked(optax.scale_by_adam(), _problems.size_mask), optax.scale(-0.05))


def _optax_named_adam():
    return optax.named_chain(("clip", optax.clip(0.5)), ("adam", optax.adam(0.05)))


def _optax_adam_direction():
    return optax.chain(optax.scale_by_adam(), optax.scale(-1e-2))


def _optax_clip_adam():
    return optax.chain(optax.clip(1.0), optax.adam(1e-2))


class ChainTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_applies_left_to_right_and_keeps_each_state(self):
        g = jnp.asarray([3.0, -0.5, 0.2])
        clip_then_scale = jos.chain(jos.clip(1.0), jos.scale(2.0))
        scale_then_clip = jos.chain(jos.scale(2.0), jos.clip(1.0))
        a, _ = self.variant(clip_then_scale.update)(g, clip_then_scale.init(g))
        b, _ = self.variant(scale_then_clip.update)(g, scale_then_clip.init(g))
        np.testing.assert_allclose(a, [2.0, -1.0, 0.4])
        np.testing.assert_allclose(b, [1.0, -1.0, 0.4])
        tx = jos.chain(jos.trace(0.5), jos.scale_by_adam())
        state = tx.init(g)
        self.assertIsInstance(state, tuple)
        self.assertIsInstance(state[0], jos.TraceState)
        self.assertIsInstance(state[1], jos.ScaleByAdamState)

    def test_empty_chain_is_identity(self):
        tx = jos.chain()
        g = jnp.asarray([1.0, 2.0])
        out, state = tx.update(g, tx.init(g))
        np.testing.assert_array_equal(out, g)
        self.assertEqual(state, ())

    def test_rejects_non_transforms(self):
        with pytest.raises(TypeError, match=r"`chain` argument 1 must be a gradient transformation"):
            jos.chain(jos.clip(1.0), 0.1)

    def test_wrong_state_says_so(self):
        tx = jos.chain(jos.clip(1.0), jos.scale_by_adam())
        g = jnp.ones(2)
        with pytest.raises(ValueError, match=r"`chain` holds 2 transforms but was given a state "
                                             r"that is a tuple of length 1"):
            tx.update(g, (jos.EmptyState(),))

    @chex.variants(with_jit=True, without_jit=True)
    def test_forwards_extra_args_to_transforms_that_take_them(self):
        seen = []

        def update(u, s, p=None, **extra):
            seen.append(sorted(extra))
            return u, s

        wants_extra = jos.GradientTransformation(lambda p: jos.EmptyState(), update)
        foreign = jos.GradientTransformation(lambda p: (), lambda u, s, p=None: (u, s))
        tx = jos.chain(foreign, wants_extra, jos.scale(2.0))
        g = jnp.ones(2)
        out, _ = self.variant(lambda g, s: tx.update(g, s, None, value=jnp.float32(1.0)))(
            g, tx.init(g))
        np.testing.assert_array_equal(out, 2 * g)
        self.assertEqual(seen[-1], ["value"])

    @given(g=hnp.arrays(np.float32, (3,), elements=st.floats(-1e3, 1e3, width=32)),
           which=st.sampled_from(["adam", "momentum", "rms"]))
    def test_chain_with_identity_is_the_transform(self, g, which):
        ours, reference = _CHAIN_WITH_IDENTITY[which](jnp.asarray(g))
        chex.assert_trees_all_equal(ours, reference)

    @given(g=hnp.arrays(np.float32, (3,), elements=st.floats(-1e2, 1e2, width=32)))
    def test_results_do_not_depend_on_the_container(self, g):
        as_dict, as_tuple, as_list = _CONTAINERS(jnp.asarray(g))
        chex.assert_trees_all_equal(as_dict["a"], as_tuple[0], as_list[0])
        chex.assert_trees_all_equal(as_dict["b"], as_tuple[1], as_list[1])


def _three_steps(tx, params):
    return _problems.scan_run(tx, params, _problems.nested_grad, 3)[0]


_BASES = {"adam": jos.scale_by_adam, "momentum": lambda: jos.trace(0.9, nesterov=True),
          "rms": lambda: jos.scale_by_rms(eps_in_sqrt=False)}
_CHAIN_WITH_IDENTITY = {
    name: jax.jit(lambda p, make=make: (_three_steps(jos.chain(jos.identity(), make()), p),
                                        _three_steps(make(), p)))
    for name, make in _BASES.items()
}


@jax.jit
def _CONTAINERS(g):
    tx = jos.chain(jos.clip_by_global_norm(10.0), jos.adamw(0.1, weight_decay=0.1))
    scalar = jnp.sum(g)
    return (_three_steps(tx, {"a": g, "b": scalar}), _three_steps(tx, (g, scalar)),
            _three_steps(tx, [g, scalar]))


class NamedChainTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_chain_and_keys_the_state(self):
        params = _problems.nested_params()
        named = jos.named_chain(("clip", jos.clip(0.5)), ("adam", jos.adam(0.05)))
        plain = jos.chain(jos.clip(0.5), jos.adam(0.05))
        self.assertEqual(sorted(named.init(params)), ["adam", "clip"])
        a = _problems.run_variant(self.variant, named, params, _problems.nested_grad, STEPS)[0]
        b = _problems.scan_run(plain, params, _problems.nested_grad, STEPS)[0]
        chex.assert_trees_all_close(a, b, rtol=1e-6, atol=1e-7)  # same float32 program
        ref = _problems.optax_nested_reference("named_chain", _optax_named_adam, STEPS, "float32")
        chex.assert_trees_all_close(a, ref, rtol=ADAM_RTOL, atol=ADAM_ATOL)

    def test_errors(self):
        with pytest.raises(TypeError, match=r"`named_chain` argument 0 must be a `\(name, transform\)`"):
            jos.named_chain(jos.clip(1.0))
        with pytest.raises(ValueError, match=r"names must be unique, got \['a', 'a'\]"):
            jos.named_chain(("a", jos.clip(1.0)), ("a", jos.clip(2.0)))
        with pytest.raises(TypeError, match=r"`named_chain` transform 'x'"):
            jos.named_chain(("x", "not a transform"))
        tx = jos.named_chain(("a", jos.clip(1.0)), ("b", jos.scale(2.0)))
        with pytest.raises(ValueError, match=r"no entry for \['b'\]; it holds \['a', 'c'\]"):
            tx.update(jnp.ones(1), {"a": jos.EmptyState(), "c": jos.EmptyState()})


class MaskedTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_transforms_only_the_masked_leaves(self):
        params = {"w": jnp.asarray([1.0, -2.0]), "b": jnp.asarray(3.0), "n": None}
        mask = {"w": True, "b": False, "n": None}
        tx = jos.masked(jos.scale(-0.5), mask)
        out, _ = self.variant(tx.update)(params, tx.init(params))
        np.testing.assert_allclose(out["w"], [-0.5, 1.0])
        np.testing.assert_array_equal(out["b"], 3.0)  # unchanged, not zeroed
        self.assertIsNone(out["n"])

    def test_inner_state_covers_only_masked_leaves(self):
        params = {"w": jnp.ones(3), "b": jnp.ones(())}
        state = jos.masked(jos.scale_by_adam(), _problems.size_mask).init(params)
        self.assertIsInstance(state, jos.MaskedState)
        self.assertIsInstance(state.inner_state.mu["b"], jos.MaskedNode)
        self.assertEqual(state.inner_state.mu["w"].shape, (3,))

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_masked_over_50_steps(self):
        params = _problems.nested_params()
        tx = jos.chain(jos.masked(jos.scale_by_adam(), _problems.size_mask), jos.scale(-0.05))
        ours = _problems.run_variant(self.variant, tx, params, _problems.nested_grad, STEPS)[0]
        ref = _problems.optax_nested_reference("masked", _optax_masked_adam, STEPS, "float32")
        chex.assert_trees_all_close(ours, ref, rtol=ADAM_RTOL, atol=ADAM_ATOL)
        # The unmasked scalars took plain -0.05 * g steps: not Adam's.
        self.assertFalse(np.allclose(ours["pair"][1], params["pair"][1]))

    def test_mask_structure_mismatch_shows_both_trees(self):
        params = {"w": jnp.ones(2), "b": jnp.ones(1)}
        tx = jos.masked(jos.scale(2.0), {"w": True})
        with pytest.raises(ValueError) as err:
            tx.init(params)
        msg = str(err.value)
        self.assertIn("`masked`: the `mask` tree does not match", msg)
        self.assertIn(str(jax.tree.structure({"w": True})), msg)
        self.assertIn(str(jax.tree.structure(params)), msg)


class OptaxInteropTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_optax_chain_accepts_our_transform(self):
        params = _problems.nested_params()
        mixed = optax.chain(jos.scale_by_adam(), optax.scale(-1e-2))
        with jax.numpy_dtype_promotion("standard"):  # optax.scale is not strict-clean
            ours_in_optax = _problems.run_variant(self.variant, mixed, params,
                                                  _problems.nested_grad, STEPS)[0]
        pure = _problems.scan_run(jos.adam(1e-2), params, _problems.nested_grad, STEPS)[0]
        chex.assert_trees_all_close(ours_in_optax, pure, rtol=1e-6, atol=1e-7)
        ref = _problems.optax_nested_reference("adam direction", _optax_adam_direction, STEPS,
                                               "float32")
        chex.assert_trees_all_close(ours_in_optax, ref, rtol=ADAM_RTOL, atol=ADAM_ATOL)

    @chex.variants(with_jit=True, without_jit=True)
    def test_our_chain_accepts_optax_transforms(self):
        params = _problems.nested_params()
        mixed = jos.chain(optax.clip(1.0), jos.adam(1e-2))
        with jax.numpy_dtype_promotion("standard"):
            theirs_in_ours = _problems.run_variant(self.variant, mixed, params,
                                                   _problems.nested_grad, STEPS)[0]
        pure = _problems.scan_run(jos.chain(jos.clip(1.0), jos.adam(1e-2)), params,
                                  _problems.nested_grad, STEPS)[0]
        chex.assert_trees_all_close(theirs_in_ours, pure, rtol=1e-6, atol=1e-7)
        ref = _problems.optax_nested_reference("clip adam", _optax_clip_adam, STEPS, "float32")
        chex.assert_trees_all_close(theirs_in_ours, ref, rtol=ADAM_RTOL, atol=ADAM_ATOL)


def _leaf_counter(module):
    """An extra-args transform scaling the updates by the number of leaves of its ``grad=``."""

    def update(updates, state, params=None, *, grad=None, **extra_args):
        del params, extra_args
        n = len(jax.tree.leaves(grad))
        return jax.tree.map(lambda u: u * n, updates), state

    return module.GradientTransformationExtraArgs(lambda p: module.EmptyState(), update)


class _CallableModule:
    """A callable pytree, as an equinox module is: one array (or bool) field."""

    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return self.w * x


jax.tree_util.register_pytree_node(_CallableModule, lambda m: ((m.w,), None),
                                   lambda _, c: _CallableModule(*c))


class MaskedOptionsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_mask_compatible_extra_args_like_optax(self):
        params = {"w": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(3.0)}
        mask = {"w": True, "b": False}
        for flag in (False, True):
            tx = jos.masked(_leaf_counter(jos), mask, mask_compatible_extra_args=flag)
            ref = optax.masked(_leaf_counter(optax), mask, mask_compatible_extra_args=flag)
            ours, _ = self.variant(tx.update)(params, tx.init(params), grad=params)
            theirs, _ = ref.update(params, ref.init(params), grad=params)
            chex.assert_trees_all_close(ours, theirs)
            np.testing.assert_allclose(ours["w"], params["w"] * (1 if flag else 2))
            np.testing.assert_array_equal(ours["b"], params["b"])

    def test_callable_pytree_is_a_mask_not_a_mask_function(self):
        module = _CallableModule(jnp.asarray([1.0, 2.0, 3.0]))
        self.assertTrue(callable(module))
        self.assertFalse(_combine.is_mask_fn(module))
        self.assertTrue(_combine.is_mask_fn(_problems.size_mask))
        for flag, want in ((False, module.w), (True, -0.5 * module.w)):
            tx = jos.masked(jos.scale(-0.5), _CallableModule(flag))
            out, _ = tx.update(module, tx.init(module))
            self.assertIsInstance(out, _CallableModule)
            np.testing.assert_allclose(out.w, want)

    def test_tree_map_params_reaches_the_masked_inner_state_like_optax(self):
        params = {"a": jnp.ones((1, 2)), "b": jnp.zeros(3)}
        mask = {"a": True, "b": False}
        ours = jos.masked(jos.sgd(0.1, momentum=0.9), mask)
        theirs = optax.masked(optax.sgd(0.1, momentum=0.9), mask)
        got = jos.tree.map_params(ours, lambda v: v + 1, ours.init(params))
        want = optax.tree.map_params(theirs, lambda v: v + 1, theirs.init(params))
        chex.assert_trees_all_equal(jax.tree.leaves(got), jax.tree.leaves(want))
        self.assertIsInstance(got.inner_state[0].trace["b"], jos.MaskedNode)

    def test_equinox_module_as_mask(self):
        import equinox as eqx  # test oracle only

        class Linear(eqx.Module):
            w: jax.Array
            b: jax.Array

            def __call__(self, x):
                return self.w * x + self.b

        model = Linear(jnp.asarray([1.0, 2.0]), jnp.asarray([3.0]))
        tx = jos.masked(jos.scale(-0.5), Linear(True, False))  # callable, yet a tree of bools
        out, _ = jax.jit(tx.update)(model, tx.init(model))
        np.testing.assert_allclose(out.w, [-0.5, -1.0])
        np.testing.assert_array_equal(out.b, [3.0])
