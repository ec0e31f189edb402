r"""Sophia: clipped, diagonally preconditioned momentum with a periodically estimated Hessian."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_dtypes as _tree_dtypes
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


class HutchinsonState(NamedTuple):
    """State of :func:`hutchinson_estimator_diag_hessian`."""

    key: jax.Array  # the PRNG key for the next Rademacher probe


def hutchinson_estimator_diag_hessian(
    random_seed: jax.Array | None = None,
) -> _base.GradientTransformation:
    r"""Estimates the Hessian's diagonal by Hutchinson's trick: :math:`u \odot (\nabla^2 f\, u)`.

    :math:`u` has independent :math:`\pm 1` entries, so :math:`\mathbb{E}[u \odot Hu] =
    \mathrm{diag}(H)`; :math:`Hu` is one Hessian-vector product (forward over
    reverse). ``update`` ignores the gradients it is given and needs
    ``params`` and ``obj_fn`` (the loss as a function of the params alone).

    Args:
        random_seed: A PRNG key (default ``jax.random.PRNGKey(0)``).

    Returns:
        A transform whose state is :class:`HutchinsonState`; its output is the estimate.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.hutchinson_estimator_diag_hessian()
        >>> p = jnp.array([1.0, 2.0])
        >>> f = lambda x: jnp.sum(jnp.array([3.0, 5.0]) * x ** 2)  # diag(H) = (6, 10)
        >>> print(tx.update(p, tx.init(p), p, obj_fn=f)[0])  # exact for a diagonal H
        [ 6. 10.]

    References:
        Hutchinson, `A stochastic estimator of the trace of the influence matrix
        <https://doi.org/10.1080/03610919008812866>`_, 1990; Liu et al.,
        `Sophia <https://arxiv.org/abs/2305.14342>`_, 2024 (Algorithm 2, Sophia-H).
    """

    def init_fn(params):
        del params
        return HutchinsonState(key=jax.random.PRNGKey(0) if random_seed is None else random_seed)

    def update_fn(updates, state, params=None, *, obj_fn=None, **extra_args):
        del updates, extra_args
        _tree_math.check_params_given(params, "hutchinson_estimator_diag_hessian")
        if obj_fn is None:
            raise ValueError(
                "`hutchinson_estimator_diag_hessian` needs the loss: call "
                "`tx.update(grads, state, params, obj_fn=lambda p: loss(p, batch))`.")
        key, probe_key = jax.random.split(state.key)
        lowest = _tree_dtypes.dtype(params, "lowest")
        signs = _tree_dtypes.random_like(probe_key, params, jax.random.rademacher, jnp.float32)
        signs = jax.tree.map(lambda s: s.astype(lowest), signs)
        hvp = jax.jvp(jax.grad(obj_fn), (params,), (signs,))[1]
        return jax.tree.map(lambda h, s: h * s, hvp, signs), HutchinsonState(key=key)

    return _base.GradientTransformation(init_fn, update_fn)


class SophiaState(NamedTuple):
    """State of :func:`sophia`."""

    count: jax.Array  # updates seen so far (int32 scalar)
    mu: _base.Updates  # EMA of g (decay b1), >= float32 by default
    nu: _base.Updates  # EMA of the Hessian-diagonal estimates (decay b2), >= float32
    hessian_fn_state: Any  # the Hessian-diagonal estimator's state


def _scale_by_sophia(b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn,
                     mu_dtype):
    def init_fn(params):
        return SophiaState(count=_tree_math.zero_count(),
                           mu=_tree_math.zeros_like_state(params, mu_dtype),
                           nu=_tree_math.zeros_like_state(params),
                           hessian_fn_state=hessian_diagonal_fn.init(params))

    def update_fn(updates, state, params=None, **hess_fn_kwargs):
        _tree_math.check_params_given(params, "sophia")
        _tree_math.check_same_structure(updates, state.mu, "sophia")
        count = _tree_math.safe_increment(state.count)
        mu = _tree_math.update_moment(updates, state.mu, b1)
        mu_hat = _tree_math.bias_correction(mu, b1, count)

        def precondition(m, h):
            floor = jnp.asarray(eps, h.real.dtype)
            u = m / _tree_math.cast(jnp.maximum(jnp.asarray(gamma, h.real.dtype) * h, floor),
                                    m.dtype)
            if clip_threshold is None:
                return u
            c = jnp.asarray(clip_threshold, u.real.dtype)
            return jnp.clip(u, -c, c)

        out = jax.tree.map(precondition, mu_hat, state.nu)

        def refresh(hess_state, nu):
            diag, hess_state = _base.call_update(hessian_diagonal_fn, updates, hess_state, params,
                                                 hess_fn_kwargs)
            return hess_state, _tree_math.update_moment(diag, nu, b2)

        def keep(hess_state, nu):
            return hess_state, nu

        # The Hessian is estimated on steps 0, k, 2k, ... (before this step's count).
        due = state.count % jnp.asarray(update_interval, state.count.dtype) == 0
        hess_state, nu = jax.lax.cond(due, refresh, keep, state.hessian_fn_state, state.nu)
        return _tree_math.cast_like(out, updates), SophiaState(count=count, mu=mu, nu=nu,
                                                               hessian_fn_state=hess_state)

    return _base.GradientTransformation(init_fn, update_fn)


def sophia(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.965,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 1e-4,
    weight_decay_mask: _combine.MaskOrFn = None,
    gamma: jax.typing.ArrayLike = 0.01,
    clip_threshold: jax.typing.ArrayLike | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: _base.GradientTransformation | None = None,
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
) -> _base.GradientTransformation:
    r"""Sophia: momentum over a clipped diagonal-Hessian preconditioner, with AdamW-style decay.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        h_t = \beta_2 h_{t-k} + (1-\beta_2)\, \hat h_t \ \text{ every } k \text{ steps} \\
        u_t &= \mathrm{clip}\Bigl(\frac{m_t/(1-\beta_1^t)}{\max(\gamma h_{t-1}, \varepsilon)},
            \pm \rho\Bigr), \qquad
        \theta_t = \theta_{t-1} - \eta_t (u_t + \lambda \theta_{t-1})

    :math:`\hat h` comes from ``hessian_diagonal_fn`` (default
    :func:`hutchinson_estimator_diag_hessian`, which needs ``obj_fn=`` in
    ``update``; extra keyword arguments of ``update`` are passed on to it). The
    step uses the Hessian average from before this step's refresh, as in optax.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or schedule.
        b1: :math:`\beta_1 \in [0, 1)`.
        b2: :math:`\beta_2 \in [0, 1)`, per refresh (effectively
            :math:`1 - (1-\beta_2)/k` per step).
        eps: :math:`\varepsilon > 0`, the floor of :math:`\gamma h`.
        weight_decay: :math:`\lambda \ge 0`, decoupled, times the learning rate.
        weight_decay_mask: Which leaves are decayed.
        gamma: :math:`\gamma > 0`, scales the Hessian.
        clip_threshold: :math:`\rho > 0`, or ``None`` for no clipping.
        update_interval: :math:`k`, static int: refresh the Hessian every k steps.
        hessian_diagonal_fn: The estimator transform (``None``: Hutchinson, seed 0).
        mu_dtype: dtype of :math:`m`.
        verbose: Structural; print the fraction of unclipped coordinates.
        print_win_rate_every_n_steps: How often ``verbose`` prints.

    Returns:
        ``chain(scale_by_sophia, add_decayed_weights, scale_by_learning_rate)``; the
        first state is :class:`SophiaState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> f = lambda x: jnp.sum(x ** 2)
        >>> tx = jos.contrib.sophia(0.1, weight_decay=0.0)
        >>> p = jnp.array([1.0, -2.0])
        >>> u, state = tx.update(2 * p, tx.init(p), p, obj_fn=f)
        >>> print(u)  # h is still 0 at the first step: the clipped sign step
        [-0.1  0.1]

    References:
        Liu et al., `Sophia: A Scalable Stochastic Second-order Optimizer for Language
        Model Pre-training <https://arxiv.org/abs/2305.14342>`_, 2024 (Algorithm 3).
    """
    _checks.check_decay("b1", b1)
    _checks.check_decay("b2", b2)
    _checks.check_interval("eps", eps, 0.0, None, low_open=True)
    _checks.check_interval("gamma", gamma, 0.0, None, low_open=True)
    if clip_threshold is not None:
        _checks.check_interval("clip_threshold", clip_threshold, 0.0, None, low_open=True)
    if isinstance(update_interval, bool) or not isinstance(update_interval, int) \
            or update_interval < 1:
        raise ValueError(f"`update_interval` must be a positive int, got {update_interval!r}.")
    if hessian_diagonal_fn is None:
        hessian_diagonal_fn = hutchinson_estimator_diag_hessian()
    _combine.check_transform(hessian_diagonal_fn, "`hessian_diagonal_fn`")
    tx = _scale_by_sophia(b1, b2, eps, gamma, clip_threshold, update_interval,
                          hessian_diagonal_fn, mu_dtype)
    if verbose:
        tx = _with_win_rate(tx, clip_threshold, print_win_rate_every_n_steps)
    return _combine.chain(
        tx,
        _weight_decay.add_decayed_weights(weight_decay, weight_decay_mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )


def _with_win_rate(tx, clip_threshold, every):
    """Prints the fraction of coordinates below the clip every ``every`` steps (diagnostics)."""

    def update_fn(updates, state, params=None, **extra_args):
        out, new_state = tx.update(updates, state, params, **extra_args)
        if clip_threshold is not None and every:
            leaves = jax.tree.leaves(out)
            inside = sum(jnp.sum(jnp.abs(u) < clip_threshold) for u in leaves)
            rate = inside / max(1, sum(u.size for u in leaves))
            jax.lax.cond(new_state.count % every == 0,
                         lambda: jax.debug.print("Sophia optimizer win rate: {}", rate),
                         lambda: None)
        return out, new_state

    return _base.GradientTransformation(tx.init, update_fn)
