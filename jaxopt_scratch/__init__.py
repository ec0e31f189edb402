"""jaxopt_scratch: functional, composable, sweepable optimizer transforms for JAX.

Every public name lives here: ``import jaxopt_scratch as jos``.
"""

from importlib.metadata import PackageNotFoundError, version

# --- core (_base, _combine, _update) ---
from jaxopt_scratch._base import EmptyState as EmptyState
from jaxopt_scratch._base import GradientTransformation as GradientTransformation
from jaxopt_scratch._base import identity as identity
from jaxopt_scratch._base import set_to_zero as set_to_zero
from jaxopt_scratch._base import stateless as stateless
from jaxopt_scratch._combine import MaskedNode as MaskedNode
from jaxopt_scratch._combine import MaskedState as MaskedState
from jaxopt_scratch._combine import chain as chain
from jaxopt_scratch._combine import masked as masked
from jaxopt_scratch._combine import named_chain as named_chain
from jaxopt_scratch._update import apply_updates as apply_updates

# --- primitives ---
from jaxopt_scratch._adaptive_adam import ScaleByAdamState as ScaleByAdamState
from jaxopt_scratch._adaptive_adam import ScaleByAmsgradState as ScaleByAmsgradState
from jaxopt_scratch._adaptive_adam import ScaleByLionState as ScaleByLionState
from jaxopt_scratch._adaptive_adam import scale_by_adam as scale_by_adam
from jaxopt_scratch._adaptive_adam import scale_by_adamax as scale_by_adamax
from jaxopt_scratch._adaptive_adam import scale_by_amsgrad as scale_by_amsgrad
from jaxopt_scratch._adaptive_adam import scale_by_lion as scale_by_lion
from jaxopt_scratch._adaptive_rms import ScaleByRmsState as ScaleByRmsState
from jaxopt_scratch._adaptive_rms import ScaleByRssState as ScaleByRssState
from jaxopt_scratch._adaptive_rms import ScaleByStddevState as ScaleByStddevState
from jaxopt_scratch._adaptive_rms import scale_by_rms as scale_by_rms
from jaxopt_scratch._adaptive_rms import scale_by_rss as scale_by_rss
from jaxopt_scratch._adaptive_rms import scale_by_stddev as scale_by_stddev
from jaxopt_scratch._clipping import clip as clip
from jaxopt_scratch._clipping import clip_by_global_norm as clip_by_global_norm
from jaxopt_scratch._layerwise import scale_by_trust_ratio as scale_by_trust_ratio
from jaxopt_scratch._momentum import EmaState as EmaState
from jaxopt_scratch._momentum import TraceState as TraceState
from jaxopt_scratch._momentum import ema as ema
from jaxopt_scratch._momentum import trace as trace
from jaxopt_scratch._scaling import ScaleByScheduleState as ScaleByScheduleState
from jaxopt_scratch._scaling import scale as scale
from jaxopt_scratch._scaling import scale_by_learning_rate as scale_by_learning_rate
from jaxopt_scratch._scaling import scale_by_schedule as scale_by_schedule
from jaxopt_scratch._weight_decay import AddDecayedWeightsState as AddDecayedWeightsState
from jaxopt_scratch._weight_decay import add_decayed_weights as add_decayed_weights

# --- aliases ---
from jaxopt_scratch._aliases_adam import adam as adam
from jaxopt_scratch._aliases_adam import adamax as adamax
from jaxopt_scratch._aliases_adam import adamaxw as adamaxw
from jaxopt_scratch._aliases_adam import adamw as adamw
from jaxopt_scratch._aliases_adam import amsgrad as amsgrad
from jaxopt_scratch._aliases_adam import lion as lion
from jaxopt_scratch._aliases_adam import nadam as nadam
from jaxopt_scratch._aliases_adam import nadamw as nadamw
from jaxopt_scratch._aliases_basic import adagrad as adagrad
from jaxopt_scratch._aliases_basic import rmsprop as rmsprop
from jaxopt_scratch._aliases_basic import sgd as sgd
from jaxopt_scratch._aliases_layerwise import lamb as lamb
from jaxopt_scratch._aliases_layerwise import lars as lars

# --- schedules (issue 3) ---
from jaxopt_scratch._schedules import constant_schedule as constant_schedule
from jaxopt_scratch._schedules import cosine_decay_schedule as cosine_decay_schedule
from jaxopt_scratch._schedules import exponential_decay as exponential_decay
from jaxopt_scratch._schedules import join_schedules as join_schedules
from jaxopt_scratch._schedules import linear_schedule as linear_schedule
from jaxopt_scratch._schedules import piecewise_constant_schedule as piecewise_constant_schedule
from jaxopt_scratch._schedules import polynomial_schedule as polynomial_schedule
from jaxopt_scratch._schedules_warmup import cosine_onecycle_schedule as cosine_onecycle_schedule
from jaxopt_scratch._schedules_warmup import cyclic_schedule as cyclic_schedule
from jaxopt_scratch._schedules_warmup import linear_onecycle_schedule as linear_onecycle_schedule
from jaxopt_scratch._schedules_warmup import sgdr_schedule as sgdr_schedule
from jaxopt_scratch._schedules_warmup import warmup_constant_schedule as warmup_constant_schedule
from jaxopt_scratch._schedules_warmup import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from jaxopt_scratch._schedules_warmup import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule

# --- wrappers and clipping family (issue 3) ---
from jaxopt_scratch._clipping_adaptive import adaptive_grad_clip as adaptive_grad_clip
from jaxopt_scratch._clipping_adaptive import clip_by_block_rms as clip_by_block_rms
from jaxopt_scratch._wrappers import ApplyIfFiniteState as ApplyIfFiniteState
from jaxopt_scratch._wrappers import JoinTransformsState as JoinTransformsState
from jaxopt_scratch._wrappers import MultiTransformState as MultiTransformState
from jaxopt_scratch._wrappers import apply_if_finite as apply_if_finite
from jaxopt_scratch._wrappers import freeze as freeze
from jaxopt_scratch._wrappers import join_transforms as join_transforms
from jaxopt_scratch._wrappers import multi_transform as multi_transform
from jaxopt_scratch._wrappers import partition as partition
from jaxopt_scratch._wrappers_hyper import InjectHyperparamsState as InjectHyperparamsState
from jaxopt_scratch._wrappers_hyper import inject_hyperparams as inject_hyperparams
from jaxopt_scratch._wrappers_multistep import MultiSteps as MultiSteps
from jaxopt_scratch._wrappers_multistep import MultiStepsState as MultiStepsState

# --- problems, run, sweep (issue 4) ---
from jaxopt_scratch import problems as problems
from jaxopt_scratch._loop import RunResult as RunResult
from jaxopt_scratch._loop import run as run
from jaxopt_scratch._sweep import SweepResult as SweepResult
from jaxopt_scratch._sweep import sweep as sweep

# --- performance (issue 6) ---
from jaxopt_scratch._flatten import FlattenState as FlattenState
from jaxopt_scratch._flatten import flatten as flatten

try:
    __version__ = version("jaxopt_scratch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = sorted(n for n in dir() if not n.startswith("_") and n not in {"version", "PackageNotFoundError"})
