"""Tests for jaxopt_scratch/_wrappers/monitor.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos


def _norm(tree):
    return jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(tree)))


def _clipped(tree):
    return _norm(tree) > 1.0


def _chain(lib):
    return lib.chain(
        lib.sgd(0.1, momentum=0.9),
        lib.snapshot("before_clip", _norm),
        lib.monitor({"norm": _norm, "clipped_ema": lib.measure_with_ema(_clipped, 0.9),
                     "norm_ema": lib.measure_with_ema(_norm, 0.5, debias=False)}),
        lib.clip_by_global_norm(1.0),
    )


class MonitorTest(chex.TestCase):

    def test_measurements_match_optax_over_12_steps(self):
        ours, theirs = _chain(jos), _chain(optax)
        params = _problems.nested_params()
        s, t = ours.init(params), theirs.init(params)
        update, ref_update = jax.jit(ours.update), jax.jit(theirs.update)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes floats, bools and int32
            for _ in range(12):
                g = _problems.nested_grad(params)
                u, s = update(g, s, params)
                v, t = ref_update(g, t, params)
                chex.assert_trees_all_close(u, v, **_problems.OPTAX_PLAIN)  # jit vs eager
                params = jos.apply_updates(params, u)
        chex.assert_trees_all_close(s[1].measurement, t[1].measurement, rtol=1e-6)
        chex.assert_trees_all_close(s[2].measurements, t[2].measurements, rtol=1e-5)
        self.assertTrue(0.0 < float(s[2].measurements["clipped_ema"]) < 1.0)

    def test_state_keeps_its_structure_so_scan_works(self):
        # Deviation (docstring note): optax's monitor starts with an empty dict.
        tx = _chain(jos)
        params = _problems.nested_params()
        state0 = tx.init(params)
        _, state = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 10))(
            params)
        self.assertEqual(jax.tree.structure(state0), jax.tree.structure(state))
        self.assertEqual(state0[2].measurements["clipped_ema"].dtype, jnp.float32)
        self.assertEqual(float(state0[2].measurements["norm"]), 0.0)
        self.assertEqual(optax.monitor({"n": _norm}).init(params).measurements, {})

    def test_measure_with_ema_decay_is_traceable(self):
        def final(decay):
            tx = jos.monitor({"m": jos.measure_with_ema(_norm, decay)})
            return _problems.scan_run(jos.chain(tx, jos.sgd(0.1)), _problems.small_params(),
                                      _problems.nested_grad, 5)[1][0].measurements["m"]

        decays = jnp.asarray([0.1, 0.5, 0.9])
        batched = jax.jit(jax.vmap(final))(decays)
        looped = [jax.jit(final)(d) for d in decays]
        np.testing.assert_allclose(batched, looped, rtol=1e-6)
        self.assertFalse(np.allclose(looped[0], looped[2]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_snapshot_init_holds_the_params_measure_and_updates_pass(self):
        tx = jos.snapshot("sum", lambda u: jax.tree.map(jnp.sum, u))
        p = {"a": jnp.ones(3)}
        state = tx.init(p)
        self.assertEqual(float(state.measurement["sum"]["a"]), 3.0)
        u, state = self.variant(tx.update)({"a": jnp.full(3, 2.0)}, state)
        np.testing.assert_array_equal(u["a"], [2.0] * 3)
        self.assertEqual(float(state.measurement["sum"]["a"]), 6.0)

    def test_errors_name_the_argument(self):
        with pytest.raises(TypeError, match="`measure_name`"):
            jos.snapshot(1, _norm)
        with pytest.raises(TypeError, match="`measure`"):
            jos.snapshot("x", 3)
        with pytest.raises(TypeError, match="`measures`"):
            jos.monitor([_norm])
        with pytest.raises(TypeError, match=r"`measures\['bad'\]`"):
            jos.monitor({"bad": 3})
        with pytest.raises(ValueError, match="`decay`"):
            jos.measure_with_ema(_norm, 1.5)
