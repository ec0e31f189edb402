"""jaxopt_scratch: functional, composable, sweepable optimizer transforms for JAX.

Every public name lives here: ``import jaxopt_scratch as jos``. The names are listed by the
layer that defines them, from the ground floor up (``CONTRIBUTING.md`` has the map); the
public submodules ``jos.transforms``, ``jos.schedules``, ``jos.tree``, ``jos.contrib`` and
``jos.problems`` hold the same objects where optax users look for them.
"""

# ruff: noqa: I001  (the names are grouped by layer, ground floor first, not alphabetically)
from importlib.metadata import PackageNotFoundError, version

# --- Layer 0, the contract (_core) ---
from jaxopt_scratch._core.base import EmptyState as EmptyState
from jaxopt_scratch._core.base import GradientTransformation as GradientTransformation
from jaxopt_scratch._core.base import (
    GradientTransformationExtraArgs as GradientTransformationExtraArgs,
)
from jaxopt_scratch._core.base import OptState as OptState
from jaxopt_scratch._core.base import Params as Params
from jaxopt_scratch._core.base import ScalarOrSchedule as ScalarOrSchedule
from jaxopt_scratch._core.base import Schedule as Schedule
from jaxopt_scratch._core.base import TransformInitFn as TransformInitFn
from jaxopt_scratch._core.base import TransformUpdateExtraArgsFn as TransformUpdateExtraArgsFn
from jaxopt_scratch._core.base import TransformUpdateFn as TransformUpdateFn
from jaxopt_scratch._core.base import Updates as Updates
from jaxopt_scratch._core.base import identity as identity
from jaxopt_scratch._core.base import init_empty_state as init_empty_state
from jaxopt_scratch._core.base import set_to_zero as set_to_zero
from jaxopt_scratch._core.base import stateless as stateless
from jaxopt_scratch._core.base import stateless_with_tree_map as stateless_with_tree_map
from jaxopt_scratch._core.base import with_extra_args_support as with_extra_args_support
from jaxopt_scratch._core.combine import MaskOrFn as MaskOrFn
from jaxopt_scratch._core.combine import MaskedNode as MaskedNode
from jaxopt_scratch._core.combine import MaskedState as MaskedState
from jaxopt_scratch._core.combine import chain as chain
from jaxopt_scratch._core.combine import masked as masked
from jaxopt_scratch._core.combine import named_chain as named_chain
from jaxopt_scratch._core.distributions import (
    MultiNormalDiagFromLogScale as MultiNormalDiagFromLogScale,
)
from jaxopt_scratch._core.distributions import multi_normal as multi_normal
from jaxopt_scratch._core.linear_algebra import matrix_inverse_pth_root as matrix_inverse_pth_root
from jaxopt_scratch._core.linear_algebra import nnls as nnls
from jaxopt_scratch._core.linear_algebra import power_iteration as power_iteration
from jaxopt_scratch._core.numerics import global_norm as global_norm
from jaxopt_scratch._core.numerics import incremental_update as incremental_update
from jaxopt_scratch._core.numerics import periodic_update as periodic_update
from jaxopt_scratch._core.numerics import safe_increment as safe_increment
from jaxopt_scratch._core.numerics import safe_int32_increment as safe_int32_increment
from jaxopt_scratch._core.numerics import safe_norm as safe_norm
from jaxopt_scratch._core.numerics import safe_root_mean_squares as safe_root_mean_squares
from jaxopt_scratch._core.tree_moments import bias_correction as bias_correction
from jaxopt_scratch._core.tree_moments import update_infinity_moment as update_infinity_moment
from jaxopt_scratch._core.tree_moments import update_moment as update_moment
from jaxopt_scratch._core.tree_moments import (
    update_moment_per_elem_norm as update_moment_per_elem_norm,
)
from jaxopt_scratch._core.tree_state import map_params as tree_map_params
from jaxopt_scratch._core.update import apply_updates as apply_updates

# --- Layer 1, schedules (_schedules) ---
from jaxopt_scratch._schedules.decays import constant_schedule as constant_schedule
from jaxopt_scratch._schedules.decays import cosine_decay_schedule as cosine_decay_schedule
from jaxopt_scratch._schedules.decays import exponential_decay as exponential_decay
from jaxopt_scratch._schedules.decays import join_schedules as join_schedules
from jaxopt_scratch._schedules.decays import linear_schedule as linear_schedule
from jaxopt_scratch._schedules.decays import piecewise_constant_schedule as piecewise_constant_schedule
from jaxopt_scratch._schedules.decays import polynomial_schedule as polynomial_schedule
from jaxopt_scratch._schedules.interpolate import (
    piecewise_interpolate_schedule as piecewise_interpolate_schedule,
)
from jaxopt_scratch._schedules.stateful import StatefulSchedule as StatefulSchedule
from jaxopt_scratch._schedules.stateful import WrappedSchedule as WrappedSchedule
from jaxopt_scratch._schedules.warmup import cosine_onecycle_schedule as cosine_onecycle_schedule
from jaxopt_scratch._schedules.warmup import cyclic_schedule as cyclic_schedule
from jaxopt_scratch._schedules.warmup import linear_onecycle_schedule as linear_onecycle_schedule
from jaxopt_scratch._schedules.warmup import sgdr_schedule as sgdr_schedule
from jaxopt_scratch._schedules.warmup import warmup_constant_schedule as warmup_constant_schedule
from jaxopt_scratch._schedules.warmup import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from jaxopt_scratch._schedules.warmup import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule

# --- Layer 2, primitives (_transforms) ---
from jaxopt_scratch._transforms.accumulation import ApplyEvery as ApplyEvery
from jaxopt_scratch._transforms.accumulation import EmaState as EmaState
from jaxopt_scratch._transforms.accumulation import TraceState as TraceState
from jaxopt_scratch._transforms.accumulation import apply_every as apply_every
from jaxopt_scratch._transforms.accumulation import ema as ema
from jaxopt_scratch._transforms.accumulation import trace as trace
from jaxopt_scratch._transforms.adaptive_adam import ScaleByAdamState as ScaleByAdamState
from jaxopt_scratch._transforms.adaptive_adam import ScaleByAmsgradState as ScaleByAmsgradState
from jaxopt_scratch._transforms.adaptive_adam import ScaleByLionState as ScaleByLionState
from jaxopt_scratch._transforms.adaptive_adam import scale_by_adam as scale_by_adam
from jaxopt_scratch._transforms.adaptive_adam import scale_by_adamax as scale_by_adamax
from jaxopt_scratch._transforms.adaptive_adam import scale_by_amsgrad as scale_by_amsgrad
from jaxopt_scratch._transforms.adaptive_adam import scale_by_lion as scale_by_lion
from jaxopt_scratch._transforms.adaptive_delta import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from jaxopt_scratch._transforms.adaptive_delta import scale_by_adadelta as scale_by_adadelta
from jaxopt_scratch._transforms.adaptive_layerwise import (
    ScaleByNovogradState as ScaleByNovogradState,
)
from jaxopt_scratch._transforms.adaptive_layerwise import scale_by_novograd as scale_by_novograd
from jaxopt_scratch._transforms.adaptive_nesterov import ScaleByAdanState as ScaleByAdanState
from jaxopt_scratch._transforms.adaptive_nesterov import scale_by_adan as scale_by_adan
from jaxopt_scratch._transforms.adaptive_rms import ScaleByRmsState as ScaleByRmsState
from jaxopt_scratch._transforms.adaptive_rms import ScaleByRStdDevState as ScaleByRStdDevState
from jaxopt_scratch._transforms.adaptive_rms import ScaleByRssState as ScaleByRssState
from jaxopt_scratch._transforms.adaptive_rms import ScaleByStddevState as ScaleByStddevState
from jaxopt_scratch._transforms.adaptive_rms import scale_by_rms as scale_by_rms
from jaxopt_scratch._transforms.adaptive_rms import scale_by_rss as scale_by_rss
from jaxopt_scratch._transforms.adaptive_rms import scale_by_stddev as scale_by_stddev
from jaxopt_scratch._transforms.adaptive_variance import ScaleByBeliefState as ScaleByBeliefState
from jaxopt_scratch._transforms.adaptive_variance import scale_by_belief as scale_by_belief
from jaxopt_scratch._transforms.adaptive_variance import scale_by_radam as scale_by_radam
from jaxopt_scratch._transforms.adaptive_variance import scale_by_yogi as scale_by_yogi
from jaxopt_scratch._transforms.clipping import ClipByGlobalNormState as ClipByGlobalNormState
from jaxopt_scratch._transforms.clipping import ClipState as ClipState
from jaxopt_scratch._transforms.clipping import clip as clip
from jaxopt_scratch._transforms.clipping import clip_by_global_norm as clip_by_global_norm
from jaxopt_scratch._transforms.clipping_adaptive import AdaptiveGradClipState as AdaptiveGradClipState
from jaxopt_scratch._transforms.clipping_adaptive import adaptive_grad_clip as adaptive_grad_clip
from jaxopt_scratch._transforms.clipping_adaptive import clip_by_block_rms as clip_by_block_rms
from jaxopt_scratch._transforms.clipping_adaptive import unitwise_clip as unitwise_clip
from jaxopt_scratch._transforms.clipping_adaptive import unitwise_norm as unitwise_norm
from jaxopt_scratch._transforms.constraints import NonNegativeParamsState as NonNegativeParamsState
from jaxopt_scratch._transforms.constraints import ZeroNansState as ZeroNansState
from jaxopt_scratch._transforms.constraints import (
    keep_params_nonnegative as keep_params_nonnegative,
)
from jaxopt_scratch._transforms.constraints import zero_nans as zero_nans
from jaxopt_scratch._transforms.factored import FactoredState as FactoredState
from jaxopt_scratch._transforms.factored import scale_by_factored_rms as scale_by_factored_rms
from jaxopt_scratch._transforms.layerwise import (
    scale_by_param_block_norm as scale_by_param_block_norm,
)
from jaxopt_scratch._transforms.layerwise import (
    scale_by_param_block_rms as scale_by_param_block_rms,
)
from jaxopt_scratch._transforms.layerwise import ScaleByTrustRatioState as ScaleByTrustRatioState
from jaxopt_scratch._transforms.layerwise import scale_by_trust_ratio as scale_by_trust_ratio
from jaxopt_scratch._transforms.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from jaxopt_scratch._transforms.lbfgs import scale_by_lbfgs as scale_by_lbfgs
from jaxopt_scratch._transforms.linesearch import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from jaxopt_scratch._transforms.linesearch import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from jaxopt_scratch._transforms.linesearch import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
from jaxopt_scratch._transforms.linesearch import value_and_grad_from_state as value_and_grad_from_state
from jaxopt_scratch._transforms.noise import AddNoiseState as AddNoiseState
from jaxopt_scratch._transforms.noise import add_noise as add_noise
from jaxopt_scratch._transforms.normalization import centralize as centralize
from jaxopt_scratch._transforms.normalization import (
    normalize_by_update_norm as normalize_by_update_norm,
)
from jaxopt_scratch._transforms.optimistic import (
    ScaleByOptimisticGradientState as ScaleByOptimisticGradientState,
)
from jaxopt_scratch._transforms.optimistic import (
    scale_by_optimistic_gradient as scale_by_optimistic_gradient,
)
from jaxopt_scratch._transforms.parameter_free import (
    ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState,
)
from jaxopt_scratch._transforms.parameter_free import (
    scale_by_distance_over_gradients as scale_by_distance_over_gradients,
)
from jaxopt_scratch._transforms.per_example import (
    per_example_global_norm_clip as per_example_global_norm_clip,
)
from jaxopt_scratch._transforms.per_example import (
    per_example_layer_norm_clip as per_example_layer_norm_clip,
)
from jaxopt_scratch._transforms.polyak import scale_by_polyak as scale_by_polyak
from jaxopt_scratch._transforms.scaling import ScaleState as ScaleState
from jaxopt_scratch._transforms.scaling import ScaleByScheduleState as ScaleByScheduleState
from jaxopt_scratch._transforms.scaling import scale as scale
from jaxopt_scratch._transforms.scaling import scale_by_learning_rate as scale_by_learning_rate
from jaxopt_scratch._transforms.scaling import scale_by_schedule as scale_by_schedule
from jaxopt_scratch._transforms.scaling import scale_gradient as scale_gradient
from jaxopt_scratch._transforms.sign import ScaleByRpropState as ScaleByRpropState
from jaxopt_scratch._transforms.sign import scale_by_rprop as scale_by_rprop
from jaxopt_scratch._transforms.sign import scale_by_sign as scale_by_sign
from jaxopt_scratch._transforms.sm3 import ScaleBySM3State as ScaleBySM3State
from jaxopt_scratch._transforms.sm3 import scale_by_sm3 as scale_by_sm3
from jaxopt_scratch._transforms.weight_decay import AddDecayedWeightsState as AddDecayedWeightsState
from jaxopt_scratch._transforms.weight_decay import add_decayed_weights as add_decayed_weights
from jaxopt_scratch._transforms.zoom_linesearch import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from jaxopt_scratch._transforms.zoom_linesearch import ZoomLinesearchInfo as ZoomLinesearchInfo
from jaxopt_scratch._transforms.zoom_linesearch import scale_by_zoom_linesearch as scale_by_zoom_linesearch

# --- Layer 3, wrappers (_wrappers) ---
from jaxopt_scratch._wrappers.conditional import ApplyIfFiniteState as ApplyIfFiniteState
from jaxopt_scratch._wrappers.conditional import apply_if_finite as apply_if_finite
from jaxopt_scratch._wrappers.conditional_steps import ConditionFn as ConditionFn
from jaxopt_scratch._wrappers.conditional_steps import (
    ConditionallyMaskState as ConditionallyMaskState,
)
from jaxopt_scratch._wrappers.conditional_steps import (
    ConditionallyTransformState as ConditionallyTransformState,
)
from jaxopt_scratch._wrappers.conditional_steps import conditionally_mask as conditionally_mask
from jaxopt_scratch._wrappers.conditional_steps import (
    conditionally_transform as conditionally_transform,
)
from jaxopt_scratch._wrappers.flatten import FlattenState as FlattenState
from jaxopt_scratch._wrappers.flatten import flatten as flatten
from jaxopt_scratch._wrappers.inject import InjectHyperparamsState as InjectHyperparamsState
from jaxopt_scratch._wrappers.inject import inject_hyperparams as inject_hyperparams
from jaxopt_scratch._wrappers.inject_stateful import (
    InjectStatefulHyperparamsState as InjectStatefulHyperparamsState,
)
from jaxopt_scratch._wrappers.inject_stateful import (
    inject_stateful_hyperparams as inject_stateful_hyperparams,
)
from jaxopt_scratch._wrappers.join import JoinTransformsState as JoinTransformsState
from jaxopt_scratch._wrappers.join import join_transforms as join_transforms
from jaxopt_scratch._wrappers.lookahead import LookaheadParams as LookaheadParams
from jaxopt_scratch._wrappers.lookahead import LookaheadState as LookaheadState
from jaxopt_scratch._wrappers.lookahead import lookahead as lookahead
from jaxopt_scratch._wrappers.microbatching import microbatch as microbatch
from jaxopt_scratch._wrappers.monitor import MonitorState as MonitorState
from jaxopt_scratch._wrappers.monitor import SnapshotState as SnapshotState
from jaxopt_scratch._wrappers.monitor import measure_with_ema as measure_with_ema
from jaxopt_scratch._wrappers.monitor import monitor as monitor
from jaxopt_scratch._wrappers.monitor import snapshot as snapshot
from jaxopt_scratch._wrappers.multistep import MultiSteps as MultiSteps
from jaxopt_scratch._wrappers.multistep import MultiStepsState as MultiStepsState
from jaxopt_scratch._wrappers.partition import MultiTransformState as MultiTransformState
from jaxopt_scratch._wrappers.partition import PartitionState as PartitionState
from jaxopt_scratch._wrappers.partition import freeze as freeze
from jaxopt_scratch._wrappers.partition import multi_transform as multi_transform
from jaxopt_scratch._wrappers.partition import partition as partition
from jaxopt_scratch._wrappers.partition import selective_transform as selective_transform
from jaxopt_scratch._wrappers.skipping import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from jaxopt_scratch._wrappers.skipping import skip_large_updates as skip_large_updates
from jaxopt_scratch._wrappers.skipping import skip_not_finite as skip_not_finite

# --- Layer 4, optimizers (_optimizers) ---
from jaxopt_scratch._optimizers.adam import adam as adam
from jaxopt_scratch._optimizers.adam import adamax as adamax
from jaxopt_scratch._optimizers.adam import adamaxw as adamaxw
from jaxopt_scratch._optimizers.adam import adamw as adamw
from jaxopt_scratch._optimizers.adam import amsgrad as amsgrad
from jaxopt_scratch._optimizers.adam import lion as lion
from jaxopt_scratch._optimizers.adam import nadam as nadam
from jaxopt_scratch._optimizers.adam import nadamw as nadamw
from jaxopt_scratch._optimizers.adam_variants import adabelief as adabelief
from jaxopt_scratch._optimizers.adam_variants import adan as adan
from jaxopt_scratch._optimizers.adam_variants import novograd as novograd
from jaxopt_scratch._optimizers.adam_variants import radam as radam
from jaxopt_scratch._optimizers.adam_variants import yogi as yogi
from jaxopt_scratch._optimizers.basic import adagrad as adagrad
from jaxopt_scratch._optimizers.basic import rmsprop as rmsprop
from jaxopt_scratch._optimizers.basic import sgd as sgd
from jaxopt_scratch._optimizers.layerwise import lamb as lamb
from jaxopt_scratch._optimizers.layerwise import lars as lars
from jaxopt_scratch._optimizers.lbfgs import lbfgs as lbfgs
from jaxopt_scratch._optimizers.optimistic import optimistic_adam as optimistic_adam
from jaxopt_scratch._optimizers.optimistic import optimistic_adam_v2 as optimistic_adam_v2
from jaxopt_scratch._optimizers.optimistic import (
    optimistic_gradient_descent as optimistic_gradient_descent,
)
from jaxopt_scratch._optimizers.polyak import polyak_sgd as polyak_sgd
from jaxopt_scratch._optimizers.rms_variants import adadelta as adadelta
from jaxopt_scratch._optimizers.rms_variants import adafactor as adafactor
from jaxopt_scratch._optimizers.rms_variants import sm3 as sm3
from jaxopt_scratch._optimizers.sgd_variants import fromage as fromage
from jaxopt_scratch._optimizers.sgd_variants import noisy_sgd as noisy_sgd
from jaxopt_scratch._optimizers.sign import rprop as rprop
from jaxopt_scratch._optimizers.sign import sign_sgd as sign_sgd
from jaxopt_scratch._optimizers.sign import signum as signum

# --- Layer 6, the experiment engine (_engine) ---
from jaxopt_scratch._engine.loop import RunResult as RunResult
from jaxopt_scratch._engine.loop import run as run
from jaxopt_scratch._engine.lr_find import LRFindResult as LRFindResult
from jaxopt_scratch._engine.lr_find import lr_find as lr_find
from jaxopt_scratch._engine.memory import MemoryBudgetError as MemoryBudgetError
from jaxopt_scratch._engine.memory import MemoryEstimate as MemoryEstimate
from jaxopt_scratch._engine.minimize import MinimizeResult as MinimizeResult
from jaxopt_scratch._engine.minimize import minimize as minimize
from jaxopt_scratch._engine.pbt import PBT as PBT
from jaxopt_scratch._engine.pbt import PopulationRecord as PopulationRecord
from jaxopt_scratch._engine.pbt import pbt as pbt
from jaxopt_scratch._engine.pruning import Halving as Halving
from jaxopt_scratch._engine.pruning import halving as halving
from jaxopt_scratch._engine.results import SweepResult as SweepResult
from jaxopt_scratch._engine.spaces import loguniform as loguniform
from jaxopt_scratch._engine.spaces import randint as randint
from jaxopt_scratch._engine.spaces import sample_hyperparams as sample_hyperparams
from jaxopt_scratch._engine.spaces import uniform as uniform
from jaxopt_scratch._engine.sweep import sweep as sweep

# --- public submodules, where optax users look (optax.transforms, .schedules, .tree, .contrib) ---
from jaxopt_scratch import contrib as contrib
from jaxopt_scratch import microbatching as microbatching
from jaxopt_scratch import problems as problems
from jaxopt_scratch import schedules as schedules
from jaxopt_scratch import transforms as transforms
from jaxopt_scratch import tree as tree
from jaxopt_scratch import tree_utils as tree_utils

try:
    __version__ = version("jaxopt_scratch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = [
    "AdaptiveGradClipState",
    "AddDecayedWeightsState",
    "AddNoiseState",
    "ApplyEvery",
    "ApplyIfFiniteState",
    "BacktrackingLinesearchInfo",
    "ClipByGlobalNormState",
    "ClipState",
    "ConditionFn",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "EmaState",
    "EmptyState",
    "FactoredState",
    "FlattenState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "Halving",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "JoinTransformsState",
    "LRFindResult",
    "LookaheadParams",
    "LookaheadState",
    "MaskOrFn",
    "MaskedNode",
    "MaskedState",
    "MemoryBudgetError",
    "MemoryEstimate",
    "MinimizeResult",
    "MonitorState",
    "MultiNormalDiagFromLogScale",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "NonNegativeParamsState",
    "OptState",
    "PBT",
    "Params",
    "PartitionState",
    "PopulationRecord",
    "RunResult",
    "ScalarOrSchedule",
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByDistanceOverGradientsState",
    "ScaleByLBFGSState",
    "ScaleByLionState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByScheduleState",
    "ScaleByStddevState",
    "ScaleByTrustRatioState",
    "ScaleByZoomLinesearchState",
    "ScaleState",
    "Schedule",
    "ShouldSkipUpdateFunction",
    "SnapshotState",
    "StatefulSchedule",
    "SweepResult",
    "TraceState",
    "TransformInitFn",
    "TransformUpdateExtraArgsFn",
    "TransformUpdateFn",
    "Updates",
    "WrappedSchedule",
    "ZeroNansState",
    "ZoomLinesearchInfo",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "amsgrad",
    "apply_every",
    "apply_if_finite",
    "apply_updates",
    "bias_correction",
    "centralize",
    "chain",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "conditionally_mask",
    "conditionally_transform",
    "constant_schedule",
    "contrib",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "cyclic_schedule",
    "ema",
    "exponential_decay",
    "flatten",
    "freeze",
    "fromage",
    "global_norm",
    "halving",
    "identity",
    "incremental_update",
    "init_empty_state",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "join_schedules",
    "join_transforms",
    "keep_params_nonnegative",
    "lamb",
    "lars",
    "lbfgs",
    "linear_onecycle_schedule",
    "linear_schedule",
    "lion",
    "loguniform",
    "lookahead",
    "lr_find",
    "masked",
    "matrix_inverse_pth_root",
    "measure_with_ema",
    "microbatch",
    "microbatching",
    "minimize",
    "monitor",
    "multi_normal",
    "multi_transform",
    "nadam",
    "nadamw",
    "named_chain",
    "nnls",
    "noisy_sgd",
    "normalize_by_update_norm",
    "novograd",
    "optimistic_adam",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "partition",
    "pbt",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "periodic_update",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polyak_sgd",
    "polynomial_schedule",
    "power_iteration",
    "problems",
    "radam",
    "randint",
    "rmsprop",
    "rprop",
    "run",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "sample_hyperparams",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_distance_over_gradients",
    "scale_by_factored_rms",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "scale_gradient",
    "schedules",
    "selective_transform",
    "set_to_zero",
    "sgd",
    "sgdr_schedule",
    "sign_sgd",
    "signum",
    "skip_large_updates",
    "skip_not_finite",
    "sm3",
    "snapshot",
    "stateless",
    "stateless_with_tree_map",
    "sweep",
    "trace",
    "transforms",
    "tree",
    "tree_map_params",
    "tree_utils",
    "uniform",
    "unitwise_clip",
    "unitwise_norm",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "value_and_grad_from_state",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
    "with_extra_args_support",
    "yogi",
    "zero_nans",
]
