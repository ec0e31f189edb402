"""``jos.tree_utils``: ``jos.tree``'s functions under ``optax.tree_utils``'s ``tree_`` names.

For code written against ``optax.tree_utils`` (``tree_get``, ``tree_norm``, ...): every name is
the ``jos.tree`` function without the prefix, the same object.

Examples:
    >>> import jax.numpy as jnp
    >>> import jaxopt_scratch as jos
    >>> print(jos.tree_utils.tree_norm({"a": jnp.array([3.0, 4.0])}))
    5.0
"""

from jaxopt_scratch.tree import NamedTupleKey as NamedTupleKey
from jaxopt_scratch.tree import add as tree_add
from jaxopt_scratch.tree import add_scale as tree_add_scale
from jaxopt_scratch.tree import allclose as tree_allclose
from jaxopt_scratch.tree import batch_shape as tree_batch_shape
from jaxopt_scratch.tree import bias_correction as tree_bias_correction
from jaxopt_scratch.tree import cast as tree_cast
from jaxopt_scratch.tree import cast_like as tree_cast_like
from jaxopt_scratch.tree import clip as tree_clip
from jaxopt_scratch.tree import conj as tree_conj
from jaxopt_scratch.tree import div as tree_div
from jaxopt_scratch.tree import dtype as tree_dtype
from jaxopt_scratch.tree import full_like as tree_full_like
from jaxopt_scratch.tree import get as tree_get
from jaxopt_scratch.tree import get_all_with_path as tree_get_all_with_path
from jaxopt_scratch.tree import map_params as tree_map_params
from jaxopt_scratch.tree import max as tree_max
from jaxopt_scratch.tree import min as tree_min
from jaxopt_scratch.tree import mul as tree_mul
from jaxopt_scratch.tree import norm as tree_norm
from jaxopt_scratch.tree import ones_like as tree_ones_like
from jaxopt_scratch.tree import random_like as tree_random_like
from jaxopt_scratch.tree import real as tree_real
from jaxopt_scratch.tree import scale as tree_scale
from jaxopt_scratch.tree import set as tree_set
from jaxopt_scratch.tree import size as tree_size
from jaxopt_scratch.tree import split_key_like as tree_split_key_like
from jaxopt_scratch.tree import sub as tree_sub
from jaxopt_scratch.tree import sum as tree_sum
from jaxopt_scratch.tree import unwrap_random_key_data as tree_unwrap_random_key_data
from jaxopt_scratch.tree import update_infinity_moment as tree_update_infinity_moment
from jaxopt_scratch.tree import update_moment as tree_update_moment
from jaxopt_scratch.tree import update_moment_per_elem_norm as tree_update_moment_per_elem_norm
from jaxopt_scratch.tree import vdot as tree_vdot
from jaxopt_scratch.tree import where as tree_where
from jaxopt_scratch.tree import zeros_like as tree_zeros_like

# NamedTupleKey is importable here too, but listed (and documented) once, in jos.tree.
__all__ = [
    "tree_add",
    "tree_add_scale",
    "tree_allclose",
    "tree_batch_shape",
    "tree_bias_correction",
    "tree_cast",
    "tree_cast_like",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_dtype",
    "tree_full_like",
    "tree_get",
    "tree_get_all_with_path",
    "tree_map_params",
    "tree_max",
    "tree_min",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_random_like",
    "tree_real",
    "tree_scale",
    "tree_set",
    "tree_size",
    "tree_split_key_like",
    "tree_sub",
    "tree_sum",
    "tree_unwrap_random_key_data",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]
