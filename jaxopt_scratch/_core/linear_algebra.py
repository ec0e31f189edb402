r"""Matrix functions used by second-order methods: the dominant eigenpair and inverse p-th roots.

Also :func:`one_matrix_at_a_time`, which keeps a matrix decomposition unbatched under ``vmap``
(jaxlib 0.10's batched CPU LAPACK kernels can deadlock).

Same names, arguments and results as optax 0.2.8 (``optax.power_iteration``,
``optax.matrix_inverse_pth_root``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import tree_utils as _tree_utils


def _normalized(tree: Any) -> Any:
    return _tree_utils.scale(1.0 / _tree_utils.norm(tree), tree)


def power_iteration(
    matrix: jax.typing.ArrayLike | Callable[[Any], Any],
    *,
    v0: Any = None,
    num_iters: jax.typing.ArrayLike = 100,
    error_tolerance: jax.typing.ArrayLike = 1e-6,
    precision: jax.lax.Precision = jax.lax.Precision.HIGHEST,
    key: jax.Array | None = None,
) -> tuple[jax.typing.ArrayLike, Any]:
    r"""The dominant eigenvalue of a matrix and its eigenvector, by power iteration.

    .. math::
        v_{k+1} = \frac{A v_k}{\|A v_k\|}, \qquad \lambda_k = v_k^\top A v_k

    stopping when :math:`\|A v_k - \lambda_k v_k\| / |\lambda_k|` falls below
    ``error_tolerance`` or after ``num_iters`` products.

    Args:
        matrix: A square array, or a function computing the product :math:`A v`
            for ``v`` a pytree (then ``v0`` is required).
        v0: The starting vector (a pytree for a function ``matrix``). By default,
            uniform in :math:`[-1, 1]` drawn with ``key``.
        num_iters: The most products to compute (may be a tracer).
        error_tolerance: The relative residual at which to stop (may be a tracer).
        precision: The matmul precision for an array ``matrix``.
        key: The PRNG key for the default ``v0`` (``jax.random.PRNGKey(0)`` if ``None``).

    Returns:
        ``(eigenvalue, eigenvector)``, the eigenvector of unit norm.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> value, vector = jos.power_iteration(jnp.diag(jnp.array([3.0, 1.0])))
        >>> print(round(float(value), 4), jnp.round(jnp.abs(vector), 3))
        3.0 [1. 0.]

    References:
        von Mises & Pollaczek-Geiringer, 1929, Praktische Verfahren der Gleichungsauflösung.
    """
    if callable(matrix):
        product = matrix
        if v0 is None:
            raise ValueError(
                "`v0` is required when `matrix` is a function: pass a starting vector with the "
                "structure of the function's input."
            )
    else:
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"`matrix` must be a square matrix, got shape {matrix.shape}.")

        def product(v):
            return jnp.matmul(matrix, v, precision=precision)

        if v0 is None:
            v0 = jax.random.uniform(jax.random.PRNGKey(0) if key is None else key,
                                    matrix.shape[-1:], matrix.dtype, -1.0, 1.0)
    v0 = _normalized(v0)
    z0 = product(v0)

    def keep_going(carry):
        vector, z, value, i = carry
        residual = _tree_utils.norm(_tree_utils.sub(z, _tree_utils.scale(value, vector)))
        return ~(jnp.abs(residual / value) < error_tolerance) & (i < num_iters)

    def step(carry):
        _, z, _, i = carry
        vector = _normalized(z)
        z = product(vector)
        return vector, z, _tree_utils.vdot(vector, z), i + 1

    start = (v0, z0, jnp.zeros_like(_tree_utils.vdot(v0, z0)), jnp.asarray(0))
    _, z, value, _ = jax.lax.while_loop(keep_going, step, start)
    return value, _normalized(z)


def _matrix_power(m: jax.Array, p: Any, precision: jax.lax.Precision) -> jax.Array:
    """``m**p`` for a positive integer ``p``: by squaring if ``p`` is concrete, else a loop."""
    if isinstance(p, (float, np.floating)) and float(p).is_integer():
        p = int(p)
    if isinstance(p, (int, np.integer)):
        result, base, p = None, m, int(p)
        while p:
            if p & 1:
                result = base if result is None else jnp.matmul(result, base, precision=precision)
            p >>= 1
            if p:
                base = jnp.matmul(base, base, precision=precision)
        return result
    steps = jnp.asarray(p, jnp.int32) - 1
    return jax.lax.fori_loop(0, steps, lambda _, r: jnp.matmul(r, m, precision=precision), m)


def matrix_inverse_pth_root(
    matrix: jax.typing.ArrayLike,
    p: jax.typing.ArrayLike,
    num_iters: jax.typing.ArrayLike = 100,
    ridge_epsilon: jax.typing.ArrayLike = 1e-6,
    error_tolerance: jax.typing.ArrayLike = 1e-6,
    precision: jax.lax.Precision = jax.lax.Precision.HIGHEST,
) -> tuple[jax.Array, jax.Array]:
    r""":math:`(A + \epsilon\,\lambda_{\max} I)^{-1/p}` for a symmetric positive semi-definite ``A``.

    Coupled Newton iterations, with :math:`\alpha = -1/p`:

    .. math::
        N_k = (1 - \alpha) I + \alpha M_k, \quad M_{k+1} = N_k^p M_k, \quad
        H_{k+1} = H_k N_k,

    from :math:`M_0 = z (A + \epsilon I)`, :math:`H_0 = z^{1/p} I`,
    :math:`z = (1 + p) / (2 \|A + \epsilon I\|_F)`, until :math:`\max |M_k - I|`
    is below ``error_tolerance``, stops decreasing, or ``num_iters`` is reached.
    The ridge is relative: :math:`\epsilon` = ``ridge_epsilon`` times the largest
    eigenvalue (from :func:`power_iteration`).

    Args:
        matrix: A symmetric positive semi-definite square matrix.
        p: The root, a positive integer (may be a tracer).
        num_iters: The most Newton iterations (may be a tracer).
        ridge_epsilon: The relative ridge :math:`\epsilon \ge 0` (may be a tracer).
        error_tolerance: The stopping threshold on :math:`\max|M_k - I|` (may be a tracer).
        precision: The matmul precision.

    Returns:
        ``(root, error)``: the inverse p-th root in ``matrix``'s dtype and :math:`\max|M - I|`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> root, _ = jos.matrix_inverse_pth_root(jnp.diag(jnp.array([4.0, 16.0])), 2,
        ...                                       ridge_epsilon=0.0)
        >>> print(jnp.round(jnp.diag(root), 4))
        [0.5  0.25]

    References:
        Higham, 2008, Functions of Matrices: Theory and Computation (Section 7.3, Eq. 7.18).

    .. note::
        ``optax.matrix_inverse_pth_root`` raises :math:`N_k` to the nearest power
        of two of ``p`` (so ``p=3`` computes a 4th root's iteration and does not
        converge to the cube root); here any positive integer ``p`` is exact.
    """
    concrete = isinstance(p, (int, float, np.integer, np.floating))
    if isinstance(p, bool) or (concrete and (p < 1 or not float(p).is_integer())):
        raise ValueError(f"`p` must be a positive integer, got {p!r}.")
    matrix = jnp.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`matrix` must be a square matrix, got shape {matrix.shape}.")
    n = matrix.shape[0]
    alpha = jnp.asarray(-1.0 / jnp.asarray(p, jnp.float32), jnp.float32)
    identity = jnp.eye(n, dtype=jnp.float32)
    largest, _ = power_iteration(matrix, num_iters=100, error_tolerance=1e-6, precision=precision)
    ridge = ridge_epsilon * jnp.maximum(largest, 1e-16)
    if n == 1:
        return (matrix + ridge) ** alpha, jnp.zeros([], jnp.float32)

    def keep_going(carry):
        i, _, _, _, error, improving = carry
        return (i < num_iters) & (error > error_tolerance) & improving

    def step(carry):
        i, m, h, _, error, _ = carry
        n_k = (1 - alpha) * identity + alpha * m
        new_m = jnp.matmul(_matrix_power(n_k, p, precision), m, precision=precision)
        new_h = jnp.matmul(h, n_k, precision=precision)
        new_error = jnp.max(jnp.abs(new_m - identity))
        # Stop (and keep the previous H) once rounding makes the error grow.
        return i + 1, new_m, new_h, h, new_error, new_error < error * 1.2

    damped = matrix + ridge * identity
    z = (1 + p) / (2 * jnp.linalg.norm(damped))
    m0 = damped * z
    h0 = identity * jnp.power(z, 1.0 / p)
    start = (0, m0, h0, h0, jnp.max(jnp.abs(m0 - identity)), True)
    _, m, h, previous_h, _, improving = jax.lax.while_loop(keep_going, step, start)
    root = jnp.where(improving, h, previous_h).astype(matrix.dtype)
    return root, jnp.max(jnp.abs(m - identity))


def one_matrix_at_a_time(fn: Callable[[jax.Array], Any]) -> Callable[[jax.Array], Any]:
    r"""``fn`` of one matrix, whose ``vmap`` loops over the matrices (``lax.map``): no batched call.

    Under ``vmap``, :math:`\mathrm{fn}(X_b)` for :math:`b = 1, \dots, B` is
    computed in a sequential loop over :math:`b` rather than as one call on the
    stacked :math:`X`; unbatched, it is ``fn`` itself. Use it for LAPACK-backed
    decompositions (``eigh``, ``qr``, ``svd``, ...) inside optimizers, whose
    state is vmapped by a ``jos.sweep``.

    Why: jaxlib 0.10 (0.10.2 measured) CPU LAPACK kernels split a batch of large
    matrices (:math:`n \gtrsim 35`) over XLA's intra-op threads and block a
    thread of that pool until the pieces are done; when as many of them as the
    pool has threads run at once (independent calls in a loop body, as in a
    vmapped SOAP update), every thread waits for work that no thread is free to
    run, forever. A single matrix runs in the calling thread. The numbers are
    those of ``fn``, matrix by matrix; derivatives are ``fn``'s (its JVP rule,
    batched as usual).

    Args:
        fn: A function of one array (a matrix) returning a pytree of arrays,
            each of which gets the input's batch axis under ``vmap``.

    Returns:
        A function with ``fn``'s signature, values and derivatives.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> from jaxopt_scratch._core import linear_algebra
        >>> eigenvalues = linear_algebra.one_matrix_at_a_time(jnp.linalg.eigvalsh)
        >>> mats = jnp.stack([jnp.diag(jnp.array([1.0, 2.0])), 3 * jnp.eye(2)])
        >>> print(jax.vmap(eigenvalues)(mats))
        [[1. 2.]
         [3. 3.]]
        >>> text = jax.jit(jax.vmap(eigenvalues)).lower(mats).as_text()
        >>> "lapack" in text and 'num_batch_dims = "0"' in text
        True
    """
    @jax.custom_batching.custom_vmap
    def unbatched(x):
        return fn(x)

    @unbatched.def_vmap
    def _loop(axis_size, in_batched, x):
        del axis_size
        out = jax.lax.map(unbatched, x) if in_batched[0] else unbatched(x)
        return out, jax.tree.map(lambda _: in_batched[0], out)

    @jax.custom_jvp
    def call(x):
        return unbatched(x)

    call.defjvp(lambda primals, tangents: jax.jvp(fn, primals, tangents))
    return call


def _spectral_radius_bound(q: jax.Array) -> jax.Array:
    """An upper bound on the spectral radius of ``q``: min(Frobenius norm, max column sum)."""
    frobenius = jnp.linalg.matrix_norm(q, ord="fro")
    if q.size == 0:
        return jnp.minimum(frobenius, 0)
    return jnp.minimum(frobenius, jnp.linalg.matrix_norm(q, ord=1))


def nnls(
    A: jax.Array,
    b: jax.Array,
    iters: int,
    unroll: int | bool = 1,
    L: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    r"""Non-negative least squares: :math:`\min_{x \ge 0} \|A x - b\|_2`, by projected gradient.

    Nesterov-accelerated projected gradient on :math:`\tfrac12 x^\top Q x - q^\top x` with
    :math:`Q = A^\top A`, :math:`q = A^\top b` and step :math:`1/L`:

    .. math::
        x_{k+1} = \max\big(0,\ p_k - (Q p_k - q)/L\big), \quad
        p_{k+1} = x_{k+1} + \tfrac{c_k - 1}{c_{k+1}} (x_{k+1} - x_k), \quad
        c_{k+1} = \tfrac{1 + \sqrt{1 + 4 c_k^2}}{2},

    from :math:`x_0 = p_0 = 0`, :math:`c_0 = 0`.

    Args:
        A: The matrix, shape ``(M, N)``.
        b: The target, shape ``(M,)`` or ``(M, K)`` (``K`` problems at once).
        iters: The number of iterations (static).
        unroll: Passed to ``jax.lax.scan``.
        L: An upper bound on the largest eigenvalue of :math:`A^\top A` (may be a
            tracer); by default the smaller of its Frobenius norm and its 1-norm.

    Returns:
        The solution, shape ``(N,)`` or ``(N, K)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> x = jos.nnls(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([5.0, 6.0]), 1000)
        >>> print(jnp.round(x, 2))
        [0.  1.7]

    References:
        Polyak, 2015, Projected gradient method for non-negative least square
        (Contemporary Mathematics 636).
    """
    A, b = jnp.asarray(A), jnp.asarray(b)
    if A.ndim != 2:
        raise ValueError(f"`A` must be a matrix (2 dimensions), got shape {A.shape}.")
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ValueError(
            f"`b` must have shape ({A.shape[0]},) or ({A.shape[0]}, K) to match `A` of shape "
            f"{A.shape}, got {b.shape}."
        )
    q_mat, q_vec = A.mT @ A, A.mT @ b
    bound = _spectral_radius_bound(q_mat) if L is None else jnp.asarray(L)
    bound = jnp.where(bound == 0, jnp.ones_like(bound), bound)  # all-zero A: any step works

    def step(carry, _):
        x, p, c = carry
        c_next = (1 + jnp.sqrt(1 + 4 * c**2)) / 2
        x_next = jnp.clip(p - (q_mat @ p - q_vec) / bound, 0)
        return (x_next, x_next + (c - 1) / c_next * (x_next - x), c_next), None

    x0 = jnp.zeros_like(b, shape=A.shape[-1:] + b.shape[1:])
    (x, _, _), _ = jax.lax.scan(step, (x0, x0, jnp.zeros([], x0.dtype)), length=iters,
                                unroll=unroll)
    return x
