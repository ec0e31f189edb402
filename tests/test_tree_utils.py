"""Tests for ``jos.tree`` (jaxopt_scratch/_core/tree_utils.py, tree_state.py, tree_dtypes.py).

Parity with ``optax.tree`` 0.2.8 on nested trees, and ``get``/``set`` on every kind of
jaxopt_scratch state (chains, named chains, masked and injected states).
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree as otree
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _tree(dtype=jnp.float32):
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.normal(size=(3, 2)), dtype),
            "b": [jnp.asarray(rng.normal(size=(2,)), dtype), jnp.asarray(-1.5, dtype)]}


def _other(dtype=jnp.float32):
    return jax.tree.map(lambda x: (2 * x + 0.5).astype(dtype), _tree(dtype))


class MathParityTest(chex.TestCase):
    """Same values (and dtypes) as optax.tree; optax runs under standard promotion."""

    def _optax(self, fn, *args, **kwargs):
        with jax.numpy_dtype_promotion("standard"):
            return fn(*args, **kwargs)

    @parameterized.named_parameters(
        ("add", "add", 2), ("sub", "sub", 2), ("mul", "mul", 2), ("div", "div", 2),
        ("vdot", "vdot", 2), ("sum", "sum", 1), ("max", "max", 1), ("min", "min", 1),
        ("conj", "conj", 1), ("real", "real", 1), ("zeros_like", "zeros_like", 1),
        ("ones_like", "ones_like", 1), ("size", "size", 1))
    def test_same_as_optax(self, name, arity):
        args = (_tree(), _other())[:arity]
        ours = getattr(jos.tree, name)(*args)
        theirs = self._optax(getattr(otree, name), *args)
        # Identical operations on identical inputs: bit-equal.
        chex.assert_trees_all_equal(ours, theirs, strict=True)

    def test_scaled_forms_and_where_clip_full_like(self):
        x, y = _tree(), _other()
        pairs = [
            (jos.tree.scale(0.5, x), otree.scale(0.5, x)),
            (jos.tree.add_scale(x, 0.3, y), otree.add_scale(x, 0.3, y)),
            (jos.tree.add(x, y, x), otree.add(x, y, x)),
            (jos.tree.where(False, x, y), otree.where(False, x, y)),
            (jos.tree.clip(x, -0.5, None), otree.clip(x, -0.5, None)),
            (jos.tree.full_like(x, 3.0, jnp.float16), otree.full_like(x, 3.0, jnp.float16)),
            (jos.tree.batch_shape(x, (2, 1)), otree.batch_shape(x, (2, 1))),
        ]
        for ours, theirs in pairs:
            chex.assert_trees_all_equal(ours, theirs, strict=True)

    def test_mixed_dtypes_promote_even_under_strict_promotion(self):
        # The suite runs with strict promotion, where bf16 + f32 raises; optax, in standard
        # mode, gives float32. jos.tree promotes like optax whatever the caller's mode.
        a, b = _tree(jnp.bfloat16), _tree(jnp.float32)
        ours = jos.tree.add(a, b)
        chex.assert_trees_all_equal(ours, self._optax(otree.add, a, b), strict=True)
        self.assertEqual(jax.tree.leaves(ours)[0].dtype, jnp.float32)

    @parameterized.parameters(None, 1, 2, jnp.inf, "inf")
    def test_norm_matches_optax(self, ord):
        x = _tree()
        for squared in (False, True):
            # Our 2-norm is the overflow-safe global norm: same value up to float32 rounding.
            np.testing.assert_allclose(jos.tree.norm(x, ord, squared),
                                       otree.norm(x, ord, squared), rtol=2e-7)

    def test_norm_keeps_float32_for_bfloat16_and_does_not_overflow(self):
        # Deviation pinned: optax's norm of a bf16 tree is bf16, and of [3e19, 4e19] is inf.
        self.assertEqual(jos.tree.norm(_tree(jnp.bfloat16)).dtype, jnp.float32)
        self.assertEqual(otree.norm(_tree(jnp.bfloat16)).dtype, jnp.bfloat16)
        big = {"a": jnp.array([3e19, 4e19], jnp.float32)}
        np.testing.assert_allclose(jos.tree.norm(big), 5e19, rtol=1e-6)
        self.assertTrue(np.isinf(otree.norm(big)))

    def test_bad_ord_names_the_argument(self):
        with pytest.raises(ValueError, match="`ord` must be"):
            jos.tree.norm(_tree(), ord=3)

    def test_python_scalars_none_and_empty_trees(self):
        a, b = (1.0, {"k": 2.0}), (3.0, {"k": 4.0})
        np.testing.assert_allclose(jos.tree.vdot(a, b), 11.0)
        for empty in ({}, (), None, {"k": [None]}):
            self.assertEqual(jos.tree.sum(empty), 0)
            self.assertEqual(jos.tree.vdot(empty, empty), 0)
        self.assertEqual(jos.tree.add_scale({"a": None}, 1.0, {"a": None}), {"a": None})
        np.testing.assert_allclose(jos.tree.add_scale(3, 0.1, 2), 3.2, rtol=1e-6)
        self.assertEqual(jos.tree.min([jnp.ones(2), jnp.zeros((0, 3))]), 1.0)
        self.assertEqual(jos.tree.max([]), -np.inf)

    def test_allclose_and_vdot_shape_error(self):
        self.assertTrue(jos.tree.allclose(_tree(), jax.tree.map(lambda x: x + 1e-7, _tree())))
        self.assertFalse(jos.tree.allclose(_tree(), _other()))
        with pytest.raises(ValueError, match="`vdot`: leaves must have the same shape"):
            jos.tree.vdot(jnp.ones(2), jnp.ones(3))


class DtypesAndRandomTest(chex.TestCase):

    def test_cast_cast_like_dtype(self):
        x = _tree()
        chex.assert_trees_all_equal(jos.tree.cast(x, jnp.bfloat16),
                                    otree.cast(x, jnp.bfloat16), strict=True)
        self.assertIs(jos.tree.cast(x, None), x)
        like = {"w": jnp.ones(1, jnp.float16), "b": [2.0, jnp.ones(1, jnp.bfloat16)]}
        chex.assert_trees_all_equal(jos.tree.cast_like(x, like), otree.cast_like(x, like),
                                    strict=True)
        mixed = {"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1, jnp.float32)}
        for handler in ("promote", "highest", "lowest"):
            with jax.numpy_dtype_promotion("standard"):  # optax's ordering needs it
                expected = otree.dtype(mixed, handler)
            self.assertEqual(jos.tree.dtype(mixed, handler), expected)
        self.assertEqual(jos.tree.dtype({}), otree.dtype({}))

    def test_dtype_errors_name_the_leaf_or_the_handler(self):
        mixed = {"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1, jnp.float32)}
        with pytest.raises(ValueError, match=r"\['b'\]: float32.*mixed_dtype_handler"):
            jos.tree.dtype(mixed)
        with pytest.raises(ValueError, match="`mixed_dtype_handler` must be one of"):
            jos.tree.dtype(mixed, "widest")
        unordered = {"a": jnp.ones(1, jnp.bfloat16), "b": jnp.ones(1, jnp.float16)}
        with pytest.raises(ValueError, match="neither promotes to the other"):
            jos.tree.dtype(unordered, "highest")

    def test_random_like_and_keys_match_optax(self):
        key, x = jax.random.key(3), _tree()
        chex.assert_trees_all_equal(jos.tree.random_like(key, x), otree.random_like(key, x))
        chex.assert_trees_all_equal(
            jos.tree.random_like(key, x, jax.random.uniform, jnp.bfloat16),
            otree.random_like(key, x, jax.random.uniform, jnp.bfloat16))
        chex.assert_trees_all_equal(
            jos.tree.unwrap_random_key_data(jos.tree.split_key_like(key, x)),
            otree.unwrap_random_key_data(otree.split_key_like(key, x)))


def _nested_state():
    """A chain holding an injected Adam inside a named chain, a masked state and a plain Adam."""
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
    tx = jos.chain(
        jos.named_chain(("clip", jos.clip_by_global_norm(1.0)),
                        ("opt", jos.inject_hyperparams(jos.adam)(learning_rate=0.1, b1=0.8))),
        jos.masked(jos.trace(0.9), {"w": True, "b": False}),
        jos.adam(1e-3),
    )
    return tx, params, tx.init(params)


class StateTest(chex.TestCase):

    def test_get_reads_injected_hyperparameters_in_nested_chains(self):
        _, _, state = _nested_state()
        np.testing.assert_allclose(jos.tree.get(state, "learning_rate"), 0.1)
        np.testing.assert_allclose(jos.tree.get(state, "b1"), 0.8)
        self.assertIsInstance(jos.tree.get(state, "MaskedState"), jos.MaskedState)
        self.assertEqual(jos.tree.get(state, "absent", default="x"), "x")
        # Two Adam counts and the injected count: get refuses to choose.
        found = jos.tree.get_all_with_path(state, "count")
        self.assertLen(found, 3)
        with pytest.raises(KeyError, match="Found 3 values named 'count'.*filtering"):
            jos.tree.get(state, "count")
        inner = jos.tree.get(state, "count", filtering=lambda p, v: isinstance(
            p[-1], jos.tree.NamedTupleKey) and p[-1].tuple_name == "InjectHyperparamsState")
        self.assertEqual(int(inner), 0)

    def test_paths_name_the_tuple_and_the_dict_keys(self):
        _, _, state = _nested_state()
        (path, _), = jos.tree.get_all_with_path(state, "learning_rate")
        self.assertEqual(jax.tree_util.keystr(path),
                         "[0]['opt']InjectHyperparamsState.hyperparams['learning_rate']")

    def test_set_replaces_by_name_and_the_optimizer_uses_it(self):
        tx, params, state = _nested_state()
        state = jos.tree.set(state, learning_rate=jnp.asarray(0.0, jnp.float32))
        np.testing.assert_allclose(jos.tree.get(state, "learning_rate"), 0.0)
        grads = jax.tree.map(jnp.ones_like, params)
        updates, _ = tx.update(grads, state, params)
        # lr 0 in the injected Adam zeroes every update downstream of it.
        chex.assert_trees_all_equal(updates, jax.tree.map(jnp.zeros_like, params))

    def test_set_replaces_nested_matches_that_optax_skips(self):
        # Deviation pinned (tree_state.set's note): both counts change here; optax changes
        # only the outer one although get_all_with_path finds both.
        params = jnp.zeros(2)
        ours = jos.inject_hyperparams(jos.adam)(learning_rate=0.1).init(params)
        theirs = optax.inject_hyperparams(optax.adam)(learning_rate=0.1).init(params)
        new = jos.tree.set(ours, count=jnp.asarray(7))
        self.assertEqual([int(v) for _, v in jos.tree.get_all_with_path(new, "count")], [7, 7])
        old = otree.set(theirs, count=jnp.asarray(7))
        self.assertEqual([int(v) for _, v in otree.get_all_with_path(old, "count")], [7, 0])

    def test_set_with_filtering_and_errors(self):
        _, _, state = _nested_state()
        only_adam = jos.tree.set(state, lambda p, v: p[0] == jax.tree_util.SequenceKey(2),
                                 count=jnp.asarray(5))
        counts = [int(v) for _, v in jos.tree.get_all_with_path(only_adam, "count")]
        self.assertEqual(counts, [0, 5, 0])  # the injected count and its inner Adam's stay 0
        with pytest.raises(KeyError, match="Found no values named 'nope'"):
            jos.tree.set(state, nope=1)
        with pytest.raises(KeyError, match="that pass `filtering`"):
            jos.tree.set(state, lambda p, v: False, count=1)

    def test_get_and_set_match_optax_on_the_same_state(self):
        # One optax state, read and written by both libraries.
        state = optax.chain(optax.add_decayed_weights(0.1), optax.adam(1e-3)).init(_tree())
        for key in ("count", "mu", "ScaleByAdamState"):
            ours = jos.tree.get_all_with_path(state, key)
            theirs = otree.get_all_with_path(state, key)
            self.assertEqual([str(p) for p, _ in ours], [str(p) for p, _ in theirs])
        chex.assert_trees_all_equal(jos.tree.set(state, count=jnp.asarray(3)),
                                    otree.set(state, count=jnp.asarray(3)))

    def test_map_params(self):
        params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
        tx = jos.chain(jos.inject_hyperparams(jos.sgd)(learning_rate=0.1, momentum=0.9),
                       jos.clip_by_global_norm(1.0), jos.adam(1e-3))
        state = tx.init(params)
        specs = jax.tree.map(lambda p: p.shape, params)
        mapped = jos.tree_map_params(tx, lambda _, spec: spec, state, specs,
                                     transform_non_params=lambda _: None)
        self.assertEqual(mapped[2][0].mu, specs)
        self.assertIsNone(mapped[2][0].count)
        ref = optax.adam(1e-3)
        ostate = ref.init(params)
        chex.assert_trees_all_equal(
            jos.tree.map_params(ref, lambda x: x + 1, ostate),
            otree.map_params(ref, lambda x: x + 1, ostate))
        with pytest.raises(TypeError, match="`initable` must be"):
            jos.tree.map_params(3, lambda x: x, state)
