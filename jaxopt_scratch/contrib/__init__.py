"""``jos.contrib``: recent optimizers, where ``optax.contrib`` keeps them.

Muon, Schedule-Free, Prodigy, SOAP, MARS and the other recent methods, each
with every numeric hyperparameter traceable. Their code lives in the private
``_contrib`` layer, which may build on every library layer below it; this
module only re-exports. :func:`eval_params` gives the parameters to evaluate
at, for optimizers that train at one point and evaluate at another.

Examples:
    >>> import jaxopt_scratch as jos
    >>> "muon" in jos.contrib.__all__ and "schedule_free_adamw" in jos.contrib.__all__
    True
"""

from jaxopt_scratch._contrib.ademamix import ScaleByAdemamixState as ScaleByAdemamixState
from jaxopt_scratch._contrib.ademamix import (
    ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState,
)
from jaxopt_scratch._contrib.ademamix import ademamix as ademamix
from jaxopt_scratch._contrib.ademamix import scale_by_ademamix as scale_by_ademamix
from jaxopt_scratch._contrib.ademamix import (
    scale_by_simplified_ademamix as scale_by_simplified_ademamix,
)
from jaxopt_scratch._contrib.ademamix import simplified_ademamix as simplified_ademamix
from jaxopt_scratch._contrib.adopt import acprop as acprop
from jaxopt_scratch._contrib.adopt import adopt as adopt
from jaxopt_scratch._contrib.adopt import scale_by_acprop as scale_by_acprop
from jaxopt_scratch._contrib.adopt import scale_by_adopt as scale_by_adopt
from jaxopt_scratch._contrib.cautious import CautiousState as CautiousState
from jaxopt_scratch._contrib.cautious import cautious as cautious
from jaxopt_scratch._contrib.dadapt import DAdaptAdamWState as DAdaptAdamWState
from jaxopt_scratch._contrib.dadapt import ProdigyState as ProdigyState
from jaxopt_scratch._contrib.dadapt import dadapt_adamw as dadapt_adamw
from jaxopt_scratch._contrib.dadapt import prodigy as prodigy
from jaxopt_scratch._contrib.evaluation import eval_params as eval_params
from jaxopt_scratch._contrib.mars import ScaleByMarsState as ScaleByMarsState
from jaxopt_scratch._contrib.mars import mars as mars
from jaxopt_scratch._contrib.mars import scale_by_mars as scale_by_mars
from jaxopt_scratch._contrib.muon import MuonDimensionNumbers as MuonDimensionNumbers
from jaxopt_scratch._contrib.muon import MuonState as MuonState
from jaxopt_scratch._contrib.muon import muon as muon
from jaxopt_scratch._contrib.muon import scale_by_muon as scale_by_muon
from jaxopt_scratch._contrib.reduce_on_plateau import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
)
from jaxopt_scratch._contrib.reduce_on_plateau import reduce_on_plateau as reduce_on_plateau
from jaxopt_scratch._contrib.schedule_free import ScheduleFreeState as ScheduleFreeState
from jaxopt_scratch._contrib.schedule_free import schedule_free as schedule_free
from jaxopt_scratch._contrib.schedule_free import schedule_free_adamw as schedule_free_adamw
from jaxopt_scratch._contrib.schedule_free import (
    schedule_free_eval_params as schedule_free_eval_params,
)
from jaxopt_scratch._contrib.schedule_free import schedule_free_sgd as schedule_free_sgd

__all__ = [
    "CautiousState",
    "DAdaptAdamWState",
    "MuonDimensionNumbers",
    "MuonState",
    "ProdigyState",
    "ReduceLROnPlateauState",
    "ScaleByAdemamixState",
    "ScaleByMarsState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScheduleFreeState",
    "acprop",
    "ademamix",
    "adopt",
    "cautious",
    "dadapt_adamw",
    "eval_params",
    "mars",
    "muon",
    "prodigy",
    "reduce_on_plateau",
    "scale_by_acprop",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_mars",
    "scale_by_muon",
    "scale_by_simplified_ademamix",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "simplified_ademamix",
]
