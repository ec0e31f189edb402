"""Tests for jaxopt_scratch/_transforms/adaptive_adam.py."""

import _problems
import _references as R
import chex
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized
from hypothesis import given

import jaxopt_scratch as jos

LR = 0.02
ND = {"b1": 0.5, "b2": 0.9, "eps": 1e-3, "eps_root": 1e-4}  # non-default Adam hyperparameters
ADAM, PLAIN = _problems.OPTAX_ADAM, _problems.OPTAX_PLAIN


def _with_lr(tx):
    return optax.chain(tx, optax.scale(-LR))


def _optax_adam():
    return _with_lr(optax.scale_by_adam())


def _optax_adam_nd():
    return _with_lr(optax.scale_by_adam(**ND))


def _optax_nadam():
    return _with_lr(optax.scale_by_adam(nesterov=True))


def _optax_nadam_nd():
    return _with_lr(optax.scale_by_adam(nesterov=True, **ND))


def _optax_amsgrad():
    return _with_lr(optax.scale_by_amsgrad())


def _optax_amsgrad_nd():
    return _with_lr(optax.scale_by_amsgrad(**ND))


def _optax_adamax():
    return _with_lr(optax.scale_by_adamax())


def _optax_adamax_nd():
    return _with_lr(optax.scale_by_adamax(b1=0.5, b2=0.9, eps=1e-3))


def _optax_lion():
    return _with_lr(optax.scale_by_lion())


def _optax_lion_nd():
    return _with_lr(optax.scale_by_lion(b1=0.5, b2=0.9))


def _optax_adam_bf16():
    return _with_lr(optax.scale_by_adam(mu_dtype=jnp.bfloat16))


PARITY = (
    ("adam_default", jos.scale_by_adam, _optax_adam, R.Adam, ADAM),
    ("adam_non_default", lambda: jos.scale_by_adam(**ND), _optax_adam_nd, lambda: R.Adam(**ND),
     ADAM),
    ("nadam_default", lambda: jos.scale_by_adam(nesterov=True), _optax_nadam,
     lambda: R.Adam(nesterov=True), ADAM),
    ("nadam_non_default", lambda: jos.scale_by_adam(nesterov=True, **ND), _optax_nadam_nd,
     lambda: R.Adam(nesterov=True, **ND), ADAM),
    ("amsgrad_default", jos.scale_by_amsgrad, _optax_amsgrad, R.AMSGrad, ADAM),
    ("amsgrad_non_default", lambda: jos.scale_by_amsgrad(**ND), _optax_amsgrad_nd,
     lambda: R.AMSGrad(**ND), ADAM),
    ("adamax_default", jos.scale_by_adamax, _optax_adamax, R.AdaMax, ADAM),
    ("adamax_non_default", lambda: jos.scale_by_adamax(0.5, 0.9, 1e-3), _optax_adamax_nd,
     lambda: R.AdaMax(0.5, 0.9, 1e-3), ADAM),
    # Lion's output is a sign: the same float32 average gives the same step.
    ("lion_default", jos.scale_by_lion, _optax_lion, R.Lion, PLAIN),
    ("lion_non_default", lambda: jos.scale_by_lion(0.5, 0.9), _optax_lion_nd,
     lambda: R.Lion(0.5, 0.9), PLAIN),
)

FACTORIES = {"adam": jos.scale_by_adam, "amsgrad": jos.scale_by_amsgrad,
             "adamax": jos.scale_by_adamax, "lion": jos.scale_by_lion}


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_oracle_over_50_steps(self, ours, theirs, oracle, optax_tol):
        tx = jos.chain(ours(), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"adam {theirs.__name__}",
                               optax_build=theirs, optax_tol=optax_tol,
                               oracle=R.Chain(oracle(), R.Scale(-LR)))

    @chex.variants(with_jit=True, without_jit=True)
    def test_bfloat16_first_moment(self):
        tx = jos.chain(jos.scale_by_adam(mu_dtype=jnp.bfloat16), jos.scale(-LR))
        params = _problems.nested_params()
        state = tx.init(params)
        self.assertEqual(state[0].mu["pair"][0].dtype, jnp.bfloat16)
        self.assertEqual(state[0].nu["pair"][0].dtype, jnp.float32)
        # Storing m in bfloat16 (8 bits of mantissa) costs accuracy. Measured after 50
        # steps with |step| <= 0.02: 5.0e-3 from the float64 oracle, 1.0e-2 from
        # optax (whose own distance to the oracle is 1.5e-2); tolerances are 2x that.
        _problems.check_parity(self, self.variant, tx, optax_key="adam mu bf16",
                               optax_build=_optax_adam_bf16, optax_tol={"rtol": 0, "atol": 2e-2},
                               oracle=R.Chain(R.Adam(), R.Scale(-LR)),
                               oracle_tol={"rtol": 0, "atol": 1e-2})


class HandComputedTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_adam_two_steps(self):
        # g = 1 then 3: m = .1, .39; v = .001, .009999 (b1 .9, b2 .999).
        tx = jos.scale_by_adam(eps=0.0)
        update = self.variant(tx.update)
        state = tx.init(jnp.zeros(1))
        u1, state = update(jnp.asarray([1.0]), state)
        u2, state = update(jnp.asarray([3.0]), state)
        m_hat, v_hat = 0.39 / (1 - 0.9**2), 0.009999 / (1 - 0.999**2)
        np.testing.assert_allclose(u1, [1.0], rtol=1e-6)
        np.testing.assert_allclose(u2, [m_hat / np.sqrt(v_hat)], rtol=1e-5)
        self.assertEqual(int(state.count), 2)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("inside", 0.0, 1e-8, 0.70710678), ("outside", 1e-8, 0.0, 0.99990001))
    def test_eps_placement_with_a_tiny_gradient(self, eps, eps_root, expected):
        # docs/tutorial_claims.rst, P8: one step with g = 1e-4 has m_hat = g, v_hat = g^2, so the
        # direction is g / sqrt(g^2 + 1e-8) = 1/sqrt(2) inside, g / (g + 1e-8) outside.
        tx = jos.scale_by_adam(eps=eps, eps_root=eps_root)
        u, _ = self.variant(tx.update)(jnp.asarray([1e-4]), tx.init(jnp.zeros(1)))
        np.testing.assert_allclose(u, [expected], rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_amsgrad_keeps_the_largest_second_moment(self):
        tx = jos.scale_by_amsgrad(b1=0.0, b2=0.5, eps=0.0)
        update = self.variant(tx.update)
        state = tx.init(jnp.zeros(1))
        _, state = update(jnp.asarray([4.0]), state)  # v_hat = 16
        u, state = update(jnp.asarray([1.0]), state)  # v_hat = (8 + .5) / .75 < 16
        np.testing.assert_allclose(state.nu_max, [16.0], rtol=1e-6)
        np.testing.assert_allclose(u, [1.0 / 4.0], rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_adamax_uses_the_decayed_max(self):
        tx = jos.scale_by_adamax(b1=0.0, b2=0.5, eps=0.0)
        update = self.variant(tx.update)
        state = tx.init(jnp.zeros(1))
        _, state = update(jnp.asarray([4.0]), state)
        u, state = update(jnp.asarray([1.0]), state)  # u = max(0.5 * 4, 1) = 2
        np.testing.assert_allclose(state.nu, [2.0])
        np.testing.assert_allclose(u, [0.5])

    @chex.variants(with_jit=True, without_jit=True)
    def test_lion_interpolates_before_the_sign(self):
        # m = 0.01 * 10 = 0.1 after g = 10; then g = -1: 0.9 * 0.1 + 0.1 * -1 = -0.01 < 0.
        tx = jos.scale_by_lion()
        update = self.variant(tx.update)
        state = tx.init(jnp.zeros(1))
        u, state = update(jnp.asarray([10.0]), state)
        np.testing.assert_array_equal(u, [1.0])
        u, state = update(jnp.asarray([-1.0]), state)
        np.testing.assert_array_equal(u, [-1.0])
        np.testing.assert_allclose(state.mu, [0.99 * 0.1 - 0.01], rtol=1e-6)


@jax.jit
def _first_directions(g, c):
    tx = jos.scale_by_adam(eps=0.0)
    return tx.update(g, tx.init(g))[0], tx.update(c * g, tx.init(g))[0]


@given(g=hnp.arrays(np.float32, (3,), elements=st.floats(2.0**-6, 2.0**10, width=32)),
       signs=hnp.arrays(np.bool_, (3,)), c=st.floats(2.0**-10, 2.0**10, width=32))
def test_first_adam_direction_is_sign_at_any_scale(g, signs, c):
    g = np.where(signs, g, -g)
    u, u_scaled = _first_directions(jnp.asarray(g), jnp.float32(c))
    chex.assert_trees_all_close(u, np.sign(g), rtol=1e-5)  # m_hat / |m_hat|, rounded
    chex.assert_trees_all_close(u_scaled, u, rtol=1e-5)


class StateAndDtypeTest(chex.TestCase):

    @parameterized.named_parameters(*FACTORIES.items())
    def test_bfloat16_moments_are_float32_and_updates_bfloat16(self, make):
        tx = make()
        params = _problems.nested_params(jnp.bfloat16)
        state = tx.init(params)
        self.assertEqual(state.count.dtype, jnp.int32)
        for leaf in jax.tree.leaves(state.mu):
            self.assertEqual(leaf.dtype, jnp.float32)
        u, _ = jax.jit(tx.update)(_problems.nested_grad(params), state)
        for leaf in jax.tree.leaves(u):
            self.assertEqual(leaf.dtype, jnp.bfloat16)

    @parameterized.named_parameters(*FACTORIES.items())
    def test_count_saturates_at_int32_max(self, make):
        tx = make()
        params = _problems.nested_params()
        top = np.iinfo(np.int32).max
        state = tx.init(params)._replace(count=jnp.asarray(top - 1, jnp.int32))
        update = jax.jit(tx.update)
        for _ in range(3):
            u, state = update(_problems.nested_grad(params), state)
            self.assertTrue(all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u)))
        self.assertEqual(int(state.count), top)  # not wrapped to a negative count
        self.assertEqual(state.count.dtype, jnp.int32)

    def test_float64_under_x64_matches_the_oracle_to_float64_precision(self):
        with jax.enable_x64(True):
            params = _problems.nested_params(jnp.float64)
            tx = jos.chain(jos.scale_by_adam(nesterov=True, **ND), jos.scale(-LR))
            ours, state = jax.jit(
                lambda p: _problems.scan_run(tx, p, _problems.nested_grad, 20))(params)
            for leaf in jax.tree.leaves(ours) + jax.tree.leaves(state[0].nu):
                self.assertEqual(leaf.dtype, jnp.float64)
            ref = R.run(R.Chain(R.Adam(nesterov=True, **ND), R.Scale(-LR)),
                        _problems.np_leaves(params), _problems.np_grad, 20)
            for got, want in zip(_problems.np_leaves(ours), ref):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


class ErrorTest(chex.TestCase):

    @parameterized.named_parameters(
        ("adam_b1", jos.scale_by_adam, {"b1": 1.0}, "b1"),
        ("adam_b2", jos.scale_by_adam, {"b2": -0.1}, "b2"),
        ("adam_eps", jos.scale_by_adam, {"eps": -1.0}, "eps"),
        ("adam_eps_root", jos.scale_by_adam, {"eps_root": -1.0}, "eps_root"),
        ("amsgrad_b1", jos.scale_by_amsgrad, {"b1": float("nan")}, "b1"),
        ("amsgrad_eps_root", jos.scale_by_amsgrad, {"eps_root": -1.0}, "eps_root"),
        ("adamax_b2", jos.scale_by_adamax, {"b2": 1.0}, "b2"),
        ("adamax_eps", jos.scale_by_adamax, {"eps": -1.0}, "eps"),
        ("lion_b1", jos.scale_by_lion, {"b1": 1.5}, "b1"),
        ("lion_b2", jos.scale_by_lion, {"b2": 1.0}, "b2"),
    )
    def test_out_of_range_raises_naming_the_argument(self, make, kwargs, name):
        with pytest.raises(ValueError, match=rf"`{name}` must lie in .*got"):
            make(**kwargs)

    @parameterized.named_parameters(*FACTORIES.items())
    def test_traced_out_of_range_values_never_raise(self, make):
        def f(b):
            tx = make(b1=b, b2=b)
            return tx.update(jnp.ones(2), tx.init(jnp.ones(2)))[0]

        jax.jit(f)(jnp.float32(1.0))
        jax.vmap(f)(jnp.asarray([-1.0, 2.0]))

    @parameterized.named_parameters(*FACTORIES.items())
    def test_structure_mismatch_names_the_transform_and_shows_both(self, make):
        tx = make()
        state = tx.init({"a": jnp.ones(2), "b": None})
        with pytest.raises(ValueError, match=rf"`scale_by_{make.__name__[9:]}`: the updates tree.*"
                                             r"\n  updates: PyTreeDef\(\[\*\]\)"
                                             r"\n  state: +PyTreeDef\(\{'a': \*, 'b': None\}\)"):
            tx.update([jnp.ones(2)], state)


class VmapTest(chex.TestCase):
    """Every numeric hyperparameter batched at once (one compilation per transform)."""

    @parameterized.named_parameters(
        ("adam", jos.scale_by_adam,
         {"b1": [0.0, 0.5, 0.9], "b2": [0.9, 0.99, 0.999], "eps": [1e-8, 1e-3, 1e-1],
              "eps_root": [0.0, 1e-6, 1e-2]}),
        ("nadam", lambda **kw: jos.scale_by_adam(nesterov=True, **kw),
         {"b1": [0.5, 0.9], "b2": [0.9, 0.999]}),
        ("amsgrad", jos.scale_by_amsgrad,
         {"b1": [0.0, 0.5, 0.9], "b2": [0.9, 0.99, 0.999], "eps": [1e-8, 1e-3, 1e-1],
              "eps_root": [0.0, 1e-6, 1e-2]}),
        ("adamax", jos.scale_by_adamax, {"b1": [0.0, 0.9], "b2": [0.5, 0.999], "eps": [1e-8, 1e-1]}),
        # With unit steps Lion's signs would not depend on b1, b2 within 4 steps.
        ("lion", lambda **kw: jos.chain(jos.scale_by_lion(**kw), jos.scale(-0.3)),
         {"b1": [0.0, 0.9, 0.99], "b2": [0.5, 0.9, 0.99]}),
    )
    def test_vmap_matches_loop(self, make, values):
        _problems.assert_vmap_matches_loop(self, make, values)


def _optax_lion_smooth():
    return _with_lr(optax.scale_by_lion(b1=0.5, mode="smooth", smooth_beta=3.0))


def _optax_lion_refined():
    return _with_lr(optax.scale_by_lion(mode="refined"))


class LionModesTest(chex.TestCase):

    @chex.variants(with_jit=True)
    @parameterized.named_parameters(
        ("smooth", {"b1": 0.5, "mode": "smooth", "smooth_beta": 3.0}, _optax_lion_smooth),
        ("refined", {"mode": "refined"}, _optax_lion_refined))
    def test_matches_optax_over_50_steps(self, kwargs, theirs):
        tx = jos.chain(jos.scale_by_lion(**kwargs), jos.scale(-LR))
        _problems.check_parity(self, self.variant, tx, optax_key=f"lion {theirs.__name__}",
                               optax_build=theirs)

    @chex.variants(with_jit=True, without_jit=True)
    def test_first_step_shapes_by_hand(self):
        g = jnp.asarray([0.5, -30.0, 0.0])  # first step: x = (1 - b1) g = 0.1 g
        for mode, want in (("hard", [1.0, -1.0, 0.0]),
                           ("smooth", np.tanh(2.0 * np.asarray([0.05, -3.0, 0.0]))),
                           ("refined", [0.05, -1.0, 0.0])):
            tx = jos.scale_by_lion(mode=mode, smooth_beta=2.0)
            u, _ = self.variant(tx.update)(g, tx.init(jnp.zeros(3)))
            np.testing.assert_allclose(u, want, rtol=1e-6, err_msg=mode)

    def test_vmap_over_smooth_beta_matches_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda beta: jos.chain(jos.scale_by_lion(mode="smooth", smooth_beta=beta),
                                         jos.scale(-0.3)), [0.5, 2.0, 8.0])

    def test_unknown_mode_raises_naming_it(self):
        with pytest.raises(ValueError, match="`mode`.*'soft'"):
            jos.scale_by_lion(mode="soft")
