"""Tests for jaxopt_scratch/_wrappers/inject_stateful.py (and _schedules/stateful.py)."""

import warnings

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos


class HalveOnPlateau:
    """A stateful schedule driven by the loss (``value=``): halve when it does not improve."""

    def init(self):
        return {"lr": jnp.float32(0.1), "best": jnp.float32(jnp.inf)}

    def update(self, state, value=jnp.inf, **extra_args):
        better = value < state["best"]
        return {"lr": jnp.where(better, state["lr"], state["lr"] / 2),
                "best": jnp.minimum(value, state["best"])}

    def __call__(self, state, **extra_args):
        return state["lr"]


def _loss(params):
    return sum(jnp.sum(p**2 - jnp.cos(3 * p) / 3) for p in jax.tree.leaves(params))


def _run(tx, steps, lib=jos):
    params = _problems.nested_params()
    state = tx.init(params)
    update = jax.jit(tx.update)
    history = []
    for _ in range(steps):
        u, state = update(_problems.nested_grad(params), state, params, value=_loss(params))
        params = lib.apply_updates(params, u)
        history.append(u)
    return params, state, history


class InjectStatefulTest(chex.TestCase):

    def test_stateful_schedule_driven_by_the_loss_matches_optax_over_30_steps(self):
        ours = jos.inject_stateful_hyperparams(jos.sgd)(HalveOnPlateau(), momentum=0.5)
        theirs = optax.inject_hyperparams(optax.sgd)(HalveOnPlateau(), momentum=0.5)
        _params, state, hist = _run(ours, 30)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32 counts
            _ref_params, ref_state, ref_hist = _run(theirs, 30, optax)
        chex.assert_trees_all_close(hist, ref_hist, **_problems.OPTAX_PLAIN)
        chex.assert_trees_all_close(state.hyperparams, ref_state.hyperparams, rtol=1e-6)
        chex.assert_trees_all_close(state.hyperparams_states["learning_rate"],
                                    ref_state.hyperparams_states["learning_rate"], rtol=1e-6)
        self.assertLess(float(state.hyperparams["learning_rate"]), 0.1)  # it did halve
        self.assertEqual(int(state.count), 30)

    def test_wrapped_schedule_equals_the_plain_schedule_and_optax(self):
        sched = jos.linear_schedule(0.1, 0.01, 20)
        wrapped = jos.inject_stateful_hyperparams(jos.adam)(jos.WrappedSchedule(sched), b1=0.8)
        plain = jos.inject_hyperparams(jos.adam)(sched, b1=0.8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # optax deprecates the name
            theirs = optax.inject_stateful_hyperparams(optax.adam)(
                optax.linear_schedule(0.1, 0.01, 20), b1=0.8)
        a = _run(wrapped, 25)
        b = _run(plain, 25)
        chex.assert_trees_all_close(a[0], b[0], rtol=0, atol=0)
        with jax.numpy_dtype_promotion("standard"):
            c = _run(theirs, 25, optax)
        chex.assert_trees_all_close(a[2], c[2], **_problems.OPTAX_ADAM)
        self.assertEqual(int(a[1].hyperparams_states["learning_rate"].count), 25)

    def test_inject_hyperparams_takes_stateful_schedules_like_optax(self):
        # optax 0.2.8's inject_hyperparams took over stateful schedules; ours returns the
        # stateful state only when one is given (a plain call keeps InjectHyperparamsState).
        ours = jos.inject_hyperparams(jos.sgd)(HalveOnPlateau(), momentum=0.5)
        same = jos.inject_stateful_hyperparams(jos.sgd)(HalveOnPlateau(), momentum=0.5)
        a, b = _run(ours, 4), _run(same, 4)
        self.assertIsInstance(a[1], jos.InjectStatefulHyperparamsState)
        chex.assert_trees_all_equal(a[1], b[1])
        self.assertIsInstance(jos.inject_hyperparams(jos.sgd)(0.1).init(jnp.zeros(1)),
                              jos.InjectHyperparamsState)

    def test_a_stateful_schedule_starting_from_an_int_gives_a_float_hyperparameter(self):
        class Total(jos.StatefulSchedule):  # optax's own example: adds `addendum` each step
            def init(self):
                return jnp.zeros([], jnp.int32)

            def update(self, state, addendum=0.0, **extra_args):
                return state.astype(jnp.float32) + addendum  # strict promotion

            def __call__(self, state, **extra_args):
                return state

        tx = jos.inject_hyperparams(jos.scale)(step_size=Total())
        g = jnp.ones(2)
        state = tx.init(g)
        for _ in range(2):
            _, state = tx.update(g, state, addendum=jnp.float32(0.3))
        np.testing.assert_allclose(state.hyperparams["step_size"], 0.3, rtol=1e-7)
        np.testing.assert_allclose(state.hyperparams_states["step_size"], 0.6, rtol=1e-7)

    def test_numeric_hyperparameters_stay_traceable(self):
        _problems.assert_vmap_matches_loop(
            self, lambda momentum: jos.inject_stateful_hyperparams(jos.sgd)(
                jos.WrappedSchedule(jos.linear_schedule(0.1, 0.0, 10)), momentum=momentum),
            [0.0, 0.5, 0.9])

    def test_state_keeps_its_structure_through_scan(self):
        tx = jos.inject_stateful_hyperparams(jos.sgd)(HalveOnPlateau())
        params = _problems.small_params()
        _, state = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 5))(params)
        self.assertEqual(jax.tree.structure(state), jax.tree.structure(tx.init(params)))

    def test_wrapped_schedule_counts_and_errors(self):
        sched = jos.WrappedSchedule(lambda count: 2 * count)
        state = sched.update(sched.update(sched.init()))
        self.assertEqual(int(sched(state)), 4)
        self.assertIsInstance(sched, jos.StatefulSchedule)
        with pytest.raises(TypeError, match="`schedule_fn`"):
            jos.WrappedSchedule(3.0)

        class Vector(HalveOnPlateau):
            def __call__(self, state, **extra_args):
                return jnp.ones(2)

        with pytest.raises(TypeError, match="stateful schedule for `learning_rate`.*scalar"):
            jos.inject_stateful_hyperparams(jos.sgd)(Vector())
        np.testing.assert_array_equal(jos.schedules.WrappedSchedule(lambda c: c).init().count, 0)
