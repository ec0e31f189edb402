"""Shared test fixtures: tiny pytrees, the tutorials' problems P1-P8 with their reference numbers,
runners.

Everything here is test scaffolding. The reference numbers are those of
``docs/tutorial_claims.rst`` (float64 runs of the tutorials' own formulas); they are
facts about the tutorials' code, not outputs of this library.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_scratch as jos

# ---------------------------------------------------------------------------
# A nested pytree with every container kind the library must handle.
# ---------------------------------------------------------------------------


def nested_params(dtype: Any = jnp.float32) -> dict:
    """Dicts, a tuple, a list, 0-d scalars and ``None`` leaves; 14 numbers in all.

    Only two leaf shapes, ``(3,)`` and ``()``: every distinct shape costs an extra
    compilation of each eager operation, and the no-jit variants run eagerly.
    """
    return {
        "dense": {
            "w": jnp.asarray([-1.0, 0.2, 1.2], dtype),
            "b": jnp.asarray([0.3, -0.2, 0.1], dtype),
        },
        "pair": (jnp.asarray([0.5, -1.5, 0.05], dtype), jnp.asarray(0.7, dtype)),
        "stack": [jnp.asarray([1.0, 2.0, -0.6], dtype), None, jnp.asarray(-0.4, dtype)],
        "frozen": None,
    }


def small_params(dtype: Any = jnp.float32) -> dict:
    """Two leaves, a vector and a scalar: for checks whose subject is not the pytree.

    XLA compile time grows with the number of leaves; vmap and trace-count
    checks compile twice per case, so they use this instead of :func:`nested_params`.
    """
    return {"w": jnp.asarray([0.8, -0.3, 1.5], dtype), "s": jnp.asarray(-0.6, dtype)}


def matrix_params(dtype: Any = jnp.float32) -> dict:
    """:func:`small_params` and a 3x2 matrix: for optimizers with matrix-only
    hyperparameters (Muon's orthogonalised momentum, GaLore's projection)."""
    return {**small_params(dtype),
            "m": jnp.asarray([[0.5, -1.0], [0.3, 0.8], [-0.2, 1.1]], dtype)}


def grad_leaf(x: Any, xp: Any = jnp) -> Any:
    """A non-linear, sign-changing gradient: that of ``x^2 - cos(3x)/3``."""
    return 2.0 * x + xp.sin(3.0 * x)


def nested_grad(params: Any) -> Any:
    """:func:`grad_leaf` on every leaf (``None`` leaves stay ``None``)."""
    return jax.tree.map(grad_leaf, params)


def nested_loss(params: Any) -> jax.Array:
    """The loss whose gradient is :func:`nested_grad`, summed over leaves (float32 or 64)."""
    return sum(jnp.sum(x**2 - jnp.cos(3.0 * x) / 3.0).astype(_loss_dtype(x))
               for x in jax.tree.leaves(params))


def _loss_dtype(x: Any) -> Any:
    """float64 for float64 params, else float32 (losses of low-precision params)."""
    return jnp.float64 if x.dtype == jnp.float64 else jnp.float32


def np_leaves(tree: Any) -> list[np.ndarray]:
    """The non-``None`` leaves as float64 NumPy arrays, in tree order."""
    return [np.asarray(x, np.float64) for x in jax.tree.leaves(tree)]


def np_grad(leaves: list[np.ndarray]) -> list[np.ndarray]:
    """:func:`grad_leaf` in float64 NumPy on a list of leaves."""
    return [grad_leaf(x, np) for x in leaves]


def size_mask(params: Any) -> Any:
    """A mask function: True for leaves with at least one axis (weights), False for scalars."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 1, params)


def tiny_params(dtype: Any = jnp.float32) -> dict:
    """Two leaves of two shapes (a vector and a scalar), nested in a dict and a tuple."""
    return {"w": jnp.asarray([0.8, -1.3, 0.4], dtype), "t": (jnp.asarray(-0.6, dtype),)}


def bowl_grad(params: Any) -> Any:
    """Gradient on :func:`tiny_params` of ``sum_i c_i p_i^2 / 2``, curvatures 1..3 along ``w``."""
    return {"w": params["w"] * jnp.asarray([1.0, 2.0, 3.0], params["w"].dtype),
            "t": (params["t"][0],)}


def bowl_loss(params: Any) -> jax.Array:
    """The loss of :func:`bowl_grad`, in float32 (float64 for float64 params)."""
    dt = _loss_dtype(params["w"])
    w, t = params["w"].astype(dt), params["t"][0].astype(dt)
    return 0.5 * (jnp.sum(jnp.asarray([1.0, 2.0, 3.0], dt) * w**2) + t**2)


def float_leaves(tree: Any) -> list:
    """The inexact (float or complex) leaves, as they are (arrays or ``ShapeDtypeStruct``)."""
    return [x for x in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


def all_finite(tree: Any) -> bool:
    """Whether every inexact leaf is finite (no NaN, no Inf)."""
    return all(np.all(np.isfinite(np.asarray(x, np.complex128 if np.iscomplexobj(x)
                                              else np.float64)))
               for x in float_leaves(tree))


def counting(calls: list) -> jos.GradientTransformation:
    """An identity transform that records, at run time, every time it is executed."""

    def f(updates, params):
        del params
        jax.debug.callback(lambda: calls.append(1))
        return updates

    return jos.stateless(f)


# ---------------------------------------------------------------------------
# Runners.
# ---------------------------------------------------------------------------


def scan_run(tx: Any, params: Any, grad_fn: Callable[[Any], Any], steps: int,
             update: Callable | None = None, apply: Callable = jos.apply_updates,
             state: Any = None):
    """``steps`` updates with ``lax.scan`` (trace once); returns ``(params, state)``."""
    update = tx.update if update is None else update
    state = tx.init(params) if state is None else state

    def body(carry, _):
        p, s = carry
        u, s = update(grad_fn(p), s, p)
        return (apply(p, u), s), None

    return jax.lax.scan(body, (params, state), None, length=steps)[0]


def loop_run(tx: Any, params: Any, grad_fn: Callable[[Any], Any], steps: int,
             update: Callable | None = None):
    """``steps`` updates in a Python loop (eager unless ``update`` is jitted)."""
    update = tx.update if update is None else update
    state = tx.init(params)
    for _ in range(steps):
        u, state = update(grad_fn(params), state, params)
        params = jos.apply_updates(params, u)
    return params, state


def run_updates(update: Callable, state: Any, params: Any, grads: Any):
    """One update per entry of ``grads`` in a Python loop, keeping every step's updates.

    Each entry is a gradient tree or a function of the current params that
    returns one. Returns ``(params, state, [updates of each step])``.
    """
    history = []
    for g in grads:
        updates, state = update(g(params) if callable(g) else g, state, params)
        params = jos.apply_updates(params, updates)
        history.append(updates)
    return params, state, history


EAGER_STEPS = 3


def run_variant(variant: Any, tx: Any, params: Any, grad_fn: Callable[[Any], Any], steps: int,
                update: Callable | None = None):
    """Runs ``tx`` for ``steps`` updates under a ``chex.variants`` variant.

    ``with_jit``: all steps in one jitted ``lax.scan`` (catches Python control
    flow on traced values). ``without_jit``: the first :data:`EAGER_STEPS` steps
    run eagerly through the Python-side code paths (the first steps are where
    counts and bias corrections are special), then the rest is scanned, so that
    both variants are compared after the same number of steps without paying
    for dozens of eager steps. ``update`` replaces ``tx.update`` (e.g. to pass ``value=``).
    """
    update = tx.update if update is None else update
    if variant.type == "with_jit":
        return variant(lambda p: scan_run(tx, p, grad_fn, steps, update=update))(params)
    params, state = loop_run(tx, params, grad_fn, min(steps, EAGER_STEPS),
                             update=variant(update))
    if steps <= EAGER_STEPS:
        return params, state
    return jax.jit(lambda p, s: scan_run(tx, p, grad_fn, steps - EAGER_STEPS, update=update,
                                         state=s))(params, state)


def optax_run(tx: Any, params: Any, grad_fn: Callable[[Any], Any], steps: int):
    """Runs an optax transform (jitted, scanned) under standard dtype promotion.

    optax mixes Python floats with int32 counts, which the suite's strict
    promotion rejects; that is optax's business, not what we test.
    """
    import optax  # test oracle only

    with jax.numpy_dtype_promotion("standard"):
        return jax.jit(
            lambda p: scan_run(tx, p, grad_fn, steps, apply=optax.apply_updates)
        )(params)


@functools.cache
def optax_nested_reference(key: str, build: Callable[[], Any], steps: int, dtype_name: str):
    """Cached :func:`optax_run` on :func:`nested_params` (both chex variants share it).

    ``build`` must be a module-level function (or otherwise stable) so the cache hits.
    """
    del key  # only part of the cache key, for readable failures
    return optax_run(build(), nested_params(jnp.dtype(dtype_name)), nested_grad, steps)[0]


# Tolerances for 50-step parity runs on :func:`nested_params` (values O(1)).
# optax runs the same float32 formulas in a different operation order; rounding
# differences (~1e-7 per step) compound over 50 steps to ~1e-6 absolute.
OPTAX_PLAIN = {"rtol": 1e-5, "atol": 1e-5}
# Adam family: optax forms ``1 - b**t`` naively in float32 (and ``1 - b`` in
# float64), we use one float32 ``b`` with expm1/log1p; that differs by ~2e-5
# relative per step (docs/tutorial_claims.rst, tolerances), < 1e-5 absolute after 50 steps.
# 1e-4 relative covers coordinates that pass near zero.
OPTAX_ADAM = {"rtol": 1e-4, "atol": 2e-5}
# Against the float64 NumPy oracles: float32 rounding only (measured <= 7e-7
# absolute after 30 steps for every optimizer), with margin.
ORACLE = {"rtol": 1e-5, "atol": 5e-6}


def check_parity(test: Any, variant: Any, tx: Any, steps: int = 50, optax_key: str | None = None,
                 optax_build: Callable[[], Any] | None = None, optax_tol: dict | None = None,
                 oracle: Any = None, oracle_tol: dict | None = None, params: Any = None) -> Any:
    """Runs ``tx`` on :func:`nested_params` and compares it with optax and/or a NumPy oracle.

    ``with_jit``: ``steps`` scanned updates, compared with both references.
    ``without_jit``: :data:`EAGER_STEPS` eager updates (the Python-side paths and
    the special first steps), compared with the oracle, which is free to run for
    any number of steps (optax only when there is no oracle). This keeps the
    eager variant from compiling a second 50-step program per case.
    ``optax_build`` must be created once (module level) so that runs are cached.
    Returns our final params.
    """
    import chex
    from _references import run as run_oracle

    params = nested_params() if params is None else params
    test.assertTrue(optax_build is not None or oracle is not None, "nothing to compare with")
    eager = variant.type != "with_jit"
    if eager:
        steps = EAGER_STEPS
        ours = loop_run(tx, params, nested_grad, steps, update=variant(tx.update))[0]
    else:
        ours = variant(lambda p: scan_run(tx, p, nested_grad, steps))(params)[0]
    if optax_build is not None and not (eager and oracle is not None):
        ref = optax_nested_reference(optax_key, optax_build, steps, "float32")
        chex.assert_trees_all_close(ours, ref, **(optax_tol or OPTAX_PLAIN))
    if oracle is not None:
        ref = run_oracle(oracle, np_leaves(params), np_grad, steps)
        for got, want in zip(np_leaves(ours), ref):
            np.testing.assert_allclose(got, want, **(oracle_tol or ORACLE))
    moved = [not np.allclose(a, b) for a, b in zip(np_leaves(ours), np_leaves(params))]
    test.assertTrue(all(moved), "some leaf did not move: the comparison would be vacuous")
    return ours


# Float64 runs (x64) of the same formulas agree to double rounding, whatever optax's
# float32 shortcuts (its naive ``1 - b**t``): measured <= 2e-13 relative after 50 steps.
OPTAX_X64 = {"rtol": 1e-10, "atol": 1e-12}


@functools.cache
def optax_reference(key: str, build: Callable[[], Any], steps: int, dtype_name: str,
                    params_fn: Callable[[Any], Any] = nested_params):
    """Cached :func:`optax_run` on ``params_fn(dtype)`` (under x64 for float64)."""
    del key  # only part of the cache key, for readable failures
    with jax.enable_x64(dtype_name == "float64"):
        return optax_run(build(), params_fn(jnp.dtype(dtype_name)), nested_grad, steps)[0]


def check_optax_parity(test: Any, tx: Any, optax_key: str, optax_build: Callable[[], Any], *,
                       dtype_name: str = "float64", tol: dict | None = None, steps: int = 50,
                       params_fn: Callable[[Any], Any] = nested_params) -> Any:
    """``steps`` jitted updates of ``tx`` and of optax on ``params_fn(dtype)``, compared.

    The float64 default (:data:`OPTAX_X64`) checks the formulas themselves; use it
    where optax's float32 rounding is the larger error (RAdam's rho_t), or for
    params other than :func:`nested_params` (matrices, no scalars).
    """
    import chex

    with jax.enable_x64(dtype_name == "float64"):
        params = params_fn(jnp.dtype(dtype_name))
        ours = jax.jit(lambda p: scan_run(tx, p, nested_grad, steps))(params)[0]
        ref = optax_reference(optax_key, optax_build, steps, dtype_name, params_fn)
        chex.assert_trees_all_close(ours, ref, **(tol or OPTAX_X64))
        moved = [not np.allclose(a, b) for a, b in zip(np_leaves(ours), np_leaves(params))]
    test.assertTrue(all(moved), "some leaf did not move: the comparison would be vacuous")
    return ours


def assert_vmap_matches_loop(test: Any, make_tx: Callable[..., Any], values: list | dict,
                             steps: int = 4, params: Any = None, rtol: float = 1e-6,
                             atol: float = 1e-7) -> None:
    """``jax.vmap`` over hyperparameters equals the Python loop over their values.

    ``values`` is a list (``make_tx(value)``) or a dict of equally long lists
    (``make_tx(**{name: value})``), in which case every named hyperparameter is
    batched at once: one compilation checks them all. The jitted runner must
    trace exactly once for the loop *and* the vmap, i.e. the values are jit
    arguments, not constants baked into the program.
    """
    import chex

    params = small_params() if params is None else params
    if not isinstance(values, dict):
        values, build = {"value": values}, (lambda hp: make_tx(hp["value"]))
    else:
        build = lambda hp: make_tx(**hp)
    n = len(next(iter(values.values())))

    def run(hp):
        return scan_run(build(hp), params, nested_grad, steps)[0]

    chex.clear_trace_counter()
    jitted = jax.jit(chex.assert_max_traces(run, n=1))
    looped = [jitted({k: jnp.float32(v[i]) for k, v in values.items()}) for i in range(n)]
    batched = jax.vmap(jitted)({k: jnp.asarray(v, jnp.float32) for k, v in values.items()})
    for i, expected in enumerate(looped):
        got = jax.tree.map(lambda x, i=i: x[i], batched)
        # vmap and the loop run the same float32 program; batching may reorder
        # fused operations, so allow a few ulps.
        chex.assert_trees_all_close(got, expected, rtol=rtol, atol=atol)
    # The values must matter, or the comparison above proves nothing.
    first, last = jax.tree.leaves(looped[0]), jax.tree.leaves(looped[-1])
    test.assertTrue(any(not np.allclose(a, b) for a, b in zip(first, last)),
                    "the swept hyperparameters did not change the result")


# ---------------------------------------------------------------------------
# The tutorials' problems (docs/tutorial_claims.rst, P1-P8). Positions are 1-D arrays.
# ---------------------------------------------------------------------------


class Problem(NamedTuple):
    """A deterministic full-batch problem: start point, gradient and loss."""

    x0: tuple[float, ...]
    grad: Callable[[jax.Array], jax.Array]
    loss: Callable[[jax.Array], jax.Array]


def _diag_quadratic(coeffs: tuple[float, ...], x0: tuple[float, ...]) -> Problem:
    """``sum(c_i x_i^2)``, gradient ``2 c_i x_i``, in the dtype of ``x``."""

    def grad(x):
        return 2.0 * jnp.asarray(coeffs, x.dtype) * x

    def loss(x):
        return jnp.sum(jnp.asarray(coeffs, x.dtype) * jnp.square(x))

    return Problem(x0, grad, loss)


def _beale_like_grad(p):
    x, y = p[0], p[1]
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    return jnp.stack([2 * a * (y - 1) + 2 * b * (y**2 - 1), 2 * a * x + 2 * b * 2 * x * y])


def _beale_like_loss(p):
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2


BOWL = _diag_quadratic((1.0, 1.0), (4.0, 3.0))  # P1: tutorial 3, x^2 + y^2
RAVINE = _diag_quadratic((50.0, 1.0), (1.0, 8.0))  # P2, P3: tutorial 3, 50x^2 + y^2
BEALE_LIKE = Problem((0.5, 3.5), _beale_like_grad, _beale_like_loss)  # P4: tutorial 3
PARABOLA = _diag_quadratic((1.0,), (5.0,))  # P5: tutorial 2, theta^2
ELLIPSE = _diag_quadratic((1.0, 10.0), (1.5, 1.5))  # P7: tutorial 1, x^2 + 10 y^2
VALLEY = _diag_quadratic((0.1, 5.0), (9.0, -3.0))  # P8: tutorial 4, 0.1 x1^2 + 5 x2^2

LINREG_X = (1.0, 2.0, 3.0, 4.0, 5.0)  # P6: tutorial 2, y = 2x + 1


def linreg_grad(p: jax.Array) -> jax.Array:
    """P6: gradient of the MSE of ``w x + b`` (p = [w, b]) as tutorial 2 writes it."""
    x = jnp.asarray(LINREG_X, p.dtype)
    err = p[0] * x + p[1] - (2.0 * x + 1.0)
    return jnp.stack([0.4 * jnp.sum(err * x), 0.4 * jnp.sum(err)])


def linreg_loss(p: jax.Array) -> jax.Array:
    x = jnp.asarray(LINREG_X, p.dtype)
    return jnp.mean(jnp.square(p[0] * x + p[1] - (2.0 * x + 1.0)))


LINREG = Problem((0.0, 0.0), linreg_grad, linreg_loss)


def trajectory(tx: Any, problem: Problem, steps: int, dtype: Any = jnp.float32,
               update: Callable | None = None) -> np.ndarray:
    """Positions after 1..steps updates, shape ``(steps, dim)``, as float64 NumPy.

    ``trajectory(...)[k - 1]`` is the position "after k" updates in ``docs/tutorial_claims.rst``.
    ``update`` replaces ``tx.update`` (e.g. to pass ``value=``).
    """
    update = tx.update if update is None else update

    def run():
        x = jnp.asarray(problem.x0, dtype)

        def body(carry, _):
            p, s = carry
            u, s = update(problem.grad(p), s, p)
            p = jos.apply_updates(p, u)
            return (p, s), p

        return jax.lax.scan(body, (x, tx.init(x)), None, length=steps)[1]

    return np.asarray(jax.jit(run)(), np.float64)


# Float64 reference values of the tutorials' setups (docs/tutorial_claims.rst, P1-P8).
# Keys: problem/optimizer -> {k: (coordinates..., loss)} "after k updates".
SEED_REFERENCE = {
    "P1 bowl sgd": {
        1: (3.2, 2.4, 16.0),
        2: (2.56, 1.92, 10.24),
        14: (0.17592186044416003, 0.13194139533312002, 0.04835703278458518),
    },
    "P2 ravine sgd": {
        5: (0.0, 7.2313663744, 52.292659640803),
        10: (0.0, 6.536582455100375, 42.72691019232605),
        15: (0.0, 5.908552821163231, 34.91099644047598),
        20: (0.0, 5.340863774040756, 28.524825852860864),
        25: (0.0, 4.827717838231174, 23.30685952557548),
        30: (0.0, 4.363874555059497, 19.043401132295724),
    },
    "P3 ravine heavy-ball": {
        1: (0.0, 7.84, 61.465599999999995),
        2: (-0.9, 7.5392, 97.33953664),
        5: (0.8019000000000001, 5.994531942400001, 68.08659370845393),
        10: (0.17531648099999997, 2.456958088809227, 7.573436475676257),
        15: (-0.30608844480980996, -0.5965094831032908, 5.040330365736558),
        20: (-0.3958340327746105, -2.1653707052863225, 12.523059366442755),
        25: (-0.19727537718368068, -2.241674896805366, 6.9709850651155225),
        30: (0.0453400255564366, -1.4066831846507806, 2.081543477852178),
    },
    # P4: 200 clipped steps; the final entry is (x, y, loss).
    "P4 showdown sgd": {
        1: (0.495, 3.495), 10: (0.45, 3.45),
        200: (-0.27759640931757146, 3.1417104931994944, 0.8649773626555025),
    },
    "P4 showdown momentum": {
        1: (0.495, 3.495), 10: (0.293094701955, 3.2930947019550003),
        100: (-0.4487352757002417, 2.551177486859994),
        200: (-0.5085507336243568, 2.4177541913172593, 0.6527229768835765),
    },
    "P4 showdown rmsprop": {
        1: (0.4841886117491581, 3.484188611749158), 10: (0.4133375120183152, 3.4133375120183147),
        100: (-0.04570796876165073, 3.091939370668988),
        200: (-0.2874371297244114, 3.094233465115995, 0.8525138671398301),
    },
    "P4 showdown adam": {
        1: (0.49000000001, 3.49000000001), 10: (0.4000000001000001, 3.4000000001000013),
        100: (-0.315221896012257, 3.0351928459421846),
        200: (-0.3134322146249729, 2.977405610864433, 0.821062206389565),
    },
    "P5 parabola adam": {
        1: (4.999000000001,), 2: (4.998000005220655,), 10: (4.990000645248968,),
        100: (4.90034015883735,), 1000: (4.044722230106641,),
    },
    # P6: (w, b, MSE after the update).
    "P6 linreg adam": {
        1: (0.009999999998, 0.009999999992857143, 56.361800000198876),
        50: (0.4811906977336311, 0.48074947060862294, 30.37607498091078),
        100: (0.8878639770595025, 0.8849176112059912, 14.386479446054674),
        150: (1.2058254451620944, 1.1972360594400622, 6.036908363992519),
        200: (1.4371522131549108, 1.4191026175934836, 2.2450750621534183),
    },
    "P7 ellipse gd lr0.2": {
        1: (0.8999999999999999, -4.5, 203.31),
        2: (0.5399999999999999, 13.5, 1822.7916),
        10: (0.009069926399999994, 88573.5, 78452649022.50008),
        20: (5.48423766009446e-05, 5230176601.5, 2.735474728287809e20),
    },
    "P7 ellipse adam lr0.2": {
        1: (1.3000000006666665, 1.3000000000666667, 18.59000000346667),
        10: (-0.23302740538720174, -0.2330274104217771, 0.5973195117402849),
        50: (-0.08195492719768858, -0.08195492581369465, 0.07388270874326038),
        100: (-0.006917309123995911, -0.00691730924063104, 0.0005263408368221128),
        200: (2.9365913359284046e-05, 2.9365902645947503e-05, 9.485919249537642e-09),
        550: (8.380861987505824e-14, 8.380747660133057e-14, 7.726081610818771e-26),
    },
    "P7 ellipse ema momentum": {
        1: (1.47, 1.2000000000000002, 16.560900000000004),
        10: (0.46067964165173003, 0.006599805899999589, 0.2126613066115431),
        50: (0.11090642719448415, -0.04574764370870864, 0.03322870464203491),
        100: (0.006342170577192793, -0.004277116681773956, 0.00022316039872530052),
    },
    "P7 ellipse adam lr0.1": {
        1: (1.4000000003333333, 1.4000000000333332, 21.560000001866666),
        10: (0.5379534143394162, 0.5379534111604146, 3.1833326017906964),
        50: (0.07637994686845814, 0.0763799487054505, 0.064172861926101),
        100: (0.006597482762015831, 0.006597482469005583, 0.00047879452808345603),
    },
    "P8 valley ewma debiased": {
        1: (8.82, 0.0, 7.779240000000001),
        2: (8.641894736842106, 1.4210526315789476, 17.56518737285319),
        10: (7.290748942502372, -1.0253910419984593, 10.572635959313377),
        50: (2.743296516411911, -0.08111927537212558, 0.7854692618802663),
        100: (0.7280884671989271, 0.003246182775742257, 0.053063970119875944),
    },
    "P8 valley rmsprop": {
        1: (8.683772239538717, -2.6837722343164954, 43.5539570592591),
        2: (8.45828276461098, -2.4668207788808822, 37.58027850820393),
        10: (7.326893727359023, -1.4720636416075064, 16.203193993915065),
        50: (3.6686891204795136, -0.002529621256615354, 1.3459599811909846),
        100: (0.3583586299930706, 1.3057964587005811e-15, 0.012842090769051049),
    },
    "P8 valley adam eps inside": {
        1: (8.800000000308643, -2.800000000001111, 46.94400000057432),
        2: (8.60012976655364, -2.600478123234633, 41.20865554726579),
        10: (7.0172116988846485, -1.075906821628363, 10.712003446828588),
        50: (1.0856640736642307, -0.15275989780441254, 0.23454457997059402),
        100: (-0.09204205872722428, -0.013194964875906566, 0.0017177095478566203),
    },
}

# docs/tutorial_claims.rst, "Comparing a run with these numbers": the float32 tolerances.
F32_RTOL_PLAIN = 2e-5  # SGD / heavy-ball / EMA momentum / RMSProp, plus atol 1e-6
F32_ATOL_PLAIN = 1e-6
F32_RTOL_ADAM = 5e-4  # Adam family with optax-style float32 bias correction, plus atol 1e-8
F32_ATOL_ADAM = 1e-8
F64_RTOL = 1e-9  # float64 runs, plus atol 1e-12 for coordinates that are ~0
F64_ATOL = 1e-12


def check_against_reference(test: Any, traj: np.ndarray, problem: Problem, key: str,
                            rtol: float, atol: float, with_loss: bool = True) -> None:
    """Compares a trajectory with ``SEED_REFERENCE[key]`` at every recorded checkpoint."""
    dim = traj.shape[1]
    test.assertGreaterEqual(traj.shape[0], max(SEED_REFERENCE[key]),
                            f"{key}: the run is shorter than the reference")
    for k, ref in SEED_REFERENCE[key].items():
        pos = traj[k - 1]
        np.testing.assert_allclose(pos, ref[:dim], rtol=rtol, atol=atol,
                                   err_msg=f"{key}: position after {k}")
        if with_loss and len(ref) > dim:
            loss = float(problem.loss(jnp.asarray(pos)))
            np.testing.assert_allclose(loss, ref[dim], rtol=rtol, atol=atol,
                                       err_msg=f"{key}: loss after {k}")


def optax_pair(ours: Any, theirs: Any, params: Any = None, steps: int = 50,
               grad_fn: Callable[[Any], Any] = nested_grad,
               extra: Callable[[Any], dict] | None = None):
    """Final ``(params, state)`` of a jos transform and of its optax counterpart.

    Both run ``steps`` jitted, scanned updates from ``params`` (default
    :func:`nested_params`); ``extra(params)`` gives extra keyword arguments of
    ``update`` (``value=``, ``obj_fn=``, ...). optax runs under standard dtype
    promotion (see :func:`optax_run`). Returns ``((ours, state), (optax's, state))``.
    """
    import optax  # test oracle only

    params = nested_params() if params is None else params

    def go(tx, apply):
        update = None if extra is None else (lambda g, s, p: tx.update(g, s, p, **extra(p)))
        return jax.jit(lambda p: scan_run(tx, p, grad_fn, steps, update=update, apply=apply))(
            params)

    got = go(ours, jos.apply_updates)
    with jax.numpy_dtype_promotion("standard"):
        want = go(theirs, optax.apply_updates)
    return got, want
