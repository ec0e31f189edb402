"""Tests for jaxopt_scratch/_wrappers/inject.py."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _problems import run_updates

import jaxopt_scratch as jos

PARAMS = {"w": jnp.array([[0.5, -1.0], [1.5, 0.25]]), "b": jnp.array([0.1, -0.2])}
GRADS = [jax.tree.map(lambda p, k=k: jnp.sin(p * (k + 1)) + 0.1 * k, PARAMS) for k in range(6)]


def run(update, state, params, grads=GRADS):
    return run_updates(update, state, params, grads)


class InjectHyperparamsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_matches_optax_inject_hyperparams(self):
        def sched(lib):
            return lib.warmup_cosine_decay_schedule(0.0, 0.1, 2, 6)

        tx = jos.inject_hyperparams(jos.adamw)(learning_rate=sched(jos), b1=0.8,
                                               weight_decay=0.05)
        params, state, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS)
        ref = optax.inject_hyperparams(optax.adamw)(learning_rate=sched(optax), b1=0.8,
                                                    weight_decay=0.05)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32
            ref_params, ref_state, ref_hist = run(jax.jit(ref.update), ref.init(PARAMS), PARAMS)
        # Adam's bias correction: expm1 form here, 1 - b**t in optax (~1e-5 relative).
        chex.assert_trees_all_close(hist, ref_hist, rtol=2e-5, atol=1e-7)
        chex.assert_trees_all_close(params, ref_params, rtol=2e-5, atol=1e-7)
        for name in ("learning_rate", "b1", "b2", "weight_decay"):
            np.testing.assert_allclose(state.hyperparams[name], ref_state.hyperparams[name],
                                       rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_equals_the_plain_optimizer(self):
        tx = jos.inject_hyperparams(jos.sgd)(learning_rate=0.1, momentum=0.9, nesterov=True)
        plain = jos.sgd(0.1, momentum=0.9, nesterov=True)
        _, _, hist = run(self.variant(tx.update), tx.init(PARAMS), PARAMS)
        _, _, ref = run(plain.update, plain.init(PARAMS), PARAMS)
        chex.assert_trees_all_close(hist, ref, rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_bf16_params_keep_float32_hyperparams(self):
        bf16 = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
        grads = [jax.tree.map(lambda x: x.astype(jnp.bfloat16), g) for g in GRADS]
        tx = jos.inject_hyperparams(jos.adam)(learning_rate=0.01, b2=0.999)
        state = tx.init(bf16)
        assert all(v.dtype == jnp.float32 for v in state.hyperparams.values())
        assert state.hyperparams["b2"] == jnp.float32(0.999)  # bf16 would round it to 1.0
        _, state, hist = run(self.variant(tx.update), state, bf16, grads)
        assert all(v.dtype == jnp.float32 for v in state.hyperparams.values())
        assert all(u.dtype == jnp.bfloat16 for u in jax.tree.leaves(hist))
        # The same as Adam without injection, whose b2 = 0.999 is applied in float32.
        plain = jos.adam(0.01, b2=0.999)
        _, plain_state, ref = run(plain.update, plain.init(bf16), bf16, grads)
        chex.assert_trees_all_close(hist, ref, rtol=1e-2)  # bf16 updates: 8 mantissa bits
        chex.assert_trees_all_close(state.inner_state[0].nu, plain_state[0].nu, rtol=1e-6)

    def test_value_replaced_in_state_is_used_without_retracing(self):
        tx = jos.inject_hyperparams(jos.sgd)(learning_rate=0.1)
        chex.clear_trace_counter()
        update = jax.jit(chex.assert_max_traces(tx.update, n=1))
        state = tx.init(PARAMS)
        u1, state = update(GRADS[0], state, PARAMS)
        state.hyperparams["learning_rate"] = jnp.float32(0.5)  # optax's documented idiom
        u2, state = update(GRADS[0], state, PARAMS)
        chex.assert_trees_all_close(u1, jax.tree.map(lambda g: -0.1 * g, GRADS[0]), rtol=1e-6)
        chex.assert_trees_all_close(u2, jax.tree.map(lambda g: -0.5 * g, GRADS[0]), rtol=1e-6)
        # A replacement in another dtype (a new input type for jit) is cast back to float32.
        state = state._replace(hyperparams={**state.hyperparams,
                                            "learning_rate": jnp.asarray(0.25, jnp.bfloat16)})
        u3, state = tx.update(GRADS[0], state, PARAMS)
        chex.assert_trees_all_close(u3, jax.tree.map(lambda g: -0.25 * g, GRADS[0]), rtol=1e-6)
        assert state.hyperparams["learning_rate"].dtype == jnp.float32

    @chex.variants(with_jit=True, without_jit=True)
    def test_schedule_is_evaluated_every_step_on_the_count(self):
        sched = jos.piecewise_constant_schedule(1.0, {1: 0.5, 3: 0.1})
        tx = jos.inject_hyperparams(jos.sgd)(learning_rate=sched)
        update, state = self.variant(tx.update), tx.init(PARAMS)
        seen = []
        for g in GRADS[:5]:
            u, state = update(g, state)
            seen.append(float(state.hyperparams["learning_rate"]))
            chex.assert_trees_all_close(u, jax.tree.map(lambda x: -seen[-1] * x, g), rtol=1e-6)
        np.testing.assert_allclose(seen, [1.0, 0.5, 0.5, 0.05, 0.05], rtol=1e-6)
        # Overwriting a scheduled value has no effect: the schedule wins.
        state.hyperparams["learning_rate"] = jnp.float32(123.0)
        _, state = update(GRADS[0], state)
        assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.05)

    def test_integer_hyperparameters_are_traced_int32(self):
        def repeat_scale(step_size: float = 1.0, times: int = 2):
            return jos.scale(step_size * jnp.asarray(times).astype(jnp.float32))

        tx = jos.inject_hyperparams(repeat_scale)(step_size=0.5, times=3)
        state = tx.init(PARAMS["b"])
        assert state.hyperparams["times"].dtype == jnp.int32
        assert state.hyperparams["step_size"].dtype == jnp.float32
        chex.clear_trace_counter()
        update = jax.jit(chex.assert_max_traces(tx.update, n=1))
        u, _ = update(jnp.ones(2), state)
        state.hyperparams["times"] = jnp.int32(4)  # an integer changed without retracing
        u4, _ = update(jnp.ones(2), state)
        np.testing.assert_allclose([u[0], u4[0]], [1.5, 2.0])

    def test_python_int_is_a_float_where_the_default_is_not_an_int(self):
        state = jos.inject_hyperparams(jos.sgd)(learning_rate=1).init(PARAMS)
        assert state.hyperparams["learning_rate"].dtype == jnp.float32

    def test_structural_options_stay_out_of_the_state(self):
        mask = lambda p: {"w": True, "b": False}  # noqa: E731 - a mask function, not a schedule
        tx = jos.inject_hyperparams(jos.adamw)(0.1, mu_dtype=jnp.bfloat16, mask=mask,
                                               nesterov=True)
        state = tx.init(PARAMS)
        assert set(state.hyperparams) == {"learning_rate", "b1", "b2", "eps", "eps_root",
                                          "weight_decay"}
        u, _ = tx.update(GRADS[0], state, PARAMS)
        plain = jos.adamw(0.1, mu_dtype=jnp.bfloat16, mask=mask, nesterov=True)
        chex.assert_trees_all_close(u, plain.update(GRADS[0], plain.init(PARAMS), PARAMS)[0],
                                    rtol=1e-6)

    def test_static_args_pass_a_callable_through_unchanged(self):
        def scaled(step_size: float = 1.0, fn=None):
            return jos.stateless(lambda u, p: jax.tree.map(lambda x: step_size * fn(x), u))

        tx = jos.inject_hyperparams(scaled, static_args="fn")(step_size=2.0, fn=jnp.square)
        state = tx.init(jnp.ones(2))
        assert set(state.hyperparams) == {"step_size"}
        np.testing.assert_allclose(tx.update(jnp.full(2, 3.0), state)[0], [18.0, 18.0])
        with pytest.raises(ValueError, match="`static_args` names \\['nope'\\]"):
            jos.inject_hyperparams(scaled, static_args=("fn", "nope"))

    def test_keyword_catch_all_arguments_become_hyperparameters(self):
        def factory(learning_rate, **options):
            return jos.chain(jos.scale(options["boost"]), jos.sgd(learning_rate))

        tx = jos.inject_hyperparams(factory)(0.1, boost=3.0)
        state = tx.init(jnp.ones(2))
        assert set(state.hyperparams) == {"learning_rate", "boost"}
        np.testing.assert_allclose(tx.update(jnp.ones(2), state)[0], [-0.3, -0.3], rtol=1e-6)
        with pytest.raises(TypeError, match="passes arguments by name"):
            jos.inject_hyperparams(lambda *transforms: jos.chain(*transforms))(jos.sgd(0.1))

    def test_vmap_over_a_hyperparameter_given_at_construction_matches_loop(self):
        def final(lr, b1):
            tx = jos.inject_hyperparams(jos.adam)(learning_rate=lr, b1=b1)
            params, _, _ = run(tx.update, tx.init(PARAMS), PARAMS, GRADS[:3])
            return params

        lrs, b1s = jnp.array([0.01, 0.1, 0.3]), jnp.array([0.0, 0.5, 0.9])
        batched = jax.jit(jax.vmap(final))(lrs, b1s)
        for i in range(3):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched),
                                        final(float(lrs[i]), float(b1s[i])),
                                        rtol=1e-5, atol=1e-7)  # jit vs eager fusion


LR_SCHEDULE = jos.piecewise_constant_schedule(0.1, {1: 0.5, 2: 0.2})
ALIASES = {
    "sgd": lambda lr: jos.sgd(lr, momentum=0.9),
    "rmsprop": lambda lr: jos.rmsprop(lr, momentum=0.5),
    "adagrad": jos.adagrad, "adam": jos.adam, "adamw": jos.adamw, "nadam": jos.nadam,
    "nadamw": jos.nadamw, "amsgrad": jos.amsgrad, "adamax": jos.adamax, "adamaxw": jos.adamaxw,
    "lion": jos.lion, "lamb": jos.lamb, "lars": jos.lars,
}
DECAYED = ["adamw", "nadamw", "adamaxw", "lion", "lamb", "lars"]


def _three_steps(tx):
    params, _, hist = run(tx.update, tx.init(PARAMS), PARAMS, GRADS[:3])
    return hist


@pytest.mark.parametrize("name", list(ALIASES))
def test_every_alias_accepts_a_learning_rate_schedule(name):
    """The schedule path (scale_by_schedule) equals rebuilding the alias each step with
    the scheduled scalar (inject_hyperparams), and differs from the constant rate."""
    alias = ALIASES[name]

    @jax.jit
    def both():
        return (_three_steps(alias(LR_SCHEDULE)),
                _three_steps(jos.inject_hyperparams(alias)(LR_SCHEDULE)),
                _three_steps(alias(0.1)))

    scheduled, injected, constant = both()
    chex.assert_trees_all_close(scheduled, injected, rtol=1e-6, atol=1e-8)
    chex.assert_trees_all_close(scheduled[0], constant[0], rtol=1e-6)  # count 0: same rate
    assert not np.allclose(jax.tree.leaves(scheduled[2])[0], jax.tree.leaves(constant[2])[0])


@pytest.mark.parametrize("name", DECAYED)
def test_decoupled_aliases_accept_a_weight_decay_schedule(name):
    alias = ALIASES[name]
    wd = jos.linear_schedule(0.5, 0.0, 3)

    @jax.jit
    def both():
        return (_three_steps(alias(0.1, weight_decay=wd)),
                _three_steps(jos.inject_hyperparams(alias)(0.1, weight_decay=wd)),
                _three_steps(alias(0.1, weight_decay=0.5)))

    scheduled, injected, constant = both()
    chex.assert_trees_all_close(scheduled, injected, rtol=1e-6, atol=1e-8)
    chex.assert_trees_all_close(scheduled[0], constant[0], rtol=1e-6)
    assert not np.allclose(jax.tree.leaves(scheduled[2])[0], jax.tree.leaves(constant[2])[0])
