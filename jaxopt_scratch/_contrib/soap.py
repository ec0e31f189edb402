r"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al., 2024)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import linear_algebra as _linear_algebra
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay

_HIGHEST = jax.lax.Precision.HIGHEST  # bfloat16 passes on accelerators would blur the basis


def _agreed_switch(index: jax.Array, branches: list, *operands: Any) -> Any:
    """``lax.switch(index, branches, *operands)``, whose ``vmap`` runs one branch when all agree.

    Under ``vmap`` a batched ``index`` turns ``lax.switch`` into a select that runs
    every branch for every member. In a sweep every run is at the same step, so
    SOAP's refresh decision is the same for all of them, but ``vmap`` cannot know
    it. Here, when every member's index is the same, only that branch runs (for the
    whole batch); otherwise every branch runs and each member takes its own, as
    ``lax.switch`` does. The numbers are ``lax.switch``'s either way. The branches
    must be functions of ``operands`` only (``custom_vmap`` cannot batch values
    they close over).
    """
    @jax.custom_batching.custom_vmap
    def call(index, *ops):
        return jax.lax.switch(index, branches, *ops)

    @call.def_vmap
    def _rule(axis_size, in_batched, index, *ops):
        axes = jax.tree.map(lambda batched: 0 if batched else None, list(in_batched[1:]))

        def whole(branch):  # one branch for every member
            return lambda *o: jax.vmap(branch, in_axes=axes, axis_size=axis_size)(*o)

        def each(*o):  # every member its own branch
            return jax.vmap(lambda i, *p: jax.lax.switch(i, branches, *p),
                            in_axes=[0 if in_batched[0] else None, *axes],
                            axis_size=axis_size)(index, *o)

        agreed = index
        if in_batched[0]:
            agreed = jnp.where(jnp.all(index == index[0]), index[0], len(branches))
        out = jax.lax.switch(agreed, [whole(b) for b in branches] + [each], *ops)
        return out, jax.tree.map(lambda _: True, out)

    @jax.custom_jvp
    def differentiable(index, *ops):
        return call(index, *ops)

    @differentiable.defjvp
    def _jvp(primals, tangents):  # lax.switch's derivative (the index has none)
        index, *ops = primals
        return jax.jvp(lambda *o: jax.lax.switch(index, branches, *o), tuple(ops), tangents[1:])

    return differentiable(index, *operands)


class ScaleBySoapState(NamedTuple):
    """State of :func:`scale_by_soap`.

    ``factors`` and ``bases`` follow the params' tree with a tuple at each
    leaf, one entry per axis of the leaf: a ``(d, d)`` matrix for a rotated
    axis of size ``d``, ``None`` for an axis left as it is.
    """

    count: jax.Array  # calls so far (int32 scalar); the first only builds the basis
    mu: _base.Updates  # EMA of the gradients, in the params' own coordinates, >= float32
    nu: _base.Updates  # EMA of the squared rotated gradients, in the eigenbasis, >= float32
    factors: Any  # per axis, EMA of G G^T contracted over the other axes (Shampoo's L, R)
    bases: Any  # per axis, the eigenbasis Q of that factor, eigenvalues in decreasing order


def _rotated_axes(shape: tuple[int, ...], max_precond_dim: int, precondition_1d: bool):
    """Which axes of a leaf get a basis: all axes of size <= max_precond_dim (vectors only if asked)."""
    if len(shape) == 1 and not precondition_1d:
        return (False,)
    return tuple(d <= max_precond_dim for d in shape)


def _project(x: jax.Array, bases: tuple, back: bool = False) -> jax.Array:
    r"""Multiplies every rotated axis of ``x`` by :math:`Q^\top` (or by :math:`Q` with ``back``)."""
    for axis, q in enumerate(bases):
        if q is not None:
            x = jnp.moveaxis(jnp.tensordot(q, x, axes=(1 if back else 0, axis),
                                           precision=_HIGHEST), 0, axis)
    return x


def _gram(g: jax.Array, axis: int) -> jax.Array:
    """``g`` contracted with itself over every axis but ``axis``: ``G G^T`` for axis 0 of a matrix."""
    others = [a for a in range(g.ndim) if a != axis]
    return jnp.tensordot(g, g, axes=(others, others), precision=_HIGHEST)


# One matrix at a time under vmap: batched LAPACK calls deadlock jaxlib 0.10.2 (see the helper).
_eigenvectors = _linear_algebra.one_matrix_at_a_time(lambda f: jnp.linalg.eigh(f)[1])
_orthonormal_basis = _linear_algebra.one_matrix_at_a_time(lambda s: jnp.linalg.qr(s)[0])


def _eigenbases(factors: tuple) -> tuple:
    """Eigenvectors of each factor, largest eigenvalue first (the first call)."""
    return tuple(None if f is None else jnp.flip(_eigenvectors(f), axis=1) for f in factors)


def _refreshed(factors: tuple, bases: tuple, nu: jax.Array) -> tuple[tuple, jax.Array]:
    r"""One power iteration and a QR per axis; ``nu`` follows the new order of the eigenvalues.

    :math:`S = F Q`; the estimates :math:`\mathrm{diag}(Q^\top F Q)` sort the
    columns (and the matching slices of ``nu``) in decreasing order;
    :math:`Q \leftarrow \mathrm{QR}(S)`.
    """
    new = []
    for axis, (f, q) in enumerate(zip(factors, bases)):
        if q is None:
            new.append(None)
            continue
        power = jnp.matmul(f, q, precision=_HIGHEST)
        order = jnp.argsort(jnp.sum(q * power, axis=0), descending=True, stable=True)
        nu = jnp.take(nu, order, axis=axis)
        new.append(_orthonormal_basis(jnp.take(power, order, axis=1)))
    return tuple(new), nu


def _check_frequency(precondition_frequency: Any) -> None:
    hint = "It counts the steps between refreshes of the eigenbasis; use e.g. 10."
    _checks.check_interval("precondition_frequency", precondition_frequency, 1.0, None, hint=hint)
    value = _checks.concrete_value(precondition_frequency)
    if value is not None and (isinstance(precondition_frequency, bool) or value.shape != ()
                              or value != np.round(value)):
        raise ValueError(
            f"`precondition_frequency` must be a whole number, got {precondition_frequency!r}. "
            + hint)


def _check_soap_args(b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim,
                     precondition_1d):
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    if shampoo_beta is not None:
        _checks.check_decay("shampoo_beta", shampoo_beta)
    _checks.check_nonnegative("eps", eps)
    _check_frequency(precondition_frequency)
    if isinstance(max_precond_dim, bool) or not isinstance(max_precond_dim, (int, np.integer)) \
            or max_precond_dim < 1:
        raise ValueError(
            f"`max_precond_dim` must be a positive Python int (axes longer than it are left "
            f"unrotated; it fixes the state's shapes), got {max_precond_dim!r}. Use e.g. 10000.")
    if not isinstance(precondition_1d, bool):
        raise TypeError(f"`precondition_1d` must be a bool, got {precondition_1d!r}.")


def scale_by_soap(
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.95,
    shampoo_beta: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    precondition_frequency: jax.typing.ArrayLike = 10,
    max_precond_dim: int = 10000,
    mu_dtype: Any | None = None,
    *,
    precondition_1d: bool = False,
) -> _base.GradientTransformation:
    r"""Adam run in the eigenbasis of Shampoo's preconditioner, refreshed every few steps.

    For a matrix leaf with gradient :math:`G_t` (call :math:`t = 1, 2, \dots`)
    and bases :math:`Q_L, Q_R` of Shampoo's factors :math:`L, R`:

    .. math::

        G'_t &= Q_L^\top G_t Q_R, \qquad
        M_t = \beta_1 M_{t-1} + (1-\beta_1) G_t, \qquad
        V_t = \beta_2 V_{t-1} + (1-\beta_2)\, G'^{\,2}_t \\
        u_t &= \frac{\sqrt{1-\beta_2^{k}}}{1-\beta_1^{k}}\;
              Q_L \Bigl[\frac{Q_L^\top M_t Q_R}{\sqrt{V_t} + \varepsilon}\Bigr] Q_R^\top,
              \qquad k = t - 1 \\
        L_t &= \beta_s L_{t-1} + (1-\beta_s) G_t G_t^\top, \qquad
        R_t = \beta_s R_{t-1} + (1-\beta_s) G_t^\top G_t

    The first call only builds the preconditioner (:math:`L_1, R_1`, and
    :math:`Q` from ``eigh``) and returns zeros, so no step uses a basis that
    has seen its own gradient. After the :math:`t`-th call with
    :math:`t - 1` a positive multiple of ``precondition_frequency``, each basis
    is refreshed by one power iteration and a QR, :math:`Q \leftarrow
    \mathrm{QR}(L Q)`, its columns sorted by the estimates
    :math:`\mathrm{diag}(Q^\top L Q)` and the slices of :math:`V` permuted to
    match. :math:`M` is kept in the params' coordinates, so it needs no
    rotation when the basis changes. A leaf of any rank gets one factor per
    axis (the gradient contracted with itself over the other axes); an axis
    longer than ``max_precond_dim`` keeps the identity; vectors are left
    unrotated (plain Adam) unless ``precondition_1d``, scalars always.

    Args:
        b1: :math:`\beta_1 \in [0, 1)`, Adam's first-moment decay.
        b2: :math:`\beta_2 \in [0, 1)`, Adam's second-moment decay.
        shampoo_beta: :math:`\beta_s \in [0, 1)` for :math:`L, R`; ``None``
            (default) uses ``b2``.
        eps: :math:`\varepsilon \ge 0`, added to :math:`\sqrt{V_t}` before the
            bias correction (as in the reference code).
        precondition_frequency: Steps between refreshes of the bases, an
            integer :math:`\ge 1`; may be traced (``lax.cond`` picks the branch).
        max_precond_dim: Static int: axes longer than this stay unrotated (it
            sets the shapes of the state).
        mu_dtype: dtype of :math:`M`; default at least float32.
        precondition_1d: Structural; rotate vectors too (one ``(d, d)`` factor).

    Returns:
        A transform whose state is :class:`ScaleBySoapState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_soap()
        >>> g = jnp.array([[2.0, 0.0], [0.0, -0.5]])
        >>> state = tx.init(g)
        >>> u, state = tx.update(g, state)
        >>> print(u)  # the first call builds the bases and takes no step
        [[0. 0.]
         [0. 0.]]
        >>> u, state = tx.update(g, state)
        >>> print(jnp.round(u, 4))  # then Adam's first step, sign(G'), rotated back
        [[ 1.  0.]
         [ 0. -1.]]

    References:
        Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade,
        `SOAP: Improving and Stabilizing Shampoo using Adam
        <https://arxiv.org/abs/2409.11321>`_, 2024 (the algorithm box of one
        step on an m x n layer, and the power-iteration refresh of its bases).

    .. note::
        Paper versus code. The algorithm box leaves out initialisation and bias
        correction; we follow the authors' code (and ``pytorch-optimizer``) for
        both: the first call only builds :math:`L, R` and their ``eigh`` bases
        (no step, the Adam count starts at the second call), the refresh sorts
        the columns and permutes :math:`V`, and the bias correction multiplies
        :math:`M / (\sqrt{V} + \varepsilon)` by
        :math:`\sqrt{1-\beta_2^k} / (1-\beta_1^k)`, so ``eps`` sits before the
        correction, unlike :func:`scale_by_adam`. Left out: the code's
        ``merge_dims`` (axes are never merged), ``normalize_grads`` and
        ``data_format``. Complex params are not supported (the code rejects
        them too).

    .. note::
        Under ``vmap`` (as in ``jos.sweep``), ``eigh`` and the QR run one
        matrix at a time (``lax.map``), with the same numbers: jaxlib 0.10's
        batched CPU kernels can deadlock XLA's thread pool when several run
        at once. The choice between keeping, building (``eigh``) and
        refreshing (QR) the bases runs one branch for every run when all
        runs agree (in a sweep they are at the same step), not all three.

    .. note::
        Full-batch gradients. The first call takes no step, so a gradient that
        depends on the params only is the same at the second call, where
        :math:`Q_L^\top G Q_R` is then exactly diagonal (the SVD of :math:`G`):
        its off-diagonal entries are rounding errors, which Adam's
        :math:`M / (\sqrt{V} + \varepsilon)` turns into unit-size coordinates of
        the direction, signs set by rounding (with ``eps = 1e-8``; the reference
        code does the same). Minibatch noise removes
        this; for deterministic problems, a larger ``eps`` (e.g. ``1e-4``) does.
    """
    _check_soap_args(b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim,
                     precondition_1d)
    beta_s = b2 if shampoo_beta is None else shampoo_beta

    def leaf_axes(x):
        return _rotated_axes(tuple(np.shape(x)), max_precond_dim, precondition_1d)

    def init_fn(params):
        _tree_math.check_float_params(params)
        leaves, treedef = jax.tree.flatten(params)
        for p in leaves:
            if jnp.iscomplexobj(p):
                raise TypeError(
                    f"`scale_by_soap` supports real params only, got a leaf of dtype "
                    f"{jnp.result_type(p)}. Split complex params into real and imaginary "
                    f"parts, or use `jos.adam` for them.")
        factors, bases = [], []
        for p in leaves:
            dt = _tree_math.moment_dtype(jnp.result_type(p))
            sizes = [d if rot else None for d, rot in zip(np.shape(p), leaf_axes(p))]
            factors.append(tuple(None if d is None else jnp.zeros((d, d), dt) for d in sizes))
            bases.append(tuple(None if d is None else jnp.eye(d, dtype=dt) for d in sizes))
        return ScaleBySoapState(
            count=_tree_math.zero_count(),
            mu=_tree_math.zeros_like_state(params, mu_dtype),
            nu=_tree_math.zeros_like_state(params),
            factors=treedef.unflatten(factors),
            bases=treedef.unflatten(bases),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_soap")
        treedef = jax.tree.structure(updates)
        factors = treedef.flatten_up_to(state.factors)
        bases = treedef.flatten_up_to(state.bases)
        count = _tree_math.safe_increment(state.count)
        first = count == 1
        grads = [_tree_math.cast(g, v.dtype)
                 for g, v in zip(jax.tree.leaves(updates), jax.tree.leaves(state.nu))]

        # Adam in the current bases (a no-op on the first call, which only builds them).
        rotated = treedef.unflatten([_project(g, q) for g, q in zip(grads, bases)])
        mu = _tree_math.update_moment(updates, state.mu, b1)
        nu = _tree_math.update_moment(rotated, state.nu, b2, order=2)
        mu, nu = (jax.tree.map(lambda old, new: jnp.where(first, old, new), old, new)
                  for old, new in ((state.mu, mu), (state.nu, nu)))
        dt = _tree_math.scalar_dtype(state.nu)
        k = jnp.maximum(count - 1, 1)  # the reference's Adam count (skips the first call)
        scale = (jnp.sqrt(_tree_math.one_minus_power(b2, k, dt))
                 / _tree_math.one_minus_power(b1, k, dt))
        eps_ = jnp.asarray(eps, dt)
        out = []
        for m, v, q, g in zip(jax.tree.leaves(mu), jax.tree.leaves(nu), bases, grads):
            m = _tree_math.cast(m, v.dtype)
            n = _project(m, q) / (jnp.sqrt(v) + eps_.astype(v.dtype))
            d = _project(n, q, back=True) * scale.astype(v.dtype)
            # The first call's zeros are g - g, so that a NaN or Inf gradient still shows;
            # `where`, not a product, for d (0/0 there if eps = 0).
            out.append(jnp.where(first, g - g, d))
        out = _tree_math.cast_like(treedef.unflatten(out), updates)

        # Shampoo's factors, then the bases: eigh on the first call, a QR refresh every
        # `precondition_frequency` calls after it, else unchanged (lax.switch: traceable).
        grams = [tuple(None if f is None else _gram(g, a) for a, f in enumerate(fs))
                 for g, fs in zip(grads, factors)]
        factors = [_tree_math.update_moment(gr, fs, beta_s) for gr, fs in zip(grams, factors)]
        nu_leaves = jax.tree.leaves(nu)
        step = count - 1
        period = jnp.asarray(precondition_frequency).astype(step.dtype)
        refresh = (step > 0) & (step % jnp.maximum(period, 1) == 0)
        branch = jnp.where(first, 1, jnp.where(refresh, 2, 0))
        bases, nu_leaves = _agreed_switch(branch, [
            lambda fs, qs, vs: (qs, vs),
            lambda fs, qs, vs: ([_eigenbases(f) for f in fs], vs),
            lambda fs, qs, vs: tuple(map(list, zip(*[_refreshed(f, q, v)
                                                     for f, q, v in zip(fs, qs, vs)])))
            if fs else (qs, vs),
        ], factors, bases, nu_leaves)
        return out, ScaleBySoapState(
            count=count, mu=mu, nu=treedef.unflatten(nu_leaves),
            factors=treedef.unflatten(factors), bases=treedef.unflatten(bases))

    return _base.GradientTransformation(init_fn, update_fn)


def soap(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.95,
    shampoo_beta: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: _base.ScalarOrSchedule = 0.01,
    precondition_frequency: jax.typing.ArrayLike = 10,
    max_precond_dim: int = 10000,
    mask: _combine.MaskOrFn = None,
    mu_dtype: Any | None = None,
    *,
    precondition_1d: bool = False,
) -> _base.GradientTransformation:
    r"""SOAP with decoupled weight decay (see :func:`scale_by_soap`).

    .. math::

        \theta_t = \theta_{t-1} - \alpha_t \bigl(u_t + \lambda\, \theta_{t-1}\bigr)

    with :math:`u_t` the :func:`scale_by_soap` direction (zero at the first
    call, which only builds the preconditioner). Defaults are the reference
    code's (``b1 = b2 = 0.95``, ``weight_decay = 0.01``, refresh every 10 steps).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_soap`.
        b2: See :func:`scale_by_soap`.
        shampoo_beta: See :func:`scale_by_soap`.
        eps: See :func:`scale_by_soap`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        precondition_frequency: See :func:`scale_by_soap`.
        max_precond_dim: See :func:`scale_by_soap`.
        mask: Leaves to decay: a pytree of bools or a function of params.
        mu_dtype: See :func:`scale_by_soap`.
        precondition_1d: See :func:`scale_by_soap`.

    Returns:
        ``chain(scale_by_soap, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.soap(0.1)
        >>> p = {"w": jnp.eye(3), "b": jnp.ones(3)}
        >>> state = tx.init(p)
        >>> u, state = tx.update(p, state, p)
        >>> print(u["b"])  # the first call takes no SOAP step: only -lr * wd * p
        [-0.001 -0.001 -0.001]

    References:
        Vyas et al., `SOAP: Improving and Stabilizing Shampoo using Adam
        <https://arxiv.org/abs/2409.11321>`_, 2024.

    .. note::
        Weight decay, paper and code versus ours. The reference code decays the
        already-updated params, :math:`\theta_t = (\theta_{t-1} - \alpha_t
        u_t)(1 - \alpha_t\lambda)`, and skips the first call altogether; we decay
        :math:`\theta_{t-1}`, as :func:`adamw` does, at every call (so that
        ``soap`` is a plain chain and zero gradients decay the params by
        :math:`(1 - \alpha\lambda)` per call). The two differ by
        :math:`\alpha_t^2 \lambda u_t` per step, plus one factor
        :math:`1 - \alpha_1\lambda` at the first call.
    """
    _checks.check_nonnegative("weight_decay", weight_decay)
    return _combine.chain(
        scale_by_soap(b1=b1, b2=b2, shampoo_beta=shampoo_beta, eps=eps,
                      precondition_frequency=precondition_frequency,
                      max_precond_dim=max_precond_dim, mu_dtype=mu_dtype,
                      precondition_1d=precondition_1d),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
