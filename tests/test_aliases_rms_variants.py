"""Tests for jaxopt_scratch/_optimizers/rms_variants.py (adadelta, adafactor, sm3)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized
from test_factored import matrix_params
from test_sm3 import cover_params

import jaxopt_scratch as jos


def _optax_adadelta():
    return optax.adadelta(0.5)


def _optax_adadelta_nd():
    return optax.adadelta(0.5, rho=0.5, eps=1e-3, weight_decay=0.1,
                          weight_decay_mask=_problems.size_mask)


def _optax_adafactor():
    return optax.adafactor(0.02)


def _optax_adafactor_nd():
    # A float64 momentum: run under x64, a float32 one would round (differently: optax
    # averages in float64 and rounds, we round the update first).
    return optax.adafactor(0.02, min_dim_size_to_factor=3, decay_rate=0.5, decay_offset=-2,
                           clipping_threshold=0.5, momentum=0.9, dtype_momentum=jnp.float64,
                           weight_decay_rate=0.01, eps=1e-3, weight_decay_mask=_problems.size_mask)


def _optax_sm3():
    return optax.sm3(0.05)


def _optax_sm3_nd():
    return optax.sm3(0.05, momentum=0.5)


class ParityTest(chex.TestCase):
    # float32: rounding only (measured <= 1.2e-7 absolute after 50 steps for Adadelta,
    # 6e-8 for Adafactor, 1.8e-7 for SM3); float64: the formulas, to double rounding.

    @parameterized.named_parameters(
        ("adadelta_default", lambda: jos.adadelta(0.5), _optax_adadelta, _problems.nested_params),
        # min_dim_size_to_factor = 128: nothing is factored, the nested pytree will do.
        ("adafactor_default", lambda: jos.adafactor(0.02), _optax_adafactor,
         _problems.nested_params),
        ("sm3_default", lambda: jos.sm3(0.05), _optax_sm3, cover_params))
    def test_matches_optax_in_float32_over_50_steps(self, ours, theirs, params_fn):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs, dtype_name="float32",
                                     tol=_problems.OPTAX_PLAIN, params_fn=params_fn)

    @parameterized.named_parameters(
        ("adadelta", lambda: jos.adadelta(0.5, 0.5, 1e-3, 0.1, _problems.size_mask),
         _optax_adadelta_nd, _problems.nested_params),
        # Every optional stage of the chain: clipping, momentum, weight decay, factoring.
        ("adafactor", lambda: jos.adafactor(0.02, 3, 0.5, -2, True, 0.5, 0.9, jnp.float64, 0.01,
                                            1e-3, True, _problems.size_mask),
         _optax_adafactor_nd, matrix_params),
        ("sm3", lambda: jos.sm3(0.05, momentum=0.5), _optax_sm3_nd, cover_params))
    def test_matches_optax_in_float64_over_50_steps(self, ours, theirs, params_fn):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs, params_fn=params_fn)


class AdadeltaTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_learning_rate_none_is_a_unit_descent_step(self):
        # Deviation (adadelta's note): optax 0.2.8 replaces None by the identity, so its
        # default Adadelta ascends; ours is learning rate 1 (the paper's), same state shape.
        p, g = jnp.asarray([0.5, -1.0]), jnp.asarray([1.0, -2.0])
        tx, one = jos.adadelta(), jos.adadelta(1.0)
        u, state = self.variant(tx.update)(g, tx.init(p), p)
        chex.assert_trees_all_equal(u, self.variant(one.update)(g, one.init(p), p)[0])
        self.assertTrue(np.all(np.sign(u) == -np.sign(g)))
        ref = optax.adadelta()
        theirs, ref_state = ref.update(g, ref.init(p), p)
        np.testing.assert_allclose(theirs, -u, rtol=1e-6)  # the same size, uphill
        self.assertEqual([x.shape for x in jax.tree.leaves(state)],
                         [x.shape for x in jax.tree.leaves(ref_state)])


class AdafactorTest(chex.TestCase):

    def test_optional_stages_follow_optax_s_chain(self):
        p = matrix_params()
        for kwargs in ({}, {"learning_rate": 0.1}, {"clipping_threshold": None, "momentum": 0.9,
                                                    "weight_decay_rate": 0.1}):
            ours, theirs = jos.adafactor(**kwargs).init(p), optax.adafactor(**kwargs).init(p)
            self.assertEqual(len(ours), len(theirs))
            chex.assert_trees_all_equal_shapes(tuple(ours[0]), tuple(theirs[0]))

    def test_inject_hyperparams_needs_the_size_static(self):
        # As in optax (its issue 412): the size decides state shapes, so it is a static arg.
        p = matrix_params()
        with pytest.raises(TypeError, match=r"static_args=\('min_dim_size_to_factor',\)"):
            jos.inject_hyperparams(jos.adafactor)(learning_rate=0.1).init(p)
        tx = jos.inject_hyperparams(jos.adafactor, static_args=("min_dim_size_to_factor",))(
            learning_rate=0.1, min_dim_size_to_factor=3)
        u, _ = tx.update(p, tx.init(p), p)
        plain = jos.adafactor(0.1, min_dim_size_to_factor=3)
        chex.assert_trees_all_close(u, plain.update(p, plain.init(p), p)[0], rtol=1e-6)

    @parameterized.named_parameters(
        ("eps", {"eps": -1.0}, r"`eps` must lie in \[0, inf\)"),
        ("momentum", {"momentum": 1.0}, r"`momentum` must lie in \[0, 1\)"),
        ("clipping_threshold", {"clipping_threshold": -1.0},
         r"`clipping_threshold` must lie in \[0, inf\)"),
        ("weight_decay_rate", {"weight_decay_rate": -0.1},
         r"`weight_decay_rate` must lie in \[0, inf\)"))
    def test_errors_name_the_alias_s_argument(self, kwargs, pattern):
        with pytest.raises(ValueError, match=pattern):
            jos.adafactor(0.1, **kwargs)
