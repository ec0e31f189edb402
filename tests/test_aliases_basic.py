"""Tests for jaxopt_scratch/_optimizers/basic.py."""

import _problems
import _references as R
import chex
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import BEALE_LIKE, BOWL, ELLIPSE, RAVINE, VALLEY
from absl.testing import parameterized
from hypothesis import given

import jaxopt_scratch as jos

RMS_ND = {"decay": 0.8, "eps": 1e-3, "initial_scale": 0.5, "eps_in_sqrt": False, "centered": True,
              "momentum": 0.5, "nesterov": True, "bias_correction": True}
PLAIN_F32 = {"rtol": _problems.F32_RTOL_PLAIN, "atol": _problems.F32_ATOL_PLAIN}


def _optax_sgd():
    return optax.sgd(0.05)


def _optax_sgd_momentum():
    return optax.sgd(0.05, momentum=0.8)


def _optax_sgd_nesterov():
    return optax.sgd(0.05, momentum=0.5, nesterov=True)


def _optax_rmsprop():
    return optax.rmsprop(0.01)


def _optax_rmsprop_nd():
    return optax.rmsprop(0.01, **RMS_ND)


def _optax_rmsprop_torch():
    return optax.rmsprop(0.01, eps=1e-4, eps_in_sqrt=False, momentum=0.9)


def _optax_adagrad():
    return optax.adagrad(0.1)


def _optax_adagrad_nd():
    return optax.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-3)


PARITY = (
    ("sgd_default", lambda: jos.sgd(0.05), _optax_sgd, lambda: R.sgd(0.05)),
    ("sgd_heavy_ball", lambda: jos.sgd(0.05, momentum=0.8), _optax_sgd_momentum,
     lambda: R.sgd(0.05, 0.8)),
    ("sgd_nesterov", lambda: jos.sgd(0.05, momentum=0.5, nesterov=True), _optax_sgd_nesterov,
     lambda: R.sgd(0.05, 0.5, nesterov=True)),
    ("rmsprop_default", lambda: jos.rmsprop(0.01), _optax_rmsprop, lambda: R.rmsprop(0.01)),
    ("rmsprop_non_default", lambda: jos.rmsprop(0.01, **RMS_ND), _optax_rmsprop_nd,
     lambda: R.rmsprop(0.01, **RMS_ND)),
    # eps outside the root, momentum on the scaled step: torch.optim.RMSprop's convention.
    ("rmsprop_torch_convention",
     lambda: jos.rmsprop(0.01, eps=1e-4, eps_in_sqrt=False, momentum=0.9), _optax_rmsprop_torch,
     lambda: R.rmsprop(0.01, eps=1e-4, eps_in_sqrt=False, momentum=0.9)),
    ("adagrad_default", lambda: jos.adagrad(0.1), _optax_adagrad, lambda: R.adagrad(0.1)),
    ("adagrad_non_default", lambda: jos.adagrad(0.1, 0.0, 1e-3), _optax_adagrad_nd,
     lambda: R.adagrad(0.1, 0.0, 1e-3)),
)


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_oracle_over_50_steps(self, ours, theirs, oracle):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"basic {theirs.__name__}",
                               optax_build=theirs, oracle=oracle())

    def test_momentum_none_has_no_state_but_zero_keeps_one(self):
        params = _problems.nested_params()
        self.assertEqual(jos.sgd(0.1).init(params), (jos.EmptyState(), jos.EmptyState()))
        self.assertIsInstance(jos.sgd(0.1, momentum=0.0).init(params)[0], jos.TraceState)
        a = _problems.scan_run(jos.sgd(0.1), params, _problems.nested_grad, 5)[0]
        b = _problems.scan_run(jos.sgd(0.1, momentum=0.0), params, _problems.nested_grad, 5)[0]
        chex.assert_trees_all_equal(a, b)

    @parameterized.named_parameters(
        ("sgd", lambda: jos.sgd(0.1, momentum=1.0)),
        ("rmsprop", lambda: jos.rmsprop(0.1, momentum=-0.1)))
    def test_out_of_range_momentum_is_named(self, make):
        with pytest.raises(ValueError, match=r"`momentum` must lie in \[0, 1\)"):
            make()

    @parameterized.named_parameters(
        ("sgd_lr", lambda: jos.sgd(-1.0), "learning_rate"),
        ("rmsprop_decay", lambda: jos.rmsprop(0.1, decay=1.0), "decay"),
        ("rmsprop_eps", lambda: jos.rmsprop(0.1, eps=-1.0), "eps"),
        ("rmsprop_initial_scale", lambda: jos.rmsprop(0.1, initial_scale=-1.0), "initial_scale"),
        ("adagrad_initial", lambda: jos.adagrad(0.1, initial_accumulator_value=-1.0),
         "initial_accumulator_value"),
        ("adagrad_eps", lambda: jos.adagrad(0.1, eps=-1.0), "eps"))
    def test_out_of_range_raises_naming_the_argument(self, make, name):
        with pytest.raises(ValueError, match=rf"`{name}` must lie in"):
            make()


class VmapTest(chex.TestCase):
    """Every numeric hyperparameter of each alias batched at once."""

    @parameterized.named_parameters(
        ("sgd", lambda **kw: jos.sgd(nesterov=True, **kw),
         {"learning_rate": [0.01, 0.05, 0.1], "momentum": [0.0, 0.5, 0.9]}),
        ("rmsprop", lambda **kw: jos.rmsprop(centered=True, bias_correction=True, **kw),
         {"learning_rate": [0.01, 0.05, 0.1], "decay": [0.5, 0.9, 0.99], "eps": [1e-8, 1e-3, 1.0],
              "initial_scale": [0.0, 0.5, 2.0], "momentum": [0.0, 0.5, 0.9]}),
        ("adagrad", jos.adagrad,
         {"learning_rate": [0.01, 0.05, 0.1], "initial_accumulator_value": [0.0, 0.1, 1.0],
              "eps": [1e-7, 1e-3, 1.0]}),
    )
    def test_vmap_matches_loop(self, make, values):
        _problems.assert_vmap_matches_loop(self, make, values)


class SeedReferenceTest(chex.TestCase):
    """P1-P4, P7, P8 of docs/tutorial_claims.rst at its float32 tolerances.

    Those are 2e-5 rtol and 1e-6 atol.
    """

    def test_p1_bowl_sgd(self):
        traj = _problems.trajectory(jos.sgd(0.1), BOWL, 14)
        # docs/tutorial_claims.rst gives 2e-7 for P1 in float32: 14 multiplications by 0.8.
        _problems.check_against_reference(self, traj, BOWL, "P1 bowl sgd", rtol=2e-7, atol=0)

    def test_p2_ravine_sgd(self):
        traj = _problems.trajectory(jos.sgd(0.01), RAVINE, 30)
        _problems.check_against_reference(self, traj, RAVINE, "P2 ravine sgd", **PLAIN_F32)
        # docs/tutorial_claims.rst, P2: x is exactly +0.0 after step 1 (lr * 100 == 1). Compiled
        # on CPU, XLA fuses x - lr * g into one FMA, so x = 1 - float32(0.01) * 100 = 2.2e-8 > 0
        # and then shrinks by that factor each step: never negative, ~0 at once.
        self.assertTrue(np.all(traj[:, 0] >= 0.0))
        self.assertLess(np.max(np.abs(traj[:, 0])), 3e-8)

    def test_p3_ravine_heavy_ball(self):
        traj = _problems.trajectory(jos.sgd(0.01, momentum=0.9), RAVINE, 30)
        _problems.check_against_reference(self, traj, RAVINE, "P3 ravine heavy-ball", **PLAIN_F32)

    def test_p3_in_float64(self):
        with jax.enable_x64(True):
            traj = _problems.trajectory(jos.sgd(0.01, momentum=0.9), RAVINE, 30, jnp.float64)
            _problems.check_against_reference(self, traj, RAVINE, "P3 ravine heavy-ball",
                                              rtol=_problems.F64_RTOL, atol=_problems.F64_ATOL)

    @parameterized.named_parameters(
        ("sgd", lambda: jos.sgd(0.0005), "P4 showdown sgd"),
        ("momentum", lambda: jos.sgd(0.0005, momentum=0.9), "P4 showdown momentum"),
        ("rmsprop", lambda: jos.rmsprop(0.005, decay=0.9, eps=1e-8, eps_in_sqrt=False),
         "P4 showdown rmsprop"))
    def test_p4_clipped_showdown(self, make, key):
        # Tutorial 3 clips each gradient coordinate to [-10, 10] before the optimizer.
        traj = _problems.trajectory(jos.chain(jos.clip(10.0), make()), BEALE_LIKE, 200)
        _problems.check_against_reference(self, traj, BEALE_LIKE, key, **PLAIN_F32)

    def test_p7_gradient_descent_diverges(self):
        traj = _problems.trajectory(jos.sgd(0.2), ELLIPSE, 550)
        # The first steps follow x_k = 1.5 * 0.6^k, y_k = 1.5 * (-3)^k...
        _problems.check_against_reference(self, traj[:20], ELLIPSE, "P7 ellipse gd lr0.2",
                                          **PLAIN_F32)
        # ...and the run blows up (inf from about epoch 39 in float32).
        final_loss = float(ELLIPSE.loss(jnp.asarray(traj[-1], jnp.float32)))
        self.assertTrue(not np.isfinite(final_loss) or final_loss > 1e30, final_loss)

    def test_p8_rmsprop_eps_outside(self):
        traj = _problems.trajectory(jos.rmsprop(0.1, eps_in_sqrt=False), VALLEY, 100)
        _problems.check_against_reference(self, traj, VALLEY, "P8 valley rmsprop", **PLAIN_F32)


@jax.jit
def _first_sgd_steps(g, lr, momentum):
    plain, heavy = jos.sgd(lr), jos.sgd(lr, momentum=momentum, nesterov=True)
    p = jnp.zeros_like(g)
    return plain.update(g, plain.init(p), p)[0], heavy.update(g, heavy.init(p), p)[0]


@given(g=hnp.arrays(np.float32, (3,), elements=st.floats(-1e3, 1e3, width=32,
                                                         allow_subnormal=False)),
       lr=st.floats(2.0**-12, 1.0, width=32), momentum=st.floats(0.0, 0.75, width=32))
def test_sgd_moves_against_the_gradient(g, lr, momentum):
    plain, nesterov = _first_sgd_steps(jnp.asarray(g), jnp.float32(lr), jnp.float32(momentum))
    for u in (plain, nesterov):
        assert np.all(np.asarray(u) * g <= 0)  # no coordinate ascends
    # CPU XLA may flush products below float32's normal range to zero: atol 1e-30.
    np.testing.assert_allclose(plain, -np.float32(lr) * g, rtol=1e-6, atol=1e-30)
