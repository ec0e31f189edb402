"""One harness run over every optimizer alias (optax's ``_OPTIMIZERS_UNDER_TEST`` pattern).

Adding an alias to :data:`ALIASES` gives it every check below. Convergence and
the dtype checks use seed 003's bowl x^2 + y^2 from (4, 3); structure checks use
the nested pytree of ``_problems``.
"""

import functools

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _problems import BOWL
from absl.testing import parameterized

import jaxopt_scratch as jos

# name -> (factory of the learning rate, a learning rate that converges on the bowl).
ALIASES = {
    "sgd": (jos.sgd, 0.1),
    "sgd_nesterov": (lambda lr: jos.sgd(lr, momentum=0.9, nesterov=True), 0.05),
    "rmsprop": (jos.rmsprop, 0.1),
    "rmsprop_centered_momentum": (lambda lr: jos.rmsprop(lr, centered=True, momentum=0.5), 0.02),
    "adagrad": (jos.adagrad, 1.0),
    "adam": (jos.adam, 0.1),
    "adamw": (jos.adamw, 0.1),
    "nadam": (jos.nadam, 0.1),
    "nadamw": (jos.nadamw, 0.1),
    "amsgrad": (jos.amsgrad, 0.1),
    "adamax": (jos.adamax, 0.1),
    "adamaxw": (jos.adamaxw, 0.1),
    "lion": (jos.lion, 0.1),
    "lamb": (jos.lamb, 0.05),
    "lars": (jos.lars, 5.0),  # trust_coefficient 0.001 makes the raw step tiny
}
CASES = [(name, name) for name in ALIASES]
STEPS = 200


def _tx(name, lr=None):
    make, default_lr = ALIASES[name]
    return make(default_lr if lr is None else lr)


@functools.cache
def _bowl_f32(name):
    """The float32 trajectory on the bowl, shared by several checks."""
    return _problems.trajectory(_tx(name), BOWL, STEPS)


def _loss(traj):
    return np.sum(np.square(traj), axis=-1)


def _float_leaves(tree):
    return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]


class CommonTest(chex.TestCase):

    def test_every_public_alias_is_under_test(self):
        aliases = {"sgd", "rmsprop", "adagrad", "adam", "adamw", "nadam", "nadamw", "amsgrad",
                   "adamax", "adamaxw", "lion", "lamb", "lars"}
        self.assertTrue(aliases <= set(ALIASES), aliases - set(ALIASES))
        self.assertTrue(aliases <= set(jos.__all__))

    @parameterized.named_parameters(*CASES)
    def test_converges_on_the_bowl(self, name):
        loss = _loss(_bowl_f32(name))
        self.assertLess(loss[-1], 1e-3 * 25.0)  # from 25 at (4, 3)
        self.assertTrue(np.all(np.isfinite(loss)))

    @parameterized.named_parameters(*CASES)
    def test_jit_and_no_jit_agree(self, name):
        tx = _tx(name)
        p = jnp.asarray(BOWL.x0, jnp.float32)
        state = tx.init(p)
        for k in range(3):
            u, state = tx.update(BOWL.grad(p), state, p)  # eager, step by step
            p = jos.apply_updates(p, u)
            # XLA contracts x - lr * g into one FMA under jit: ~1 ulp apart.
            np.testing.assert_allclose(p, _bowl_f32(name)[k], rtol=1e-6, atol=1e-6)

    @parameterized.named_parameters(*CASES)
    def test_accepts_a_schedule_as_learning_rate(self, name):
        lr = ALIASES[name][1]
        halving = lambda count: lr * 0.5 ** count.astype(jnp.float32)
        traj = _problems.trajectory(_tx(name, halving), BOWL, 3)
        constant = _bowl_f32(name)
        # The schedule sees count 0 first: the first step is the constant-lr step...
        np.testing.assert_allclose(traj[0], constant[0], rtol=1e-6, atol=1e-6)
        # ...and the halved rates make the later steps differ.
        self.assertFalse(np.allclose(traj[2], constant[2], rtol=1e-4, atol=0))

    @parameterized.named_parameters(*CASES)
    def test_jitted_step_traces_once_and_state_is_stable(self, name):
        params = _problems.nested_params()

        def step(p, s, lr):
            u, s = _tx(name, lr).update(_problems.nested_grad(p), s, p)
            return jos.apply_updates(p, u), s

        chex.clear_trace_counter()
        jitted = jax.jit(chex.assert_max_traces(step, n=1))
        state = _tx(name).init(params)
        structure = jax.tree.structure(state)
        meta = [(x.shape, x.dtype) for x in jax.tree.leaves(state)]
        for lr in (0.01, 0.02):  # the learning rate is a jit argument: no retrace
            for _ in range(2):
                params, state = jitted(params, state, jnp.float32(lr))
                self.assertEqual(jax.tree.structure(state), structure)
                self.assertEqual([(x.shape, x.dtype) for x in jax.tree.leaves(state)], meta)

    @parameterized.named_parameters(*CASES)
    def test_vmap_over_learning_rate_equals_the_loop(self, name):
        lr = ALIASES[name][1]
        _problems.assert_vmap_matches_loop(self, lambda v: _tx(name, v), [lr / 4, lr / 2, lr])

    @parameterized.named_parameters(*CASES)
    def test_updates_keep_the_gradient_dtype(self, name):
        tx = _tx(name)
        for dtype in (jnp.float32, jnp.bfloat16):
            params = _problems.nested_params(dtype)
            grads = _problems.nested_grad(params)
            state = jax.eval_shape(tx.init, params)
            updates, new_state = jax.eval_shape(
                lambda g, s, p: tx.update(g, s, p, value=jnp.float32(1.0)), grads, state, params)
            for u in jax.tree.leaves(updates):
                self.assertEqual(u.dtype, dtype)
            for x in _float_leaves(new_state):  # moments stay at least float32
                self.assertEqual(x.dtype, jnp.float32)

    @parameterized.named_parameters(*CASES)
    def test_bfloat16_run_tracks_float32(self, name):
        bf16 = _problems.trajectory(_tx(name), BOWL, STEPS, jnp.bfloat16)
        f32 = _bowl_f32(name)
        # bfloat16 keeps 8 significant bits (4e-3 relative per rounding of the
        # params); over the first 20 steps the paths drifted apart by at most
        # 3.4e-2 relative (measured), and both converge.
        np.testing.assert_allclose(bf16[:20], f32[:20], rtol=0.1)
        self.assertLess(_loss(bf16)[-1], 1e-3 * 25.0)

    @parameterized.named_parameters(*CASES)
    def test_float64_under_x64(self, name):
        with jax.enable_x64(True):
            tx = _tx(name)
            params = _problems.nested_params(jnp.float64)
            updates, state = jax.eval_shape(
                lambda p: tx.update(_problems.nested_grad(p), tx.init(p), p), params)
            for x in jax.tree.leaves(updates) + _float_leaves(state):
                self.assertEqual(x.dtype, jnp.float64)
            f64 = _problems.trajectory(tx, BOWL, STEPS, jnp.float64)
        # float32 and float64 agree to float32 precision while far from the minimum
        # (measured <= 9e-7 relative over the first 20 steps).
        np.testing.assert_allclose(f64[:20], _bowl_f32(name)[:20], rtol=1e-5)
        self.assertLess(_loss(f64)[-1], 1e-3 * 25.0)

    @parameterized.named_parameters(*CASES)
    def test_integer_params_raise_type_error(self, name):
        with pytest.raises(TypeError, match=r"leaf \['w'\] has dtype int32.*Cast it first"):
            _tx(name).init({"w": jnp.arange(3), "b": jnp.zeros(1)})

    @parameterized.named_parameters(*CASES)
    def test_traced_hyperparameters_never_raise(self, name):
        # eval_shape traces without compiling: every numeric argument is a tracer, even
        # an out-of-range one (a sweep may pass anything; validation is for concrete values).
        params = _problems.small_params()

        def step(lr):
            tx = _tx(name, lr)
            return tx.update(_problems.nested_grad(params), tx.init(params), params)[0]

        out = jax.eval_shape(step, jnp.float32(-1.0))
        chex.assert_trees_all_equal_structs(out, params)
