"""Tests for jaxopt_scratch/_contrib/dadapt.py (dadapt_adamw, prodigy)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

PRODIGY_ND = {"betas": (0.5, 0.9), "beta3": 0.8, "eps": 1e-3, "estim_lr0": 1e-3,
              "estim_lr_coef": 2.0, "weight_decay": 0.1, "safeguard_warmup": True}
DADAPT_ND = {"betas": (0.5, 0.9), "eps": 1e-3, "estim_lr0": 1e-3, "weight_decay": 0.1}

CASES = (
    ("prodigy_default", jos.contrib.prodigy, optax.contrib.prodigy, 1.0, {}),
    ("prodigy_non_default", jos.contrib.prodigy, optax.contrib.prodigy, 0.5, PRODIGY_ND),
    ("dadapt_default", jos.contrib.dadapt_adamw, optax.contrib.dadapt_adamw, 1.0, {}),
    ("dadapt_non_default", jos.contrib.dadapt_adamw, optax.contrib.dadapt_adamw, 0.5,
     DADAPT_ND),
)


def _final(tx, params, apply=jos.apply_updates, steps=50):
    return jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, steps,
                                                apply=apply))(params)


class ParityTest(chex.TestCase):

    @parameterized.named_parameters(*CASES)
    def test_matches_optax_in_float64_over_50_steps(self, ours, theirs, lr, kwargs):
        # The step size d_k feeds back into itself: in float32 both libraries drift
        # from the float64 path (Prodigy's default run by 7e-2 after 50 steps, ours and
        # optax's alike). In float64 the two agree to rounding (measured 2e-15).
        with jax.enable_x64(True):
            params = _problems.nested_params(jnp.float64)
            got, state = _final(ours(lr, **kwargs), params)
            with jax.numpy_dtype_promotion("standard"):
                want, ostate = _final(theirs(lr, **kwargs), params, optax.apply_updates)
            chex.assert_trees_all_close(got, want, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(state.estim_lr, ostate.estim_lr, rtol=1e-10)
            self.assertGreater(float(state.estim_lr), 10 * kwargs.get("estim_lr0", 1e-6))

    @parameterized.named_parameters(CASES[1], CASES[3])
    def test_matches_optax_in_float32(self, ours, theirs, lr, kwargs):
        got = _final(ours(lr, **kwargs), _problems.nested_params())[0]
        want = _problems.optax_run(theirs(lr, **kwargs), _problems.nested_params(),
                                   _problems.nested_grad, 50)[0]
        # optax's naive 1 - b**t, amplified by the d_k feedback: 1.5e-5 measured.
        chex.assert_trees_all_close(got, want, rtol=1e-4, atol=5e-5)

    def test_schedule_is_read_at_the_zero_based_count(self):
        schedule = lambda count: 1.0 / (1.0 + count.astype(jnp.float32))
        got, state = _final(jos.contrib.prodigy(schedule), _problems.nested_params(), steps=20)
        want, ostate = _problems.optax_run(optax.contrib.prodigy(schedule),
                                           _problems.nested_params(), _problems.nested_grad, 20)
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)
        np.testing.assert_allclose(state.estim_lr, ostate.estim_lr, rtol=1e-4)


class BehaviourTest(chex.TestCase):

    @parameterized.named_parameters(("prodigy", jos.contrib.prodigy, optax.contrib.prodigy),
                                    ("dadapt", jos.contrib.dadapt_adamw,
                                     optax.contrib.dadapt_adamw))
    def test_zero_gradients_keep_the_estimate_finite(self, ours, theirs):
        # Deviation from optax (pinned): its 0/0 makes d NaN after an all-zero gradient.
        p = jnp.ones(3)
        tx, otx = ours(), theirs()
        state, ostate = tx.init(p), otx.init(p)
        u, state = tx.update(jnp.zeros(3), state, p)
        with jax.numpy_dtype_promotion("standard"):
            _, ostate = otx.update(jnp.zeros(3), ostate, p)
        self.assertTrue(np.isnan(ostate.estim_lr))
        np.testing.assert_array_equal(u, jnp.zeros(3))
        self.assertEqual(state.estim_lr, np.float32(1e-6))

    def test_vmap_over_every_numeric_hyperparameter_matches_the_loop(self):
        def make(learning_rate, b1, b2, beta3, eps, estim_lr0, estim_lr_coef, weight_decay):
            return jos.chain(
                jos.contrib.prodigy(learning_rate, (b1, b2), beta3, eps, estim_lr0, estim_lr_coef,
                                    weight_decay),
                # dadapt in the same program: one compile checks both
                jos.contrib.dadapt_adamw(learning_rate, (b1, b2), eps, estim_lr0, weight_decay))

        _problems.assert_vmap_matches_loop(self, make, {
            "learning_rate": [1.0, 0.5], "b1": [0.9, 0.5], "b2": [0.999, 0.9],
            "beta3": [0.95, 0.8], "eps": [1e-8, 1e-3], "estim_lr0": [1e-6, 1e-3],
            "estim_lr_coef": [1.0, 2.0], "weight_decay": [0.0, 0.1]}, steps=6, rtol=1e-5,
            atol=1e-6)

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.prodigy()
        final, state = _final(tx, params, steps=10)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(final)))
        for x in jax.tree.leaves((state.exp_avg, state.grad_sum, state.params0)):
            self.assertEqual(x.dtype, jnp.float32)
        self.assertTrue(_problems.all_finite(final))


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("b1", lambda: jos.contrib.prodigy(betas=(1.0, 0.9)), r"betas\[0\]"),
        ("beta3", lambda: jos.contrib.prodigy(beta3=-0.1), "beta3"),
        ("estim_lr0", lambda: jos.contrib.dadapt_adamw(estim_lr0=0.0), "estim_lr0"),
        ("coef", lambda: jos.contrib.prodigy(estim_lr_coef=0.0), "estim_lr_coef"),
        ("weight_decay", lambda: jos.contrib.dadapt_adamw(weight_decay=-1.0), "weight_decay"))
    def test_bad_arguments_raise_naming_them(self, make, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            make()

    def test_betas_must_be_a_pair(self):
        with pytest.raises(TypeError, match="`betas`"):
            jos.contrib.prodigy(betas=0.9)

    def test_update_needs_params(self):
        tx = jos.contrib.prodigy()
        with pytest.raises(ValueError, match="needs the current parameters"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
