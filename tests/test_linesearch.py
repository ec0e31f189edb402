"""Tests for jaxopt_scratch/_transforms/linesearch.py and zoom_linesearch.py."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos


def _bowl(x):
    return jnp.sum(x**2)


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _one_search(tx, fun, x, direction=None):
    """One line search along ``direction`` (default: steepest descent) from ``x``."""
    value, grad = jax.value_and_grad(fun)(x)
    direction = -grad if direction is None else direction
    return tx.update(direction, tx.init(x), x, value=value, grad=grad, value_fn=fun)


@jax.jit
def _zoom_rosenbrock(x):
    return _one_search(jos.scale_by_zoom_linesearch(20), _rosenbrock, x)


@jax.jit
def _hermite_rosenbrock(x):
    return _one_search(jos.scale_by_zoom_linesearch(20, interpolation="hermite"), _rosenbrock, x)


ZOOM = {"three_point": _zoom_rosenbrock, "hermite": _hermite_rosenbrock}


class BacktrackingTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_takes_the_first_geometric_step_with_sufficient_decrease(self):
        x = jnp.array([1.0, 2.0, 3.0])
        tx = jos.scale_by_backtracking_linesearch(15, store_grad=True)
        step, state = self.variant(lambda x: _one_search(tx, _bowl, x))(x)
        # Oracle (Armijo, c = 1e-4): f(x - eta g) = (1 - 2 eta)^2 f(x) must be at most
        # f(x) - c eta |g|^2 = (1 - 4 c eta) f(x), for eta = 1, 0.8, 0.64, ...
        etas = 0.8 ** np.arange(16)
        ok = (1 - 2 * etas) ** 2 <= 1 - 4e-4 * etas
        eta = etas[np.argmax(ok)]
        np.testing.assert_allclose(state.learning_rate, eta, rtol=1e-6)
        assert int(state.info.num_linesearch_steps) == np.argmax(ok) + 1
        assert float(state.info.decrease_error) == 0.0
        new_x = x + step
        np.testing.assert_allclose(step, -eta * 2 * x, rtol=1e-6)
        # The stored value and gradient are those at the accepted point.
        np.testing.assert_allclose(state.value, _bowl(new_x), rtol=1e-6)
        np.testing.assert_allclose(state.grad, 2 * new_x, rtol=1e-6, atol=1e-7)

    def test_without_store_grad_the_state_holds_no_gradient(self):
        tx = jos.scale_by_backtracking_linesearch(5)
        _, state = jax.jit(lambda x: _one_search(tx, _bowl, x))(jnp.ones(2))
        assert state.grad is None
        with pytest.raises(ValueError, match="store_grad=True"):
            jos.value_and_grad_from_state(_bowl)(jnp.ones(2), state=state)

    def test_no_finite_trial_means_no_step(self):
        # The objective is NaN off the starting point: every trial fails, the step is 0.
        def cliff(x):
            return jnp.where(jnp.all(x == 1.0), 2.0, jnp.nan)

        tx = jos.scale_by_backtracking_linesearch(3)
        x = jnp.ones(2)
        step, state = jax.jit(lambda x: _one_search(tx, cliff, x, -jnp.ones(2)))(x)
        np.testing.assert_array_equal(step, [0.0, 0.0])
        assert float(state.learning_rate) == 0.0 and int(state.info.num_linesearch_steps) == 4

    def test_extra_arguments_reach_value_fn_and_unknown_ones_are_named(self):
        def loss(w, x, y):
            return jnp.sum((x @ w - y) ** 2)

        x, y, w = jnp.eye(2), jnp.array([1.0, -1.0]), jnp.zeros(2)
        tx = jos.scale_by_backtracking_linesearch(10)
        value, grad = jax.value_and_grad(loss)(w, x, y)

        def search(**data):
            return tx.update(-grad, tx.init(w), w, value=value, grad=grad, value_fn=loss, **data)

        step, _ = jax.jit(search)(x=x, y=y)
        assert float(loss(w + step, x, y)) < float(value)
        with pytest.raises(TypeError, match=r"\['z'\]"):
            jax.eval_shape(lambda: search(x=x, y=y, z=1))

    @parameterized.parameters(
        {"max_backtracking_steps": -1}, {"max_backtracking_steps": 2.0},
        {"max_backtracking_steps": 5, "decrease_factor": 1.0},
        {"max_backtracking_steps": 5, "slope_rtol": 0.0},
        {"max_backtracking_steps": 5, "max_learning_rate": 0.0},
    )
    def test_bad_arguments_are_named(self, **kwargs):
        bad = [k for k in kwargs if k != "max_backtracking_steps"] or ["max_backtracking_steps"]
        with pytest.raises(ValueError, match=f"`{bad[0]}`"):
            jos.scale_by_backtracking_linesearch(**kwargs)


class ZoomTest(parameterized.TestCase):
    @parameterized.parameters("three_point", "hermite")
    def test_accepted_step_satisfies_the_strong_wolfe_conditions(self, interpolation):
        x = jnp.array([-1.2, 1.0])
        step, state = ZOOM[interpolation](x)
        value, grad = jax.value_and_grad(_rosenbrock)(x)
        direction = -grad
        eta = float(state.learning_rate)
        new_value, new_grad = jax.value_and_grad(_rosenbrock)(x + step)
        slope0 = float(direction @ grad)
        # The conditions, recomputed from scratch (c1 = 1e-4, c2 = 0.9); float32 slack.
        assert float(new_value) <= float(value) + 1e-4 * eta * slope0 + 1e-6
        assert abs(float(direction @ new_grad)) <= 0.9 * abs(slope0) * (1 + 1e-6)
        assert float(state.info.decrease_error) == 0 and float(state.info.curvature_error) == 0
        assert 0 < eta < 1  # the unit step overshoots here: the zoom phase ran
        assert int(state.info.num_linesearch_steps) >= 2
        np.testing.assert_allclose(state.value, new_value, rtol=1e-6)
        np.testing.assert_allclose(state.grad, new_grad, rtol=1e-5)

    def test_interpolations_differ(self):
        x = jnp.array([-1.2, 1.0])
        steps = [float(search(x)[1].learning_rate) for search in ZOOM.values()]
        assert steps[0] != steps[1]

    def test_unbounded_objective_stops_at_the_maximal_step(self):
        # f(x) = -sum(x) decreases forever along the gradient: no bracket exists, the
        # search doubles the step up to max_learning_rate and takes it.
        tx = jos.scale_by_zoom_linesearch(20, max_learning_rate=8.0, initial_guess_strategy="one")
        _, state = jax.jit(lambda x: _one_search(tx, lambda z: -jnp.sum(z), x))(jnp.zeros(2))
        assert float(state.learning_rate) == 8.0
        assert int(state.info.num_linesearch_steps) == 4  # 1, 2, 4, 8

    def test_keep_strategy_iterates_match_optax(self):
        # chain(sgd, zoom) with optax's default "keep": 6 steps on Rosenbrock, both
        # libraries in one compiled program.
        def run(tx, apply, x):
            def body(carry, _):
                x, state = carry
                value, grad = jax.value_and_grad(_rosenbrock)(x)
                updates, state = tx.update(grad, state, x, value=value, grad=grad,
                                           value_fn=_rosenbrock)
                return (apply(x, updates), state), x

            return jax.lax.scan(body, (x, tx.init(x)), None, length=6)[1]

        ours, theirs = jax.jit(lambda x: (
            run(jos.chain(jos.sgd(1.0), jos.scale_by_zoom_linesearch(15)), jos.apply_updates, x),
            run(optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(15)),
                optax.apply_updates, x)))(jnp.array([-1.2, 1.0]))
        # Same decisions, float32 rounding only.
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        assert not np.allclose(ours[-1], ours[0])

    def test_traced_constants_compile_once(self):
        @jax.jit
        @chex.assert_max_traces(n=1)
        def accepted_step(c1, c2, grow):
            tx = jos.scale_by_zoom_linesearch(20, slope_rtol=c1, curv_rtol=c2,
                                              increase_factor=grow)
            return _one_search(tx, _rosenbrock, jnp.array([-1.2, 1.0]))[1].learning_rate

        first = accepted_step(1e-4, 0.9, 2.0)
        second = accepted_step(0.3, 0.1, 3.0)  # a stricter curvature condition: another step
        assert float(first) != float(second)

    @parameterized.parameters(
        ({"max_linesearch_steps": 0}, "max_linesearch_steps"),
        ({"max_linesearch_steps": 5, "initial_guess_strategy": "two"}, "initial_guess_strategy"),
        ({"max_linesearch_steps": 5, "interpolation": "spline"}, "interpolation"),
        ({"max_linesearch_steps": 5, "slope_rtol": 1.5}, "slope_rtol"),
        ({"max_linesearch_steps": 5, "max_learning_rate": -1.0}, "max_learning_rate"),
    )
    def test_bad_arguments_are_named(self, kwargs, name):
        with pytest.raises(ValueError, match=f"`{name}`"):
            jos.scale_by_zoom_linesearch(**kwargs)

    def test_missing_value_fn_is_named(self):
        tx = jos.scale_by_zoom_linesearch(5)
        x = jnp.ones(2)
        with pytest.raises(TypeError, match="`value_fn`.*jos.run"):
            tx.update(x, tx.init(x), x, value=jnp.ones([]), grad=x)


class ValueAndGradFromStateTest(parameterized.TestCase):
    def test_reuses_a_finite_stored_value_and_computes_otherwise(self):
        fn = jos.value_and_grad_from_state(_bowl)
        x = jnp.array([1.0, 2.0])
        stored = jos.ScaleByZoomLinesearchState(
            learning_rate=jnp.ones([]), value=jnp.asarray(7.0), grad=jnp.array([3.0, 4.0]),
            info=jos.ZoomLinesearchInfo(jnp.zeros([], jnp.int32), jnp.zeros([]), jnp.zeros([])))
        # A stored pair (deliberately not f's) comes back as it is, also inside a chain...
        value, grad = fn(x, state=(jos.EmptyState(), stored))
        assert float(value) == 7.0 and grad.tolist() == [3.0, 4.0]
        # ...and an infinite one (before the first step) is recomputed.
        value, grad = jax.jit(lambda s: fn(x, state=s))(stored._replace(value=jnp.asarray(jnp.inf)))
        assert float(value) == 5.0 and grad.tolist() == [2.0, 4.0]

    def test_a_state_without_a_line_search_is_an_error(self):
        with pytest.raises(ValueError, match="stores no `value`"):
            jos.value_and_grad_from_state(_bowl)(jnp.ones(2), state=jos.adam(0.1).init(jnp.ones(2)))
