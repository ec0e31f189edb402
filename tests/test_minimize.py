"""Tests for jaxopt_scratch/_engine/minimize.py (``jos.minimize``), against SciPy's L-BFGS-B."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from absl.testing import parameterized

import jaxopt_scratch as jos


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(200, 10)).astype(np.float32)
_Y = (_X @ _RNG.normal(size=10) + _RNG.normal(size=200) > 0).astype(np.float32)


def _logistic(w):
    z = _X @ w
    return jnp.mean(jnp.logaddexp(0.0, z) - _Y * z) + 0.005 * jnp.sum(w**2)


def _scipy(fun, x0):
    """SciPy's L-BFGS-B in float64 (its native precision), stopping on the gradient only."""
    value_and_grad = jax.jit(jax.value_and_grad(fun))

    def f(x):
        value, grad = value_and_grad(jnp.asarray(x, jnp.float32))
        return float(value), np.asarray(grad, np.float64)

    return scipy.optimize.minimize(f, np.asarray(x0, np.float64), jac=True, method="L-BFGS-B",
                                   options={"gtol": 1e-5, "ftol": 0.0, "maxiter": 3000})


def _scipy_rosenbrock(n):
    return scipy.optimize.minimize(
        scipy.optimize.rosen, np.zeros(n), jac=scipy.optimize.rosen_der, method="L-BFGS-B",
        options={"gtol": 1e-5, "ftol": 0.0, "maxiter": 3000})


class AgainstScipyTest(parameterized.TestCase):
    def test_rosenbrock_10d_needs_no_more_evaluations_than_scipy(self):
        # The criterion: gradient norm < 1e-5 in float32, with at most as many
        # evaluations as SciPy's L-BFGS-B needs for gtol=1e-5 (a max-norm test, weaker).
        ours = jos.minimize(_rosenbrock, jnp.zeros(10))
        theirs = _scipy_rosenbrock(10)
        print(f"rosenbrock 10-D: jos {int(ours.num_iter)} iterations, {int(ours.num_fun_evals)} "
              f"evaluations; SciPy {theirs.nit} iterations, {theirs.nfev} evaluations")
        assert bool(ours.success) and float(ours.grad_norm) < 1e-5
        assert int(ours.num_fun_evals) <= theirs.nfev
        np.testing.assert_allclose(ours.x, theirs.x, atol=1e-5)

    @parameterized.parameters(2, 100)
    def test_rosenbrock_same_minimum(self, n):
        ours = jos.minimize(_rosenbrock, jnp.zeros(n))
        theirs = _scipy_rosenbrock(n)
        print(f"rosenbrock {n}-D: jos {int(ours.num_iter)} iterations, "
              f"{int(ours.num_fun_evals)} evaluations, gradient norm {float(ours.grad_norm):.1e} "
              f"({ours.message}); SciPy {theirs.nit} iterations, {theirs.nfev} evaluations")
        # In 100-D float32 stalls above 1e-5 in gradient norm (the float64 SciPy run
        # reaches it): the minimum agrees to float32's resolution around x = 1. The stall
        # costs the last line searches (up to 20 evaluations each, and one restart).
        np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)
        assert float(ours.fun) < 1e-8
        assert int(ours.num_fun_evals) <= (1.1 if n == 2 else 1.25) * theirs.nfev

    def test_logistic_regression_same_minimum(self):
        ours = jos.minimize(_logistic, jnp.zeros(10))
        theirs = _scipy(_logistic, np.zeros(10))
        print(f"logistic regression: jos {int(ours.num_iter)} iterations, "
              f"{int(ours.num_fun_evals)} evaluations; SciPy {theirs.nit} iterations, "
              f"{theirs.nfev} evaluations")
        assert bool(ours.success)
        # A strongly convex objective: the minimizers agree to float32 gradient noise.
        np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)
        assert int(ours.num_fun_evals) <= theirs.nfev


class BatchedTest(parameterized.TestCase):
    def test_vmap_over_64_starts_equals_the_loop(self):
        starts = jax.random.uniform(jax.random.key(0), (64, 2), minval=-2.0, maxval=2.0)
        batch = jax.vmap(lambda x0: jos.minimize(_rosenbrock, x0))(starts)
        loop = [jos.minimize(_rosenbrock, x0) for x0 in starts]  # one compiled solver, 64 runs
        for field in ("x", "fun", "num_iter", "num_fun_evals", "status"):
            np.testing.assert_array_equal(getattr(batch, field),
                                          np.stack([getattr(r, field) for r in loop]), field)
        assert batch.success.all()
        # Each problem stopped on its own: finished ones were kept while others went on.
        assert len(set(batch.num_iter.tolist())) > 5
        assert list(batch.message[:2]) == [loop[0].message, loop[1].message]

    def test_vmap_over_data_sets_and_tolerances(self):
        # Ridge regressions on 8 data sets, each with its own (traced) tolerance, in one
        # program; the closed form is the oracle. Gradient descent (no line search) keeps
        # the compiled program small; the vmapped L-BFGS is the test above.
        keys = jax.random.split(jax.random.key(1), 8)
        xs = jax.vmap(lambda k: jax.random.normal(k, (30, 3)))(keys)
        ys = jax.vmap(lambda k: jax.random.normal(k, (30,)))(jax.random.split(keys[0], 8))
        tols = jnp.array([1e-1, 1e-5] * 4)

        def ridge(w, x, y):
            return 0.5 * jnp.sum((x @ w - y) ** 2) + 0.5 * jnp.sum(w**2)

        result = jax.vmap(lambda x, y, tol: jos.minimize(
            ridge, jnp.zeros(3), args=(x, y), tol=tol, method="sgd", learning_rate=0.015,
        ))(xs, ys, tols)
        exact = np.stack([np.linalg.solve(x.T @ x + np.eye(3), x.T @ y)
                          for x, y in zip(np.asarray(xs, np.float64), np.asarray(ys, np.float64))])
        assert result.success.all()
        assert (result.grad_norm <= tols).all()
        np.testing.assert_allclose(result.x[1::2], exact[1::2], atol=1e-5)
        assert (result.num_iter[::2] < result.num_iter[1::2]).all()  # looser stops sooner


class StatusTest(parameterized.TestCase):
    def test_max_iter_and_exact_evaluation_count(self):
        calls = []

        def counted(x):
            jax.debug.callback(lambda: calls.append(1))
            return _rosenbrock(x)

        result = jos.minimize(counted, jnp.array([-1.2, 1.0]), max_iter=3)
        jax.effects_barrier()
        assert int(result.num_iter) == 3 and int(result.status) == 1
        assert not bool(result.success) and "max_iter" in result.message
        # Every execution of the objective is counted (initial point, line-search trials;
        # the line search's last trial is reused as the next iterate's evaluation).
        assert len(calls) == int(result.num_fun_evals) > 3

    def test_a_diverging_method_stops_at_the_last_finite_point(self):
        # SGD with a huge step on x^4 overflows in a few steps; x is the last finite iterate.
        result = jos.minimize(lambda x: jnp.sum(x**4), jnp.ones(2), method="sgd",
                              learning_rate=10.0)
        assert int(result.status) == 2 and "NaN" in result.message
        assert bool(jnp.all(jnp.isfinite(result.x))) and np.isfinite(float(result.fun))

    def test_no_progress_after_one_restart(self):
        result = jos.minimize(lambda x: jnp.sum(x**2), jnp.ones(2), method="sgd",
                              learning_rate=0.0)
        # The first stalled iteration restarts from a fresh state; the second stops.
        assert int(result.status) == 3 and int(result.num_iter) == 2
        assert "unchanged" in result.message

    def test_any_optimizer_by_name_or_object(self):
        bowl = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(3)}  # a pytree; an integer leaf

        def loss(p):
            return jnp.sum(p["w"] ** 2) + p["b"] ** 2

        by_name = jos.minimize(loss, bowl, method="adam", learning_rate=0.1, tol=1e-3)
        assert bool(by_name.success) and by_name.x["b"].dtype == jnp.float32
        # SGD takes one evaluation per iteration (the initial one too).
        by_object = jos.minimize(loss, bowl, method=jos.sgd(0.25), tol=1e-3)
        assert bool(by_object.success)
        assert int(by_object.num_fun_evals) == int(by_object.num_iter) + 1
        polyak = jos.minimize(loss, bowl, method="polyak_sgd", tol=1e-3)
        assert bool(polyak.success)

    def test_errors(self):
        with pytest.raises(ValueError, match="`method`.*lbfgs"):
            jos.minimize(_rosenbrock, jnp.zeros(2), method="newton")
        with pytest.raises(TypeError, match="memory_size"):
            jos.minimize(_rosenbrock, jnp.zeros(2), method=jos.lbfgs(), memory_size=3)
        with pytest.raises(ValueError, match="scalar"):
            jos.minimize(lambda x: x**2, jnp.zeros(2))
        with pytest.raises(ValueError, match="`max_iter`"):
            jos.minimize(_rosenbrock, jnp.zeros(2), max_iter=-1)
        with pytest.raises(TypeError, match="`fun`"):
            jos.minimize(None, jnp.zeros(2))
