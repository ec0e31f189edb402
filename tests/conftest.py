"""Suite-wide strictness: dtype promotion, rank promotion, hypothesis profiles."""

import jax
from hypothesis import settings

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True)
settings.load_profile("ci")
