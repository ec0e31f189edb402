"""``jos.transforms``: the composable building blocks, where ``optax.transforms`` keeps them.

The same objects as the top-level names (``jos.transforms.clip is jos.clip``), so
``optax.transforms.X`` becomes ``jos.transforms.X``. Later issues add the rest of
optax's list here as they land.

Examples:
    >>> import jaxopt_scratch as jos
    >>> jos.transforms.clip_by_global_norm is jos.clip_by_global_norm
    True
"""

from jaxopt_scratch._core.combine import MaskedNode as MaskedNode
from jaxopt_scratch._core.combine import MaskedState as MaskedState
from jaxopt_scratch._core.combine import chain as chain
from jaxopt_scratch._core.combine import masked as masked
from jaxopt_scratch._core.combine import named_chain as named_chain
from jaxopt_scratch._transforms.accumulation import EmaState as EmaState
from jaxopt_scratch._transforms.accumulation import TraceState as TraceState
from jaxopt_scratch._transforms.accumulation import ema as ema
from jaxopt_scratch._transforms.accumulation import trace as trace
from jaxopt_scratch._transforms.clipping import clip as clip
from jaxopt_scratch._transforms.clipping import clip_by_global_norm as clip_by_global_norm
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
from jaxopt_scratch._transforms.noise import AddNoiseState as AddNoiseState
from jaxopt_scratch._transforms.noise import add_noise as add_noise
from jaxopt_scratch._transforms.per_example import (
    per_example_global_norm_clip as per_example_global_norm_clip,
)
from jaxopt_scratch._transforms.per_example import (
    per_example_layer_norm_clip as per_example_layer_norm_clip,
)
from jaxopt_scratch._transforms.weight_decay import add_decayed_weights as add_decayed_weights
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
from jaxopt_scratch._wrappers.flatten import flatten as flatten
from jaxopt_scratch._wrappers.monitor import MonitorState as MonitorState
from jaxopt_scratch._wrappers.monitor import SnapshotState as SnapshotState
from jaxopt_scratch._wrappers.monitor import measure_with_ema as measure_with_ema
from jaxopt_scratch._wrappers.monitor import monitor as monitor
from jaxopt_scratch._wrappers.monitor import snapshot as snapshot
from jaxopt_scratch._wrappers.multistep import MultiSteps as MultiSteps
from jaxopt_scratch._wrappers.multistep import MultiStepsState as MultiStepsState
from jaxopt_scratch._wrappers.partition import PartitionState as PartitionState
from jaxopt_scratch._wrappers.partition import freeze as freeze
from jaxopt_scratch._wrappers.partition import partition as partition
from jaxopt_scratch._wrappers.partition import selective_transform as selective_transform
from jaxopt_scratch._wrappers.skipping import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from jaxopt_scratch._wrappers.skipping import skip_large_updates as skip_large_updates
from jaxopt_scratch._wrappers.skipping import skip_not_finite as skip_not_finite

__all__ = [
    "AddNoiseState",
    "ApplyIfFiniteState",
    "ConditionFn",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "EmaState",
    "MaskedNode",
    "MaskedState",
    "MonitorState",
    "MultiSteps",
    "MultiStepsState",
    "NonNegativeParamsState",
    "PartitionState",
    "ShouldSkipUpdateFunction",
    "SnapshotState",
    "TraceState",
    "ZeroNansState",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "apply_if_finite",
    "chain",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "conditionally_mask",
    "conditionally_transform",
    "ema",
    "flatten",
    "freeze",
    "keep_params_nonnegative",
    "masked",
    "measure_with_ema",
    "monitor",
    "named_chain",
    "partition",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "selective_transform",
    "skip_large_updates",
    "skip_not_finite",
    "snapshot",
    "trace",
    "unitwise_clip",
    "unitwise_norm",
    "zero_nans",
]
