"""Tests for jaxopt_scratch/_wrappers/lookahead.py."""

import _problems
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _fast_grad(params):
    return _problems.nested_grad(params.fast)


def _run(tx, lib=jos, steps=50):
    params = lib.LookaheadParams.init_synced(_problems.nested_params())
    apply = lib.apply_updates
    return jax.jit(lambda p: _problems.scan_run(tx, p, _fast_grad, steps, apply=apply))(params)


def _np_lookahead(leaves, steps, lr, k, alpha):
    """Algorithm 1 of Zhang et al. (2019) with SGD inside, in float64 NumPy."""
    slow, fast = [x.copy() for x in leaves], [x.copy() for x in leaves]
    for t in range(1, steps + 1):
        fast = [f - lr * g for f, g in zip(fast, _problems.np_grad(fast))]
        if t % k == 0:
            slow = [s + alpha * (f - s) for s, f in zip(slow, fast)]
            fast = [s.copy() for s in slow]
    return fast, slow


class LookaheadTest(chex.TestCase):

    @parameterized.named_parameters(
        ("adam", lambda m: m.adam(0.05), 3, 0.5, False, _problems.OPTAX_ADAM),
        ("momentum_reset", lambda m: m.sgd(0.05, momentum=0.9), 5, 0.2, True,
         _problems.OPTAX_PLAIN))
    def test_matches_optax_over_50_steps(self, fast, k, alpha, reset, tol):
        ours = _run(jos.lookahead(fast(jos), k, alpha, reset))
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32 counts
            theirs = _run(optax.lookahead(fast(optax), k, alpha, reset), optax)
        chex.assert_trees_all_close(tuple(ours[0]), tuple(theirs[0]), **tol)
        self.assertEqual([np.shape(x) for x in jax.tree.leaves(ours[1])],
                         [np.shape(x) for x in jax.tree.leaves(theirs[1])])

    def test_matches_the_paper_with_sgd_inside(self):
        params, state = _run(jos.lookahead(jos.sgd(0.05), 4, 0.3), steps=50)
        fast, slow = _np_lookahead(_problems.np_leaves(_problems.nested_params()), 50, 0.05, 4,
                                   0.3)
        for got, want in zip(_problems.np_leaves(params.fast) + _problems.np_leaves(params.slow),
                             fast + slow):
            np.testing.assert_allclose(got, want, **_problems.ORACLE)
        self.assertEqual(int(state.steps_since_sync), 50 % 4)
        self.assertFalse(np.allclose(params.fast["dense"]["w"], params.slow["dense"]["w"]))

    @chex.variants(with_jit=True, without_jit=True)
    def test_synchronises_every_k_steps(self):
        tx = jos.lookahead(jos.sgd(0.1), sync_period=2, slow_step_size=0.5)
        update = self.variant(tx.update)
        params = jos.LookaheadParams.init_synced(jnp.asarray([1.0]))
        state = tx.init(params)
        seen = []
        for _ in range(4):
            updates, state = update(2 * params.fast, state, params)
            params = jos.apply_updates(params, updates)
            seen.append((float(params.fast[0]), float(params.slow[0])))
        np.testing.assert_allclose(seen, [(0.8, 1.0), (0.82, 0.82), (0.656, 0.82),
                                          (0.6724, 0.6724)], rtol=1e-6)

    def test_vmap_over_sync_period_and_slow_step_size(self):
        def run(k, alpha):
            tx = jos.lookahead(jos.sgd(0.1), k, alpha)
            params = jos.LookaheadParams.init_synced(_problems.small_params())
            return _problems.scan_run(tx, params, _fast_grad, 6)[0].slow

        ks, alphas = [1, 2, 3], [0.5, 0.2, 0.9]
        chex.clear_trace_counter()
        jitted = jax.jit(chex.assert_max_traces(run, n=1))
        looped = [jitted(jnp.int32(k), jnp.float32(a)) for k, a in zip(ks, alphas)]
        batched = jax.vmap(jitted)(jnp.asarray(ks, jnp.int32), jnp.asarray(alphas, jnp.float32))
        for i, want in enumerate(looped):
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), want,
                                        rtol=1e-6, atol=1e-7)
        self.assertFalse(np.allclose(looped[0]["w"], looped[2]["w"]))

    def test_inf_in_fast_weights_reaches_slow_only_at_sync(self):
        # Deviation (docstring note): optax multiplies by the 0/1 sync flag, so 0 * inf = NaN
        # lands in the slow weights at once.
        params = jos.LookaheadParams(fast=jnp.asarray([jnp.inf]), slow=jnp.asarray([1.0]))
        for lib in (jos, optax):
            tx = lib.lookahead(lib.sgd(0.1), 3, 0.5)
            with jax.numpy_dtype_promotion("standard"):
                updates, _ = tx.update(jnp.asarray([0.0]), tx.init(params), params)
            if lib is jos:
                np.testing.assert_array_equal(updates.slow, [0.0])
            else:
                self.assertTrue(np.isnan(updates.slow[0]))

    def test_init_accepts_plain_params_and_errors_name_the_argument(self):
        tx = jos.lookahead(jos.adam(0.1), 2, 0.5)
        plain, pair = tx.init(jnp.zeros(2)), tx.init(jos.LookaheadParams.init_synced(jnp.zeros(2)))
        chex.assert_trees_all_equal(plain, pair)
        with pytest.raises(TypeError, match="`lookahead` needs the params as `jos.LookaheadParams"):
            tx.update(jnp.ones(2), plain, jnp.zeros(2))
        with pytest.raises(ValueError, match="`sync_period`"):
            jos.lookahead(jos.sgd(0.1), 0, 0.5)
        with pytest.raises(TypeError, match="`sync_period`"):
            jos.lookahead(jos.sgd(0.1), 2.5, 0.5)
        with pytest.raises(TypeError, match="fast_optimizer"):
            jos.lookahead(None, 2, 0.5)
