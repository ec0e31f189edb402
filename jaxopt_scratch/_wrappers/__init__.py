"""Layer 3, wrappers: transforms that take transforms (inject, partition, conditional, multistep, join, flatten).

Imports ``_core``, ``_schedules`` and ``_transforms``.
"""
