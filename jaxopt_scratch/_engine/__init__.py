"""Layer 6, the experiment engine: ``run``, ``sweep``, progress, and the bundled problems.

Imports any library layer; optional extras (tqdm, pandas, orbax) only lazily, inside functions.
"""
