"""Tests for jaxopt_scratch/_transforms/scaling.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos


def _decaying(count):
    # Schedules see the int32 count; cast it once (strict promotion forbids float * int32).
    return 0.05 / (1.0 + 0.1 * count.astype(jnp.float32))


def _decaying_py(k):
    return 0.05 / (1.0 + 0.1 * k)


def _optax_scale():
    return optax.scale(-0.05)


def _optax_schedule():
    return optax.chain(optax.scale_by_schedule(_decaying), optax.scale(-1.0))


def _optax_lr_schedule():
    return optax.scale_by_learning_rate(_decaying)


class ScaleTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_multiplies_every_leaf_and_keeps_dtypes(self):
        params = _problems.nested_params(jnp.bfloat16)
        tx = jos.scale(-2.0)
        out, state = self.variant(tx.update)(params, tx.init(params))
        self.assertEqual(state, jos.EmptyState())
        for o, p in zip(jax.tree.leaves(out), jax.tree.leaves(params)):
            self.assertEqual(o.dtype, jnp.bfloat16)
            np.testing.assert_array_equal(o, -2 * np.asarray(p, np.float32))  # exact in bf16

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_oracle_over_50_steps(self):
        _problems.check_parity(self, self.variant, jos.scale(-0.05), optax_key="scale",
                               optax_build=_optax_scale, oracle=R.Scale(-0.05))

    def test_vmap_over_step_size(self):
        _problems.assert_vmap_matches_loop(self, jos.scale, [-0.01, -0.1, 0.05])


class ScaleByScheduleTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_schedule_sees_the_zero_based_count(self):
        seen = []
        tx = jos.scale_by_schedule(lambda c: (seen.append(c), 1.0 / (c + 1).astype(jnp.float32))[1])
        update = self.variant(tx.update)
        g, state = jnp.ones(2), tx.init(jnp.zeros(2))
        self.assertEqual(int(state.count), 0)
        outs = []
        for _ in range(3):
            u, state = update(g, state)
            outs.append(float(u[0]))
        np.testing.assert_allclose(outs, [1.0, 0.5, 1.0 / 3.0], rtol=1e-6)
        self.assertEqual(int(state.count), 3)
        self.assertEqual(state.count.dtype, jnp.int32)

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_and_oracle_over_50_steps(self):
        tx = jos.chain(jos.scale_by_schedule(_decaying), jos.scale(-1.0))
        _problems.check_parity(self, self.variant, tx, optax_key="scale_by_schedule",
                               optax_build=_optax_schedule,
                               oracle=R.LearningRate(_decaying_py))

    def test_count_saturates(self):
        tx = jos.scale_by_schedule(lambda c: jnp.where(c > 5, 2.0, 1.0))
        top = np.iinfo(np.int32).max
        state = jos.ScaleByScheduleState(count=jnp.asarray(top - 1, jnp.int32))
        for _ in range(2):
            u, state = tx.update(jnp.ones(1), state)
        self.assertEqual(int(state.count), top)
        np.testing.assert_array_equal(u, [2.0])

    def test_errors(self):
        with pytest.raises(TypeError, match=r"`step_size_fn` must be a function .*jos.scale\(value\)"):
            jos.scale_by_schedule(0.1)
        tx = jos.scale_by_schedule(lambda c: jnp.ones(2))
        with pytest.raises(ValueError, match=r"`step_size_fn` must return a scalar .*shape \(2,\)"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


class ScaleByLearningRateTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_applies_the_minus_sign_once(self):
        g = jnp.asarray([1.0, -2.0])
        tx = jos.scale_by_learning_rate(0.1)
        u, _ = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u, [-0.1, 0.2], rtol=1e-6)
        tx = jos.scale_by_learning_rate(0.1, flip_sign=False)
        u, _ = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u, [0.1, -0.2], rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_schedule_matches_optax_and_oracle_over_50_steps(self):
        _problems.check_parity(self, self.variant, jos.scale_by_learning_rate(_decaying),
                               optax_key="scale_by_learning_rate schedule",
                               optax_build=_optax_lr_schedule,
                               oracle=R.LearningRate(_decaying_py))

    def test_none_is_the_identity_as_in_optax(self):
        # optax's default: no learning rate means no scaling (a line search sets the step).
        g = jnp.array([1.0, -2.0])
        tx = jos.scale_by_learning_rate()
        self.assertEqual(tx.init(g), jos.EmptyState())
        np.testing.assert_array_equal(tx.update(g, tx.init(g))[0], g)

    def test_negative_learning_rate_is_rejected(self):
        with pytest.raises(ValueError, match=r"`learning_rate` must lie in \[0, inf\), got -0.1"):
            jos.scale_by_learning_rate(-0.1)

    def test_traced_learning_rate_never_raises(self):
        def f(lr):
            tx = jos.scale_by_learning_rate(lr)
            return tx.update(jnp.ones(1), tx.init(jnp.ones(1)))[0]

        np.testing.assert_allclose(jax.jit(f)(jnp.float32(-0.5)), [0.5])  # out of range, traced

    def test_vmap_over_learning_rate(self):
        _problems.assert_vmap_matches_loop(self, jos.scale_by_learning_rate, [0.0, 0.01, 0.1])


class ScaleGradientTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_forward_is_identity_backward_is_scaled_like_optax(self):
        x = {"a": jnp.asarray([1.0, -2.0]), "b": jnp.asarray(3.0)}

        def loss(params, scale_gradient):
            y = scale_gradient(params, 0.25)
            return jnp.sum(y["a"] ** 2) + y["b"] ** 3

        ours = self.variant(jax.grad(lambda p: loss(p, jos.scale_gradient)))(x)
        theirs = jax.grad(lambda p: loss(p, optax.scale_gradient))(x)
        chex.assert_trees_all_close(ours, theirs, rtol=1e-6)
        chex.assert_trees_all_equal(jos.scale_gradient(x, 0.25), x)

    def test_scale_is_traceable_and_zero_gives_exact_zeros(self):
        # optax special-cases 0 and 1 with Python `if`, so a traced scale fails there.
        def grad_at(scale):
            return jax.grad(lambda v: jnp.sum(jos.scale_gradient(v, scale) * jnp.inf))(
                jnp.ones(2))

        got = jax.jit(jax.vmap(grad_at))(jnp.asarray([0.0, 2.0]))
        np.testing.assert_array_equal(got[0], [0.0, 0.0])  # not inf * 0 = NaN
        np.testing.assert_array_equal(got[1], [np.inf, np.inf])
        with pytest.raises(jax.errors.TracerBoolConversionError):
            jax.jit(lambda s: optax.scale_gradient(jnp.ones(2), s))(0.5)

    def test_bad_scale_raises_naming_it(self):
        with pytest.raises(ValueError, match="`scale`"):
            jos.scale_gradient(jnp.ones(2), jnp.ones(2))
        with pytest.raises(TypeError, match="`scale`"):
            jos.scale_gradient(jnp.ones(2), "x")
