r"""Microbatching: evaluate a function on a large batch in sequential slices and combine them.

``optax.microbatching`` 0.2.8 (``microbatch``, ``micro_vmap``, ``micro_grad``,
``reshape_batch_axis``, ``Accumulator``, ``AccumulationType``) with the same arguments.
A batch of size :math:`B = n m` is cut into :math:`n` microbatches of :math:`m` rows; row
:math:`b` goes to microbatch :math:`b \bmod n` (a strided split, as optax does, so that a
sharded batch axis stays sharded along the microbatch rows). The slices run one after the
other in a ``lax.fori_loop``, so peak memory is that of one microbatch.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

Function = Callable[..., Any]

# The auxiliary output of `micro_grad`: per-example values, metrics and the function's aux.
IndividualOutputs = collections.namedtuple("Aux", ["values", "metrics", "aux"])


@dataclasses.dataclass(frozen=True)
class Accumulator:
    r"""How the outputs of the microbatches :math:`x_0, \dots, x_{n-1}` are combined.

    The combined result is ``finalize(carry)`` after ``carry = init(shape_of_x0)`` and
    ``carry = update(carry, x_i, i)`` for ``i = 0..n-1``; ``aggregate`` reduces a stacked
    axis 0 of per-example values in one go (used by :func:`micro_vmap`).

    Attributes:
        init: maps the shape/dtype structure of one microbatch output to the initial carry.
        update: ``(carry, value, index) -> carry``.
        finalize: ``carry -> result``.
        aggregate: ``per_example_values -> value`` (a reduction over axis 0).
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], Any]
    finalize: Callable[[Any], Any]
    aggregate: Callable[[Any], Any]


class AccumulationType(enum.Enum):
    """The built-in ways to combine microbatch outputs."""

    MEAN = enum.auto()  # the mean over the microbatches (floating outputs only)
    SUM = enum.auto()  # the sum over the microbatches
    RUNNING_MEAN = enum.auto()  # the mean over the microbatches actually run (early stopping)
    CONCAT = enum.auto()  # the outputs concatenated along axis 0, in the original row order


AccumulatorTree = Any  # a pytree prefix of the function's output with Accumulator leaves


def _require_floating(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapped(value):
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise ValueError(
                f"The MEAN and RUNNING_MEAN accumulations need floating-point outputs, got "
                f"{value.dtype}; cast the function's output or use SUM.")
        return fn(value)
    return wrapped


def _zeros(value) -> jax.Array:
    return jnp.zeros(value.shape, value.dtype)


def _sum() -> Accumulator:
    return Accumulator(_zeros, lambda c, v, i: c + v, lambda c: c,
                       functools.partial(jnp.sum, axis=0))


def _mean(num_microbatches: int) -> Accumulator:
    return Accumulator(_require_floating(_zeros), lambda c, v, i: c + v,
                       lambda c: c / num_microbatches, functools.partial(jnp.mean, axis=0))


def _running_mean() -> Accumulator:
    def update(carry, value, index):
        # The incremental mean, so that the result is right after any number of microbatches.
        return carry + (value - carry) / (index + 1).astype(carry.dtype)
    return Accumulator(_require_floating(_zeros), update, lambda c: c,
                       functools.partial(jnp.mean, axis=0))


def _concat(num_microbatches: int) -> Accumulator:
    def finalize(carry):
        # carry[i, j] is row j * n + i of the batch (the strided split): undo it.
        return jnp.swapaxes(carry, 0, 1).reshape((-1,) + carry.shape[2:])
    return Accumulator(
        lambda v: jnp.zeros((num_microbatches,) + tuple(v.shape), v.dtype),
        lambda c, v, i: c.at[i].set(v), finalize, lambda v: v)


def _lift(acc: Accumulator) -> Accumulator:
    """An accumulator of arrays applied leaf by leaf to a pytree."""
    return Accumulator(
        lambda v: jax.tree.map(acc.init, v),
        lambda c, v, i: jax.tree.map(lambda a, b: acc.update(a, b, i), c, v),
        lambda c: jax.tree.map(acc.finalize, c),
        lambda v: jax.tree.map(acc.aggregate, v))


def _canonicalize(accumulator, num_microbatches: int) -> Accumulator:
    """One accumulator for the whole output from a pytree prefix of accumulators or types."""
    builders = {AccumulationType.SUM: _sum, AccumulationType.RUNNING_MEAN: _running_mean,
                AccumulationType.MEAN: lambda: _mean(num_microbatches),
                AccumulationType.CONCAT: lambda: _concat(num_microbatches)}

    def one(acc):
        if isinstance(acc, Accumulator):
            return acc
        if isinstance(acc, AccumulationType):
            return _lift(builders[acc]())
        raise TypeError(f"`accumulator` leaves must be an Accumulator or an AccumulationType, "
                        f"got {acc!r}.")

    is_leaf = lambda x: isinstance(x, (Accumulator, AccumulationType))
    accs = jax.tree.map(one, accumulator, is_leaf=is_leaf)
    leaf = lambda x: isinstance(x, Accumulator)
    return Accumulator(
        lambda v: jax.tree.map(lambda a, x: a.init(x), accs, v, is_leaf=leaf),
        lambda c, v, i: jax.tree.map(lambda a, x, y: a.update(x, y, i), accs, c, v, is_leaf=leaf),
        lambda c: jax.tree.map(lambda a, x: a.finalize(x), accs, c, is_leaf=leaf),
        lambda v: jax.tree.map(lambda a, x: a.aggregate(x), accs, v, is_leaf=leaf))


def reshape_batch_axis(tree: Any, microbatch_size: int, axis: int = 0) -> Any:
    r"""Splits each leaf's batch axis into ``(num_microbatches, microbatch_size)``.

    Row :math:`b` of the batch lands at ``[b % num_microbatches, b // num_microbatches]``
    (optax's column-major split), at the position of the original axis.

    Args:
        tree: a pytree of arrays that share a batch axis.
        microbatch_size: rows per microbatch; must divide the batch size.
        axis: the batch axis.

    Returns:
        The pytree with each leaf's ``axis`` replaced by two axes.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.microbatching.reshape_batch_axis(jnp.arange(6), 2)
        Array([[0, 3],
               [1, 4],
               [2, 5]], dtype=int32)
    """
    def leaf(x):
        x = jnp.asarray(x)
        shape = x.shape[:axis] + (microbatch_size, -1) + x.shape[axis + 1:]
        return jnp.swapaxes(x.reshape(shape), axis, axis + 1)
    return jax.tree.map(leaf, tree)


def _as_tuple(value) -> tuple:
    if isinstance(value, (int, str)):
        return (value,)
    return tuple(value)


def microbatch(
    fun: Function,
    argnums: int | Sequence[int],
    microbatch_size: int | None,
    accumulator: Accumulator | AccumulationType | AccumulatorTree = AccumulationType.SUM,
    *,
    argnames: str | Sequence[str] = (),
    in_axes: int | Sequence[int] = 0,
    num_real_microbatches: int | jax.Array | None = None,
) -> Function:
    r"""Evaluates ``fun`` on microbatches one after the other and combines the outputs.

    .. math:: \mathrm{out} = \mathrm{finalize}\big(\mathrm{update}(\dots
       \mathrm{update}(\mathrm{init}, f(x_0), 0) \dots, f(x_{n-1}), n-1)\big)

    Args:
        fun: any function of arrays.
        argnums: positions of the arguments that carry the batch axis.
        microbatch_size: rows per microbatch (static, must divide the batch size);
            ``None`` returns ``fun`` unchanged.
        accumulator: how outputs combine: an :class:`Accumulator`, an
            :class:`AccumulationType`, or a pytree prefix of ``fun``'s output of them.
        argnames: keyword arguments that carry the batch axis.
        in_axes: the batch axis of each of ``argnums + argnames`` (an int applies to all).
        num_real_microbatches: stop after this many microbatches (may be a tracer, so that a
            varying batch needs no recompilation).

    Returns:
        A function with ``fun``'s signature.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> f = lambda x: (x + 1, jnp.sum(3 * x))
        >>> types = jos.microbatching.AccumulationType
        >>> jos.microbatch(f, 0, 2, (types.CONCAT, types.SUM))(jnp.array([1, 2, 3, 4]))
        (Array([2, 3, 4, 5], dtype=int32), Array(30, dtype=int32))
    """
    if microbatch_size is None:
        return fun
    argnums, argnames = _as_tuple(argnums), _as_tuple(argnames)
    axes = (in_axes,) * (len(argnums) + len(argnames)) if isinstance(in_axes, int) else tuple(
        in_axes)
    if len(axes) != len(argnums) + len(argnames):
        raise ValueError(f"`in_axes` needs one axis per entry of `argnums` + `argnames` "
                         f"({len(argnums) + len(argnames)}), got {len(axes)}.")

    def microbatched(*args, **kwargs):
        batched = [args[i] for i in argnums] + [kwargs[k] for k in argnames]
        sizes = {jnp.shape(x)[ax] for ax, tree in zip(axes, batched)
                 for x in jax.tree.leaves(tree)}
        if len(sizes) != 1:
            raise ValueError(f"Every batched argument must have the same batch size along its "
                             f"`in_axes`, got sizes {sorted(sizes)}.")
        (batch_size,) = sizes
        if batch_size % microbatch_size:
            raise ValueError(f"The batch size {batch_size} must be divisible by "
                             f"`microbatch_size`={microbatch_size}; pick a divisor.")
        num = batch_size // microbatch_size
        acc = _canonicalize(accumulator, num)
        split = [reshape_batch_axis(x, microbatch_size, ax) for ax, x in zip(axes, batched)]

        def call(index):
            new_args, new_kwargs = list(args), dict(kwargs)
            for slot, (ax, tree) in enumerate(zip(axes, split)):
                piece = jax.tree.map(lambda x, ax=ax: jnp.take(x, index, axis=ax), tree)
                if slot < len(argnums):
                    new_args[argnums[slot]] = piece
                else:
                    new_kwargs[argnames[slot - len(argnums)]] = piece
            return fun(*new_args, **new_kwargs)

        carry = acc.init(jax.eval_shape(call, 0))
        stop = num if num_real_microbatches is None else num_real_microbatches
        carry = jax.lax.fori_loop(0, stop, lambda i, c: acc.update(c, call(i), i), carry)
        return acc.finalize(carry)

    return microbatched


def micro_vmap(
    fun: Function,
    in_axes: int | Sequence[int | None] = 0,
    out_axes: Any = 0,
    *,
    microbatch_size: int | None = None,
    vmap_fn: Callable[..., Function] = jax.vmap,
    accumulator: Accumulator | AccumulationType | AccumulatorTree = AccumulationType.CONCAT,
    num_real_microbatches: int | jax.Array | None = None,
) -> Function:
    r"""``jax.vmap`` that runs ``microbatch_size`` rows at a time (and may reduce them).

    With the default ``CONCAT`` it equals ``jax.vmap(fun, in_axes)``; ``SUM`` or ``MEAN``
    return the reduction over the batch without ever holding every row's output.

    Args:
        fun: the function to map.
        in_axes: the mapped axis of each positional argument (``None``: not mapped);
            keyword arguments are mapped along axis 0.
        out_axes: must be 0.
        microbatch_size: rows per microbatch (static); ``None`` maps the whole batch at once.
        vmap_fn: a function with ``jax.vmap``'s signature.
        accumulator: as in :func:`microbatch`.
        num_real_microbatches: as in :func:`microbatch`.

    Returns:
        The mapped function.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> jos.microbatching.micro_vmap(lambda x: x**2, microbatch_size=2)(jnp.arange(4))
        Array([0, 1, 4, 9], dtype=int32)
    """
    if out_axes != 0:
        raise NotImplementedError(f"`out_axes` must be 0, got {out_axes!r}.")
    axes = (in_axes,) if isinstance(in_axes, int) else tuple(in_axes)

    def mapped_and_reduced(*args, kwargs):
        out = vmap_fn(fun, axes, out_axes)(*args, **kwargs)
        rows = jax.tree.leaves(out)[0].shape[0]
        return _canonicalize(accumulator, rows).aggregate(out)

    batched = tuple(i for i, ax in enumerate(axes) if ax is not None)
    inner = microbatch(mapped_and_reduced, argnums=batched, argnames="kwargs",
                       microbatch_size=microbatch_size, accumulator=accumulator,
                       in_axes=tuple(axes[i] for i in batched) + (0,),
                       num_real_microbatches=num_real_microbatches)
    return lambda *args, **kwargs: inner(*args, kwargs=kwargs)


def micro_grad(
    fun: Function,
    has_aux: bool = False,
    argnums: int | Sequence[int] = 0,
    *,
    batch_argnums: int | Sequence[int] = 1,
    keep_batch_dim: bool = True,
    microbatch_size: int | None = None,
    accumulator: Accumulator | AccumulationType | AccumulatorTree = AccumulationType.SUM,
    transform_fn: Callable[[Any], Any] = lambda g: g,
    metrics_fn: Callable[[Any], Any] = lambda g: None,
    num_real_microbatches: int | jax.Array | None = None,
) -> Callable[..., tuple[Any, Any]]:
    r"""Per-example gradients, transformed and then accumulated over the batch.

    .. math:: \mathrm{out} = \operatorname{acc}_b\, T(\nabla_\theta f(\theta, x_b)),
       \qquad \mathrm{aux} = (f(\theta, x_b),\ M(\nabla_\theta f(\theta, x_b)),\ a_b)_b

    Args:
        fun: the loss, ``fun(params, batch, ...)`` by default.
        has_aux: whether ``fun`` returns ``(value, aux)``.
        argnums: the argument(s) to differentiate.
        batch_argnums: the argument(s) with a batch axis (axis 0).
        keep_batch_dim: call ``fun`` on batches of one row (True) or on single rows (False).
        microbatch_size: rows per microbatch (static); ``None`` does the batch at once.
        accumulator: how transformed gradients combine over the batch (default the sum).
        transform_fn: :math:`T`, applied to each example's gradient (e.g. clipping).
        metrics_fn: :math:`M`, a small per-example summary of the gradient.
        num_real_microbatches: as in :func:`microbatch`.

    Returns:
        A function returning ``(accumulated, Aux(values, metrics, aux))``, the aux per example.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> loss = lambda w, x: 0.5 * jnp.sum((x @ w) ** 2)
        >>> g, aux = jos.microbatching.micro_grad(loss, microbatch_size=2)(
        ...     jnp.ones(1), jnp.arange(4.0)[:, None])
        >>> g, aux.values
        (Array([14.], dtype=float32), Array([0. , 0.5, 2. , 4.5], dtype=float32))

    References:
        Abadi et al., "Deep Learning with Differential Privacy", 2016, Algorithm 1
        (per-example gradients, clipped and then summed, are the use case).
    """
    batch_argnums = _as_tuple(batch_argnums)
    with_aux = fun if has_aux else (lambda *a, **k: (fun(*a, **k), None))
    value_and_grad = jax.value_and_grad(with_aux, argnums, has_aux=True)

    def per_example(*args, **kwargs):
        (value, aux), grad = value_and_grad(*args, **kwargs)
        return transform_fn(grad), IndividualOutputs(value, metrics_fn(grad), aux)

    axes = [None] * (max(batch_argnums) + 1)
    for i in batch_argnums:
        axes[i] = 0
    mapped = micro_vmap(per_example, in_axes=axes, microbatch_size=microbatch_size,
                        accumulator=(accumulator, AccumulationType.CONCAT),
                        num_real_microbatches=num_real_microbatches)
    if not keep_batch_dim:
        return mapped

    def with_row_axis(*args, **kwargs):
        args = list(args)
        for i in batch_argnums:  # each example becomes a batch of one row
            args[i] = jax.tree.map(lambda x: jnp.expand_dims(x, 1), args[i])
        return mapped(*args, **kwargs)

    return with_row_axis
