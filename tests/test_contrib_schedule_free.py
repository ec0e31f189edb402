"""Tests for jaxopt_scratch/_contrib/schedule_free.py and _contrib/evaluation.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

SF_ADAMW_ND = {"warmup_steps": 10, "b1": 0.5, "b2": 0.9, "eps": 1e-3, "weight_decay": 0.1,
               "weight_lr_power": 1.5}
SF_SGD_ND = {"warmup_steps": 5, "b1": 0.5, "weight_decay": 0.1, "weight_lr_power": 1.0}


def _optax_sf_sgd():
    return optax.contrib.schedule_free_sgd(0.05)


def _optax_sf_sgd_nd():
    return optax.contrib.schedule_free_sgd(0.05, **SF_SGD_ND)


def _optax_sf_adamw():
    return optax.contrib.schedule_free_adamw(0.05)


def _optax_sf_adamw_nd():
    return optax.contrib.schedule_free_adamw(0.05, **SF_ADAMW_ND)


def _optax_sf_adam():
    return optax.contrib.schedule_free(optax.adam(0.05, b1=0.0), 0.05, b1=0.8)


PARITY = (
    # SGD has no bias correction: the plain tolerance; the Adam family's differs by
    # optax's naive 1 - b2**t (see _problems.OPTAX_ADAM).
    ("sgd_default", lambda: jos.contrib.schedule_free_sgd(0.05), _optax_sf_sgd,
     lambda: R.ScheduleFree(R.sgd(0.05), 0.05), _problems.OPTAX_PLAIN),
    ("sgd_non_default", lambda: jos.contrib.schedule_free_sgd(0.05, **SF_SGD_ND),
     _optax_sf_sgd_nd,
     lambda: R.ScheduleFree(R.Chain(R.WeightDecay(0.1), R.sgd(R.warmup(0.05, 5))),
                            R.warmup(0.05, 5), b1=0.5, weight_lr_power=1.0),
     _problems.OPTAX_PLAIN),
    ("adamw_default", lambda: jos.contrib.schedule_free_adamw(0.05), _optax_sf_adamw,
     lambda: R.ScheduleFree(R.adamw(0.05, b1=0.0, weight_decay=0.0), 0.05),
     _problems.OPTAX_ADAM),
    ("adamw_non_default", lambda: jos.contrib.schedule_free_adamw(0.05, **SF_ADAMW_ND),
     _optax_sf_adamw_nd,
     lambda: R.ScheduleFree(R.adamw(R.warmup(0.05, 10), b1=0.0, b2=0.9, eps=1e-3,
                                    weight_decay=0.1), R.warmup(0.05, 10), b1=0.5,
                            weight_lr_power=1.5),
     _problems.OPTAX_ADAM),
    ("wrapped_adam", lambda: jos.contrib.schedule_free(jos.adam(0.05, b1=0.0), 0.05, b1=0.8),
     _optax_sf_adam, lambda: R.ScheduleFree(R.adam(0.05, b1=0.0), 0.05, b1=0.8),
     _problems.OPTAX_ADAM),
)


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_the_paper_over_50_steps(self, ours, theirs, oracle, tol):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"sf {theirs.__name__}",
                               optax_build=theirs, optax_tol=tol, oracle=oracle())

    def test_eval_params_match_optax(self):
        params = _problems.nested_params()
        tx = jos.contrib.schedule_free_adamw(0.05, **SF_ADAMW_ND)
        y, state = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 20))(params)
        oy, ostate = _problems.optax_run(_optax_sf_adamw_nd(), params, _problems.nested_grad, 20)
        x = jos.contrib.schedule_free_eval_params(state, y)
        with jax.numpy_dtype_promotion("standard"):
            ox = optax.contrib.schedule_free_eval_params(ostate, oy)
        chex.assert_trees_all_close(x, ox, **_problems.OPTAX_ADAM)
        # The hook finds the same point through a chain, and through the state's method.
        chex.assert_trees_all_equal(jos.contrib.eval_params((jos.EmptyState(), state), y), x)
        chex.assert_trees_all_equal(state.eval_params(y), x)
        self.assertFalse(np.allclose(jax.tree.leaves(x)[0], jax.tree.leaves(y)[0]))


class BehaviourTest(chex.TestCase):

    def test_eval_params_is_the_identity_for_other_optimizers(self):
        p = {"w": jnp.ones(2)}
        self.assertIs(jos.contrib.eval_params(jos.adamw(0.1).init(p), p), p)

    def test_the_hook_is_found_statically_through_wrappers(self):
        # What a training loop checks once at trace time (jos.run/sweep use it).
        from jaxopt_scratch._contrib.evaluation import has_eval_params

        p = {"w": jnp.ones(2)}
        sam = jos.contrib.sam(jos.sgd(0.1), jos.contrib.normalize())
        for tx, expected in ((jos.adamw(0.1), False), (sam, True),
                             (jos.named_chain(("clip", jos.clip(1.0)),
                                              ("sf", jos.contrib.schedule_free_sgd(0.1))), True)):
            self.assertEqual(has_eval_params(jax.eval_shape(tx.init, p)), expected)

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, b1, b2, eps, weight_decay, weight_lr_power):
            return jos.contrib.schedule_free_adamw(learning_rate, warmup_steps=2, b1=b1, b2=b2,
                                                   eps=eps, weight_decay=weight_decay,
                                                   weight_lr_power=weight_lr_power)

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [0.05, 0.1], "b1": [0.9, 0.5], "b2": [0.999, 0.9],
            "eps": [1e-8, 1e-3], "weight_decay": [0.0, 0.1], "weight_lr_power": [2.0, 1.0]})

    def test_bfloat16_params_keep_z_in_float32(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.schedule_free_sgd(0.05)
        y, state = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 20))(params)
        self.assertTrue(all(z.dtype == jnp.float32 for z in jax.tree.leaves(state.z)))
        self.assertTrue(all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(y)))
        ref = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 20))(
            _problems.small_params())[0]
        # y is rounded to bfloat16 (8 bits) every step; z is not.
        chex.assert_trees_all_close(jax.tree.map(lambda v: v.astype(jnp.float32), y), ref,
                                    atol=2e-2)


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("b1_zero", lambda: jos.contrib.schedule_free_sgd(0.1, b1=0.0), "b1"),
        ("warmup", lambda: jos.contrib.schedule_free_adamw(0.1, warmup_steps=0), "warmup_steps"),
        ("lr", lambda: jos.contrib.schedule_free_adamw(-0.1), "learning_rate"),
        ("b2", lambda: jos.contrib.schedule_free_adamw(0.1, b2=1.0), "b2"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_base_optimizer_must_be_a_transform(self):
        with pytest.raises(TypeError, match="`base_optimizer`"):
            jos.contrib.schedule_free(jos.sgd, 0.1)

    def test_eval_params_needs_a_schedule_free_state(self):
        with pytest.raises(TypeError, match="ScheduleFreeState"):
            jos.contrib.schedule_free_eval_params(jos.EmptyState(), jnp.ones(1))

    def test_update_needs_params(self):
        tx = jos.contrib.schedule_free_sgd(0.1)
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(jnp.ones(1), tx.init(jnp.ones(1)))
