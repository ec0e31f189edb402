"""Private pytree math shared by every transform. Each formula lives here once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_INT32_MAX = np.iinfo(np.int32).max


def check_float_params(params: Any) -> None:
    """Raises ``TypeError`` if any leaf of ``params`` has an integer or boolean dtype."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            where = jax.tree_util.keystr(path) or "<root>"
            raise TypeError(
                f"`params` leaf {where} has dtype {dtype}; optimizers need floating-point "
                f"params (an integer parameter cannot take a fractional step). Cast it "
                f"first, for example `jax.tree.map(lambda p: p.astype(jnp.float32), params)`."
            )


def check_params_given(params: Any, who: str, *, like: Any = None) -> None:
    """Raises ``ValueError`` when a transform that needs ``params`` gets ``None``.

    With ``like`` (the updates), also checks that ``params`` has their structure and
    leaf shapes (see :func:`check_same_structure`).
    """
    if params is None:
        raise ValueError(
            f"`{who}` needs the current parameters: call "
            f"`tx.update(updates, state, params)` instead of `tx.update(updates, state)`."
        )
    if like is not None:
        check_same_structure(like, params, who, "params")


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def check_same_structure(updates: Any, reference: Any, who: str, what: str = "state") -> None:
    """Raises ``ValueError`` showing both trees (or both leaf shapes) when they differ.

    Shapes are compared too, so that a mismatch is reported here rather than as
    a broadcasting error from deep inside ``jax.numpy``.
    """
    a = jax.tree.structure(updates)
    b = jax.tree.structure(reference)
    source = "passed to `update`" if what == "params" else "built by `init`"
    if a != b:
        raise ValueError(
            f"`{who}`: the updates tree does not match the {what} {source}.\n"
            f"  updates: {a}\n"
            f"  {what}:   {b}\n"
            f"Call `init` with params of the same structure as the gradients you pass to "
            f"`update` (same containers, keys and number of leaves)."
        )
    paths = jax.tree_util.tree_flatten_with_path(updates)[0]
    for (path, x), y in zip(paths, jax.tree.leaves(reference)):
        if _shape(x) != _shape(y):
            raise ValueError(
                f"`{who}`: the updates leaf {jax.tree_util.keystr(path) or '<root>'} has shape "
                f"{_shape(x)}, but the {what} {source} has shape {_shape(y)} there. Call "
                f"`init` with params shaped like the gradients you pass to `update`."
            )


def check_prefix(prefix: Any, tree: Any, headline: str, names: tuple[str, str], hint: str) -> None:
    """Raises ``ValueError`` showing both structures unless ``prefix`` is a prefix of ``tree``.

    ``None`` in ``prefix`` counts as a leaf. ``names`` label the two structures in the
    message, ``headline`` opens it and ``hint`` closes it.
    """
    try:
        jax.tree.map(lambda _a, _b: None, prefix, tree, is_leaf=lambda x: x is None)
    except (ValueError, TypeError) as err:
        width = max(map(len, names)) + 1
        raise ValueError(
            f"{headline}\n"
            f"  {names[0] + ':':<{width}} {jax.tree.structure(prefix)}\n"
            f"  {names[1] + ':':<{width}} {jax.tree.structure(tree)}\n"
            f"{hint}"
        ) from err


@functools.cache
def promote_types(a: Any, b: Any) -> jnp.dtype:
    """JAX's standard promotion of two dtypes, also under ``jax_numpy_dtype_promotion="strict"``.

    Strict mode forbids *implicit* promotion (``bfloat16 + float32``); choosing a
    wider dtype on purpose, as every caller here does, must still work there.
    Cached: it runs for every leaf while tracing.
    """
    with jax.numpy_dtype_promotion("standard"):
        return jnp.promote_types(a, b)


def float_dtype() -> jnp.dtype:
    """JAX's default float: float32, or float64 when ``jax_enable_x64`` is on (read at call time)."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def as_float(x: jax.typing.ArrayLike) -> jax.Array:
    """A Python number, array or tracer as an array of :func:`float_dtype`."""
    if isinstance(x, int) and not isinstance(x, bool):
        x = float(x)  # a Python int need not fit int32 (a schedule over 1e10 steps)
    return jnp.asarray(x).astype(float_dtype())


def cast(x: jax.Array, dtype: Any) -> jax.Array:
    """``x.astype(dtype)``, skipped when ``x`` already has that dtype (saves tracing time)."""
    return x if x.dtype == dtype else x.astype(dtype)


def moment_dtype(dtype: Any, requested: Any = None) -> jnp.dtype:
    """The dtype for an accumulator: ``requested`` if given, else at least float32."""
    if requested is not None:
        return jnp.dtype(requested)
    return _at_least_single(jnp.dtype(dtype))


@functools.cache
def _at_least_single(dtype: jnp.dtype) -> jnp.dtype:
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return promote_types(dtype, jnp.complex64)
    # bfloat16(0.999) == 1.0: a low-precision average would freeze.
    return promote_types(dtype, jnp.float32)


def full_like_state(params: Any, value: Any = 0.0, dtype: Any = None, real: bool = False) -> Any:
    """An accumulator shaped like ``params`` filled with ``value``, in at least float32.

    ``real=True`` gives the real dtype for complex params (for averages of ``|g|^2``).
    """
    check_float_params(params)

    def leaf(p):
        dt = moment_dtype(jnp.result_type(p), dtype)
        if real:
            dt = jnp.finfo(dt).dtype
        # ``full_like`` keeps ``p``'s sharding (a plain ``jnp.full`` would put
        # the whole accumulator on one device).
        return jnp.full_like(p, value, dtype=dt)

    return jax.tree.map(leaf, params)


def zeros_like_state(params: Any, dtype: Any = None, real: bool = False) -> Any:
    """Zeros shaped like ``params``, in at least float32 (see :func:`full_like_state`)."""
    return full_like_state(params, 0.0, dtype, real)


def abs_sq(x: jax.Array) -> jax.Array:
    """``|x|^2`` elementwise, real-valued for complex ``x``."""
    if jnp.iscomplexobj(x):
        return jnp.square(x.real) + jnp.square(x.imag)
    return jnp.square(x)


def update_moment(updates: Any, moments: Any, decay: Any, order: int = 1) -> Any:
    r"""Leafwise EMA :math:`d\,m + (1-d)\,g^{order}` in the moment's dtype.

    ``order=2`` averages :math:`|g|^2`. The update is cast to at least float32
    *before* it is raised to a power, so a bfloat16 gradient is squared in float32;
    the average is formed in at least float32 and stored in the moment's dtype.
    """

    coefficients = {}  # wide dtype -> (d, 1 - d): scalars formed once per step, not per leaf

    def leaf(g, m):
        # Average in at least float32 even when ``m`` is stored in less (mu_dtype=bfloat16):
        # bfloat16(0.9) is 0.8984, while the bias correction uses the float32 decay.
        wide = moment_dtype(m.dtype)
        if wide not in coefficients:
            d = jnp.asarray(decay, jnp.finfo(wide).dtype)  # real, even for a complex moment
            # Explicit casts: strict promotion rejects float32 * complex64.
            coefficients[wide] = (cast(d, wide), cast(1 - d, wide))
        d, one_minus_d = coefficients[wide]
        g = cast(g, promote_types(g.dtype, wide))
        if order == 2:
            g = abs_sq(g)
        return cast(d * cast(m, wide) + one_minus_d * cast(g, wide), m.dtype)

    return jax.tree.map(leaf, updates, moments)


def scalar_dtype(tree: Any) -> jnp.dtype:
    """The real dtype for per-step scalar coefficients: float64 if any leaf is, else float32."""
    dtypes = [jnp.finfo(jnp.result_type(x)).dtype for x in jax.tree.leaves(tree)]
    return jnp.float64 if any(d == jnp.float64 for d in dtypes) else jnp.float32


def one_minus_power(decay: Any, count: jax.Array, dtype: Any = jnp.float32) -> jax.Array:
    r"""``1 - decay**count`` as one scalar, accurate where the naive form cancels.

    Computed as :math:`-\mathrm{expm1}(t \log1p(-(1-d)))`. For ``d = 0.999`` in
    float32 the naive ``1 - d**t`` loses about 1e-4 relative at small ``t``; this
    form keeps float32's precision. ``1 - d`` is exact in floating point for
    ``d`` in [0.5, 1), so the correction agrees with the EMA that used ``d``.
    """
    d = jnp.asarray(decay, dtype)
    t = jnp.asarray(count).astype(dtype)
    return -jnp.expm1(t * jnp.log1p(-(1 - d)))


def bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    """Divides every leaf by ``1 - decay**count`` (``count >= 1``), one scalar per step."""
    correction = 1 / one_minus_power(decay, count, scalar_dtype(moment))
    return scale_tree(moment, correction)


def scale_tree(tree: Any, scalar: Any) -> Any:
    """Multiplies every leaf by ``scalar``, cast to the leaf's dtype (once per dtype)."""
    by_dtype = {}

    def leaf(x):
        if x.dtype not in by_dtype:
            by_dtype[x.dtype] = jnp.asarray(scalar, x.dtype)
        return x * by_dtype[x.dtype]

    return jax.tree.map(leaf, tree)


def upcast(tree: Any) -> Any:
    """Casts each leaf to at least float32 (complex leaves to at least complex64)."""
    return jax.tree.map(lambda x: cast(x, moment_dtype(x.dtype)), tree)


def cast_like(tree: Any, like: Any) -> Any:
    """Casts each leaf of ``tree`` to the dtype of the matching leaf of ``like``.

    A leaf of ``like`` may be an array, a number or a ``jax.ShapeDtypeStruct`` (from
    ``jax.eval_shape``); a leaf of ``tree`` that is not an array is made one first.
    """

    def leaf(x, y):
        return cast(x if isinstance(x, jax.Array) else jnp.asarray(x), jnp.result_type(y))

    return jax.tree.map(leaf, tree, like)


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1``, saturating at the dtype's maximum (int32: 2**31 - 1) instead of wrapping."""
    count = jnp.asarray(count)
    info = jnp.iinfo if jnp.issubdtype(count.dtype, jnp.integer) else jnp.finfo
    top = jnp.asarray(info(count.dtype).max, count.dtype)
    return jnp.where(count < top, count + jnp.asarray(1, count.dtype), top)


def zero_count() -> jax.Array:
    """A fresh step counter (int32 scalar zero)."""
    return jnp.zeros([], jnp.int32)


def guarded(fn: Callable[[jax.Array], jax.Array], x: jax.Array, ok: jax.Array,
            fallback: jax.typing.ArrayLike) -> jax.Array:
    """``fn(x)`` where ``ok``, else ``fallback``; elementwise, also traced.

    ``fn`` sees 1 instead of ``x`` where ``ok`` is False, so the unused branch is never
    inf or NaN: neither the value nor, under ``jax.grad``, the gradient (``where`` alone
    would give ``0 * inf = NaN`` there).
    """
    return jnp.where(ok, fn(jnp.where(ok, x, jnp.ones_like(x))), fallback)


def safe_div(num: jax.typing.ArrayLike, den: jax.Array, fallback: jax.typing.ArrayLike,
             where: jax.Array | None = None) -> jax.Array:
    """``num / den`` where ``where`` holds (default ``den > 0``), else ``fallback``; see :func:`guarded`."""
    return guarded(lambda d: num / d, den, den > 0 if where is None else where, fallback)


def _power_of_two_scale(max_abs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(2**k, 2**-k)`` with ``2**k`` near ``max_abs`` (``k = 0`` if it is 0, inf or NaN).

    Multiplying by a power of two is exact, so scaled norms equal the naive ones
    wherever those do not overflow or underflow. ``|k|`` stays small enough (125
    in float32) that both factors are normal numbers (XLA flushes subnormals to zero).
    """
    ok = (max_abs > 0) & jnp.isfinite(max_abs)
    _, exponent = jnp.frexp(jnp.where(ok, max_abs, jnp.ones_like(max_abs)))
    limit = -jnp.finfo(max_abs.dtype).minexp  # 125 for float32, 1021 for float64
    k = jnp.clip(exponent - 1, -limit, limit)  # scaled elements are below 2 unless k was clipped
    one = jnp.ones_like(max_abs)
    return jax.lax.stop_gradient(jnp.ldexp(one, k)), jax.lax.stop_gradient(jnp.ldexp(one, -k))


def _scaled_sqrt(scale: jax.Array, sum_sq: jax.Array) -> jax.Array:
    """``scale * sqrt(sum_sq)``, 0 (with a zero gradient) where ``sum_sq`` is 0; NaN stays NaN."""
    return guarded(lambda s: scale * jnp.sqrt(s), sum_sq, sum_sq != 0, 0)


def norm(x: jax.Array, axis: Any = None, keepdims: bool = False) -> jax.Array:
    r""":math:`\sqrt{\sum |x_i|^2}` over ``axis``, in at least float32, without overflow.

    The elements are scaled by a power of two near :math:`1/\max |x_i|` before
    squaring: a float32 element above ~1.8e19 would square to inf (and one below
    ~1e-19 to 0), making a clipped or trust-ratio-scaled update 0 instead of the
    right size. NaN and inf elements still give a NaN or inf norm.
    """
    x = x.astype(moment_dtype(x.dtype))
    scale, inverse = _power_of_two_scale(jnp.max(jnp.abs(x), initial=0))
    sum_sq = jnp.sum(abs_sq(x * inverse.astype(x.dtype)), axis=axis, keepdims=keepdims)
    return _scaled_sqrt(scale, sum_sq)


def global_norm(tree: Any) -> jax.Array:
    r""":math:`\sqrt{\sum_i |x_i|^2}` over every element of every leaf, in at least float32.

    Finite and accurate whenever the norm itself is representable, even if the
    squares of the elements are not. One pass in the common case: the plain
    sum of squares is used when it is finite and not tiny. Only when it
    overflowed (or is below :math:`2^{-60}` in float32, where flushed squares
    could matter) is it redone with every element multiplied by :math:`2^{-64}`
    (or :math:`2^{64}`), exact powers of two that bring the squares of any
    finite float32 vector into range; ``lax.cond`` skips that second pass
    otherwise (under ``vmap`` with a batched condition JAX runs both and selects).
    A fixed factor, rather than one from the largest element as in :func:`norm`,
    keeps each leaf's kernel independent of the other leaves: XLA would copy the
    maximum over all leaves into every leaf's kernel, and compile time would
    grow with the square of the number of leaves.
    """
    leaves = [x.astype(moment_dtype(x.dtype)) for x in jax.tree.leaves(tree)]
    dt = scalar_dtype(tree)
    if not leaves:
        return jnp.zeros([], dt)
    plain = sum(jnp.sum(abs_sq(x)).astype(dt) for x in leaves)
    half = jnp.finfo(dt).maxexp // 2  # 64 for float32, 512 for float64
    ok = jnp.isfinite(plain) & (plain >= 2.0 ** (4 - half))

    def fast(total):
        return jnp.sqrt(jnp.where(ok, total, jnp.ones_like(total)))

    def rescaled(total):
        # Overflowed (or NaN): shrink; else grow. Powers of two, so 1 / factor is exact.
        factor = jnp.where(total > 1, 2.0**-half, 2.0**half).astype(dt)
        # The barrier keeps XLA from folding a constant tree into `factor**2 * sum(x**2)`:
        # factor**2 is inf (or 0) in float32, and the folded norm would be NaN.
        scaled = jax.lax.optimization_barrier([x * factor.astype(x.dtype) for x in leaves])
        sum_sq = sum(jnp.sum(abs_sq(x)).astype(dt) for x in scaled)
        return _scaled_sqrt(1 / factor, sum_sq)

    if not isinstance(ok, jax.core.Tracer):  # eager: no cond to compile
        return fast(plain) if bool(ok) else rescaled(plain)
    return jax.lax.cond(ok, fast, rescaled, plain)


def normalize(numerator: Any, second_moment: Any, eps: Any, eps_root: Any = 0.0) -> Any:
    r"""Leafwise :math:`n / (\sqrt{v + \varepsilon_{root}} + \varepsilon)`, in ``n``'s dtype.

    Every RMS-style denominator in the library (RMSProp, centered RMSProp, Adam,
    AMSGrad) goes through this one formula; ``eps`` sits outside the square
    root and ``eps_root`` inside it.
    """

    constants = {}  # real dtype -> (eps_root, eps), cast once per step, not per leaf

    def leaf(n, v):
        rdt = jnp.finfo(v.dtype).dtype
        if rdt not in constants:
            constants[rdt] = (jnp.asarray(eps_root, rdt), jnp.asarray(eps, rdt))
        inside, outside = constants[rdt]
        return n / cast(jnp.sqrt(v + inside) + outside, n.dtype)

    return jax.tree.map(leaf, numerator, second_moment)
