"""Tests for jaxopt_scratch/_contrib/ademamix.py (AdEMAMix and simplified AdEMAMix)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _b3_warmup(count):
    return 0.9 + 0.09 * jnp.minimum(count.astype(jnp.float32) / 10.0, 1.0)


def _alpha_warmup(count):
    return 3.0 * jnp.minimum(count.astype(jnp.float32) / 10.0, 1.0)


ND = {"b1": 0.5, "b2": 0.9, "eps": 1e-3, "eps_root": 1e-4, "weight_decay": 0.1}


def _optax_ademamix():
    return optax.contrib.ademamix(0.02)


def _optax_ademamix_nd():
    return optax.contrib.ademamix(0.02, b3=0.99, alpha=2.0, mask=_problems.size_mask, **ND)


def _optax_ademamix_schedules():
    return optax.contrib.ademamix(0.02, b3=_b3_warmup, alpha=_alpha_warmup)


def _optax_simplified():
    return optax.contrib.simplified_ademamix(0.002)


def _optax_simplified_nd():
    return optax.contrib.simplified_ademamix(0.002, alpha=_alpha_warmup, **ND)


PARITY = (
    # Adam-type bias corrections: optax's naive 1 - b**t (see _problems.OPTAX_ADAM).
    ("ademamix_default", lambda: jos.contrib.ademamix(0.02), _optax_ademamix),
    ("ademamix_non_default",
     lambda: jos.contrib.ademamix(0.02, b3=0.99, alpha=2.0, mask=_problems.size_mask, **ND),
     _optax_ademamix_nd),
    ("ademamix_schedules", lambda: jos.contrib.ademamix(0.02, b3=_b3_warmup, alpha=_alpha_warmup),
     _optax_ademamix_schedules),
    ("simplified_default", lambda: jos.contrib.simplified_ademamix(0.002), _optax_simplified),
    ("simplified_non_default",
     lambda: jos.contrib.simplified_ademamix(0.002, alpha=_alpha_warmup, **ND),
     _optax_simplified_nd),
)


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_over_50_steps(self, ours, theirs):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"ademamix {theirs.__name__}",
                               optax_build=theirs, optax_tol=_problems.OPTAX_ADAM)


class BehaviourTest(chex.TestCase):

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, b1, b2, b3, alpha, eps, eps_root, weight_decay):
            warm = lambda count: alpha * jnp.minimum(count.astype(jnp.float32) / 3.0, 1.0)
            return jos.chain(
                jos.contrib.ademamix(learning_rate, b1, b2, b3, warm, eps, eps_root,
                                     weight_decay=weight_decay),
                jos.contrib.simplified_ademamix(learning_rate, b1, b2, alpha, eps, eps_root,
                                                weight_decay))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [0.02, 0.05], "b1": [0.9, 0.5], "b2": [0.999, 0.9],
            "b3": [0.9999, 0.99], "alpha": [5.0, 1.0], "eps": [1e-8, 1e-3],
            "eps_root": [0.0, 1e-2], "weight_decay": [0.0, 0.1]}, steps=5, rtol=1e-5, atol=1e-6)

    def test_bfloat16_params_keep_float32_moments(self):
        params = _problems.small_params(jnp.bfloat16)
        for tx in (jos.contrib.scale_by_ademamix(), jos.contrib.scale_by_simplified_ademamix()):
            u, state = tx.update(params, tx.init(params))
            self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
            self.assertTrue(all(x.dtype == jnp.float32 for x in _problems.float_leaves(state)))


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("b3", lambda: jos.contrib.ademamix(0.1, b3=1.0), "b3"),
        ("alpha", lambda: jos.contrib.scale_by_ademamix(alpha=float("nan")), "alpha"),
        ("b1", lambda: jos.contrib.simplified_ademamix(0.1, b1=1.0), "b1"),
        ("eps_root", lambda: jos.contrib.simplified_ademamix(0.1, eps_root=-1.0), "eps_root"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()
