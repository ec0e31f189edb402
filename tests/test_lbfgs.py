"""Tests for jaxopt_scratch/_transforms/lbfgs.py and the alias in _optimizers/lbfgs.py."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

# --- the problems of the parity tests: small, so each compiles quickly -----------------------

_D = jnp.linspace(1.0, 10.0, 5)
_X = jax.random.normal(jax.random.key(0), (40, 5))
_Y = (_X @ jnp.array([1.0, -2.0, 0.5, 0.0, 1.5]) > 0).astype(jnp.float32)


def _quadratic(x):
    return 0.5 * jnp.sum(_D * x**2) - jnp.sum(x)


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _logistic(w):
    z = _X @ w
    return jnp.mean(jnp.logaddexp(0.0, z) - _Y * z) + 0.01 * jnp.sum(w**2)


PROBLEMS = {"quadratic": 0, "rosenbrock": 1, "logistic": 2}
LINESEARCHES = {
    "zoom": (None, None),  # each library's default
    "backtracking": (
        lambda: jos.scale_by_backtracking_linesearch(20, store_grad=True),
        lambda: optax.scale_by_backtracking_linesearch(20, store_grad=True)),
}


def _objective(x, which):
    # One compiled program serves the three problems (a real conditional on `which`):
    # compiling the line searches once per library, not once per problem, keeps the suite fast.
    return jax.lax.switch(which, [_quadratic, _rosenbrock, _logistic], x)


def _iterates(opt, value_and_grad, apply, fun, x0, steps):
    def body(carry, _):
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        x = apply(x, updates)
        return (x, state), x

    return jax.lax.scan(body, (x0, opt.init(x0)), None, length=steps)[1]


@functools.partial(jax.jit, static_argnums=(0, 1))
def _both(linesearch, steps, which, x0):
    def fun(x):
        return _objective(x, which)

    ours, theirs = LINESEARCHES[linesearch]
    ours_tx = jos.lbfgs() if ours is None else jos.lbfgs(linesearch=ours())
    theirs_tx = optax.lbfgs() if theirs is None else optax.lbfgs(linesearch=theirs())
    return (
        _iterates(ours_tx, jos.value_and_grad_from_state(fun), jos.apply_updates, fun, x0, steps),
        _iterates(theirs_tx, optax.value_and_grad_from_state(fun), optax.apply_updates, fun, x0,
                  steps),
    )


class LbfgsParityTest(parameterized.TestCase):
    @parameterized.product(problem=list(PROBLEMS), linesearch=list(LINESEARCHES))
    def test_iterates_match_optax(self, problem, linesearch):
        # Same two-loop recursion, same line-search decisions: the iterates agree up to
        # float32 rounding, which Rosenbrock's curvature amplifies (measured up to 3e-5
        # relative after 15 steps). A different decision in the line search would show as
        # a gap of order 1e-2 or more within these steps.
        ours, theirs = _both(linesearch, 15, PROBLEMS[problem], jnp.zeros(5))
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
        # The iterates move (a test of two frozen trajectories would prove nothing).
        assert float(jnp.max(jnp.abs(ours[-1]))) > 0.1


class ScaleByLbfgsTest(parameterized.TestCase):
    def test_first_direction_is_the_gradient_capped_to_unit_length(self):
        tx = jos.scale_by_lbfgs()
        update = jax.jit(tx.update)
        params = jnp.zeros(2)
        big, state = update(jnp.array([3.0, 4.0]), tx.init(params), params)
        np.testing.assert_allclose(big, [0.6, 0.8], rtol=1e-6)  # g / ||g||, ||g|| = 5
        small, _ = update(jnp.array([0.3, 0.4]), tx.init(params), params)
        np.testing.assert_allclose(small, [0.3, 0.4], rtol=1e-6)  # ||g|| < 1: unscaled
        assert int(state.count) == 1

    @parameterized.parameters(True, False)
    def test_two_loop_recursion_equals_the_bfgs_matrix_recursion(self, scale_init):
        # NumPy oracle: H = V^T H V + rho s s^T over the last m pairs, from gamma * I
        # (Nocedal & Wright, equation 7.19), times the newest gradient.
        rng = np.random.default_rng(0)
        m, dim, steps = 3, 4, 6
        tx = jos.scale_by_lbfgs(memory_size=m, scale_init_precond=scale_init)
        params = [rng.normal(size=dim).astype(np.float32) for _ in range(steps)]
        grads = [rng.normal(size=dim).astype(np.float32) for _ in range(steps)]
        state, update = tx.init(jnp.zeros(dim)), jax.jit(tx.update)
        for k in range(steps):
            direction, state = update(jnp.asarray(grads[k]), state, jnp.asarray(params[k]))
        pairs = [(params[i + 1].astype(np.float64) - params[i], grads[i + 1].astype(np.float64)
                  - grads[i]) for i in range(steps - 1)][-m:]
        s_last, y_last = pairs[-1]
        gamma = s_last @ y_last / (y_last @ y_last) if scale_init else 1.0
        h = gamma * np.eye(dim)
        for s, y in pairs:
            rho = 1 / (y @ s)
            v = np.eye(dim) - rho * np.outer(y, s)
            h = v.T @ h @ v + rho * np.outer(s, s)
        # float32 against float64 through 3 rank-two updates of random (ill-conditioned) pairs.
        np.testing.assert_allclose(direction, h @ grads[-1], rtol=2e-3, atol=1e-4)

    def test_memory_is_at_least_float32_and_updates_keep_the_gradient_dtype(self):
        tx = jos.scale_by_lbfgs(memory_size=2)
        params = jnp.ones(3, jnp.bfloat16)
        state, update = tx.init(params), jax.jit(tx.update)
        assert state.diff_params_memory.dtype == jnp.float32
        assert state.diff_params_memory.shape == (2, 3)
        u, state = update(jnp.ones(3, jnp.bfloat16), state, params)
        u, _ = update(jnp.full(3, 0.5, jnp.bfloat16), state, params - 0.1)
        assert u.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(u)))

    def test_nested_params(self):
        params = {"a": jnp.ones(2), "b": (jnp.ones((2, 2)),)}
        tx = jos.scale_by_lbfgs(memory_size=3)
        u, state = jax.jit(tx.update)(params, tx.init(params), params)
        chex.assert_trees_all_equal_shapes(u, params)
        assert jax.tree.leaves(state.diff_params_memory)[0].shape[0] == 3

    @parameterized.parameters(0, -1, 2.0, True)
    def test_memory_size_must_be_a_positive_int(self, bad):
        with pytest.raises(ValueError, match="`memory_size`"):
            jos.scale_by_lbfgs(memory_size=bad)

    def test_params_are_required(self):
        tx = jos.scale_by_lbfgs()
        with pytest.raises((TypeError, ValueError), match="params"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


class LbfgsAliasTest(parameterized.TestCase):
    def test_without_line_search_it_is_a_fixed_step_quasi_newton_method(self):
        # linesearch=None: no extra arguments needed; on a quadratic the secant pairs make
        # the step exact once the memory spans the space.
        tx = jos.lbfgs(learning_rate=1.0, linesearch=None)

        def step(carry, _):
            x, state = carry
            u, state = tx.update(jax.grad(lambda z: jnp.sum(jnp.array([1.0, 3.0]) * z**2))(x),
                                 state, x)
            return (jos.apply_updates(x, u), state), None

        x = jnp.array([1.0, 1.0])
        (x, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=6))((x, tx.init(x)))
        np.testing.assert_allclose(x, [0.0, 0.0], atol=1e-5)

    def test_missing_extra_arguments_name_the_argument(self):
        tx = jos.lbfgs()
        x = jnp.ones(2)
        # eval_shape: the error is raised while tracing, nothing needs to run.
        with pytest.raises(TypeError, match="`value`"):
            jax.eval_shape(lambda: tx.update(x, tx.init(x), x))
        with pytest.raises(TypeError, match="`value_fn`"):
            jax.eval_shape(lambda: tx.update(x, tx.init(x), x, value=jnp.ones([]), grad=x))
