"""Tests for jaxopt_scratch/_contrib/soap.py (SOAP: Adam in Shampoo's eigenbasis)."""

import functools

import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

# pytorch-optimizer is an opt-in oracle (about 1 GB with torch): pip install -e ".[torch-oracles]".
OPT_IN = 'opt-in oracle: pip install -e ".[torch-oracles]"'

STEPS = 40  # four refreshes at the default precondition_frequency of 10

# Why the gradients change from step to step: SOAP's first call takes no step, so a
# gradient that depends on the params only is the same at the second call, where the
# rotated gradient Q_L^T G Q_R is then exactly diagonal (the SVD of G). Its off-diagonal
# entries are pure rounding (~1e-8 |G|), and Adam divides them by their own square root
# plus eps = 1e-8: O(1) steps in directions set by rounding, in the reference code as here
# (float32 and float64 runs of pytorch-optimizer differ by 0.04 there). A minibatch-like
# term that varies with the step, as real gradients do, removes the degeneracy.


def soap_params(dtype=jnp.float32):
    """A wide, a tall and a square matrix, a vector, a scalar and a None, nested."""
    rng = np.random.default_rng(0)

    def a(*shape):
        return jnp.asarray(rng.normal(size=shape), dtype)

    return {"dense": {"w": a(3, 4), "b": a(4)}, "proj": [a(4, 3), None, a()], "sq": a(3, 3)}


def small_soap_params(dtype=jnp.float32):
    """Two matrices of :func:`soap_params`, for checks whose subject is not the pytree."""
    p = soap_params(dtype)
    return {"w": p["dense"]["w"], "s": p["sq"]}


def _grad_leaf(x, t, xp):
    phase = xp.arange(np.size(x), dtype=x.dtype).reshape(np.shape(x)) * 0.7
    return 2 * x + xp.sin(3 * x) + 0.5 * xp.cos(0.9 * t + phase)


def grad_at(params, t):
    """The gradient of x^2 - cos(3x)/3 plus a term that varies with the step t."""
    return jax.tree.map(lambda x: _grad_leaf(x, t.astype(x.dtype), jnp), params)


def run(tx, params, steps=STEPS):
    """``steps`` scanned updates with :func:`grad_at`; returns ``(params, state)``."""

    def body(carry, t):
        p, s = carry
        u, s = tx.update(grad_at(p, t), s, p)
        return (jos.apply_updates(p, u), s), None

    return jax.lax.scan(body, (params, tx.init(params)), jnp.arange(steps))[0]


def run_oracle(oracle, params, steps=STEPS):
    """The same run in float64 NumPy; returns the leaves (``None`` leaves dropped)."""
    leaves = [np.asarray(x, np.float64) for x in jax.tree.leaves(params)]
    for t in range(steps):
        updates = oracle.update([_grad_leaf(x, float(t), np) for x in leaves], leaves)
        leaves = [x + u for x, u in zip(leaves, updates)]
    return leaves


def oracle_soap(lr, b1=0.95, b2=0.95, shampoo_beta=None, eps=1e-8, weight_decay=0.01,
                precondition_frequency=10, max_precond_dim=10000, precondition_1d=False):
    return R.Chain(R.Soap(b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim,
                          precondition_1d),
                   R.WeightDecay(weight_decay), R.LearningRate(lr))


# Against the float64 oracle: float32 rounding through eigh, QR and 40 Adam steps,
# measured <= 6e-7 absolute on every leaf (values O(1)).
ORACLE_TOL = {"rtol": 1e-5, "atol": 5e-6}
NON_DEFAULT = {"b1": 0.9, "b2": 0.99, "shampoo_beta": 0.8, "eps": 1e-6, "weight_decay": 0.1,
               "precondition_frequency": 3, "max_precond_dim": 3}


class OracleTest(chex.TestCase):

    @parameterized.named_parameters(("default", {}), ("non_default", NON_DEFAULT))
    def test_matches_the_papers_algorithm_over_40_steps(self, kwargs):
        params = soap_params()
        got = jax.jit(lambda p: run(jos.contrib.soap(0.02, **kwargs), p))(params)[0]
        want = run_oracle(oracle_soap(0.02, **kwargs), params)
        for g, w, p in zip(jax.tree.leaves(got), want, jax.tree.leaves(params)):
            np.testing.assert_allclose(np.asarray(g), w, **ORACLE_TOL)
            self.assertGreater(np.max(np.abs(w - np.asarray(p))), 0.1)  # every leaf moved

    def test_eager_refreshes_match_the_oracle(self):
        # The Python-side paths (no jit): the first call's eigh, then a QR refresh at
        # every later call (precondition_frequency=1).
        tx = jos.contrib.soap(0.02, precondition_frequency=1)
        params = {"w": small_soap_params()["w"]}
        state = tx.init(params)
        for t in range(3):
            u, state = tx.update(grad_at(params, jnp.int32(t)), state, params)
            params = jos.apply_updates(params, u)
        want = run_oracle(oracle_soap(0.02, precondition_frequency=1),
                          {"w": small_soap_params()["w"]}, 3)
        for g, w in zip(jax.tree.leaves(params), want):
            np.testing.assert_allclose(np.asarray(g), w, **ORACLE_TOL)

    def test_long_axes_stay_unrotated_and_vectors_only_when_asked(self):
        state = jos.contrib.scale_by_soap(max_precond_dim=3).init(soap_params())
        w, b = state.bases["dense"]["w"], state.bases["dense"]["b"]
        self.assertEqual((w[0].shape, w[1]), ((3, 3), None))  # the axis of size 4 is not
        self.assertEqual(b, (None,))
        self.assertEqual(state.bases["proj"][2], ())  # a scalar has no axis
        b1d = jos.contrib.scale_by_soap(precondition_1d=True).init(soap_params())
        self.assertEqual(b1d.bases["dense"]["b"][0].shape, (4, 4))

    def test_first_call_builds_the_eigenbasis_and_takes_no_step(self):
        tx = jos.contrib.scale_by_soap()
        params = small_soap_params()
        g = grad_at(params, jnp.int32(0))
        u, state = tx.update(g, tx.init(params))
        chex.assert_trees_all_equal(u, jax.tree.map(jnp.zeros_like, g))
        chex.assert_trees_all_equal((state.mu, state.nu), (tx.init(params).mu, tx.init(params).nu))
        f, q = state.factors["w"][0], state.bases["w"][0]
        gw = np.asarray(g["w"], np.float64)
        np.testing.assert_allclose(f, 0.05 * gw @ gw.T, rtol=1e-5)  # (1 - b2) G G^T
        d = np.asarray(q.T @ f @ q)
        np.testing.assert_allclose(d - np.diag(np.diag(d)), 0, atol=1e-6)  # diagonalised
        self.assertTrue(np.all(np.diff(np.diag(d)) <= 0))  # largest eigenvalue first

    def test_vector_with_precondition_1d_is_a_one_column_matrix(self):
        # A vector's factor is g g^T; a (d, 1) matrix has the same left factor and a
        # 1x1 right one, whose basis is +-1: the two must take the same steps.
        tx = jos.contrib.soap(0.05, precondition_1d=True, precondition_frequency=2)
        v = soap_params()["dense"]["b"]
        as_vector, as_column = jax.jit(lambda p: (run(tx, p, 12)[0], run(tx, p[:, None], 12)[0]))(v)
        np.testing.assert_allclose(as_vector, as_column[:, 0], rtol=1e-5, atol=1e-6)
        self.assertGreater(float(jnp.max(jnp.abs(as_vector - v))), 0.1)

    def test_nan_gradient_shows_at_the_first_call(self):
        tx = jos.contrib.scale_by_soap()
        g = jnp.asarray([[1.0, jnp.nan], [0.5, 2.0]])
        u, _ = tx.update(g, tx.init(g))
        self.assertTrue(np.isnan(u[0, 1]))


class TorchTest(chex.TestCase):
    """Against pytorch-optimizer's SOAP (an independent implementation), a 3-D leaf included."""

    def test_matches_pytorch_optimizer(self):
        torch = pytest.importorskip("torch", reason=OPT_IN)
        po = pytest.importorskip("pytorch_optimizer", reason=OPT_IN)
        rng = np.random.default_rng(1)
        init = {"w": rng.normal(size=(3, 4)), "t": rng.normal(size=(2, 3, 4)),
                "v": rng.normal(size=5)}
        params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), init)
        lr, wd, freq = 0.02, 0.1, 3
        kw = {"b1": 0.9, "b2": 0.95, "shampoo_beta": 0.8, "eps": 1e-8}
        ours = jax.jit(lambda p: run(jos.contrib.soap(lr, weight_decay=wd,
                                                      precondition_frequency=freq, **kw), p))(
            params)[0]
        theirs = {k: torch.tensor(v, dtype=torch.float64) for k, v in init.items()}
        opt = po.SOAP(list(theirs.values()), lr=lr, betas=(kw["b1"], kw["b2"]),
                      shampoo_beta=kw["shampoo_beta"], eps=kw["eps"], weight_decay=0.0,
                      precondition_frequency=freq)
        for t in range(STEPS):
            with torch.no_grad():
                for x in theirs.values():
                    x.grad = torch.from_numpy(_grad_leaf(x.numpy(), float(t), np))
                    # Our decay, on the params before the step and from the first call
                    # (the reference decays after the step and skips the first call).
                    x.mul_(1 - lr * wd)
            opt.step()
        # Float32 against float64 (whose QR pytorch-optimizer runs in float32): measured
        # <= 2e-6 absolute.
        for k in init:
            np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-5, atol=1e-5)


def _swept_runner():
    def run_hp(hp):
        tx = jos.contrib.soap(hp["learning_rate"], b1=hp["b1"], b2=hp["b2"],
                              shampoo_beta=hp["shampoo_beta"], eps=hp["eps"],
                              weight_decay=hp["weight_decay"], precondition_frequency=hp["freq"])
        return run(tx, small_soap_params(), 8)[0]

    return run_hp


class TracedTest(chex.TestCase):

    def test_vmap_over_every_hyperparameter_equals_the_loop_one_compile(self):
        values = {"learning_rate": [0.02, 0.05], "b1": [0.95, 0.5], "b2": [0.95, 0.9],
                  "shampoo_beta": [0.95, 0.5], "eps": [1e-8, 1e-3], "weight_decay": [0.01, 0.1],
                  "freq": [10, 2]}
        chex.clear_trace_counter()
        jitted = jax.jit(chex.assert_max_traces(_swept_runner(), n=1))
        as_arrays = {k: jnp.asarray(v, jnp.int32 if k == "freq" else jnp.float32)
                     for k, v in values.items()}
        looped = [jitted({k: v[i] for k, v in as_arrays.items()}) for i in range(2)]
        batched = jax.vmap(jitted)(as_arrays)
        for i, expected in enumerate(looped):
            # Same float32 program; batching may reorder fused operations (eigh, QR).
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), expected,
                                        rtol=1e-5, atol=1e-6)
        self.assertFalse(np.allclose(looped[0]["w"], looped[1]["w"]))

    def test_traced_frequency_equals_the_static_one(self):
        params = small_soap_params()

        @functools.partial(jax.jit, static_argnums=1)
        def static(p, freq):
            return run(jos.contrib.soap(0.02, precondition_frequency=freq), p, 12)[0]

        traced = jax.jit(lambda p, f: run(jos.contrib.soap(0.02, precondition_frequency=f),
                                          p, 12)[0])
        chex.assert_trees_all_close(traced(params, jnp.int32(4)), static(params, 4),
                                    rtol=1e-6, atol=1e-7)
        # The traced value is used: refreshing at every call changes the run.
        self.assertFalse(np.allclose(traced(params, jnp.int32(1))["s"],
                                     traced(params, jnp.int32(4))["s"]))


class DtypeTest(chex.TestCase):

    def test_bfloat16_params_keep_float32_state(self):
        params = small_soap_params(jnp.bfloat16)
        tx = jos.contrib.soap(0.02)
        final, state = jax.jit(lambda p: run(tx, p, 12))(params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(final)))
        inner = state[0]
        for part in (inner.mu, inner.nu, inner.factors, inner.bases):
            self.assertTrue(all(x.dtype == jnp.float32 for x in jax.tree.leaves(part)))
        # The oracle from the same (bfloat16-rounded) start: each of the 12 updates is
        # rounded into the bfloat16 params (up to 2^-9 relative), so at most ~5% apart
        # (measured 2.5%), plus 1e-2 for coordinates that pass near zero.
        ref = run_oracle(oracle_soap(0.02), params, 12)
        for got, want in zip(jax.tree.leaves(final), ref):
            np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=5e-2, atol=1e-2)


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("frequency_zero", {"precondition_frequency": 0}, "`precondition_frequency` must lie"),
        ("frequency_fraction", {"precondition_frequency": 2.5}, "`precondition_frequency` must be a whole"),
        ("max_dim_zero", {"max_precond_dim": 0}, "`max_precond_dim` must be a positive"),
        ("max_dim_float", {"max_precond_dim": 10.0}, "`max_precond_dim` must be a positive"),
        ("b1", {"b1": 1.0}, "`b1` must lie in"),
        ("b2", {"b2": -0.1}, "`b2` must lie in"),
        ("shampoo_beta", {"shampoo_beta": 1.0}, "`shampoo_beta` must lie in"),
        ("eps", {"eps": -1.0}, "`eps` must lie in"),
        ("weight_decay", {"weight_decay": -1.0}, "`weight_decay` must lie in"),
    )
    def test_bad_arguments_are_named(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            jos.contrib.soap(0.1, **kwargs)

    def test_structural_flag_must_be_a_bool(self):
        with pytest.raises(TypeError, match="`precondition_1d` must be a bool"):
            jos.contrib.scale_by_soap(precondition_1d="yes")

    def test_complex_params_are_refused(self):
        with pytest.raises(TypeError, match="real params only"):
            jos.contrib.soap(0.1).init({"w": jnp.ones((2, 2), jnp.complex64)})

    def test_mismatched_tree_shows_both(self):
        tx = jos.contrib.scale_by_soap()
        with pytest.raises(ValueError, match="scale_by_soap"):
            tx.update({"a": jnp.ones((2, 2))}, tx.init({"b": jnp.ones((2, 2))}))
