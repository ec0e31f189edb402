"""Tests for jaxopt_scratch/_optimizers/optimistic.py (OGD, optimistic Adam and its v2)."""

import warnings

import _problems
import chex
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

ADAM, PLAIN = _problems.OPTAX_ADAM, _problems.OPTAX_PLAIN


def _optax_ogd():
    return optax.optimistic_gradient_descent(0.02)


def _optax_ogd_nd():
    return optax.optimistic_gradient_descent(0.02, alpha=0.7, beta=0.1)


def _optax_oadam():
    with warnings.catch_warnings():  # optax 0.2.8 deprecates this interface
        warnings.simplefilter("ignore", DeprecationWarning)
        return optax.optimistic_adam(0.02)


def _optax_oadam_nd():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return optax.optimistic_adam(0.02, optimism=0.01, b1=0.5, b2=0.9, eps=1e-3,
                                     eps_root=1e-4, nesterov=False)


def _optax_oadam_v2():
    return optax.optimistic_adam_v2(0.02)


def _optax_oadam_v2_nd():
    return optax.optimistic_adam_v2(0.02, alpha=0.7, beta=0.1, b1=0.5, b2=0.9, eps=1e-3,
                                    eps_root=1e-4, nesterov=False)


class ParityTest(chex.TestCase):
    # float32: OGD rounds the same way (measured 0 difference); optimistic Adam carries the
    # Adam family's bias-correction difference (_problems.OPTAX_ADAM). float64: to rounding.

    @parameterized.named_parameters(
        ("ogd_default", lambda: jos.optimistic_gradient_descent(0.02), _optax_ogd, PLAIN),
        ("optimistic_adam_default", lambda: jos.optimistic_adam(0.02), _optax_oadam, ADAM),
        ("optimistic_adam_v2_default", lambda: jos.optimistic_adam_v2(0.02), _optax_oadam_v2,
         ADAM))
    def test_matches_optax_in_float32_over_50_steps(self, ours, theirs, tol):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs, dtype_name="float32",
                                     tol=tol)

    @parameterized.named_parameters(
        ("ogd", lambda: jos.optimistic_gradient_descent(0.02, 0.7, 0.1), _optax_ogd_nd),
        ("optimistic_adam", lambda: jos.optimistic_adam(0.02, 0.01, 0.5, 0.9, 1e-3, 1e-4,
                                                        nesterov=False), _optax_oadam_nd),
        ("optimistic_adam_v2", lambda: jos.optimistic_adam_v2(
            0.02, alpha=0.7, beta=0.1, b1=0.5, b2=0.9, eps=1e-3, eps_root=1e-4, nesterov=False),
         _optax_oadam_v2_nd))
    def test_matches_optax_in_float64_over_50_steps(self, ours, theirs):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs)


class OptimisticAdamTest(chex.TestCase):

    def test_no_deprecation_warning(self):
        # Deviation (note): optax 0.2.8 warns that this interface is deprecated; ours does not.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            jos.optimistic_adam(0.01)

    @chex.variants(with_jit=True, without_jit=True)
    def test_a_schedule_steps_like_v2(self):
        # Extension (note): optax refuses a schedule; with optimism=None ours takes one and
        # steps -lr_t (2 r_t - r_{t-1}), optimistic_adam_v2's chain.
        schedule = jos.constant_schedule(0.1)
        p = jnp.asarray([1.0, -2.0])
        ours, v2 = jos.optimistic_adam(schedule), jos.optimistic_adam_v2(schedule)
        s1, s2 = ours.init(p), v2.init(p)
        for g in (2 * p, -p):
            u1, s1 = self.variant(ours.update)(g, s1)
            u2, s2 = self.variant(v2.update)(g, s2)
            np.testing.assert_allclose(u1, u2, rtol=1e-6)

    def test_errors_name_the_argument(self):
        with pytest.raises(TypeError, match="only with the default `optimism=None`"):
            jos.optimistic_adam(jos.constant_schedule(0.1), optimism=0.1)
        with pytest.raises(ValueError, match=r"`learning_rate` must lie in \[0, inf\)"):
            jos.optimistic_adam(-0.1)
