r"""Muon: momentum orthogonalised by a Newton-Schulz iteration, AdamW for the other leaves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._optimizers import adam as _adam
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay
from jaxopt_scratch._wrappers import partition as _partition

# Jordan's quintic: the largest slope at zero that still keeps singular values near 1.
_STANDARD_COEFFS = (3.4445, -4.7750, 2.0315)
# Ahn et al. (Dion), one (a, b, c) per iteration.
_DION_COEFFS = (
    (4.0848, -6.8946, 2.9270),
    (3.9505, -6.3029, 2.6377),
    (3.7418, -5.5913, 2.3037),
    (2.8769, -3.1427, 1.2046),
    (2.8366, -3.0525, 1.2012),
)
_PRESETS = {"standard": _STANDARD_COEFFS, "dion": _DION_COEFFS}
_PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a weight form the matrix that Muon orthogonalises.

    For :math:`y = x W`, the reduction axes are contracted with the input and
    the output axes index :math:`y`; every other axis is a batch axis, and each
    batch entry is orthogonalised on its own. The default is a plain
    ``(fan_in, fan_out)`` matrix.
    """

    reduction_axis: Sequence[int] | int = 0  # axis or axes contracted with the input
    output_axis: Sequence[int] | int = 1  # axis or axes of the output


class MuonState(NamedTuple):
    """State of :func:`scale_by_muon`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    mu: _base.Updates  # EMA of the gradients with decay `beta`, >= float32 by default
    ns_coeffs: jax.Array  # Newton-Schulz coefficients, shape (3,) or (n, 3); may be traced


def _is_dims(x: Any) -> bool:
    return isinstance(x, MuonDimensionNumbers)


def _axes(x: jax.Array, dims: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def norm(ax):
        return tuple(a % x.ndim for a in ((ax,) if isinstance(ax, int) else ax))

    return norm(dims.reduction_axis), norm(dims.output_axis)


def _matricize(x: jax.Array, dims: MuonDimensionNumbers):
    """``x`` as a stack of ``(fan_in, fan_out)`` matrices, and the inverse map."""
    if x.ndim < 2:
        raise ValueError(
            f"Muon orthogonalises matrices: a leaf of shape {x.shape} has rank {x.ndim} < 2. "
            f"Give it `None` in `weight_dimension_numbers` (use `muon`, which sends it to AdamW)."
        )
    red, out = _axes(x, dims)
    if set(red) & set(out):
        raise ValueError(
            f"`weight_dimension_numbers`: the reduction axes {red} and output axes {out} of a "
            f"leaf of shape {x.shape} overlap; give disjoint axes."
        )
    batch = tuple(a for a in range(x.ndim) if a not in red + out)
    order = batch + red + out
    sizes = [math.prod(x.shape[a] for a in axes) for axes in (batch, red, out)]
    moved = tuple(x.shape[a] for a in order)
    inverse = tuple(np.argsort(order))
    return (lambda y: y.transpose(order).reshape(sizes),
            lambda y: y.reshape(moved).transpose(inverse))


def _gram(x: jax.Array, conj: bool = True) -> jax.Array:
    xt = jnp.swapaxes(x, -1, -2)
    return x @ (xt.conj() if conj else xt)


def _ns_step(x: jax.Array, a: jax.Array, c: jax.Array, gram: jax.Array | None = None) -> jax.Array:
    """One quintic step :math:`X \\leftarrow aX + (bA + cA^2)X`, :math:`A = XX^*`."""
    gram = _gram(x) if gram is None else gram
    return c[0] * x + (c[1] * gram + c[2] * gram @ gram) @ x


def _first_step(x, c, preconditioning, eps):
    """The first Newton-Schulz step, with AOL or Schatten-4 rescaling folded in."""
    if preconditioning == "aol":
        gram = _gram(x)
        s = jax.lax.rsqrt(jnp.maximum(jnp.sum(jnp.abs(gram), axis=-1), eps))[..., None]
        return _ns_step(x * s, None, c, gram * s * jnp.swapaxes(s, -1, -2))
    if preconditioning == "schatten":
        gram = _gram(x, conj=False)
        s = jax.lax.rsqrt(jnp.maximum(
            jnp.linalg.norm(gram, axis=(-2, -1), keepdims=True), eps))
        return _ns_step(x * s, None, c, gram * s * s)
    return _ns_step(x, None, c)


def orthogonalize(x: jax.Array, coeffs: jax.Array, ns_steps: int, preconditioning: str,
                  eps: Any) -> jax.Array:
    r"""Approximately :math:`UV^*` for each matrix :math:`USV^*` of a ``(..., m, n)`` stack.

    The iteration runs on the wide orientation (:math:`m \le n`), so that the
    Gram matrix is the small one. ``coeffs`` is ``(3,)`` (repeated ``ns_steps``
    times) or ``(k, 3)`` (one row per step).
    """
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = jnp.swapaxes(x, -1, -2)
    eps = jnp.asarray(eps, jnp.finfo(x.dtype).dtype)
    if preconditioning == "frobenius":
        x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + eps)
    elif preconditioning == "spectral":
        x = x / (jnp.linalg.norm(x, ord=2, axis=(-2, -1), keepdims=True) + eps)
    coeffs = coeffs.astype(x.dtype)
    rows = [coeffs] * ns_steps if coeffs.ndim == 1 else list(coeffs)
    for i, c in enumerate(rows):  # unrolled: few steps, and vmap-friendly
        x = _first_step(x, c, preconditioning, eps) if i == 0 else _ns_step(x, None, c)
    return jnp.swapaxes(x, -1, -2) if tall else x


def _leaf_dims(weight_dimension_numbers: Any, updates: Any) -> list:
    """One :class:`MuonDimensionNumbers` per leaf of ``updates``."""
    dims = (weight_dimension_numbers(updates) if callable(weight_dimension_numbers)
            else weight_dimension_numbers)
    leaves = jax.tree.leaves(updates)
    if dims is None or _is_dims(dims):
        return [dims or MuonDimensionNumbers()] * len(leaves)
    found = jax.tree.structure(updates).flatten_up_to(dims)
    return [d or MuonDimensionNumbers() for d in found]


def _coeffs_shape(ns_coeffs: Any) -> tuple[int, ...]:
    if isinstance(ns_coeffs, (tuple, list)):
        inner = {np.shape(c) if not isinstance(c, (tuple, list)) else (len(c),) for c in ns_coeffs}
        return (len(ns_coeffs), *next(iter(inner))) if len(inner) == 1 else (-1,)
    return tuple(jnp.shape(ns_coeffs))


def _check_muon_args(ns_coeffs, ns_steps, beta, eps, preconditioning):
    shape = _coeffs_shape(ns_coeffs)
    if len(shape) not in (1, 2) or shape[-1] != 3:
        raise ValueError(
            f"`ns_coeffs` must have shape (3,) or (n, 3) (one (a, b, c) per step), got shape "
            f"{shape}. Use e.g. (3.4445, -4.7750, 2.0315) or the preset 'dion'.")
    if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 1:
        raise ValueError(
            f"`ns_steps` must be a positive Python int (it unrolls the iteration), got "
            f"{ns_steps!r}. Use e.g. 5.")
    if len(shape) == 2 and shape[0] > ns_steps:
        raise ValueError(
            f"`ns_coeffs` has {shape[0]} rows but `ns_steps`={ns_steps}; give at least as "
            f"many steps as rows (each row is one step).")
    if preconditioning not in _PRECONDITIONINGS:
        raise ValueError(
            f"`preconditioning` must be one of {_PRECONDITIONINGS}, got {preconditioning!r}.")
    _checks.check_decay("beta", beta)
    _checks.check_nonnegative("eps", eps)


def scale_by_muon(
    ns_coeffs: Any = _STANDARD_COEFFS,
    ns_steps: int = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    weight_dimension_numbers: Any = None,
) -> _base.GradientTransformation:
    r"""Orthogonalises the (Nesterov) momentum of each matrix leaf.

    .. math::

        m_t &= \beta m_{t-1} + (1-\beta) g_t, \qquad
        \hat m_t = \beta\, \frac{m_t}{1-\beta^{t+1}} + (1-\beta) \frac{g_t}{1-\beta^t}
        \ \text{(Nesterov; else } m_t / (1-\beta^t)) \\
        X_0 &= \hat m_t / (\lVert \hat m_t \rVert_F + \varepsilon), \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^{*} \\
        u_t &= X_{\text{ns\_steps}} \quad (\times\ \langle \hat m_t, X \rangle
        \text{ if adaptive})

    The quintic iteration pushes every singular value of :math:`X` towards
    about 1 (not exactly: the default coefficients trade accuracy for speed),
    so :math:`u_t \approx UV^*` for :math:`\hat m_t = USV^*`. Every leaf must
    be a matrix (or be described by ``weight_dimension_numbers``); use
    :func:`muon` to send the other leaves to AdamW automatically.

    Args:
        ns_coeffs: :math:`(a, b, c)`, shape ``(3,)``, or one row per step,
            shape ``(n, 3)`` with ``n <= ns_steps``. May be traced (swept).
        ns_steps: Number of iterations; a static Python int (the loop is unrolled).
        beta: :math:`\beta \in [0, 1)`, momentum decay.
        eps: :math:`\varepsilon \ge 0` in the normalisations.
        mu_dtype: dtype of the momentum; default at least float32.
        nesterov: Structural; Nesterov's look-ahead momentum (default, as optax).
        adaptive: Structural; scale by the dual norm :math:`\langle \hat m, X\rangle`
            (Bernstein & Newhouse).
        preconditioning: ``"frobenius"`` (default), ``"spectral"``, ``"aol"`` or
            ``"schatten"``: how :math:`X_0` is scaled before the iteration.
        weight_dimension_numbers: ``None`` (every leaf is a ``(fan_in, fan_out)``
            matrix), one :class:`MuonDimensionNumbers` for all leaves, a pytree of
            them, or a function of the updates returning one.

    Returns:
        A transform whose state is :class:`MuonState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_muon()
        >>> g = jnp.array([[3.0, 0.0], [0.0, 0.5]])
        >>> u, _ = tx.update(g, tx.init(g))
        >>> print(jnp.round(jnp.diag(u), 1))  # both singular values pulled towards 1
        [0.7 1. ]

    References:
        Jordan et al., `Muon: An optimizer for hidden layers in neural networks
        <https://kellerjordan.github.io/posts/muon/>`_, 2024; Bernstein & Newhouse,
        `Old Optimizer, New Norm <https://arxiv.org/abs/2409.20325>`_, 2024;
        Boissin et al., `Turbo-Muon <https://arxiv.org/abs/2512.04632>`_, 2025 (AOL);
        Grishina et al., `<https://arxiv.org/abs/2506.10935>`_, 2025 (Schatten-4);
        Ahn et al., `Dion <https://arxiv.org/abs/2504.05295>`_, 2025.
    """
    _check_muon_args(ns_coeffs, ns_steps, beta, eps, preconditioning)

    def init_fn(params):
        return MuonState(count=_tree_math.zero_count(),
                         mu=_tree_math.zeros_like_state(params, mu_dtype),
                         ns_coeffs=jnp.asarray(ns_coeffs))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.mu, "scale_by_muon")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, beta)
        if nesterov:
            ahead = _tree_math.bias_correction(mu, beta, _tree_math.safe_increment(count))
            now = _tree_math.bias_correction(_tree_math.upcast(updates), beta, count)
            mu_hat = _tree_math.update_moment(now, ahead, beta)
        else:
            mu_hat = _tree_math.bias_correction(mu, beta, count)
        leaves, treedef = jax.tree.flatten(mu_hat)
        out = []
        for m, dims in zip(leaves, _leaf_dims(weight_dimension_numbers, updates)):
            to_matrix, back = _matricize(m, dims)
            o = back(orthogonalize(to_matrix(m), state.ns_coeffs, ns_steps, preconditioning, eps))
            out.append(jnp.sum(m.conj() * o) * o if adaptive else o)
        out = _tree_math.cast_like(treedef.unflatten(out), updates)
        return out, MuonState(count=count, mu=mu, ns_coeffs=state.ns_coeffs)

    return _base.GradientTransformation(init_fn, update_fn)


def _scale_by_shape(weight_dimension_numbers: Any, consistent_rms: Any) -> _base.GradientTransformation:
    r"""Per leaf, :math:`\sqrt{\max(1, \text{fan\_out}/\text{fan\_in})}` or
    :math:`\rho\sqrt{\max(\text{fan\_in}, \text{fan\_out})}` with ``consistent_rms`` :math:`\rho`."""

    def scale_leaf(u, dims):
        red, out = _axes(u, dims)
        fan_in = math.prod(u.shape[a] for a in red)
        fan_out = math.prod(u.shape[a] for a in out)
        if consistent_rms is None:
            factor = math.sqrt(max(1.0, fan_out / fan_in))
        else:
            factor = math.sqrt(max(fan_in, fan_out)) * jnp.asarray(consistent_rms, u.real.dtype)
        return u * jnp.asarray(factor, u.dtype)

    def f(updates, params):
        del params
        leaves, treedef = jax.tree.flatten(updates)
        dims = _leaf_dims(weight_dimension_numbers, updates)
        return treedef.unflatten([scale_leaf(u, d) for u, d in zip(leaves, dims)])

    return _base.stateless(f)


def muon(
    learning_rate: _base.ScalarOrSchedule,
    ns_coeffs: Any = _STANDARD_COEFFS,
    ns_steps: int = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    weight_decay_mask: _combine.MaskOrFn = None,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    adam_b1: jax.typing.ArrayLike = 0.9,
    adam_b2: jax.typing.ArrayLike = 0.999,
    adam_eps_root: jax.typing.ArrayLike = 0.0,
    adam_weight_decay: jax.typing.ArrayLike = 0.0,
    adam_learning_rate: _base.ScalarOrSchedule | None = None,
    muon_weight_dimension_numbers: Any = None,
    consistent_rms: jax.typing.ArrayLike | None = None,
) -> _base.GradientTransformation:
    r"""Muon for the matrices, (N)AdamW for every other leaf, chosen automatically.

    Matrix leaves (``ndim == 2``, or those ``muon_weight_dimension_numbers``
    describes) take :func:`scale_by_muon`, scaled per leaf by
    :math:`\sqrt{\max(1, \text{fan\_out}/\text{fan\_in})}` (or by
    :math:`\rho \sqrt{\max(\text{fan\_in}, \text{fan\_out})}` with
    ``consistent_rms`` :math:`=\rho`), plus decoupled weight decay:

    .. math:: \theta_t = \theta_{t-1} - \alpha_t\,(s\, u_t + \lambda\,\theta_{t-1})

    The other leaves (biases, norms, scalars) take :func:`adamw` with
    ``adam_b1``, ``adam_b2``, ``eps``, ``adam_eps_root``, ``adam_weight_decay``
    and ``nesterov`` (so NAdamW by default, as in optax), at
    ``adam_learning_rate`` (``learning_rate`` if ``None``).

    Args:
        learning_rate: :math:`\alpha_t` for the Muon leaves; a scalar or schedule.
        ns_coeffs: See :func:`scale_by_muon`; also the presets ``"standard"``, ``"dion"``.
        ns_steps: See :func:`scale_by_muon` (static int).
        beta: Momentum decay of Muon, :math:`[0, 1)`.
        eps: Muon's normalisation epsilon and AdamW's eps, :math:`\ge 0`.
        weight_decay: :math:`\lambda \ge 0` on the Muon leaves.
        weight_decay_mask: Which Muon leaves are decayed (pytree or function).
        mu_dtype: Momentum dtype for both parts.
        nesterov: Structural; Nesterov momentum in Muon and NAdam in the fallback.
        adaptive: See :func:`scale_by_muon`.
        preconditioning: See :func:`scale_by_muon`.
        adam_b1: AdamW's :math:`\beta_1`.
        adam_b2: AdamW's :math:`\beta_2`.
        adam_eps_root: AdamW's eps inside the square root.
        adam_weight_decay: AdamW's weight decay.
        adam_learning_rate: AdamW's learning rate (scalar, schedule or ``None``).
        muon_weight_dimension_numbers: ``None`` (all 2-D leaves are Muon's), or
            a :class:`MuonDimensionNumbers`, a pytree of them (``None`` marks an
            AdamW leaf), or a function of params returning one.
        consistent_rms: ``None`` (width scaling) or :math:`\rho` (0.2 matches AdamW's RMS).

    Returns:
        ``partition({"muon": chain(...), "adam": adamw(...)})``, where the Muon branch is
        ``scale_by_muon``, the shape scaling, ``add_decayed_weights`` and
        ``scale_by_learning_rate``; state :class:`MultiTransformState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.eye(2), "b": jnp.zeros(2)}
        >>> tx = jos.contrib.muon(0.1)
        >>> u, _ = tx.update(params, tx.init(params), params)
        >>> print(jnp.round(u["b"], 3))  # AdamW on the vector: zero gradient, no step
        [0. 0.]

    References:
        Jordan et al., `Muon <https://kellerjordan.github.io/posts/muon/>`_, 2024;
        Liu et al., `Muon is Scalable for LLM Training
        <https://arxiv.org/abs/2502.16982>`_, 2025 (``consistent_rms``).
    """
    if isinstance(ns_coeffs, str):
        if ns_coeffs not in _PRESETS:
            raise ValueError(
                f"`ns_coeffs` preset must be one of {sorted(_PRESETS)}, got {ns_coeffs!r}.")
        ns_coeffs = _PRESETS[ns_coeffs]
    # Named here: adamw would report them as `b1`, `b2`, ...
    _checks.check_decay("adam_b1", adam_b1)
    _checks.check_decay("adam_b2", adam_b2)
    _checks.check_nonnegative("adam_eps_root", adam_eps_root)
    _checks.check_nonnegative("adam_weight_decay", adam_weight_decay)
    _checks.check_nonnegative("adam_learning_rate", adam_learning_rate)
    adam_learning_rate = learning_rate if adam_learning_rate is None else adam_learning_rate
    user_dims = muon_weight_dimension_numbers

    def dims_tree(tree):
        # MuonDimensionNumbers at Muon leaves, None at AdamW leaves (also on masked trees).
        if user_dims is None:
            return jax.tree.map(lambda p: MuonDimensionNumbers() if p.ndim == 2 else None, tree)
        d = user_dims(tree) if callable(user_dims) else user_dims
        return jax.tree.map(lambda dn, sub: jax.tree.map(lambda _: dn, sub), d, tree,
                            is_leaf=lambda x: x is None or _is_dims(x))

    def labels(tree):
        return jax.tree.map(lambda dn: "adam" if dn is None else "muon", dims_tree(tree),
                            is_leaf=lambda x: x is None or _is_dims(x))

    return _partition.partition(
        {
            "muon": _combine.chain(
                scale_by_muon(ns_coeffs, ns_steps, beta, eps, mu_dtype, nesterov=nesterov,
                              adaptive=adaptive, preconditioning=preconditioning,
                              weight_dimension_numbers=dims_tree),
                _scale_by_shape(dims_tree, consistent_rms),
                _weight_decay.add_decayed_weights(weight_decay, weight_decay_mask),
                _scaling.scale_by_learning_rate(learning_rate),
            ),
            "adam": _adam.adamw(adam_learning_rate, b1=adam_b1, b2=adam_b2, eps=eps,
                                eps_root=adam_eps_root, mu_dtype=mu_dtype,
                                weight_decay=adam_weight_decay, nesterov=nesterov),
        },
        labels,
    )

