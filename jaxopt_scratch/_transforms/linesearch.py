r"""Line searches, part 1: what every line search shares, and the backtracking (Armijo) search.

A line search is a transform placed *after* the transform that chooses a
direction :math:`u` (for example :func:`scale_by_lbfgs` followed by
:func:`scale_by_learning_rate`): it evaluates the objective along
:math:`w + \eta u` and returns :math:`\eta u` for an accepted step size
:math:`\eta`. Its ``update`` therefore needs, besides the direction, the
objective's ``value`` and ``grad`` at ``params`` and the objective itself,
``value_fn``; :func:`jos.run <run>` and :func:`jos.minimize <minimize>` pass
them. The zoom (strong Wolfe) search is in ``zoom_linesearch.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._core import tree_utils as _tree_utils
from jaxopt_scratch._core import update as _update

ValueFn = Callable[..., jax.Array]


# --- shared by the line searches and by the engine -------------------------------------------


_MEANING = {
    "value": "the objective at `params`",
    "grad": "the objective's gradient at `params`",
    "value_fn": "the objective itself, a function of the params",
}


def require_extra_arg(who: str, name: str, value: Any) -> None:
    """Raises ``TypeError`` if the extra argument ``name`` of ``who``'s ``update`` is missing."""
    if value is None:
        raise TypeError(
            f"`{who}` needs the extra keyword argument `{name}` ({_MEANING.get(name, name)}): "
            f"call `update(updates, state, params, {name}=...)`. `jos.run`, `jos.sweep` and "
            f"`jos.minimize` pass it for you."
        )


def split_value_fn_kwargs(who: str, value_fn: ValueFn, extra_args: dict[str, Any]) -> dict:
    """The extra arguments that ``value_fn`` takes by name; any other one is a ``TypeError``.

    Data for a stochastic objective travels this way:
    ``update(..., value_fn=loss, x=batch_x, y=batch_y)`` calls ``loss(params, x=..., y=...)``.
    """
    params = inspect.signature(value_fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(extra_args)
    unused = sorted(k for k in extra_args if k not in params)
    if unused:
        raise TypeError(
            f"`{who}.update` got extra keyword arguments {unused} that `value_fn` does not take. "
            f"Pass only the arguments of the objective (its data), or add them to `value_fn`."
        )
    return dict(extra_args)


def find_states(state: Any, *fields: str) -> list[Any]:
    """Every NamedTuple anywhere in ``state`` that has all of ``fields`` (outermost first)."""
    found = []

    def walk(node):
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            if all(f in node._fields for f in fields):
                found.append(node)
            children = [getattr(node, f) for f in node._fields]
        elif isinstance(node, (tuple, list)):
            children = list(node)
        elif isinstance(node, dict):
            children = list(node.values())
        else:
            return
        for child in children:
            walk(child)

    walk(state)
    return found


def stored_value_and_grad(state: Any) -> tuple[Any, Any] | None:
    """The ``(value, grad)`` a line search left in ``state``, or ``None`` if it holds none.

    A line-search state is a NamedTuple with ``value`` and ``grad`` fields (ours
    and optax's); a ``grad`` of ``None`` (backtracking without ``store_grad``)
    does not count.

    Raises:
        ValueError: If ``state`` holds several such states.
    """
    found = [s for s in find_states(state, "value", "grad") if s.grad is not None]
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(
            f"The optimizer state holds {len(found)} line-search states with a `value` and a "
            f"`grad`; reusing the line search's evaluation needs exactly one. Chain one line "
            f"search."
        )
    return found[0].value, found[0].grad


def num_linesearch_evals(state: Any) -> jax.Array:
    """Objective evaluations made by the line searches of ``state`` in their last search."""
    counts = [jnp.asarray(s.num_linesearch_steps).astype(jnp.int32)
              for s in find_states(state, "num_linesearch_steps")]
    return sum(counts, jnp.zeros([], jnp.int32))


def value_and_grad_from_state(value_fn: ValueFn) -> Callable[..., tuple[jax.Array, Any]]:
    r"""Like :func:`jax.value_and_grad`, but reuses the value and gradient a line search stored.

    A line search ends by evaluating the objective and its gradient at the
    accepted point, which is the next iterate. For a deterministic objective
    they are exactly what the next step needs: the returned function takes them
    from ``state`` (the ``value`` and ``grad`` fields of the line search's
    state) and calls ``jax.value_and_grad(value_fn)`` only when the stored
    value is not finite (the first step, whose state holds ``inf``).

    Args:
        value_fn: The objective, ``value_fn(params, *args, **kwargs) -> scalar``.

    Returns:
        ``f(params, *args, state, **kwargs) -> (value, grad)``; ``state`` is keyword-only.

    Raises:
        ValueError: (from the returned function) if ``state`` stores no value or
            gradient (for example a backtracking search without ``store_grad=True``).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def f(x): return jnp.sum(x ** 2)
        >>> solver = jos.lbfgs()
        >>> params = jnp.array([1.0, 2.0, 3.0])
        >>> state = solver.init(params)
        >>> value_and_grad = jos.value_and_grad_from_state(f)
        >>> for _ in range(2):
        ...     value, grad = value_and_grad(params, state=state)
        ...     updates, state = solver.update(grad, state, params, value=value, grad=grad,
        ...                                    value_fn=f)
        ...     params = jos.apply_updates(params, updates)
        >>> print(f"{f(params):.1e}")
        0.0e+00
    """

    def value_and_grad(params, *fn_args, state, **fn_kwargs):
        stored = stored_value_and_grad(state)
        if stored is None:
            raise ValueError(
                "`value_and_grad_from_state`: the optimizer state stores no `value` and `grad`. "
                "Chain a line search that stores them (`scale_by_zoom_linesearch`, or "
                "`scale_by_backtracking_linesearch(..., store_grad=True)`)."
            )
        value, grad = stored
        return jax.lax.cond(
            jnp.isfinite(value),
            lambda p, a, kw: (value, grad),
            lambda p, a, kw: _tree_math.cast_like(
                jax.value_and_grad(value_fn)(p, *a, **kw), (value, grad)),
            params, fn_args, fn_kwargs,
        )

    return value_and_grad


def step_along(params: Any, stepsize: jax.Array, direction: Any) -> Any:
    """``params + stepsize * direction``, rounded exactly as ``apply_updates`` will round it."""
    return _update.apply_updates(params, _tree_math.scale_tree(direction, stepsize))


def real_vdot(a: Any, b: Any, dtype: Any) -> jax.Array:
    """:math:`\\mathrm{Re}\\langle a, b \\rangle` as a scalar of ``dtype``."""
    return jnp.real(jnp.asarray(_tree_utils.vdot(a, b))).astype(dtype)


def check_steps(name: str, value: Any, minimum: int) -> int:
    """An iteration cap: a Python int ``>= minimum`` (it fixes the program, so it is static)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be a Python int >= {minimum} (an iteration cap is static), "
            f"got {value!r}."
        )
    return value


# --- backtracking ----------------------------------------------------------------------------


class BacktrackingLinesearchInfo(NamedTuple):
    """What the last backtracking search did (for diagnostics)."""

    num_linesearch_steps: jax.Array  # objective evaluations in the last search (int32 scalar)
    decrease_error: jax.Array  # Armijo violation at the accepted step; 0 means satisfied


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of :func:`scale_by_backtracking_linesearch`."""

    learning_rate: jax.Array  # the accepted step size, the next search's starting point
    value: jax.Array  # objective at the accepted point (inf before the first step)
    grad: _base.Updates | None  # gradient there if `store_grad`, else None
    info: BacktrackingLinesearchInfo  # diagnostics of the last search


def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    decrease_factor: jax.typing.ArrayLike = 0.8,
    increase_factor: jax.typing.ArrayLike = 1.5,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    atol: jax.typing.ArrayLike = 0.0,
    rtol: jax.typing.ArrayLike = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> _base.GradientTransformationExtraArgs:
    r"""Scales the direction by the largest tried step that decreases the objective enough.

    Starting from :math:`\eta = \min(\gamma_{inc}\, \eta_{prev}, \eta_{max})`, the
    step is multiplied by :math:`\gamma_{dec}` until the sufficient-decrease
    (Armijo) condition holds:

    .. math::

        f(w + \eta u) \le (1 + \delta) f(w) + c\, \eta\, \langle u, \nabla f(w) \rangle
        + \epsilon

    with :math:`c` = ``slope_rtol``, :math:`\delta` = ``rtol`` and
    :math:`\epsilon` = ``atol``. The output is :math:`\eta u`. If no tried step
    gives a finite objective, :math:`\eta = 0` (no move).

    ``update`` takes the keyword arguments ``value`` (:math:`f(w)`), ``grad``
    (:math:`\nabla f(w)`) and ``value_fn`` (:math:`f`); any other keyword
    argument is passed to ``value_fn`` (data of a stochastic objective).

    Args:
        max_backtracking_steps: Static cap: at most this many decreases, so at
            most ``max_backtracking_steps + 1`` evaluations of the objective.
        slope_rtol: :math:`c \in (0, 1)`, the fraction of the linear decrease required.
        decrease_factor: :math:`\gamma_{dec} \in (0, 1)`.
        increase_factor: :math:`\gamma_{inc} \ge 1` applied to the previous step
            for the first trial (``inf`` starts every search at :math:`\eta_{max}`).
        max_learning_rate: :math:`\eta_{max} > 0`.
        atol: :math:`\epsilon \ge 0`.
        rtol: :math:`\delta \ge 0`.
        store_grad: Also compute the gradient at the accepted point and store it
            (for :func:`value_and_grad_from_state`).
        verbose: Accepted for optax compatibility; nothing is printed.

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is
        :class:`ScaleByBacktrackingLinesearchState`.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def f(x): return jnp.sum(x ** 2)
        >>> solver = jos.chain(jos.sgd(1.0), jos.scale_by_backtracking_linesearch(15))
        >>> params = jnp.array([1.0, 2.0, 3.0])
        >>> state = solver.init(params)
        >>> value, grad = jax.value_and_grad(f)(params)
        >>> updates, state = solver.update(grad, state, params, value=value, grad=grad,
        ...                                value_fn=f)
        >>> print(f"{state[-1].learning_rate:.2f} {f(jos.apply_updates(params, updates)):.2f}")
        0.80 5.04

    References:
        Armijo, `Minimization of functions having Lipschitz continuous first
        partial derivatives <https://doi.org/10.2140/pjm.1966.16.1>`_, 1966.
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithm 3.1).

    .. note::
        The scalars of the search (step, value, errors) are at least float32,
        also for bfloat16 params (optax keeps them in the params' dtype).
    """
    check_steps("max_backtracking_steps", max_backtracking_steps, 0)
    _checks.check_interval("slope_rtol", slope_rtol, 0.0, 1.0, low_open=True, high_open=True)
    _checks.check_interval("decrease_factor", decrease_factor, 0.0, 1.0, low_open=True,
                           high_open=True)
    _checks.check_interval("increase_factor", increase_factor, 1.0)
    _checks.check_interval("max_learning_rate", max_learning_rate, 0.0, low_open=True)
    _checks.check_nonnegative("atol", atol)
    _checks.check_nonnegative("rtol", rtol)
    del verbose  # diagnostics live in `state.info`
    who = "scale_by_backtracking_linesearch"

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.ones([], dt),
            value=jnp.full([], jnp.inf, dt),
            grad=jax.tree.map(jnp.zeros_like, params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=_tree_math.zero_count(),
                decrease_error=jnp.full([], jnp.inf, dt),
            ),
        )

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        _tree_math.check_params_given(params, who, like=updates)
        for name, arg in (("value", value), ("grad", grad), ("value_fn", value_fn)):
            require_extra_arg(who, name, arg)
        fn = _bind(value_fn, split_value_fn_kwargs(who, value_fn, extra_args))
        dt = state.learning_rate.dtype
        value = jnp.asarray(value).astype(dt)
        slope = real_vdot(updates, grad, dt)
        c, shrink, atol_, rtol_ = (jnp.asarray(h, dt) for h in (slope_rtol, decrease_factor,
                                                                 atol, rtol))

        def decrease_error(eta, new_value):
            err = new_value - (1 + rtol_) * value - eta * c * slope
            return jnp.maximum(jnp.where(jnp.isnan(err), jnp.inf, err), 0)

        def keep_going(carry):
            _, _, _, err, k = carry
            return ~(err <= atol_) & (k <= max_backtracking_steps)

        def body(carry):
            eta, _, new_grad, _, k = carry
            eta = jnp.where(k > 0, shrink * eta, eta)
            point = step_along(params, eta, updates)
            if store_grad:
                # The gradient only at the point that ends the search: a VJP is
                # recorded at every trial and pulled back once.
                new_value, pullback = jax.vjp(fn, point)
                new_value = new_value.astype(dt)
                err = decrease_error(eta, new_value)
                new_grad = jax.lax.cond(
                    (err <= atol_) | (k == max_backtracking_steps),
                    lambda: _tree_math.cast_like(pullback(jnp.ones_like(new_value))[0], params),
                    lambda: new_grad,
                )
            else:
                new_value = jnp.asarray(fn(point)).astype(dt)
                err = decrease_error(eta, new_value)
            return eta, new_value, new_grad, err, k + 1

        first = jnp.minimum(jnp.asarray(increase_factor, dt) * state.learning_rate,
                            jnp.asarray(max_learning_rate, dt))
        zeros = jax.tree.map(jnp.zeros_like, params) if store_grad else None
        eta, new_value, new_grad, err, k = jax.lax.while_loop(
            keep_going, body, (first, value, zeros, jnp.full([], jnp.inf, dt),
                               _tree_math.zero_count()))
        # No finite trial: do not move (a NaN or inf step would poison the params).
        eta = jnp.where(jnp.isinf(err), jnp.zeros_like(eta), eta)
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=eta, value=new_value, grad=new_grad,
            info=BacktrackingLinesearchInfo(num_linesearch_steps=k, decrease_error=err),
        )
        return _tree_math.scale_tree(updates, eta), new_state

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def _bind(value_fn: ValueFn, kwargs: dict) -> Callable[[Any], jax.Array]:
    if not kwargs:
        return value_fn
    return lambda p: value_fn(p, **kwargs)
