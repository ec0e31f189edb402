"""Tests for jaxopt_scratch/_transforms/fromage.py (Fromage's step and shrinkage coefficients).

optax parity of the whole optimizer is in test_aliases_sgd_variants.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from jaxopt_scratch._transforms import fromage


class CoefficientsTest(parameterized.TestCase):

    @parameterized.named_parameters(("small", 0.01), ("one", 1.0), ("large", 7.0))
    def test_scalar_coefficients(self, lr):
        mult = 1 / np.sqrt(1 + lr**2)
        np.testing.assert_allclose(fromage.fromage_step_size(lr), lr * mult, rtol=1e-15)
        np.testing.assert_allclose(fromage.fromage_shrinkage(lr), 1 - mult, rtol=1e-15)

    def test_schedules_give_schedules_and_tracers_work(self):
        step = fromage.fromage_step_size(lambda count: 0.5 * (count + 1).astype(jnp.float32))
        np.testing.assert_allclose(step(jnp.asarray(1)), 1 / np.sqrt(2), rtol=1e-6)
        shrink = jax.jit(fromage.fromage_shrinkage)(jnp.float32(1.0))
        np.testing.assert_allclose(shrink, 1 - 1 / np.sqrt(2), rtol=1e-6)
