r"""MARS: a variance-reduced gradient correction on AdamW (Yuan et al., 2024)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._transforms import adaptive_adam as _adaptive_adam
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import weight_decay as _weight_decay


class ScaleByMarsState(NamedTuple):
    """State of :func:`scale_by_mars`."""

    count: jax.Array  # updates seen so far (int32 scalar, saturates at the int32 max)
    mu: _base.Updates  # EMA of the clipped corrections c~ (first moment), >= float32
    nu: _base.Updates  # EMA of |c~|^2 (second moment), real, >= float32
    prev_grad: _base.Updates  # the previous step's gradient g_{t-1} (zeros before step 1), >= f32


def _corrected(g: jax.Array, prev: jax.Array, coef: jax.Array) -> jax.Array:
    r""":math:`c = g + k (g - g_{prev})`, divided by :math:`\lVert c\rVert_2` when that exceeds 1."""
    g = _tree_math.upcast(g)
    c = g + coef.astype(g.dtype) * (g - prev.astype(g.dtype))
    norm = _tree_math.norm(c)
    return c / jnp.maximum(norm, jnp.ones_like(norm)).astype(c.dtype)


def scale_by_mars(
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    gamma: jax.typing.ArrayLike = 0.025,
    mu_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""Adam on MARS's variance-reduced, norm-clipped gradient correction (MARS-AdamW, approximate).

    For incoming gradients :math:`g_t` at steps :math:`t = 1, 2, \dots`, per leaf:

    .. math::

        c_t &= g_t + \gamma\, \frac{\beta_1}{1-\beta_1}\,(g_t - g_{t-1})
              \quad (c_1 = g_1), \qquad
        \tilde c_t = c_t / \max(1, \lVert c_t \rVert_2) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, \tilde c_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, \tilde c_t^2 \\
        u_t &= \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \varepsilon}

    The second line and the last are :func:`scale_by_adam` applied to
    :math:`\tilde c_t`. The output is a direction: no learning rate, no sign.

    This is the paper's approximate variant, MARS-approx: the exact correction
    :math:`\nabla f(x_t, \xi_t) - \nabla f(x_{t-1}, \xi_t)` needs the gradient
    of the *current* minibatch at the *previous* parameters, a second gradient
    evaluation per step; MARS-approx uses the previous step's gradient
    :math:`g_{t-1} = \nabla f(x_{t-1}, \xi_{t-1})` instead, which is what a
    ``GradientTransformation`` receives (the authors' code runs it by default).

    Args:
        b1: :math:`\beta_1 \in [0, 1)`; also sets the correction's weight
            :math:`\beta_1 / (1 - \beta_1)`.
        b2: :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon \ge 0`, outside the square root.
        gamma: :math:`\gamma \ge 0`, the strength of the correction (0 gives
            Adam on the norm-clipped gradient).
        mu_dtype: dtype of :math:`m`; default at least float32.

    Returns:
        A transform whose state is :class:`ScaleByMarsState`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.scale_by_mars()
        >>> g = jnp.array([0.3, -0.4])
        >>> u, state = tx.update(g, tx.init(g))
        >>> print(jnp.round(u, 4))  # the first step is Adam's: sign(g), up to eps
        [ 1. -1.]
        >>> print(state.prev_grad)
        [ 0.3 -0.4]

    References:
        Yuan, Liu, Gu et al., `MARS: Unleashing the Power of Variance Reduction
        for Training Large Models <https://arxiv.org/abs/2411.10438>`_, 2024
        (the MARS-AdamW algorithm box and its approximate variant, MARS-approx).

    .. note::
        Paper versus code. (1) First step: the algorithm box starts from
        :math:`x_1 = x_0`, so :math:`c_1 = g_1`; the authors' code (and
        ``pytorch-optimizer``) start from a zero previous gradient, which
        inflates the first correction to :math:`(1 + \gamma\beta_1/(1-\beta_1))\,g_1`.
        We follow the paper. (2) The clipping norm is taken per leaf (per
        parameter tensor), as in both codes; the box writes the norm of the
        whole :math:`c_t`. (3) ``eps`` is added after the bias correction, as
        in the box, the authors' code and :func:`scale_by_adam`;
        ``pytorch-optimizer`` adds it to :math:`\sqrt{v_t}` before. (4) The
        authors' code sends 1-D parameters to plain AdamW (other betas, other
        learning rate) unless ``optimize_1d``; here every leaf gets the
        correction (use :func:`partition` for the split).
    """
    _checks.check_nonnegative("gamma", gamma, hint="Use e.g. 0.025 (the paper's value).")
    adam = _adaptive_adam.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=0.0, mu_dtype=mu_dtype)

    def init_fn(params):
        adam_state = adam.init(params)
        return ScaleByMarsState(count=adam_state.count, mu=adam_state.mu, nu=adam_state.nu,
                                prev_grad=_tree_math.zeros_like_state(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _tree_math.check_same_structure(updates, state.prev_grad, "scale_by_mars")
        dt = _tree_math.scalar_dtype(state.prev_grad)
        b = jnp.asarray(b1, dt)
        # The paper's x_1 = x_0: no correction at the first step.
        coef = jnp.where(state.count == 0, jnp.zeros([], dt), jnp.asarray(gamma, dt) * b / (1 - b))
        corrected = jax.tree.map(lambda g, p: _corrected(g, p, coef), updates, state.prev_grad)
        adam_state = _adaptive_adam.ScaleByAdamState(state.count, state.mu, state.nu)
        out, adam_state = adam.update(corrected, adam_state)
        prev = _tree_math.cast_like(updates, state.prev_grad)
        return (_tree_math.cast_like(out, updates),
                ScaleByMarsState(count=adam_state.count, mu=adam_state.mu, nu=adam_state.nu,
                                 prev_grad=prev))

    return _base.GradientTransformation(init_fn, update_fn)


def mars(
    learning_rate: _base.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.95,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    gamma: jax.typing.ArrayLike = 0.025,
    weight_decay: _base.ScalarOrSchedule = 0.0,
    mask: _combine.MaskOrFn = None,
    mu_dtype: Any | None = None,
) -> _base.GradientTransformation:
    r"""MARS-AdamW: AdamW on a variance-reduced gradient (see :func:`scale_by_mars`).

    .. math::

        \theta_t = \theta_{t-1} - \alpha_t \bigl(u_t + \lambda\, \theta_{t-1}\bigr)

    with :math:`u_t` the :func:`scale_by_mars` direction; the decay is
    decoupled and multiplied by the learning rate, as in :func:`adamw`, the
    paper's MARS-AdamW box and both reference codes. Defaults are the paper's
    (``b1=0.95``, ``b2=0.99``, ``gamma=0.025``, no weight decay).

    Args:
        learning_rate: :math:`\alpha_t`, a scalar or a schedule.
        b1: See :func:`scale_by_mars`.
        b2: See :func:`scale_by_mars`.
        eps: See :func:`scale_by_mars`.
        gamma: See :func:`scale_by_mars`.
        weight_decay: :math:`\lambda \ge 0`, a scalar or a schedule.
        mask: Leaves to decay: a pytree of bools or a function of params.
        mu_dtype: See :func:`scale_by_mars`.

    Returns:
        ``chain(scale_by_mars, add_decayed_weights, scale_by_learning_rate)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.contrib.mars(0.1)
        >>> p = jnp.array([1.0, -2.0])
        >>> u, _ = tx.update(2 * p, tx.init(p), p)
        >>> print(u)
        [-0.1  0.1]

    References:
        Yuan, Liu, Gu et al., `MARS: Unleashing the Power of Variance Reduction
        for Training Large Models <https://arxiv.org/abs/2411.10438>`_, 2024
        (MARS-AdamW).
    """
    return _combine.chain(
        scale_by_mars(b1=b1, b2=b2, eps=eps, gamma=gamma, mu_dtype=mu_dtype),
        _weight_decay.add_decayed_weights(weight_decay, mask),
        _scaling.scale_by_learning_rate(learning_rate),
    )
