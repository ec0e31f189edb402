"""Gradient clipping: by value and by global norm."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math

# optax 0.2.8 exports these names for the (empty) states of its clipping transforms.
ClipState = _base.EmptyState
ClipByGlobalNormState = _base.EmptyState


def clip(max_delta: jax.typing.ArrayLike) -> _base.GradientTransformation:
    r"""Clips every coordinate to :math:`[-\delta, \delta]`: :math:`u = \mathrm{clip}(g, -\delta, \delta)`.

    Value clipping changes the gradient's *direction* when one coordinate is
    clipped more than another (tutorial 3 clips to [-10, 10] this way: P4 in
    ``docs/tutorial_claims.rst``). Compare
    :func:`clip_by_global_norm`, which keeps the direction.

    Args:
        max_delta: :math:`\delta \ge 0`; may be traced.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.clip(1.0)
        >>> print(tx.update(jnp.array([3.0, -0.5, -2.0]), tx.init(jnp.zeros(3)))[0])
        [ 1.  -0.5 -1. ]
    """
    _checks.check_nonnegative("max_delta", max_delta)

    def init_fn(params):
        _reject_complex(params)
        return _base.init_empty_state(params)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _reject_complex(updates)

        def leaf(g):
            d = jnp.asarray(max_delta, g.dtype)
            return jnp.clip(g, -d, d)

        return jax.tree.map(leaf, updates), state

    return _base.GradientTransformation(init_fn, update_fn)


def _reject_complex(tree) -> None:
    """``clip`` orders values, which complex numbers do not have: say so before ``jnp.clip``."""
    for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if jnp.iscomplexobj(x):
            raise TypeError(
                f"`clip` bounds each coordinate by `max_delta`, which has no meaning for the "
                f"complex leaf {jax.tree_util.keystr(path) or '<root>'} ({jnp.result_type(x)}). "
                f"Clip by magnitude instead, with `jos.clip_by_global_norm` or "
                f"`jos.clip_by_block_rms`."
            )


def clip_by_global_norm(max_norm: jax.typing.ArrayLike) -> _base.GradientTransformation:
    r"""Rescales all updates together so their global norm is at most :math:`c`.

    .. math::

        u = g \cdot \min\!\bigl(1,\ c / \|g\|_2\bigr), \qquad
        \|g\|_2 = \sqrt{\textstyle\sum_{\text{leaves}} \sum_i g_i^2}

    The direction is kept; only the length shrinks. The factor is one scalar
    per step, computed in at least float32.

    Args:
        max_norm: :math:`c > 0`; may be traced.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.clip_by_global_norm(1.0)
        >>> print(tx.update({"a": jnp.array([3.0]), "b": jnp.array([4.0])},
        ...                 tx.init({"a": jnp.zeros(1), "b": jnp.zeros(1)}))[0])
        {'a': Array([0.6], dtype=float32), 'b': Array([0.8], dtype=float32)}

    References:
        Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent
        neural networks <https://arxiv.org/abs/1211.5063>`_, 2013.
    """
    _checks.check_interval("max_norm", max_norm, 0.0, None, low_open=True)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        norm = _tree_math.global_norm(updates)
        c = jnp.asarray(max_norm, norm.dtype)
        # 1 below the limit, else c / norm: a NaN norm gives NaN updates (as optax), not 1.
        factor = _tree_math.safe_div(c, norm, 1, where=~(norm < c))
        return _tree_math.scale_tree(updates, factor), state

    return _base.GradientTransformation(_base.init_empty_state, update_fn)
