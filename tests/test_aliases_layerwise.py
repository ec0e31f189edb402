"""Tests for jaxopt_scratch/_optimizers/layerwise.py."""

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

LAMB_ND = {"b1": 0.5, "b2": 0.9, "eps": 1e-3, "eps_root": 1e-5, "weight_decay": 0.1}
LARS_ND = {"weight_decay": 0.1, "trust_coefficient": 0.01, "eps": 1e-3, "momentum": 0.5, "nesterov": True}


def _mask_leaves():
    return [bool(m) for m in jax.tree.leaves(_problems.size_mask(_problems.nested_params()))]


def _optax_lamb():
    return optax.lamb(0.02)


def _optax_lamb_nd():
    return optax.lamb(0.02, mask=_problems.size_mask, **LAMB_ND)


def _optax_lars():
    return optax.lars(0.5)


def _optax_lars_nd():
    return optax.lars(0.5, weight_decay_mask=_problems.size_mask,
                      trust_ratio_mask=_problems.size_mask, **LARS_ND)


PARITY = (
    ("lamb_default", lambda: jos.lamb(0.02), _optax_lamb, lambda: R.lamb(0.02),
     _problems.OPTAX_ADAM),
    ("lamb_non_default", lambda: jos.lamb(0.02, mask=_problems.size_mask, **LAMB_ND),
     _optax_lamb_nd, lambda: R.lamb(0.02, mask=_mask_leaves(), **LAMB_ND), _problems.OPTAX_ADAM),
    ("lars_default", lambda: jos.lars(0.5), _optax_lars, lambda: R.lars(0.5), _problems.OPTAX_PLAIN),
    ("lars_non_default",
     lambda: jos.lars(0.5, weight_decay_mask=_problems.size_mask,
                      trust_ratio_mask=_problems.size_mask, **LARS_ND),
     _optax_lars_nd,
     lambda: R.lars(0.5, weight_decay_mask=_mask_leaves(), trust_ratio_mask=_mask_leaves(),
                    **LARS_ND),
     _problems.OPTAX_PLAIN),
)


class ParityTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*PARITY)
    def test_matches_optax_and_oracle_over_50_steps(self, ours, theirs, oracle, optax_tol):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"layer {theirs.__name__}",
                               optax_build=theirs, optax_tol=optax_tol, oracle=oracle())


class BehaviourTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_lamb_step_length_is_lr_times_param_norm(self):
        tx = jos.lamb(0.1)
        p = {"a": jnp.asarray([3.0, 4.0]), "b": jnp.asarray([0.0, 2.0])}
        g = {"a": jnp.asarray([1.0, 1.0]), "b": jnp.asarray([5.0, -1.0])}
        u, _ = self.variant(tx.update)(g, tx.init(p), p)
        # The trust ratio makes each leaf's step lr * ||theta_leaf||, whatever the gradient.
        np.testing.assert_allclose(np.linalg.norm(u["a"]), 0.1 * 5.0, rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(u["b"]), 0.1 * 2.0, rtol=1e-5)

    @chex.variants(with_jit=True, without_jit=True)
    def test_lars_first_step(self):
        tx = jos.lars(1.0, trust_coefficient=0.5, momentum=0.9)
        p = jnp.asarray([3.0, 4.0])
        u, _ = self.variant(tx.update)(jnp.asarray([0.0, 1.0]), tx.init(p), p)
        np.testing.assert_allclose(u, [0.0, -0.5 * 5.0], rtol=1e-6)  # 0.5 * |p| / |g| * g

    @parameterized.named_parameters(("lamb", lambda: jos.lamb(0.1)), ("lars", lambda: jos.lars(0.1)))
    def test_needs_params(self, make):
        tx = make()
        with pytest.raises(ValueError, match=r"needs the current parameters"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))

    @parameterized.named_parameters(
        ("lamb_eps", lambda: jos.lamb(0.1, eps=-1.0), "eps"),
        ("lamb_weight_decay", lambda: jos.lamb(0.1, weight_decay=-1.0), "weight_decay"),
        ("lars_trust_coefficient", lambda: jos.lars(0.1, trust_coefficient=0.0),
         "trust_coefficient"),
        ("lars_momentum", lambda: jos.lars(0.1, momentum=1.0), "momentum"),
        ("lars_lr", lambda: jos.lars(-0.1), "learning_rate"))
    def test_out_of_range_raises_naming_the_argument(self, make, name):
        with pytest.raises(ValueError, match=rf"`{name}` must lie in"):
            make()


class VmapTest(chex.TestCase):
    """Every numeric hyperparameter of each alias batched at once."""

    @parameterized.named_parameters(
        ("lamb", jos.lamb,
         {"learning_rate": [0.01, 0.05, 0.1], "b1": [0.0, 0.5, 0.9], "b2": [0.9, 0.99, 0.999],
              "eps": [1e-6, 1e-3, 1e-1], "eps_root": [0.0, 1e-6, 1e-2], "weight_decay": [0.0, 0.1, 1.0]}),
        ("lars", lambda **kw: jos.lars(nesterov=True, **kw),
         {"learning_rate": [0.1, 0.5, 1.0], "weight_decay": [0.0, 0.1, 1.0],
              "trust_coefficient": [0.001, 0.01, 0.1], "eps": [0.0, 1e-3, 1.0],
              "momentum": [0.0, 0.5, 0.9]}),
    )
    def test_vmap_matches_loop(self, make, values):
        _problems.assert_vmap_matches_loop(self, make, values)
