"""Tests for jaxopt_scratch/_core/state_conversion.py: a run trained with optax resumes with jos.

For each optimizer: train a few steps with optax, convert its state with
``jos.tree.from_optax_state``, then continue with jos and with optax from the same point; the
params must agree. Every registry row with an optax counterpart must convert its fresh state.
"""

import functools
import warnings

import _registry
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

PARAMS = {"w": jnp.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]), "b": jnp.array([0.1, -0.2, 0.3])}
STEPS = 6  # with optax before the switch, and after it with each library


def _loss(params, t):
    # A different gradient at every step, so that moments and traces move.
    w, b = params["w"], params["b"]
    return jnp.sum((w - jnp.sin(t)) ** 2 * jnp.array([[1.0], [3.0]])) + jnp.sum(jnp.cos(b * t))


def _run(tx, params, state, start):
    @jax.jit
    def step(params, state, t):
        grads = jax.grad(_loss)(params, t)
        updates, state = tx.update(grads, state, params)
        return jos.apply_updates(params, updates), state

    # optax's own updates need standard promotion (its bias correction mixes float and int).
    with jax.numpy_dtype_promotion("standard"):
        for t in range(start, start + STEPS):
            params, state = step(params, state, jnp.asarray(t, jnp.float32))
    return params, state


def _mask(params):
    return {"w": True, "b": False}


CASES = {
    "sgd_momentum": (lambda: optax.sgd(0.05, momentum=0.9), lambda: jos.sgd(0.05, momentum=0.9)),
    "sgd_nesterov": (lambda: optax.sgd(0.05, momentum=0.9, nesterov=True),
                     lambda: jos.sgd(0.05, momentum=0.9, nesterov=True)),
    "adam": (lambda: optax.adam(0.05), lambda: jos.adam(0.05)),
    "adamw_mask": (lambda: optax.adamw(0.05, weight_decay=0.1, mask=_mask),
                   lambda: jos.adamw(0.05, weight_decay=0.1, mask=_mask)),
    "rmsprop": (lambda: optax.rmsprop(0.01), lambda: jos.rmsprop(0.01)),
    "rmsprop_centered_momentum": (
        lambda: optax.rmsprop(0.01, centered=True, momentum=0.5),
        lambda: jos.rmsprop(0.01, centered=True, momentum=0.5)),
    "lion": (lambda: optax.lion(0.01), lambda: jos.lion(0.01)),
    "clip_then_adam": (lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05)),
                       lambda: jos.chain(jos.clip_by_global_norm(1.0), jos.adam(0.05))),
    "inject_schedule": (
        lambda: optax.inject_hyperparams(optax.adam)(
            learning_rate=optax.linear_schedule(0.1, 0.01, 10), b1=0.8),
        lambda: jos.inject_hyperparams(jos.adam)(
            learning_rate=jos.linear_schedule(0.1, 0.01, 10), b1=0.8)),
    "multi_steps": (lambda: optax.MultiSteps(optax.adam(0.05), 2),
                    lambda: jos.MultiSteps(jos.adam(0.05), 2)),
}


class ResumeTest(chex.TestCase):

    @parameterized.named_parameters(*((name, name) for name in CASES))
    def test_a_run_trained_with_optax_continues_with_the_same_numbers(self, name):
        make_optax, make_jos = CASES[name]
        otx, jtx = make_optax(), make_jos()
        params, ostate = _run(otx, PARAMS, otx.init(PARAMS), 0)
        jstate = jos.tree.from_optax_state(ostate, jtx, params)
        chex.assert_trees_all_equal_structs(jstate, jtx.init(params))
        expected, _ = _run(otx, params, ostate, STEPS)
        resumed, _ = _run(jtx, params, jstate, STEPS)
        # Same formulas, float32: optax-parity tolerance of the suite (the two libraries
        # order a few roundings differently, e.g. the bias correction).
        chex.assert_trees_all_close(resumed, expected, rtol=2e-5, atol=2e-6)
        # And the switch matters: a fresh jos state would give other numbers.
        fresh, _ = _run(jtx, params, jtx.init(params), STEPS)
        self.assertFalse(jos.tree.allclose(fresh, expected, rtol=1e-4, atol=1e-5))

    def test_hyperparameters_and_counts_are_carried_over(self):
        otx = CASES["inject_schedule"][0]()
        jtx = CASES["inject_schedule"][1]()
        _, ostate = _run(otx, PARAMS, otx.init(PARAMS), 0)
        jstate = jos.tree.from_optax_state(ostate, jtx, PARAMS)
        self.assertEqual(int(jstate.count), STEPS)
        np.testing.assert_allclose(jos.tree.get(jstate, "b1"), 0.8)
        np.testing.assert_array_equal(jos.tree.get(jstate, "learning_rate"),
                                      ostate.hyperparams["learning_rate"])

    def test_bfloat16_params_get_float32_moments(self):
        # Documented difference: optax keeps bfloat16 moments for bfloat16 params; jos
        # casts them up exactly and continues in float32.
        params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
        ostate = optax.adam(0.05).init(params)
        ostate = jax.tree.map(lambda x: x + jnp.asarray(0.25, x.dtype), ostate)
        jstate = jos.tree.from_optax_state(ostate, jos.adam(0.05), params)
        self.assertEqual(ostate[0].mu["w"].dtype, jnp.bfloat16)
        self.assertEqual(jstate[0].mu["w"].dtype, jnp.float32)
        np.testing.assert_array_equal(jstate[0].mu["w"], ostate[0].mu["w"].astype(jnp.float32))

    def test_prng_keys_are_converted(self):
        with pytest.warns(UserWarning, match="Specifying a key"):
            ostate = optax.noisy_sgd(0.01).init(PARAMS)
        ostate = jos.tree.set(ostate, rng_key=jax.random.key(7))
        jstate = jos.tree.from_optax_state(ostate, jos.noisy_sgd(0.01), PARAMS)
        np.testing.assert_array_equal(jos.tree.get(jstate, "rng_key"),
                                      jax.random.key_data(jax.random.key(7)))


class MismatchTest(chex.TestCase):

    def test_another_optimizer_is_rejected_naming_the_place(self):
        ostate = optax.adam(0.1).init(PARAMS)
        with pytest.raises(ValueError, match=r"at \[0\]: jos holds a TraceState \(fields "
                                             r"\['trace'\]\), optax a ScaleByAdamState"):
            jos.tree.from_optax_state(ostate, jos.sgd(0.1, momentum=0.9), PARAMS)

    def test_other_params_are_rejected_naming_the_leaf_and_shapes(self):
        ostate = optax.adam(0.1).init(PARAMS)
        other = {"w": jnp.ones((3, 2)), "b": jnp.ones(3)}
        with pytest.raises(ValueError, match=r"at \[0\]\.mu\['w'\]: optax's leaf has shape "
                                             r"\(2, 3\), jos's has shape \(3, 2\)"):
            jos.tree.from_optax_state(ostate, jos.adam(0.1), other)

    def test_another_chain_is_rejected(self):
        ostate = optax.chain(optax.adam(0.1), optax.trace(0.9)).init(PARAMS)
        with pytest.raises(ValueError, match=r"at \[0\]: jos holds a ScaleByAdamState, optax "
                                             r"a tuple"):
            jos.tree.from_optax_state(ostate, jos.adam(0.1), PARAMS)
        longer = optax.chain(optax.trace(0.9), optax.adam(0.1), optax.trace(0.5)).init(PARAMS)
        with pytest.raises(ValueError, match="jos's chain has 2 states .1 with arrays., "
                                             "optax's has 3 .3 with arrays."):
            jos.tree.from_optax_state(longer, jos.adam(0.1), PARAMS)


def _optax_rows():
    return [e for e in _registry.REGISTRY if e.optax is not None]


@functools.cache
def _registry_failures():
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
    failures = {}
    for entry in _optax_rows():
        try:
            with warnings.catch_warnings():  # optax's deprecations and key warnings
                warnings.simplefilter("ignore")
                ostate = entry.make_optax().init(params)
            tx = entry.make()
            jstate = jos.tree.from_optax_state(ostate, tx, params)
            chex.assert_trees_all_equal_structs(jstate, tx.init(params))
        except Exception as err:  # noqa: BLE001 - collected and reported per row below
            failures[entry.name] = f"{type(err).__name__}: {err}"
    return failures


def test_every_optimizer_optax_also_has_converts_its_state():
    # One pass over the registry (cheap: init only): every optax state converts.
    failures = _registry_failures()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
