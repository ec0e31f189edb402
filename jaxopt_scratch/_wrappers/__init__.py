"""Layer 3, wrappers: transforms that take transforms (inject, partition, conditional, multistep, join, flatten).

``microbatching`` lives here too: it wraps a function (a loss, a gradient) rather than a
transform, in the same spirit. Imports ``_core``, ``_schedules`` and ``_transforms``.
"""
