r"""``jos.minimize``: run any optimizer to a gradient-norm tolerance in one jitted ``while_loop``.

The answer to ``scipy.optimize.minimize`` for JAX: one compiled program per
objective, and since the loop is a ``lax.while_loop`` of traced values,
``jax.vmap`` turns it into a solver of many independent problems at once.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import update as _update
from jaxopt_scratch._engine import extra_args as _extra_args
from jaxopt_scratch._engine import loop as _loop
from jaxopt_scratch._transforms import linesearch as _linesearch
from jaxopt_scratch._transforms import zoom_linesearch as _zoom

_RUNNING, CONVERGED, MAX_ITER, NOT_FINITE, NO_PROGRESS = -1, 0, 1, 2, 3
MESSAGES = {
    CONVERGED: "Converged: the gradient norm is at most `tol`.",
    MAX_ITER: "Stopped: `max_iter` iterations ran before the gradient norm reached `tol`.",
    NOT_FINITE: "Stopped: the objective or its gradient became NaN or infinite at the next "
                "iterate; `x` is the last finite one.",
    NO_PROGRESS: "Stopped: two iterations in a row left `x` unchanged, the second from a "
                 "fresh optimizer state (no decrease found at the float resolution of `x`).",
}


class MinimizeResult(NamedTuple):
    """What :func:`minimize` returns (batched along axis 0 under ``jax.vmap``)."""

    x: _base.Params  # the solution (the last finite iterate)
    fun: jax.Array  # the objective at `x`
    grad: _base.Params  # its gradient at `x` (scipy's `jac`)
    grad_norm: jax.Array  # the global 2-norm of `grad`
    num_iter: jax.Array  # iterations (optimizer updates) done, int32
    num_fun_evals: jax.Array  # evaluations of the objective (with its gradient), int32
    success: jax.Array  # the gradient norm reached `tol`
    status: jax.Array  # int32 code: 0 converged, 1 max_iter, 2 not finite, 3 no progress

    @property
    def message(self) -> str | np.ndarray:
        """The ``status`` as a sentence (an array of sentences for a batched result)."""
        status = np.asarray(self.status)
        texts = np.vectorize(MESSAGES.__getitem__, otypes=[object])(status)
        return str(texts) if status.ndim == 0 else texts


def _alias_modules():
    for package in ("jaxopt_scratch._optimizers", "jaxopt_scratch._contrib"):
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                yield importlib.import_module(f"{package}.{info.name}")


@functools.cache
def method_names() -> dict[str, Callable[..., _base.GradientTransformation]]:
    """Every optimizer alias of the library by name (what ``method=`` accepts as a string)."""
    found = {}
    for module in _alias_modules():
        for name, fn in vars(module).items():
            if (inspect.isfunction(fn) and fn.__module__ == module.__name__
                    and not name.startswith("_")):
                found[name] = fn
    return found


def _make(method: str, options: dict) -> _base.GradientTransformation:
    factories = method_names()
    if method not in factories:
        raise ValueError(
            f"`method` must be a gradient transformation or the name of one of the library's "
            f"optimizers, got {method!r}. Names: {', '.join(sorted(factories))}."
        )
    if method == "lbfgs" and "linesearch" not in options:
        options = {**options, "linesearch": _zoom.scale_by_zoom_linesearch(
            max_linesearch_steps=20, initial_guess_strategy="one", interpolation="hermite")}
    return factories[method](**options)


@functools.lru_cache(maxsize=64)
def _make_cached(method: str, options: tuple) -> _base.GradientTransformation:
    # The same (method, options) gives the same transform object, so the compiled
    # solver (cached on it) is reused across calls.
    return _make(method, dict(options))


def _optimizer(method: Any, options: dict) -> _base.GradientTransformation:
    if not isinstance(method, str):
        if options:
            raise TypeError(
                f"Options {sorted(options)} are for a `method` given by name; `method` is already "
                f"a transform. Configure it directly (for example `jos.lbfgs(memory_size=5)`)."
            )
        _combine.check_transform(method, "`method`", example="jos.lbfgs()")
        return method
    items = tuple(sorted(options.items()))
    if all(isinstance(v, Hashable) and not isinstance(v, jax.Array) for _, v in items):
        try:
            return _make_cached(method, items)
        except TypeError:  # an unhashable value inside a tuple
            pass
    return _make(method, options)


def _as_float(x0: Any) -> Any:
    def leaf(x):
        x = jnp.asarray(x)
        return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(_tree_math.float_dtype())

    return jax.tree.map(leaf, x0)


def _solve(fun, tx, max_iter, x0, tol, args):
    def value_fn(x):
        value = fun(x, *args)
        if jnp.shape(value) != ():
            raise ValueError(
                f"`fun` must return a scalar, got shape {jnp.shape(value)}. Reduce it (for "
                f"example with `jnp.sum` or `jnp.mean`)."
            )
        return value

    state = tx.init(x0)
    value, grad = jax.value_and_grad(value_fn)(x0)
    norm = _tree_math.global_norm(grad)
    tol = jnp.asarray(tol, norm.dtype)
    finite = jnp.isfinite(value) & jnp.isfinite(norm)
    status = jnp.where(~finite, NOT_FINITE, jnp.where(norm <= tol, CONVERGED, _RUNNING))
    status = jnp.where((status == _RUNNING) & (max_iter == 0), MAX_ITER, status)
    one = jnp.ones([], jnp.int32)
    carry = (x0, state, value, grad, norm, 0 * one, one, jnp.zeros([], bool),
             status.astype(jnp.int32))

    def body(carry):
        x, state, value, grad, norm, k, evals, restarted, _ = carry
        updates, new_state = _extra_args.update(tx, grad, state, x, value=value,
                                                value_fn=value_fn)
        new_x = _update.apply_updates(x, updates)
        new_value, new_grad, fresh = _extra_args.value_and_grad(value_fn, new_x, new_state,
                                                                reuse=True)
        new_value = jnp.asarray(new_value).astype(value.dtype)
        new_grad = _tree_math.cast_like(new_grad, grad)
        new_norm = _tree_math.global_norm(new_grad)
        evals = evals + fresh.astype(jnp.int32) + _linesearch.num_linesearch_evals(new_state)
        k = k + 1
        finite = jnp.isfinite(new_value) & jnp.isfinite(new_norm)
        moved = jnp.any(jnp.stack([jnp.any(a != b) for a, b in zip(
            jax.tree.leaves(new_x), jax.tree.leaves(x))] or [jnp.zeros([], bool)]))
        # An iteration that cannot move (its line search found no decrease, typically
        # because the memory's curvature pairs are rounding noise) is retried once from a
        # fresh optimizer state, as SciPy's L-BFGS-B does; a second failure stops.
        restart = ~moved & ~restarted
        new_state = jax.tree.map(lambda a, b: jnp.where(restart, a, b), tx.init(new_x),
                                 new_state)
        status = jnp.where(
            ~finite, NOT_FINITE, jnp.where(
                new_norm <= tol, CONVERGED, jnp.where(
                    ~moved & restarted, NO_PROGRESS,
                    jnp.where(k >= max_iter, MAX_ITER, _RUNNING))))
        # A non-finite iterate is not taken: the result is the last finite point.
        new = jax.tree.map(lambda a, b: jnp.where(finite, a, b),
                           (new_x, new_value, new_grad, new_norm), (x, value, grad, norm))
        return (new[0], new_state, new[1], new[2], new[3], k, evals, restart,
                status.astype(jnp.int32))

    x, _, value, grad, norm, k, evals, _, status = jax.lax.while_loop(
        lambda c: c[-1] == _RUNNING, body, carry)
    return MinimizeResult(x=x, fun=value, grad=grad, grad_norm=norm, num_iter=k,
                          num_fun_evals=evals, success=status == CONVERGED, status=status)


_solve_jit = jax.jit(_solve, static_argnames=("fun", "tx", "max_iter"))


def minimize(
    fun: Callable[..., jax.Array],
    x0: _base.Params,
    *,
    method: str | _base.GradientTransformation = "lbfgs",
    tol: jax.typing.ArrayLike = 1e-5,
    max_iter: int = 1000,
    args: tuple = (),
    **options: Any,
) -> MinimizeResult:
    r"""Minimizes ``fun`` from ``x0`` until the gradient norm is at most ``tol``.

    .. math::

        x_{k+1} = x_k + u_k, \quad (u_k, s_{k+1}) = \mathrm{update}(\nabla f(x_k), s_k, x_k),
        \qquad \text{until } \|\nabla f(x_k)\|_2 \le \mathrm{tol}

    One jitted ``lax.while_loop``. The optimizer's ``update`` receives
    ``value``, ``grad`` and ``value_fn`` (needed by :func:`lbfgs`,
    :func:`polyak_sgd` and the line searches); when a line search already
    evaluated the objective at the new iterate, that evaluation is reused.

    It composes with ``jax.vmap``: ``jax.vmap(lambda x0: jos.minimize(f, x0).x)(starts)``
    solves every start in one program, each stopping at its own tolerance (a
    finished problem keeps its values while the others go on); so do batched
    ``args`` (many data sets) and traced ``tol`` or optimizer hyperparameters.

    Args:
        fun: The objective, ``fun(x, *args) -> scalar``. The compiled solver is
            cached on ``fun``: pass the same function object to reuse it.
        x0: The initial point, a pytree of arrays (integers are made float).
        method: An optimizer: a name such as ``"lbfgs"`` (any alias of the
            library: ``"adam"``, ``"polyak_sgd"``, ...; ``options`` are its
            arguments) or a :class:`GradientTransformation`. ``"lbfgs"`` is
            :func:`lbfgs` whose zoom line search interpolates Hermite cubics
            (``interpolation="hermite"``, fewer evaluations than optax's
            default; pass ``linesearch=`` to choose another).
        tol: Stop when the global 2-norm of the gradient is at most this (may be
            traced). SciPy's L-BFGS-B ``gtol`` bounds the max-norm instead, a
            weaker test.
        max_iter: Static cap on the iterations (optimizer updates).
        args: Extra arguments of ``fun`` (traced; batch them under ``vmap``).
        **options: Arguments of the optimizer named by ``method`` (for example
            ``memory_size=5``, or ``learning_rate=0.1`` for ``"adam"``).

    Returns:
        A :class:`MinimizeResult`: ``x``, ``fun``, ``grad``, ``grad_norm``,
        ``num_iter``, ``num_fun_evals``, ``success``, ``status`` and the
        ``message`` property (the status as text).

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def rosenbrock(x):
        ...     return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        >>> result = jos.minimize(rosenbrock, jnp.zeros(10))
        >>> print(result.x.round(4), bool(result.success), result.message)
        [1. 1. 1. 1. 1. 1. 1. 1. 1. 1.] True Converged: the gradient norm is at most `tol`.
        >>> starts = jnp.array([[-1.2, 1.0], [2.0, -1.0], [0.0, 0.0]])
        >>> batch = jax.vmap(lambda x0: jos.minimize(rosenbrock, x0))(starts)
        >>> print(batch.x.round(4).tolist(), batch.success.tolist())
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]] [True, True, True]

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithm 7.5,
        the L-BFGS loop); SciPy's ``scipy.optimize.minimize`` (the result's names).
    """
    _checks.check_callable("fun", fun, "a function of the parameters returning a scalar")
    _loop.check_count("max_iter", max_iter, 0)
    if not isinstance(args, tuple):
        raise TypeError(f"`args` must be a tuple of extra arguments of `fun`, got {args!r}.")
    tx = _optimizer(method, options)
    return _solve_jit(fun, tx, max_iter, _as_float(x0), tol, args)
