"""Layer 4, optimizers: the aliases, each a docstring and a ``chain`` of lower-layer pieces.

Imports ``_core``, ``_schedules``, ``_transforms`` and ``_wrappers``; holds no arithmetic of its own.
"""
