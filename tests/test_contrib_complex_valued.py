"""Tests for jaxopt_scratch/_contrib/complex_valued.py (split_real_and_imaginary)."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos


def _params():
    return {"z": jnp.asarray([1.0 + 2.0j, -0.5 + 0.1j, 0.3 - 1.2j], jnp.complex64),
            "r": jnp.asarray([0.5, -1.5], jnp.float32)}


def _grad(params):
    # The conjugate of JAX's gradient of sum |z|^2 + sin(r): the descent direction.
    return {"z": 2 * params["z"], "r": jnp.cos(params["r"])}


class SplitTest(chex.TestCase):

    def test_matches_optax_over_50_steps(self):
        (got, _), (want, _) = _problems.optax_pair(
            jos.contrib.split_real_and_imaginary(jos.adam(0.05)),
            optax.contrib.split_real_and_imaginary(optax.adam(0.05)), params=_params(),
            grad_fn=_grad)
        chex.assert_trees_all_close(got, want, **_problems.OPTAX_ADAM)
        self.assertEqual(got["z"].dtype, jnp.complex64)

    @chex.variants(with_jit=True, without_jit=True)
    def test_parts_are_independent_real_parameters(self):
        # Adam on a complex leaf equals Adam on its two real parts side by side.
        tx = jos.contrib.split_real_and_imaginary(jos.adam(0.1))
        ref = jos.adam(0.1)
        z = _params()["z"]
        u, _ = self.variant(tx.update)(z, tx.init(z), z)
        parts = jnp.stack([z.real, z.imag])
        v, _ = ref.update(parts, ref.init(parts), parts)
        np.testing.assert_allclose(u.real, v[0], rtol=1e-6)
        np.testing.assert_allclose(u.imag, v[1], rtol=1e-6)

    def test_vmap_over_the_learning_rate_matches_the_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda lr: jos.contrib.split_real_and_imaginary(jos.adamw(lr)), [0.05, 0.1])

    def test_inner_must_be_a_transform(self):
        with pytest.raises(TypeError, match="`inner`"):
            jos.contrib.split_real_and_imaginary(jos.adam)

    def test_real_leaves_pass_through(self):
        tx = jos.contrib.split_real_and_imaginary(jos.sgd(1.0))
        p = {"r": jnp.ones(2, jnp.bfloat16)}
        u, _ = tx.update(p, tx.init(p), p)
        self.assertEqual(jax.tree.leaves(u)[0].dtype, jnp.bfloat16)
