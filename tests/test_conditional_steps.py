"""Tests for jaxopt_scratch/_wrappers/conditional_steps.py."""

import _problems
import chex
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _every_third_skipped(step):
    return step % 3 != 0


def _optax_transform():
    return optax.chain(optax.conditionally_transform(optax.scale_by_adam(), _every_third_skipped),
                       optax.scale(-0.05))


def _optax_mask():
    return optax.conditionally_mask(optax.sgd(0.05, momentum=0.9), _every_third_skipped)


class ConditionalStepsTest(chex.TestCase):

    @chex.variants(with_jit=True)
    @parameterized.named_parameters(
        ("transform", lambda: jos.chain(
            jos.conditionally_transform(jos.scale_by_adam(), _every_third_skipped),
            jos.scale(-0.05)), _optax_transform, _problems.OPTAX_ADAM),
        ("mask", lambda: jos.conditionally_mask(jos.sgd(0.05, momentum=0.9),
                                                _every_third_skipped),
         _optax_mask, _problems.OPTAX_PLAIN))
    def test_matches_optax_over_50_steps(self, ours, theirs, tol):
        _problems.check_parity(self, self.variant, ours(), optax_key=f"cond {theirs.__name__}",
                               optax_build=theirs, optax_tol=tol)

    @chex.variants(with_jit=True, without_jit=True)
    def test_skipped_steps_pass_through_or_zero_and_keep_the_inner_state(self):
        g = jnp.asarray([1.0, jnp.nan])
        for factory, skipped in ((jos.conditionally_transform, g),
                                 (jos.conditionally_mask, jnp.zeros(2))):
            tx = factory(jos.trace(0.5), lambda step: step == 1)
            update = self.variant(tx.update)
            state = tx.init(jnp.zeros(2))
            u, state = update(g, state)  # step 0: skipped, even the NaN never reaches the state
            np.testing.assert_array_equal(u, skipped)
            np.testing.assert_array_equal(state.inner_state.trace, [0.0, 0.0])
            u, state = update(jnp.ones(2), state)  # step 1: applied
            np.testing.assert_array_equal(u, [1.0, 1.0])
            self.assertEqual(int(state.step), 2)

    def test_state_fields_and_counts_like_optax(self):
        for ours, theirs in ((jos.conditionally_transform, optax.conditionally_transform),
                             (jos.conditionally_mask, optax.conditionally_mask)):
            a = ours(jos.trace(0.5), _every_third_skipped).init(jnp.zeros(2))
            b = theirs(optax.trace(0.5), _every_third_skipped).init(jnp.zeros(2))
            self.assertEqual(a._fields, b._fields)
            self.assertEqual(type(a).__name__, type(b).__name__)

    def test_extra_args_reach_the_condition_only_when_forwarded(self):
        seen = []

        def condition(step, **extra_args):
            seen.append(sorted(extra_args))
            return extra_args.get("go", True)

        for forward in (False, True):
            tx = jos.conditionally_mask(jos.identity(), condition, forward_extra_args=forward)
            u, _ = tx.update(jnp.ones(1), tx.init(jnp.zeros(1)), go=False)
            np.testing.assert_array_equal(u, [0.0] if forward else [1.0])
        self.assertEqual(seen, [[], ["go"]])

    def test_condition_may_close_over_a_traced_threshold_vmap_matches_loop(self):
        _problems.assert_vmap_matches_loop(
            self, lambda start: jos.conditionally_mask(
                jos.sgd(0.1), lambda step: step.astype(jnp.float32) >= start),
            [0.0, 2.0, 3.0])

    def test_errors_name_the_argument(self):
        with pytest.raises(TypeError, match="`should_transform_fn`"):
            jos.conditionally_mask(jos.sgd(0.1), True)
        tx = jos.conditionally_transform(jos.sgd(0.1), lambda step: jnp.ones(2, bool))
        with pytest.raises(TypeError, match="`should_transform_fn` must return a bool scalar"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
        with pytest.raises(TypeError, match="`conditionally_transform` inner"):
            jos.conditionally_transform(None, _every_third_skipped)
