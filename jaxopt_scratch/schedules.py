"""``jos.schedules``: step-size schedules and hyperparameter injection, as in ``optax.schedules``.

The same objects as the top-level names. Every numeric argument of every
schedule, lengths and boundaries included, may be a tracer.

Examples:
    >>> import jaxopt_scratch as jos
    >>> sched = jos.schedules.linear_schedule(1.0, 0.0, transition_steps=4)
    >>> print(sched(2))
    0.5
"""

from jaxopt_scratch._core.base import Schedule as Schedule
from jaxopt_scratch._schedules.decays import constant_schedule as constant_schedule
from jaxopt_scratch._schedules.decays import cosine_decay_schedule as cosine_decay_schedule
from jaxopt_scratch._schedules.decays import exponential_decay as exponential_decay
from jaxopt_scratch._schedules.decays import join_schedules as join_schedules
from jaxopt_scratch._schedules.decays import linear_schedule as linear_schedule
from jaxopt_scratch._schedules.decays import (
    piecewise_constant_schedule as piecewise_constant_schedule,
)
from jaxopt_scratch._schedules.decays import polynomial_schedule as polynomial_schedule
from jaxopt_scratch._schedules.interpolate import (
    piecewise_interpolate_schedule as piecewise_interpolate_schedule,
)
from jaxopt_scratch._schedules.stateful import StatefulSchedule as StatefulSchedule
from jaxopt_scratch._schedules.stateful import WrappedSchedule as WrappedSchedule
from jaxopt_scratch._schedules.warmup import cosine_onecycle_schedule as cosine_onecycle_schedule
from jaxopt_scratch._schedules.warmup import linear_onecycle_schedule as linear_onecycle_schedule
from jaxopt_scratch._schedules.warmup import sgdr_schedule as sgdr_schedule
from jaxopt_scratch._schedules.warmup import warmup_constant_schedule as warmup_constant_schedule
from jaxopt_scratch._schedules.warmup import (
    warmup_cosine_decay_schedule as warmup_cosine_decay_schedule,
)
from jaxopt_scratch._schedules.warmup import (
    warmup_exponential_decay_schedule as warmup_exponential_decay_schedule,
)
from jaxopt_scratch._wrappers.inject import InjectHyperparamsState as InjectHyperparamsState
from jaxopt_scratch._wrappers.inject import inject_hyperparams as inject_hyperparams
from jaxopt_scratch._wrappers.inject_stateful import (
    InjectStatefulHyperparamsState as InjectStatefulHyperparamsState,
)
from jaxopt_scratch._wrappers.inject_stateful import (
    inject_stateful_hyperparams as inject_stateful_hyperparams,
)

__all__ = [
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "Schedule",
    "StatefulSchedule",
    "WrappedSchedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]
