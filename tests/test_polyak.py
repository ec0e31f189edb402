"""Tests for jaxopt_scratch/_transforms/polyak.py and the alias in _optimizers/polyak.py."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _bowl(x):
    return jnp.sum(x**2)


class ScaleByPolyakTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters(
        # (value, f_min, max_learning_rate, eps, variant): the step is min(gap / (|g|^2 + eps), max)
        (5.0, 0.0, 1.0, 0.0, "sps"),     # 5 / 20 = 0.25
        (5.0, 1.0, 1.0, 4.0, "sps"),     # 4 / 24
        (50.0, 0.0, 1.0, 0.0, "sps"),    # 2.5, capped at 1
        (-1.0, 0.0, 1.0, 0.0, "sps"),    # negative gap: a step uphill, as the formula says
        (-1.0, 0.0, 1.0, 0.0, "sps+"),   # positive part: no step
    )
    def test_step_is_the_capped_polyak_step(self, value, f_min, max_lr, eps, variant):
        g = jnp.array([2.0, 4.0])
        tx = jos.scale_by_polyak(f_min=f_min, max_learning_rate=max_lr, eps=eps, variant=variant)
        u, _ = self.variant(lambda g, v: tx.update(g, tx.init(g), value=v))(g, value)
        gap = value - f_min if variant == "sps" else max(value - f_min, 0.0)
        step = min(gap / (20.0 + eps), max_lr)
        np.testing.assert_allclose(u, step * np.array([2.0, 4.0]), rtol=1e-6)

    def test_zero_gradient_gives_a_zero_step_not_nan(self):
        tx = jos.scale_by_polyak()
        u, _ = tx.update(jnp.zeros(3), tx.init(jnp.zeros(3)), value=1.0)
        np.testing.assert_array_equal(u, np.zeros(3))

    def test_missing_value_is_named(self):
        tx = jos.polyak_sgd()
        with pytest.raises(TypeError, match="`value`.*jos.run"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))

    def test_bad_variant(self):
        with pytest.raises(ValueError, match="`variant`"):
            jos.scale_by_polyak(variant="sps++")


def _trajectory(tx, apply, steps=5):
    x = jnp.array([1.0, 2.0, 3.0])
    state, out = tx.init(x), []
    for _ in range(steps):
        value, grad = jax.value_and_grad(_bowl)(x)
        updates, state = tx.update(grad, state, x, value=value)
        x = apply(x, updates)
        out.append(np.asarray(x))
    return np.stack(out)


class PolyakSgdTest(parameterized.TestCase):
    @parameterized.parameters("sps", "sps+")
    def test_matches_optax_with_unit_scaling(self, variant):
        # f_min = 0.5 keeps the gap positive for a while, then negative (sps vs sps+ differ).
        ours = _trajectory(jos.polyak_sgd(f_min=0.5, variant=variant), jos.apply_updates)
        theirs = _trajectory(optax.polyak_sgd(f_min=0.5, variant=variant), optax.apply_updates)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)

    def test_scaling_multiplies_the_polyak_step(self):
        # The documented formula (and optax's docstring): x - s min(gap / |g|^2, max) g.
        # optax 0.2.8's code divides by s^2 |g|^2 instead (see the alias's note).
        ours = _trajectory(jos.polyak_sgd(scaling=0.5), jos.apply_updates, steps=1)[0]
        x = np.array([1.0, 2.0, 3.0])
        g, value = 2 * x, np.sum(x**2)
        np.testing.assert_allclose(ours, x - 0.5 * min(value / (g @ g), 1.0) * g, rtol=1e-6)
        theirs = _trajectory(optax.polyak_sgd(scaling=0.5), optax.apply_updates, steps=1)[0]
        np.testing.assert_allclose(theirs, x - 0.5 * min(value / (0.25 * g @ g), 1.0) * g,
                                   rtol=1e-6)
        assert not np.allclose(ours, theirs)
