"""Layer 2, primitives: the ``scale_by_*``, accumulation, weight-decay and clipping transforms, one module per family.

Imports ``_core`` (and ``_schedules`` where a transform takes a schedule).
"""
