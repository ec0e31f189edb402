"""Tests for jaxopt_scratch/_optimizers/sign.py (sign_sgd, signum, rprop)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _optax_sign_sgd():
    return optax.sign_sgd(0.02)


def _optax_signum():
    return optax.signum(0.02)


def _optax_signum_nd():
    return optax.signum(0.02, beta=0.5)


class ParityTest(chex.TestCase):
    # The updates are +-lr exactly; only the EMA inside Signum rounds (float32, and optax
    # forms 1 - beta in double): measured 0 difference after 50 steps.

    @parameterized.named_parameters(
        ("sign_sgd", lambda: jos.sign_sgd(0.02), _optax_sign_sgd),
        ("signum_default", lambda: jos.signum(0.02), _optax_signum),
        ("signum_non_default", lambda: jos.signum(0.02, beta=0.5), _optax_signum_nd))
    def test_matches_optax_in_float32_over_50_steps(self, ours, theirs):
        _problems.check_optax_parity(self, ours(), theirs.__name__, theirs, dtype_name="float32",
                                     tol=_problems.OPTAX_PLAIN)


class RpropTest(chex.TestCase):

    def test_matches_torch_rprop(self):
        # torch.optim.Rprop is the paper's iRprop- (optax 0.2.8's lags a step, see
        # tests/test_sign.py): 50 steps on the bowl of tiny_params, float32 rounding only.
        torch = pytest.importorskip("torch")
        lr, etas, sizes = 0.05, (0.4, 1.3), (1e-4, 0.3)
        start = np.asarray([0.8, -1.3, 0.4, -0.6], np.float32)
        curvature = np.asarray([1.0, 2.0, 3.0, 1.0], np.float32)
        p = torch.tensor(start.copy(), requires_grad=True)
        opt = torch.optim.Rprop([p], lr=lr, etas=etas, step_sizes=sizes)
        for _ in range(50):
            opt.zero_grad()
            (0.5 * (torch.tensor(curvature) * p * p).sum()).backward()
            opt.step()
        tx = jos.rprop(lr, *etas, *sizes)
        grad = lambda x: jnp.asarray(curvature) * x
        ours = _problems.scan_run(tx, jnp.asarray(start), grad, 50)[0]
        np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-6, atol=1e-7)

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_step_is_minus_lr_sign(self):
        tx = jos.rprop(0.1)
        u, _ = self.variant(tx.update)(jnp.asarray([3.0, -0.5, 0.0]), tx.init(jnp.zeros(3)))
        np.testing.assert_allclose(u, [-0.1, 0.1, 0.0])

    def test_a_schedule_is_refused(self):
        with pytest.raises(TypeError, match="`learning_rate` of Rprop"):
            jos.rprop(jos.constant_schedule(0.1))

    def test_learning_rate_may_be_traced(self):
        def first(lr):
            tx = jos.rprop(lr)
            return tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))[0]

        np.testing.assert_allclose(jax.vmap(first)(jnp.asarray([0.1, 0.2])),
                                   [[-0.1, -0.1], [-0.2, -0.2]], rtol=1e-6)
