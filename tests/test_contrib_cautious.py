"""Tests for jaxopt_scratch/_contrib/cautious.py (cautious updates: C-AdamW, C-Lion, ...)."""

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


def cautious_params(dtype=jnp.float32):
    """The nested tree of _problems (vectors, scalars, None) plus a wide and a tall matrix."""
    return {"nested": _problems.nested_params(dtype),
            "wide": jnp.asarray(np.linspace(-1.0, 1.2, 15).reshape(3, 5), dtype),
            "tall": jnp.asarray(np.cos(np.arange(12.0)).reshape(4, 3), dtype)}


LR, WD = 0.05, 0.1


def c_adamw_update():
    """The whole AdamW update masked (to add: kept where u g < 0), decay included."""
    return jos.contrib.cautious(jos.adamw(LR, weight_decay=WD))


def c_adamw_paper():
    """The paper's C-AdamW: the Adam direction masked, the decay outside the mask."""
    return jos.chain(jos.contrib.cautious(jos.scale_by_adam(), direction=True),
                     jos.add_decayed_weights(WD), jos.scale_by_learning_rate(LR))


def c_lion():
    return jos.chain(jos.contrib.cautious(jos.scale_by_lion(), direction=True),
                     jos.add_decayed_weights(WD), jos.scale_by_learning_rate(LR))


CASES = (
    ("adamw_whole_update", c_adamw_update, jos.adamw(LR, weight_decay=WD),
     lambda: R.Cautious(R.Chain(R.Adam(), R.WeightDecay(WD), R.LearningRate(LR)), to_add=True)),
    ("adamw_paper", c_adamw_paper, jos.adamw(LR, weight_decay=WD),
     lambda: R.Chain(R.Cautious(R.Adam()), R.WeightDecay(WD), R.LearningRate(LR))),
    ("lion_paper", c_lion, jos.lion(LR, weight_decay=WD),
     lambda: R.Chain(R.Cautious(R.Lion()), R.WeightDecay(WD), R.LearningRate(LR))),
)


# Float64 runs (x64) of ours and of the oracle: double rounding only (measured <= 1e-13).
X64_TOL = {"rtol": 1e-9, "atol": 1e-11}


def _run(tx, params, steps):
    return jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, steps))(params)[0]


class OracleTest(chex.TestCase):

    @parameterized.named_parameters(*CASES)
    def test_float64_matches_the_papers_mask_over_50_steps(self, build, plain, oracle):
        with jax.enable_x64(True):
            params = cautious_params(jnp.float64)
            ours = _problems.np_leaves(_run(build(), params, 50))
            base = _problems.np_leaves(_run(plain, params, 50))
        want = R.run(oracle(), _problems.np_leaves(params), _problems.np_grad, 50)
        for got, w in zip(ours, want):
            np.testing.assert_allclose(got, w, **X64_TOL)
        # The mask acted: the plain optimizer ends elsewhere.
        self.assertFalse(all(np.allclose(a, b) for a, b in zip(ours, base)))

    # In float32, C-AdamW's paper form drifts ~1e-4 from the float64 oracle near the
    # minimum (a coordinate kept or dropped on a rounding difference rescales its whole
    # leaf), although the two agree to 1e-13 in float64; the other two forms stay at
    # float32 rounding (measured <= 6e-7).
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[c for c in CASES if c[0] != "adamw_paper"])
    def test_float32_matches_the_oracle(self, build, plain, oracle):
        del plain
        tx = build()
        if self.variant.type == chex.ChexVariantType.WITH_JIT:
            steps = 50
            ours = self.variant(lambda p: _problems.scan_run(tx, p, _problems.nested_grad,
                                                             steps))(cautious_params())[0]
        else:  # the first steps eagerly (Python-side paths)
            steps = 3
            ours = _problems.loop_run(tx, cautious_params(), _problems.nested_grad, steps,
                                      update=self.variant(tx.update))[0]
        want = R.run(oracle(), _problems.np_leaves(cautious_params()), _problems.np_grad, steps)
        for got, w in zip(_problems.np_leaves(ours), want):
            np.testing.assert_allclose(got, w, **_problems.ORACLE)

    def test_mask_and_scale_per_leaf(self):
        # SGD's update is -lr g: every coordinate is kept, and a leaf of n is scaled by
        # n / (n + 1), a scalar by 1/2. Then a momentum that fights the gradient is dropped.
        tx = jos.contrib.cautious(jos.sgd(1.0, momentum=0.9))
        p = {"v": jnp.zeros(3), "s": jnp.zeros(())}
        g1 = {"v": jnp.asarray([1.0, -2.0, 3.0]), "s": jnp.asarray(4.0)}
        u, state = tx.update(g1, tx.init(p), p)
        np.testing.assert_allclose(u["v"], -np.asarray(g1["v"]) * 3 / 4, rtol=1e-6)
        np.testing.assert_allclose(u["s"], -4.0 / 2, rtol=1e-6)
        g2 = {"v": jnp.asarray([1.0, 1.0, -1.0]), "s": jnp.asarray(-10.0)}
        u, _ = tx.update(g2, state, p)
        trace = 0.9 * np.asarray(g1["v"]) + np.asarray(g2["v"])  # [1.9, -0.8, 1.7]
        kept = -trace * np.asarray(g2["v"]) < 0  # only the first coordinate descends
        np.testing.assert_allclose(u["v"], np.where(kept, -trace, 0) * 3 / (kept.sum() + 1),
                                   rtol=1e-6)
        np.testing.assert_allclose(u["s"], -(0.9 * 4.0 - 10.0) / 2, rtol=1e-6)

    def test_both_sign_conventions_agree_for_a_positive_learning_rate(self):
        whole = jos.contrib.cautious(jos.adam(LR))
        direction = jos.chain(jos.contrib.cautious(jos.scale_by_adam(), direction=True),
                              jos.scale_by_learning_rate(LR))
        a, b = _run(whole, cautious_params(), 20), _run(direction, cautious_params(), 20)
        chex.assert_trees_all_close(a, b, rtol=1e-6, atol=1e-7)


class TorchTest(chex.TestCase):
    """Against pytorch-optimizer's Lion(cautious=True): the decay outside the mask."""

    def test_matches_pytorch_optimizer_c_lion(self):
        torch = pytest.importorskip("torch", reason=OPT_IN)
        po = pytest.importorskip("pytorch_optimizer", reason=OPT_IN)
        params, steps = cautious_params(), 50
        ours = _run(c_lion(), params, steps)
        leaves = [torch.tensor(np.asarray(x), dtype=torch.float64)
                  for x in jax.tree.leaves(params)]
        opt = po.Lion(leaves, lr=LR, betas=(0.9, 0.99), weight_decay=WD, cautious=True)
        for _ in range(steps):
            for x in leaves:
                x.grad = torch.as_tensor(_problems.grad_leaf(x.detach().numpy(), np))
            opt.step()
        # Steps are +-lr * scale: float32 against float64 rounding only (measured <= 1e-6),
        # as long as no sign flips on a rounding difference.
        for got, want in zip(jax.tree.leaves(ours), leaves):
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-5, atol=1e-5)


class TracedTest(chex.TestCase):

    def test_inner_hyperparameters_stay_traceable(self):
        values = {"learning_rate": [0.05, 0.02], "b1": [0.9, 0.5], "b2": [0.999, 0.9],
                  "weight_decay": [1e-4, 0.1]}
        _problems.assert_vmap_matches_loop(
            self, lambda **hp: jos.contrib.cautious(jos.adamw(**hp)), values, steps=6)


class WrapperTest(chex.TestCase):

    def test_bfloat16_params(self):
        params = _problems.small_params(jnp.bfloat16)
        tx = jos.contrib.cautious(jos.adamw(0.05))
        u, state = tx.update(_problems.nested_grad(params), tx.init(params), params)
        self.assertTrue(all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u)))
        mu = state.inner_state[0].mu
        self.assertTrue(all(x.dtype == jnp.float32 for x in jax.tree.leaves(mu)))
        # The first AdamW step is -lr * sign(g) (all kept), times n / (n + 1) per leaf.
        np.testing.assert_allclose(np.asarray(u["w"], np.float32),
                                   -0.05 * np.sign(np.asarray(params["w"], np.float32)) * 3 / 4,
                                   rtol=1e-2)

    def test_eval_params_hook_is_still_found(self):
        tx = jos.contrib.cautious(jos.contrib.schedule_free_sgd(0.1))
        y = jnp.asarray([1.0, -2.0])
        state = tx.init(y)
        for _ in range(2):
            u, state = tx.update(2 * y, state, y)
            y = y + u
        self.assertFalse(np.allclose(jos.contrib.eval_params(state, y), y))

    def test_errors_name_the_argument(self):
        with pytest.raises(TypeError, match="`cautious` inner must be a gradient transformation"):
            jos.contrib.cautious("adamw")
        with pytest.raises(TypeError, match="`direction` must be a bool"):
            jos.contrib.cautious(jos.adam(0.1), direction="yes")
        tx = jos.contrib.cautious(jos.lookahead(jos.sgd(0.1), 2, 0.5))
        p = jos.LookaheadParams.init_synced(jnp.zeros(2))
        with pytest.raises(ValueError, match="`cautious`: `inner` returned updates"):
            tx.update(jnp.ones(2), tx.init(p), p)
