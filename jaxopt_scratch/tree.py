"""``jos.tree``: utilities over pytrees, where ``optax.tree`` keeps them.

Today it holds the tree maths the optimizers themselves use; optax's full list of
tree utilities lands here next (see CONTRIBUTING.md for where they go).

Examples:
    >>> import jax.numpy as jnp
    >>> import jaxopt_scratch as jos
    >>> m = jos.tree.update_moment({"w": jnp.array([2.0])}, {"w": jnp.array([0.0])}, 0.5)
    >>> print(m["w"])
    [1.]
"""

from jaxopt_scratch._core.tree_math import bias_correction as bias_correction
from jaxopt_scratch._core.tree_math import cast_like as cast_like
from jaxopt_scratch._core.tree_math import update_moment as update_moment

__all__ = ["bias_correction", "cast_like", "update_moment"]
