"""Tests for jaxopt_scratch/_transforms/adaptive_rms.py."""

import _problems
import _references as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

LR = 0.02
NON_DEFAULT = {"decay": 0.8, "eps": 1e-3, "initial_scale": 0.3, "eps_in_sqrt": False, "bias_correction": True}


def _with_lr(tx):
    return optax.chain(tx, optax.scale(-LR))


def _optax_rss():
    return _with_lr(optax.scale_by_rss())


def _optax_rss_nd():
    return _with_lr(optax.scale_by_rss(initial_accumulator_value=0.0, eps=1e-3))


def _optax_rms():
    return _with_lr(optax.scale_by_rms())


def _optax_rms_nd():
    return _with_lr(optax.scale_by_rms(**NON_DEFAULT))


def _optax_rms_out():
    return _with_lr(optax.scale_by_rms(eps=1e-4, eps_in_sqrt=False))


def _optax_stddev():
    return _with_lr(optax.scale_by_stddev())


def _optax_stddev_nd():
    return _with_lr(optax.scale_by_stddev(**NON_DEFAULT))


_RMS_ORACLE_ND = {"decay": 0.8, "eps": 1e-3, "initial_scale": 0.3, "eps_in_sqrt": False,
                      "bias_correction": True}
PARITY = (
    ("rss_default", jos.scale_by_rss, _optax_rss, R.AdaGrad),
    ("rss_non_default", lambda: jos.scale_by_rss(0.0, 1e-3), _optax_rss_nd,
     lambda: R.AdaGrad(0.0, 1e-3)),
    ("rms_default", jos.scale_by_rms, _optax_rms, R.RMSProp),
    ("rms_non_default", lambda: jos.scale_by_rms(**NON_DEFAULT), _optax_rms_nd,
     lambda: R.RMSProp(**_RMS_ORACLE_ND)),
    ("rms_eps_outside", lambda: jos.scale_by_rms(eps=1e-4, eps_in_sqrt=False), _optax_rms_out,
     lambda: R.RMSProp(eps=1e-4, eps_in_sqrt=False)),
    ("stddev_default", jos.scale_by_stddev, _optax_stddev, lambda: R.RMSProp(centered=True)),
    ("stddev_non_default", lambda: jos.scale_by_stddev(**NON_DEFAULT), _optax_stddev_nd,
     lambda: R.RMSProp(centered=True, **_RMS_ORACLE_ND)),
)

FACTORIES = {"rss": jos.scale_by_rss, "rms": jos.scale_by_rms, "stddev": jos.scale_by_stddev}


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_oracle_over_50_steps(self, ours, theirs, oracle):
        tx = jos.chain(ours(), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"rms {theirs.__name__}",
                               optax_build=theirs, oracle=R.Chain(oracle(), R.Scale(-LR)))


class FirstStepTest(chex.TestCase):
    """One hand-computed update per transform and convention."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_rss(self):
        tx = jos.scale_by_rss(initial_accumulator_value=0.1, eps=0.0)
        g = jnp.asarray([3.0, 0.0])
        u, state = self.variant(tx.update)(g, tx.init(g))
        np.testing.assert_allclose(u, [3.0 / np.sqrt(9.1), 0.0], rtol=1e-6)
        np.testing.assert_allclose(state.sum_of_squares, [9.1, 0.1], rtol=1e-6)

    def test_rss_zero_accumulator_gives_zero_not_nan(self):
        tx = jos.scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
        u, _ = tx.update(jnp.zeros(2), tx.init(jnp.zeros(2)))
        np.testing.assert_array_equal(u, [0.0, 0.0])

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("inside", True, 2.0 / np.sqrt(0.4 + 0.01)),
                                    ("outside", False, 2.0 / (np.sqrt(0.4) + 0.01)))
    def test_rms_eps_placement(self, eps_in_sqrt, expected):
        # v = 0.1 * 2^2 = 0.4 after one step from v0 = 0.
        tx = jos.scale_by_rms(decay=0.9, eps=0.01, eps_in_sqrt=eps_in_sqrt)
        u, state = self.variant(tx.update)(jnp.asarray([2.0]), tx.init(jnp.zeros(1)))
        np.testing.assert_allclose(u, [expected], rtol=1e-6)
        np.testing.assert_allclose(state.nu, [0.4], rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_rms_bias_correction_and_initial_scale(self):
        # v1 = 0.9 * 1 + 0.1 * 4 = 1.3; debiased: 1.3 / 0.1 = 13.
        tx = jos.scale_by_rms(decay=0.9, eps=0.0, initial_scale=1.0, bias_correction=True)
        u, _ = self.variant(tx.update)(jnp.asarray([2.0]), tx.init(jnp.zeros(1)))
        np.testing.assert_allclose(u, [2.0 / np.sqrt(13.0)], rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_stddev_centers_the_second_moment(self):
        # m = 0.2, v = 0.4: variance 0.4 - 0.04 = 0.36.
        tx = jos.scale_by_stddev(decay=0.9, eps=0.0)
        u, state = self.variant(tx.update)(jnp.asarray([2.0]), tx.init(jnp.zeros(1)))
        np.testing.assert_allclose(u, [2.0 / 0.6], rtol=1e-6)
        np.testing.assert_allclose(state.mu, [0.2], rtol=1e-6)


class StateAndDtypeTest(chex.TestCase):

    @parameterized.named_parameters(*FACTORIES.items())
    def test_bfloat16_state_is_float32_and_updates_stay_bfloat16(self, make):
        tx = make()
        params = _problems.nested_params(jnp.bfloat16)
        state = tx.init(params)
        for leaf in jax.tree.leaves(state):
            self.assertIn(leaf.dtype, (jnp.float32, jnp.int32))
        u, _ = jax.jit(tx.update)(_problems.nested_grad(params), state)
        for leaf in jax.tree.leaves(u):
            self.assertEqual(leaf.dtype, jnp.bfloat16)

    @parameterized.named_parameters(("rms", jos.scale_by_rms), ("stddev", jos.scale_by_stddev))
    def test_count_saturates(self, make):
        tx = make(bias_correction=True)
        params = _problems.nested_params()
        top = np.iinfo(np.int32).max
        state = tx.init(params)._replace(count=jnp.asarray(top - 1, jnp.int32))
        for _ in range(2):
            u, state = tx.update(_problems.nested_grad(params), state)
        self.assertEqual(int(state.count), top)
        self.assertTrue(all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u)))

    def test_float64_under_x64(self):
        with jax.enable_x64(True):
            params = _problems.nested_params(jnp.float64)
            tx = jos.chain(jos.scale_by_stddev(**NON_DEFAULT), jos.scale(-LR))
            ours = jax.jit(lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 20))(params)
            for leaf in jax.tree.leaves(ours[0]) + jax.tree.leaves(ours[1][0].nu):
                self.assertEqual(leaf.dtype, jnp.float64)
            ref = R.run(R.Chain(R.RMSProp(centered=True, **_RMS_ORACLE_ND), R.Scale(-LR)),
                        _problems.np_leaves(params), _problems.np_grad, 20)
            for got, want in zip(_problems.np_leaves(ours[0]), ref):
                np.testing.assert_allclose(got, want, rtol=1e-12)  # float64 end to end


class ErrorTest(chex.TestCase):

    @parameterized.named_parameters(
        ("rss_initial", jos.scale_by_rss, {"initial_accumulator_value": -1.0},
         "initial_accumulator_value"),
        ("rss_eps", jos.scale_by_rss, {"eps": -1.0}, "eps"),
        ("rms_decay", jos.scale_by_rms, {"decay": 1.0}, "decay"),
        ("rms_eps", jos.scale_by_rms, {"eps": -1e-8}, "eps"),
        ("rms_initial", jos.scale_by_rms, {"initial_scale": -1.0}, "initial_scale"),
        ("stddev_decay", jos.scale_by_stddev, {"decay": -0.1}, "decay"),
        ("stddev_eps", jos.scale_by_stddev, {"eps": -1.0}, "eps"),
    )
    def test_out_of_range_raises_naming_the_argument(self, make, kwargs, name):
        with pytest.raises(ValueError, match=rf"`{name}` must lie in"):
            make(**kwargs)

    @parameterized.named_parameters(*FACTORIES.items())
    def test_traced_out_of_range_values_never_raise(self, make):
        def f(v):
            tx = make(eps=v)
            return tx.update(jnp.ones(2), tx.init(jnp.ones(2)))[0]

        jax.jit(f)(jnp.float32(-1.0))

    @parameterized.named_parameters(*FACTORIES.items())
    def test_structure_mismatch_shows_both_structures(self, make):
        tx = make()
        state = tx.init({"a": jnp.ones(2)})
        with pytest.raises(ValueError, match=r"updates: PyTreeDef\(\{'b': \*\}\)\n"
                                             r".*PyTreeDef\(\{'a': \*\}\)"):
            tx.update({"b": jnp.ones(2)}, state)


class VmapTest(chex.TestCase):
    """Every numeric hyperparameter batched at once (one compilation per transform)."""

    @parameterized.named_parameters(
        ("rss", jos.scale_by_rss, {"initial_accumulator_value": [0.0, 0.1, 1.0],
                                       "eps": [1e-7, 1e-3, 1.0]}),
        ("rms", lambda **kw: jos.scale_by_rms(bias_correction=True, **kw),
         {"decay": [0.5, 0.9, 0.99], "eps": [1e-8, 1e-3, 1.0], "initial_scale": [0.0, 0.5, 2.0]}),
        ("rms_eps_outside", lambda **kw: jos.scale_by_rms(eps_in_sqrt=False, **kw),
         {"decay": [0.5, 0.9], "eps": [1e-8, 1.0]}),
        ("stddev", jos.scale_by_stddev,
         {"decay": [0.5, 0.9, 0.99], "eps": [1e-8, 1e-3, 1.0], "initial_scale": [0.0, 0.5, 2.0]}),
    )
    def test_vmap_matches_loop(self, make, values):
        _problems.assert_vmap_matches_loop(self, make, values)
