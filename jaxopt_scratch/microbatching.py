"""``jos.microbatching``: run a function on a large batch in sequential slices, as ``optax.microbatching``.

The same objects as ``jos.microbatch`` and its helpers.

Examples:
    >>> import jax.numpy as jnp
    >>> import jaxopt_scratch as jos
    >>> jos.microbatching.microbatch(jnp.sum, argnums=0, microbatch_size=2)(jnp.arange(6.0))
    Array(15., dtype=float32)
"""

from jaxopt_scratch._wrappers.microbatching import AccumulationType as AccumulationType
from jaxopt_scratch._wrappers.microbatching import Accumulator as Accumulator
from jaxopt_scratch._wrappers.microbatching import micro_grad as micro_grad
from jaxopt_scratch._wrappers.microbatching import micro_vmap as micro_vmap
from jaxopt_scratch._wrappers.microbatching import microbatch as microbatch
from jaxopt_scratch._wrappers.microbatching import reshape_batch_axis as reshape_batch_axis

__all__ = [
    "AccumulationType",
    "Accumulator",
    "micro_grad",
    "micro_vmap",
    "microbatch",
    "reshape_batch_axis",
]
