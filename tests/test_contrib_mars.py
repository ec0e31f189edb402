"""Tests for jaxopt_scratch/_contrib/mars.py (MARS-AdamW, approximate variant)."""

import _problems
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


def mars_params(dtype=jnp.float32):
    """The nested tree of _problems plus a wide and a tall matrix and a small vector.

    The gradient 2x + sin(3x) has norm > 1 on every leaf but ``small``, so both sides of
    the clipping are taken.
    """
    return {"nested": _problems.nested_params(dtype),
            "wide": jnp.asarray(np.linspace(-1.0, 1.2, 15).reshape(3, 5), dtype),
            "tall": jnp.asarray(np.cos(np.arange(12.0)).reshape(4, 3), dtype),
            "small": jnp.asarray([0.05, -0.1, 0.02], dtype)}


def oracle_mars(lr, b1=0.95, b2=0.99, eps=1e-8, gamma=0.025, weight_decay=0.0):
    return R.Chain(R.Mars(b1, b2, eps, gamma), R.WeightDecay(weight_decay), R.LearningRate(lr))


NON_DEFAULT = {"b1": 0.8, "b2": 0.9, "eps": 1e-4, "gamma": 0.5, "weight_decay": 0.1}
# Float64 runs (x64) of ours and of the oracle: double rounding only, measured <= 2e-12
# absolute after 50 steps.
X64_TOL = {"rtol": 1e-9, "atol": 1e-11}


class OracleTest(chex.TestCase):

    @parameterized.named_parameters(("default", {}), ("non_default", NON_DEFAULT))
    def test_float64_matches_the_papers_algorithm_over_50_steps(self, kwargs):
        # In float32 the runs near the minimum amplify rounding (gamma b1 / (1 - b1) = 2
        # weighs gradient differences; eps = 1e-4 lets Adam divide tiny gradients): the
        # non-default float32 run drifts 2.6e-4 from the float64 oracle, although the two
        # agree to 1e-12 in float64. The formulas are checked here, in float64.
        with jax.enable_x64(True):
            params = mars_params(jnp.float64)
            ours = jax.jit(lambda p: _problems.scan_run(
                jos.contrib.mars(0.05, **kwargs), p, _problems.nested_grad, 50))(params)[0]
            leaves = _problems.np_leaves(ours)
        want = R.run(oracle_mars(0.05, **kwargs), _problems.np_leaves(params), _problems.np_grad,
                     50)
        for got, w, p in zip(leaves, want, _problems.np_leaves(params)):
            np.testing.assert_allclose(got, w, **X64_TOL)
            self.assertFalse(np.allclose(w, p))  # every leaf moved

    @chex.variants(with_jit=True, without_jit=True)
    def test_float32_default_matches_the_oracle(self):
        # with_jit: 50 scanned steps; without_jit: the first 3 steps eagerly (the special
        # first step and the Python-side paths). Float32 rounding only (measured <= 2e-7).
        steps = 50 if self.variant.type == chex.ChexVariantType.WITH_JIT else 3
        tx = jos.contrib.mars(0.05)
        if steps == 3:
            ours = _problems.loop_run(tx, mars_params(), _problems.nested_grad, steps,
                                      update=self.variant(tx.update))[0]
        else:
            ours = self.variant(lambda p: _problems.scan_run(tx, p, _problems.nested_grad,
                                                             steps))(mars_params())[0]
        want = R.run(oracle_mars(0.05), _problems.np_leaves(mars_params()), _problems.np_grad,
                     steps)
        for got, w in zip(_problems.np_leaves(ours), want):
            np.testing.assert_allclose(got, w, **_problems.ORACLE)

    def test_both_sides_of_the_clip_are_taken(self):
        g = _problems.nested_grad(mars_params())
        norms = {k: float(jos.tree.norm(v)) for k, v in g.items()}
        self.assertLess(norms["small"], 1.0)
        self.assertGreater(min(norms["wide"], norms["tall"]), 1.0)

    def test_first_step_has_no_correction_and_records_the_gradient(self):
        # c_1 = g_1 (the box's x_1 = x_0), not (1 + gamma b1 / (1 - b1)) g_1: with gamma
        # large the first moment tells the two apart.
        tx = jos.contrib.scale_by_mars(gamma=1.0)
        g = jnp.asarray([0.1, -0.2, 0.3])
        _, state = tx.update(g, tx.init(g))
        np.testing.assert_allclose(state.mu, 0.05 * g, rtol=1e-6)  # (1 - b1) g
        chex.assert_trees_all_equal(state.prev_grad, g)

    def test_gamma_zero_without_clipping_is_adamw(self):
        params = {"small": mars_params()["small"]}

        def grads(p):  # keeps every gradient's norm below 1
            return jax.tree.map(lambda x: 0.1 * _problems.grad_leaf(x), p)

        ours = jax.jit(lambda p: _problems.scan_run(
            jos.contrib.mars(0.01, gamma=0.0, weight_decay=0.1), p, grads, 20))(params)[0]
        adamw = jax.jit(lambda p: _problems.scan_run(
            jos.adamw(0.01, b1=0.95, b2=0.99, weight_decay=0.1), p, grads, 20))(params)[0]
        chex.assert_trees_all_close(ours, adamw, rtol=1e-6, atol=1e-7)


class TorchTest(chex.TestCase):
    """Against pytorch-optimizer's MARS (mars_type='adamw', optimize_1d=True)."""

    def test_matches_pytorch_optimizer(self):
        torch = pytest.importorskip("torch", reason=OPT_IN)
        po = pytest.importorskip("pytorch_optimizer", reason=OPT_IN)
        params = mars_params()
        lr, wd, steps = 0.05, 0.1, 50
        kw = {"b1": 0.9, "b2": 0.95, "gamma": 0.2}
        ours = jax.jit(lambda p: _problems.scan_run(
            jos.contrib.mars(lr, weight_decay=wd, **kw), p, _problems.nested_grad, steps))(
            params)[0]
        leaves = [torch.tensor(np.asarray(x), dtype=torch.float64)
                  for x in jax.tree.leaves(params)]
        opt = po.MARS(leaves, lr=lr, betas=(kw["b1"], kw["b2"]), gamma=kw["gamma"],
                      mars_type="adamw", optimize_1d=True, weight_decay=wd, eps=1e-8)
        for t in range(steps):
            for x in leaves:
                x.grad = torch.as_tensor(_problems.grad_leaf(x.detach().numpy(), np))
                if t == 0:
                    # The paper's first step (c_1 = g_1): seed the previous gradient with g_1
                    # instead of the reference code's zeros.
                    opt.state[x] = {"exp_avg": torch.zeros_like(x),
                                    "exp_avg_sq": torch.zeros_like(x),
                                    "last_grad": x.grad.clone()}
            opt.step()
        # Float32 against float64, and eps added before (theirs) or after (ours) the bias
        # correction: measured <= 3e-6 absolute after 50 steps.
        for got, want in zip(jax.tree.leaves(ours), leaves):
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-5, atol=2e-5)


class TracedTest(chex.TestCase):

    def test_vmap_over_every_hyperparameter_equals_the_loop_one_compile(self):
        values = {"learning_rate": [0.05, 0.02], "b1": [0.95, 0.5], "b2": [0.99, 0.9],
                  "eps": [1e-8, 1e-3], "gamma": [0.025, 1.0], "weight_decay": [0.0, 0.1]}
        params = {"w": mars_params()["wide"], "s": jnp.asarray(0.7)}
        _problems.assert_vmap_matches_loop(self, lambda **hp: jos.contrib.mars(**hp), values,
                                           steps=6, params=params)


class DtypeTest(chex.TestCase):

    def test_bfloat16_params_keep_float32_state(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.mars(0.05)
        final, state = jax.jit(lambda p: _problems.scan_run(
            tx, p, _problems.nested_grad, 10))(params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(final)))
        inner = state[0]
        for part in (inner.mu, inner.nu, inner.prev_grad):
            self.assertTrue(all(x.dtype == jnp.float32 for x in jax.tree.leaves(part)))
        # The float64 oracle from the same start: 10 roundings into bfloat16 params of
        # size ~1 (2^-9 relative each), plus coordinates near zero.
        want = R.run(oracle_mars(0.05), _problems.np_leaves(params), _problems.np_grad, 10)
        for got, w in zip(_problems.np_leaves(final), want):
            np.testing.assert_allclose(got, w, rtol=3e-2, atol=1e-2)


class ErrorTest(parameterized.TestCase):

    @parameterized.named_parameters(
        ("gamma", {"gamma": -0.1}, "`gamma` must lie in"),
        ("b1", {"b1": 1.0}, "`b1` must lie in"),
        ("b2", {"b2": 1.5}, "`b2` must lie in"),
        ("eps", {"eps": -1.0}, "`eps` must lie in"),
        ("weight_decay", {"weight_decay": -1.0}, "`weight_decay` must lie in"),
    )
    def test_bad_arguments_are_named(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            jos.contrib.mars(0.1, **kwargs)

    def test_mismatched_tree_names_the_transform(self):
        tx = jos.contrib.scale_by_mars()
        with pytest.raises(ValueError, match="scale_by_mars"):
            tx.update({"a": jnp.ones(2)}, tx.init({"b": jnp.ones(2)}))
