"""Tests for jaxopt_scratch/_contrib/adopt.py (ADOPT and ACProp)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

ND = {"b1": 0.5, "b2": 0.9, "eps": 1e-3}


def _optax_adopt():
    return optax.contrib.adopt(0.02)


def _optax_adopt_nd():
    return optax.contrib.adopt(0.02, nesterov=True, **ND)


def _optax_adopt_unclipped():
    return optax.contrib.adopt(0.02, use_clipping=False)


def _optax_acprop():
    return optax.contrib.acprop(0.02)


def _optax_acprop_nd():
    return optax.contrib.acprop(0.02, eps_root=1e-4, weight_decay=0.1, mask=_problems.size_mask,
                                **ND)


PARITY = (
    # ADOPT has no bias correction: the plain tolerance; ACProp corrects s like Adam.
    ("adopt_default", lambda: jos.contrib.adopt(0.02), _optax_adopt, _problems.OPTAX_PLAIN),
    ("adopt_non_default", lambda: jos.contrib.adopt(0.02, nesterov=True, **ND), _optax_adopt_nd,
     _problems.OPTAX_PLAIN),
    ("adopt_unclipped", lambda: jos.contrib.adopt(0.02, use_clipping=False),
     _optax_adopt_unclipped, _problems.OPTAX_PLAIN),
    ("acprop_default", lambda: jos.contrib.acprop(0.02), _optax_acprop, _problems.OPTAX_ADAM),
    ("acprop_non_default",
     lambda: jos.contrib.acprop(0.02, eps_root=1e-4, weight_decay=0.1, mask=_problems.size_mask,
                                **ND), _optax_acprop_nd, _problems.OPTAX_ADAM),
)


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_over_50_steps(self, ours, theirs, tol):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"adopt {theirs.__name__}",
                               optax_build=theirs, optax_tol=tol)


class BehaviourTest(chex.TestCase):

    def test_adopt_first_step_only_measures_and_second_is_clipped(self):
        # Step 0: v_0 = g^2, no move. Step 1: g / |g| clipped at 1**0.25 = 1, times (1 - b1).
        tx = jos.contrib.scale_by_adopt(b1=0.5)
        g = jnp.asarray([0.5, -2.0])
        u0, state = tx.update(g, tx.init(g))
        u1, state = tx.update(4 * g, state)
        np.testing.assert_array_equal(u0, jnp.zeros(2))
        np.testing.assert_allclose(u1, [0.5, -0.5], rtol=1e-6)  # 4g/|g| = +-4, clipped to +-1

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, b1, b2, eps, eps_root, weight_decay):
            return jos.chain(jos.contrib.adopt(learning_rate, b1, b2, eps),
                             jos.contrib.acprop(learning_rate, b1, b2, eps, eps_root,
                                                weight_decay))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [0.02, 0.05], "b1": [0.9, 0.5], "b2": [0.999, 0.9],
            "eps": [1e-6, 1e-3], "eps_root": [1e-16, 1e-2], "weight_decay": [0.0, 0.1]},
            steps=5)

    def test_bfloat16_params_keep_float32_moments(self):
        params = _problems.small_params(jnp.bfloat16)
        for tx in (jos.contrib.scale_by_adopt(), jos.contrib.scale_by_acprop()):
            u, state = tx.update(params, tx.init(params))
            self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
            self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("adopt_b2", lambda: jos.contrib.adopt(0.1, b2=1.0), "b2"),
        ("adopt_eps", lambda: jos.contrib.scale_by_adopt(eps=-1.0), "eps"),
        ("acprop_b1", lambda: jos.contrib.acprop(0.1, b1=-0.5), "b1"),
        ("acprop_lr", lambda: jos.contrib.acprop(-0.1), "learning_rate"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_clip_value_fn_must_be_callable(self):
        with pytest.raises(TypeError, match="`clip_value_fn`"):
            jos.contrib.scale_by_adopt(clip_value_fn=1.0)
