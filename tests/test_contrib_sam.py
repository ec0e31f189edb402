"""Tests for jaxopt_scratch/_contrib/sam.py (SAM, normalize) and its eval_params hook."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _grad_fn(params, i):
    del i
    return _problems.nested_grad(params)


CASES = (
    ("default", lambda m, c: (m.sgd(0.05), m.chain(c.normalize(), m.sgd(0.1))), {}, None,
     _problems.OPTAX_PLAIN),
    ("adam_period_3", lambda m, c: (m.adam(0.05), m.chain(c.normalize(), m.sgd(0.1))),
     {"sync_period": 3, "reset_state": False}, None, _problems.OPTAX_ADAM),
    ("opaque", lambda m, c: (m.adam(0.05), m.chain(c.normalize(), m.sgd(0.1))),
     {"opaque_mode": True}, lambda p: {"grad_fn": _grad_fn}, _problems.OPTAX_ADAM),
)


class SamTest(chex.TestCase):

    @parameterized.named_parameters(*CASES)
    def test_matches_optax_over_50_steps(self, build, kwargs, extra, tol):
        (got, _), (want, _) = _problems.optax_pair(
            jos.contrib.sam(*build(jos, jos.contrib), **kwargs),
            optax.contrib.sam(*build(optax, optax.contrib), **kwargs), extra=extra)
        chex.assert_trees_all_close(got, want, **tol)
        self.assertFalse(np.allclose(jax.tree.leaves(got)[0],
                                     jax.tree.leaves(_problems.nested_params())[0]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_eval_params_are_the_true_params(self):
        # Step 1 climbs (params move, the true ones are cached); step 2 comes back and descends.
        tx = jos.contrib.sam(jos.sgd(0.1), jos.chain(jos.contrib.normalize(), jos.sgd(0.5)))
        x = jnp.asarray([3.0, 4.0])
        u, state = self.variant(tx.update)(2 * x, tx.init(x), x)
        np.testing.assert_allclose(x + u, [3.3, 4.4], rtol=1e-6)
        np.testing.assert_array_equal(jos.contrib.eval_params(state, x + u), x)
        y = x + u
        u, state = self.variant(tx.update)(2 * y, state, y)
        np.testing.assert_allclose(y + u, x - 0.1 * 2 * y, rtol=1e-6)
        np.testing.assert_array_equal(jos.contrib.eval_params(state, y + u), y + u)

    def test_vmap_over_the_learning_rates_matches_the_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda lr, rho: jos.contrib.sam(jos.adam(lr), jos.chain(
                jos.contrib.normalize(), jos.sgd(rho))), {"lr": [0.05, 0.1], "rho": [0.1, 0.3]})

    def test_bfloat16_params(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.sam(jos.sgd(0.1), jos.chain(jos.contrib.normalize(), jos.sgd(0.5)))
        final = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 4))(params)[0]
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(final)))
        self.assertTrue(_problems.all_finite(final))

    def test_errors(self):
        with pytest.raises(ValueError, match="`sync_period`"):
            jos.contrib.sam(jos.sgd(0.1), jos.sgd(0.1), sync_period=0)
        with pytest.raises(TypeError, match="`adv_optimizer`"):
            jos.contrib.sam(jos.sgd(0.1), jos.sgd)
        tx = jos.contrib.sam(jos.sgd(0.1), jos.sgd(0.1), opaque_mode=True)
        with pytest.raises(ValueError, match="grad_fn="):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))
