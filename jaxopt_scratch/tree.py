"""``jos.tree``: utilities over pytrees, where ``optax.tree`` keeps them.

Every public function of ``optax.tree`` 0.2.8, with the same arguments: arithmetic
(``add``, ``sub``, ``mul``, ``div``, ``scale``, ``add_scale``, ``vdot``), reductions
(``sum``, ``max``, ``min``, ``norm``, ``size``, ``allclose``), constructors
(``zeros_like``, ``ones_like``, ``full_like``, ``random_like``, ``split_key_like``,
``batch_shape``), dtypes (``cast``, ``cast_like``, ``dtype``), moments
(``update_moment``, ``bias_correction``, ...) and reading or replacing state by
name (``get``, ``set``, ``get_all_with_path``, ``map_params``), plus
:func:`from_optax_state` to resume an optax run.

Examples:
    >>> import jax.numpy as jnp
    >>> import jaxopt_scratch as jos
    >>> tx = jos.chain(jos.clip_by_global_norm(1.0),
    ...                jos.inject_hyperparams(jos.adam)(learning_rate=1e-3))
    >>> state = tx.init({"w": jnp.zeros(2)})
    >>> state = jos.tree.set(state, learning_rate=jnp.asarray(3e-4))
    >>> print(jos.tree.get(state, "learning_rate"))
    0.0003
"""

from jaxopt_scratch._core.state_conversion import from_optax_state
from jaxopt_scratch._core.tree_dtypes import (
    cast,
    cast_like,
    dtype,
    random_like,
    split_key_like,
    unwrap_random_key_data,
)
from jaxopt_scratch._core.tree_moments import (
    bias_correction,
    update_infinity_moment,
    update_moment,
    update_moment_per_elem_norm,
)
from jaxopt_scratch._core.tree_state import NamedTupleKey, get, get_all_with_path, map_params, set
from jaxopt_scratch._core.tree_utils import (
    add,
    add_scale,
    allclose,
    batch_shape,
    clip,
    conj,
    div,
    full_like,
    max,
    min,
    mul,
    norm,
    ones_like,
    real,
    scale,
    size,
    sub,
    sum,
    vdot,
    where,
    zeros_like,
)

__all__ = [
    "NamedTupleKey",
    "add",
    "add_scale",
    "allclose",
    "batch_shape",
    "bias_correction",
    "cast",
    "cast_like",
    "clip",
    "conj",
    "div",
    "dtype",
    "from_optax_state",
    "full_like",
    "get",
    "get_all_with_path",
    "map_params",
    "max",
    "min",
    "mul",
    "norm",
    "ones_like",
    "random_like",
    "real",
    "scale",
    "set",
    "size",
    "split_key_like",
    "sub",
    "sum",
    "unwrap_random_key_data",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "vdot",
    "where",
    "zeros_like",
]
