"""Tests for jaxopt_scratch/_contrib/reduce_on_plateau.py."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _scales(tx, values, promotion="strict"):
    """The scale after each value, from a jitted scan (the tracer path)."""
    g = jnp.ones(2)

    def body(state, value):
        u, state = tx.update(g, state, value=value)
        return state, (u[0], state.scale, state.best_value)

    # optax's version multiplies the int32 count by a float: it needs "standard" promotion
    # (the suite runs with strict promotion, which ours passes).
    with jax.numpy_dtype_promotion(promotion):
        _, out = jax.jit(lambda v: jax.lax.scan(body, tx.init(g), v))(jnp.asarray(values))
    return [np.asarray(o) for o in out]


class ReduceOnPlateauTest(parameterized.TestCase):
    def test_a_negative_plateau_reduces_the_scale(self):
        # The deviation from optax 0.2.8 (PR #1767): a flat negative loss is a plateau.
        values = [-1.0] * 8
        updates, scales, best = _scales(jos.contrib.reduce_on_plateau(factor=0.5, patience=2),
                                        values)
        np.testing.assert_allclose(scales, [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125])
        np.testing.assert_allclose(updates, scales)  # the updates carry the scale
        np.testing.assert_allclose(best, -1.0)
        # optax never reduces here: every step counts as an improvement.
        _, optax_scales, _ = _scales(optax.contrib.reduce_on_plateau(factor=0.5, patience=2),
                                     values, "standard")
        np.testing.assert_allclose(optax_scales, 1.0)

    def test_a_worsening_negative_loss_is_not_an_improvement(self):
        # -10, -9.9, -9.8, ... gets worse: best stays at -10 and the scale drops.
        values = np.linspace(-10.0, -9.3, 8)
        _, scales, best = _scales(jos.contrib.reduce_on_plateau(factor=0.1, patience=3), values)
        np.testing.assert_allclose(best, -10.0)
        np.testing.assert_allclose(scales, [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], rtol=1e-6)

    @parameterized.parameters(
        {"factor": 0.5, "patience": 2},
        {"factor": 0.5, "patience": 1, "cooldown": 2, "min_scale": 0.1},
        {"factor": 0.3, "patience": 2, "accumulation_size": 3, "atol": 0.05},
    )
    def test_positive_losses_match_optax(self, **kwargs):
        # For positive values both thresholds are (1 - rtol) * best - atol.
        values = [5.0, 4.0, 4.0, 3.99, 3.0, 3.0, 3.0, 3.0, 2.999, 2.0, 2.0, 2.0, 2.0, 2.0,
                  1.0, 1.0, 1.0, 1.0] + [1.0] * 9
        ours = _scales(jos.contrib.reduce_on_plateau(**kwargs), values)
        theirs = _scales(optax.contrib.reduce_on_plateau(**kwargs), values, "standard")
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        assert ours[1][-1] < 1.0  # the scale did drop (else the comparison proves little)

    def test_factor_and_patience_are_traced(self):
        values = jnp.array([-1.0] * 6)

        @jax.jit
        @chex.assert_max_traces(n=1)
        def final_scale(factor, patience):
            tx = jos.contrib.reduce_on_plateau(factor=factor, patience=patience)
            g = jnp.ones(1)

            def body(state, value):
                return tx.update(g, state, value=value)[1], None

            return jax.lax.scan(body, tx.init(g), values)[0].scale

        assert float(final_scale(0.5, 2)) == 0.25  # reduced after the 3rd and the 5th value
        assert float(final_scale(0.1, 5)) == pytest.approx(0.1)

    @parameterized.parameters(
        ({"factor": 1.0}, "`factor`"), ({"rtol": 0.0, "atol": 0.0}, "`rtol` and `atol`"),
        ({"patience": -1}, "`patience`"), ({"rtol": 2.0}, "`rtol`"),
    )
    def test_bad_arguments_are_named(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            jos.contrib.reduce_on_plateau(**kwargs)

    def test_missing_value_is_named(self):
        tx = jos.contrib.reduce_on_plateau()
        with pytest.raises(TypeError, match="`value`"):
            tx.update(jnp.ones(1), tx.init(jnp.ones(1)))
