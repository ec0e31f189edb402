r"""Line searches, part 2: the zoom search for a step satisfying the strong Wolfe conditions.

Nocedal & Wright's Algorithm 3.5 brackets an acceptable step by growing a
trial step; Algorithm 3.6 ("zoom") then shrinks the bracket by safeguarded
cubic or quadratic interpolation, or bisection. Both phases run in one
``lax.while_loop`` whose body evaluates the objective and its gradient once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import linesearch as _linesearch


class ZoomLinesearchInfo(NamedTuple):
    """What the last zoom search did (for diagnostics).

    A positive ``curvature_error`` is benign (often a ``max_learning_rate`` too
    small to reach the curvature condition); a positive ``decrease_error``
    means the accepted step does not decrease the objective enough.
    """

    num_linesearch_steps: jax.Array  # objective evaluations in the last search (int32 scalar)
    decrease_error: jax.Array  # sufficient-decrease violation at the accepted step (0 = met)
    curvature_error: jax.Array  # curvature-condition violation at the accepted step (0 = met)


class ScaleByZoomLinesearchState(NamedTuple):
    """State of :func:`scale_by_zoom_linesearch`."""

    learning_rate: jax.Array  # the accepted step size (the next guess with "keep")
    value: jax.Array  # objective at the accepted point (inf before the first step)
    grad: _base.Updates  # gradient at the accepted point, shaped like params
    info: ZoomLinesearchInfo  # diagnostics of the last search


class _Point(NamedTuple):
    """A step size with the objective's value and slope there."""

    step: jax.Array
    value: jax.Array
    slope: jax.Array


class _Search(NamedTuple):
    """Carry of the search loop."""

    count: jax.Array  # evaluations so far
    trial: _Point  # the last evaluated step
    grad: Any  # the gradient at `trial`
    decrease_error: jax.Array
    curvature_error: jax.Array
    bracketed: jax.Array  # phase 2 (zoom) once a bracket [low, high] is known
    done: jax.Array  # both conditions hold at `trial`
    failed: jax.Array  # out of evaluations, or the bracket collapsed
    low: _Point  # the bracket end with the lower value (not necessarily the smaller step)
    high: _Point  # the other end
    ref: _Point  # the previous `low` or `high`: the third point of the cubic fit
    safe: _Point  # best step found that meets sufficient decrease (step 0 if none)
    safe_grad: Any


def _select(pred: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _cubic_minimizer(p: _Point, q: _Point, r: _Point) -> jax.Array:
    r"""The stationary point of the cubic through ``p`` (value and slope), ``q`` and ``r``.

    With :math:`d = t - a`: :math:`c(t) = f_a + f'_a d + B d^2 + A d^3`. NaN when
    the cubic has no minimum (the caller then falls back).
    """
    db, dc = q.step - p.step, r.step - p.step
    rb = q.value - p.value - p.slope * db
    rc = r.value - p.value - p.slope * dc
    det = (db * dc) ** 2 * (db - dc)
    a = (dc**2 * rb - db**2 * rc) / det
    b = (db**3 * rc - dc**3 * rb) / det
    return p.step + (-b + jnp.sqrt(b * b - 3 * a * p.slope)) / (3 * a)


def _hermite_minimizer(p: _Point, q: _Point) -> jax.Array:
    r"""The minimizer of the cubic matching values and slopes at ``p`` and ``q`` (N&W 3.59)."""
    d1 = p.slope + q.slope - 3 * (p.value - q.value) / (p.step - q.step)
    d2 = jnp.sign(q.step - p.step) * jnp.sqrt(d1**2 - p.slope * q.slope)
    return q.step - (q.step - p.step) * (q.slope + d2 - d1) / (q.slope - p.slope + 2 * d2)


def _quadratic_minimizer(p: _Point, q: _Point) -> jax.Array:
    """The stationary point of the parabola through ``p`` (value and slope) and ``q``."""
    d = q.step - p.step
    curvature = (q.value - p.value - p.slope * d) / d**2
    return p.step - p.slope / (2 * curvature)


def _inside(t: jax.Array, lo: jax.Array, hi: jax.Array, margin: jax.Array) -> jax.Array:
    return (t > lo + margin) & (t < hi - margin)


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: jax.typing.ArrayLike | None = None,
    tol: jax.typing.ArrayLike = 0.0,
    increase_factor: jax.typing.ArrayLike = 2.0,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    curv_rtol: jax.typing.ArrayLike = 0.9,
    approx_dec_rtol: jax.typing.ArrayLike | None = 1e-6,
    stepsize_precision: jax.typing.ArrayLike = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
    *,
    interpolation: str = "three_point",
) -> _base.GradientTransformationExtraArgs:
    r"""Scales the direction by a step satisfying the strong Wolfe conditions (zoom search).

    With :math:`f` the objective, :math:`w` the params, :math:`u` the incoming
    direction and :math:`s_0 = \langle u, \nabla f(w)\rangle < 0` its slope, the
    accepted step :math:`\eta` satisfies, up to the tolerance :math:`\epsilon`:

    .. math::

        f(w + \eta u) &\le f(w) + c_1\, \eta\, s_0 \qquad\text{(sufficient decrease)} \\
        |\langle \nabla f(w + \eta u), u\rangle| &\le c_2\, |s_0| \qquad\text{(curvature)}

    Near a minimum, where :math:`f(w + \eta u) \le f(w) + c_3 |f(w)|`, the
    decrease condition may instead be met by Hager & Zhang's approximate form
    :math:`\langle \nabla f(w + \eta u), u\rangle \le (2 c_1 - 1) s_0`, which
    float round-off cannot defeat. The output is :math:`\eta u`.

    Phase 1 tries :math:`\eta_0` (1, or the previous step with ``"keep"``) and
    multiplies it by ``increase_factor`` until a bracket is found; phase 2
    shrinks the bracket by cubic interpolation (kept if it falls in the middle
    60% of the bracket), else quadratic (middle 80%), else bisection. If the
    evaluations run out, or the bracket shrinks below ``stepsize_precision``,
    the best step meeting sufficient decrease is taken.

    ``update`` takes the keyword arguments ``value`` (:math:`f(w)`), ``grad``
    (:math:`\nabla f(w)`) and ``value_fn`` (:math:`f`); any other keyword
    argument is passed to ``value_fn``. The value and gradient at the accepted
    point are stored in the state for :func:`value_and_grad_from_state`.

    Args:
        max_linesearch_steps: Static cap on the evaluations of the objective per search.
        max_learning_rate: :math:`\eta_{max} > 0`, or ``None`` for no cap.
        tol: :math:`\epsilon \ge 0`.
        increase_factor: Growth of the trial step in phase 1 (``> 1``).
        slope_rtol: :math:`c_1 \in (0, 1)`.
        curv_rtol: :math:`c_2 \in (c_1, 1)`; ``inf`` drops the curvature condition.
        approx_dec_rtol: :math:`c_3 \ge 0`, or ``None`` to use only the exact
            sufficient-decrease condition.
        stepsize_precision: A bracket narrower than this ends the search with the
            best sufficient-decrease step, if there is one.
        initial_guess_strategy: ``"one"`` (for Newton-like directions such as
            L-BFGS's) or ``"keep"`` (the previous step; for gradient directions).
        verbose: Accepted for optax compatibility; nothing is printed.
        interpolation: Keyword-only, static. ``"three_point"`` (optax's and
            SciPy's ``scalar_search_wolfe2``'s choice): the cubic through both
            bracket ends and the previous end, using only the slope at the low
            end; on the first zoom step, which has no third point, it falls
            back to the quadratic. ``"hermite"``: the cubic matching the values
            *and slopes* at both ends (N&W equation 3.59, as in Moré-Thuente),
            which uses the slope already computed at every trial and usually
            needs fewer evaluations (:func:`minimize` uses it).

    Returns:
        A :class:`GradientTransformationExtraArgs` whose state is
        :class:`ScaleByZoomLinesearchState`.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def f(x): return jnp.sum(x ** 2)
        >>> solver = jos.chain(jos.sgd(1.0), jos.scale_by_zoom_linesearch(15))
        >>> params = jnp.array([1.0, 2.0, 3.0])
        >>> state = solver.init(params)
        >>> value, grad = jax.value_and_grad(f)(params)
        >>> updates, state = solver.update(grad, state, params, value=value, grad=grad,
        ...                                value_fn=f)
        >>> print(state[-1].learning_rate, f(jos.apply_updates(params, updates)))
        0.5 0.0

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithms 3.5
        and 3.6, interpolation of Section 3.5). Hager & Zhang, `Algorithm 851:
        CG_DESCENT <https://doi.org/10.1145/1132973.1132979>`_, 2006 (approximate
        Wolfe conditions, equation 23).

    .. note::
        The scalars of the search are at least float32, also for bfloat16 params
        (optax keeps them in the params' dtype).
    """
    _linesearch.check_steps("max_linesearch_steps", max_linesearch_steps, 1)
    if interpolation not in ("three_point", "hermite"):
        raise ValueError(
            f"`interpolation` must be 'three_point' or 'hermite', got {interpolation!r}."
        )
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(
            f"`initial_guess_strategy` must be 'one' or 'keep', got {initial_guess_strategy!r}."
        )
    if max_learning_rate is not None:
        _checks.check_interval("max_learning_rate", max_learning_rate, 0.0, low_open=True)
    _checks.check_nonnegative("tol", tol)
    _checks.check_interval("increase_factor", increase_factor, 1.0, low_open=True)
    _checks.check_interval("slope_rtol", slope_rtol, 0.0, 1.0, low_open=True, high_open=True)
    _checks.check_interval("curv_rtol", curv_rtol, 0.0, low_open=True)
    if approx_dec_rtol is not None:
        _checks.check_nonnegative("approx_dec_rtol", approx_dec_rtol)
    _checks.check_nonnegative("stepsize_precision", stepsize_precision)
    del verbose  # diagnostics live in `state.info`
    who = "scale_by_zoom_linesearch"

    def init_fn(params):
        _tree_math.check_float_params(params)
        dt = _tree_math.scalar_dtype(params)
        inf = jnp.full([], jnp.inf, dt)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.ones([], dt), value=inf,
            grad=jax.tree.map(jnp.zeros_like, params),
            info=ZoomLinesearchInfo(_tree_math.zero_count(), inf, inf),
        )

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        _tree_math.check_params_given(params, who, like=updates)
        for name, arg in (("value", value), ("grad", grad), ("value_fn", value_fn)):
            _linesearch.require_extra_arg(who, name, arg)
        fn_kwargs = _linesearch.split_value_fn_kwargs(who, value_fn, extra_args)
        dt = state.learning_rate.dtype
        c1, c2, eps, grow, precision = (
            jnp.asarray(h, dt)
            for h in (slope_rtol, curv_rtol, tol, increase_factor, stepsize_precision))
        start = _Point(jnp.zeros([], dt), jnp.asarray(value).astype(dt),
                       _linesearch.real_vdot(updates, grad, dt))
        guess = jnp.ones([], dt) if initial_guess_strategy == "one" else state.learning_rate

        def evaluate(step):
            point = _linesearch.step_along(params, step, updates)
            v, g = jax.value_and_grad(value_fn)(point, **fn_kwargs)
            g = _tree_math.cast_like(g, grad)
            return _Point(step, jnp.asarray(v).astype(dt), _linesearch.real_vdot(updates, g, dt)), g

        def errors(p):
            armijo = p.value - start.value - c1 * p.step * start.slope
            if approx_dec_rtol is not None:
                near = p.value - start.value - jnp.asarray(approx_dec_rtol, dt) * jnp.abs(
                    start.value)
                approx = jnp.maximum(p.slope - (2 * c1 - 1) * start.slope, near)
                armijo = jnp.minimum(armijo, approx)
            curvature = jnp.abs(p.slope) - c2 * jnp.abs(start.slope)
            # Only violations count; NaN (outside the domain) is the worst violation.
            return tuple(jnp.where(jnp.isnan(e), jnp.inf, jnp.maximum(e, 0))
                         for e in (armijo, curvature))

        def bracket(s):  # Algorithm 3.5: grow the step until [low, high] holds a good one
            prev = s.trial
            step = jnp.where(s.count == 0, guess, grow * prev.step)
            at_max = jnp.zeros([], bool)
            if max_learning_rate is not None:
                cap = jnp.asarray(max_learning_rate, dt)
                at_max, step = step >= cap, jnp.minimum(step, cap)
            new, g = evaluate(step)
            dec, curv = errors(new)
            good = jnp.maximum(dec, curv) <= eps
            safe, safe_grad = _select(dec <= eps, (new, g), (s.safe, s.safe_grad))
            high_is_new = (dec > 0) | ((new.value >= prev.value) & (s.count > 0))
            low_is_new = (new.slope >= 0) & ~high_is_new
            low, high = _select(low_is_new, (new, prev), (prev, new))
            bracketed = high_is_new | low_is_new | good
            done = good | (at_max & ~bracketed)  # at the cap without a bracket: take the cap
            return _Search(
                count=s.count + 1, trial=new, grad=g, decrease_error=dec, curvature_error=curv,
                bracketed=bracketed, done=done, failed=(s.count + 1 >= max_linesearch_steps) & ~done,
                low=low, high=high, ref=low, safe=safe, safe_grad=safe_grad)

        def zoom(s):  # Algorithm 3.6: shrink [low, high] by safeguarded interpolation
            lo, hi = s.low, s.high
            width = jnp.abs(hi.step - lo.step)
            left, right = jnp.minimum(lo.step, hi.step), jnp.maximum(lo.step, hi.step)
            if interpolation == "hermite":
                cubic = _hermite_minimizer(lo, hi)
            else:
                cubic = _cubic_minimizer(lo, hi, s.ref)
            quad = _quadratic_minimizer(lo, hi)
            use_cubic = _inside(cubic, left, right, 0.2 * width)
            use_quad = ~use_cubic & _inside(quad, left, right, 0.1 * width)
            step = jnp.where(use_cubic, cubic, jnp.where(use_quad, quad, (lo.step + hi.step) / 2))
            new, g = evaluate(step)
            dec, curv = errors(new)
            good = jnp.maximum(dec, curv) <= eps
            safe, safe_grad = _select((dec <= eps) & (new.value < s.safe.value), (new, g),
                                      (s.safe, s.safe_grad))
            high_to_new = (dec > 0) | (new.value >= lo.value)
            high_to_low = (new.slope * (hi.step - lo.step) >= 0) & ~high_to_new
            high = _select(high_to_new, new, _select(high_to_low, lo, hi))
            low = _select(high_to_new, lo, new)
            ref = _select(high_to_new | high_to_low, hi, lo)
            # A collapsed bracket ends the search only once some step decreases enough:
            # very steep objectives need tiny steps.
            stop = (s.count + 1 >= max_linesearch_steps) | ((width <= precision) & (safe.step > 0))
            return _Search(
                count=s.count + 1, trial=new, grad=g, decrease_error=dec, curvature_error=curv,
                bracketed=s.bracketed, done=good, failed=stop & ~good,
                low=low, high=high, ref=ref, safe=safe, safe_grad=safe_grad)

        def fall_back(s):  # out of luck: the best sufficient-decrease step, else the last one
            use_safe = (s.safe.step > 0) | jnp.isinf(s.decrease_error)
            trial, g = _select(use_safe, (s.safe, s.safe_grad), (s.trial, s.grad))
            return s._replace(trial=trial, grad=g)

        def body(s):
            s = jax.lax.cond(s.bracketed, zoom, bracket, s)
            return jax.lax.cond(s.failed, fall_back, lambda x: x, s)

        inf = jnp.full([], jnp.inf, dt)
        false = jnp.zeros([], bool)
        init = _Search(
            count=_tree_math.zero_count(), trial=start, grad=grad, decrease_error=inf,
            curvature_error=inf, bracketed=false, done=false, failed=false,
            low=start, high=start, ref=start, safe=start, safe_grad=grad)
        init = init._replace(grad=_tree_math.cast_like(grad, state.grad),
                             safe_grad=_tree_math.cast_like(grad, state.grad))
        s = jax.lax.while_loop(lambda s: ~(s.done | s.failed), body, init)
        new_state = ScaleByZoomLinesearchState(
            learning_rate=s.trial.step, value=s.trial.value, grad=s.grad,
            info=ZoomLinesearchInfo(s.count, s.decrease_error, s.curvature_error))
        return _tree_math.scale_tree(updates, s.trial.step), new_state

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)

