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
from jaxopt_scratch._contrib.coin_betting import COCOBState as COCOBState
from jaxopt_scratch._contrib.coin_betting import MechanicState as MechanicState
from jaxopt_scratch._contrib.coin_betting import cocob as cocob
from jaxopt_scratch._contrib.coin_betting import mechanize as mechanize
from jaxopt_scratch._contrib.coin_betting import scale_by_cocob as scale_by_cocob
from jaxopt_scratch._contrib.complex_valued import (
    SplitRealAndImaginaryState as SplitRealAndImaginaryState,
)
from jaxopt_scratch._contrib.complex_valued import (
    split_real_and_imaginary as split_real_and_imaginary,
)
from jaxopt_scratch._contrib.dadapt import DAdaptAdamWState as DAdaptAdamWState
from jaxopt_scratch._contrib.dadapt import ProdigyState as ProdigyState
from jaxopt_scratch._contrib.dadapt import dadapt_adamw as dadapt_adamw
from jaxopt_scratch._contrib.dadapt import prodigy as prodigy
from jaxopt_scratch._contrib.dog import DoGState as DoGState
from jaxopt_scratch._contrib.dog import DoWGState as DoWGState
from jaxopt_scratch._contrib.dog import dog as dog
from jaxopt_scratch._contrib.dog import dowg as dowg
from jaxopt_scratch._contrib.evaluation import eval_params as eval_params
from jaxopt_scratch._contrib.galore import GaLoreDimensionNumbers as GaLoreDimensionNumbers
from jaxopt_scratch._contrib.galore import GaLoreState as GaLoreState
from jaxopt_scratch._contrib.galore import galore as galore
from jaxopt_scratch._contrib.galore import scale_by_galore as scale_by_galore
from jaxopt_scratch._contrib.madgrad import MadgradState as MadgradState
from jaxopt_scratch._contrib.madgrad import madgrad as madgrad
from jaxopt_scratch._contrib.madgrad import scale_by_madgrad as scale_by_madgrad
from jaxopt_scratch._contrib.mars import ScaleByMarsState as ScaleByMarsState
from jaxopt_scratch._contrib.mars import mars as mars
from jaxopt_scratch._contrib.mars import scale_by_mars as scale_by_mars
from jaxopt_scratch._contrib.momo import MomoAdamState as MomoAdamState
from jaxopt_scratch._contrib.momo import MomoState as MomoState
from jaxopt_scratch._contrib.momo import momo as momo
from jaxopt_scratch._contrib.momo import momo_adam as momo_adam
from jaxopt_scratch._contrib.muon import MuonDimensionNumbers as MuonDimensionNumbers
from jaxopt_scratch._contrib.muon import MuonState as MuonState
from jaxopt_scratch._contrib.muon import muon as muon
from jaxopt_scratch._contrib.muon import scale_by_muon as scale_by_muon
from jaxopt_scratch._contrib.privacy import (
    DifferentiallyPrivateAggregateState as DifferentiallyPrivateAggregateState,
)
from jaxopt_scratch._contrib.privacy import (
    differentially_private_aggregate as differentially_private_aggregate,
)
from jaxopt_scratch._contrib.privacy import dpsgd as dpsgd
from jaxopt_scratch._contrib.reduce_on_plateau import (
    ReduceLROnPlateauState as ReduceLROnPlateauState,
)
from jaxopt_scratch._contrib.reduce_on_plateau import reduce_on_plateau as reduce_on_plateau
from jaxopt_scratch._contrib.sam import NormalizeState as NormalizeState
from jaxopt_scratch._contrib.sam import SAMState as SAMState
from jaxopt_scratch._contrib.sam import normalize as normalize
from jaxopt_scratch._contrib.sam import sam as sam
from jaxopt_scratch._contrib.schedule_free import ScheduleFreeState as ScheduleFreeState
from jaxopt_scratch._contrib.schedule_free import schedule_free as schedule_free
from jaxopt_scratch._contrib.schedule_free import schedule_free_adamw as schedule_free_adamw
from jaxopt_scratch._contrib.schedule_free import (
    schedule_free_eval_params as schedule_free_eval_params,
)
from jaxopt_scratch._contrib.schedule_free import schedule_free_sgd as schedule_free_sgd
from jaxopt_scratch._contrib.soap import ScaleBySoapState as ScaleBySoapState
from jaxopt_scratch._contrib.soap import scale_by_soap as scale_by_soap
from jaxopt_scratch._contrib.soap import soap as soap
from jaxopt_scratch._contrib.sophia import HutchinsonState as HutchinsonState
from jaxopt_scratch._contrib.sophia import SophiaState as SophiaState
from jaxopt_scratch._contrib.sophia import (
    hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian,
)
from jaxopt_scratch._contrib.sophia import sophia as sophia

__all__ = [
    "COCOBState",
    "CautiousState",
    "DAdaptAdamWState",
    "DifferentiallyPrivateAggregateState",
    "DoGState",
    "DoWGState",
    "GaLoreDimensionNumbers",
    "GaLoreState",
    "HutchinsonState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "MuonDimensionNumbers",
    "MuonState",
    "NormalizeState",
    "ProdigyState",
    "ReduceLROnPlateauState",
    "SAMState",
    "ScaleByAdemamixState",
    "ScaleByMarsState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScaleBySoapState",
    "ScheduleFreeState",
    "SophiaState",
    "SplitRealAndImaginaryState",
    "acprop",
    "ademamix",
    "adopt",
    "cautious",
    "cocob",
    "dadapt_adamw",
    "differentially_private_aggregate",
    "dog",
    "dowg",
    "dpsgd",
    "eval_params",
    "galore",
    "hutchinson_estimator_diag_hessian",
    "madgrad",
    "mars",
    "mechanize",
    "momo",
    "momo_adam",
    "muon",
    "normalize",
    "prodigy",
    "reduce_on_plateau",
    "sam",
    "scale_by_acprop",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_cocob",
    "scale_by_galore",
    "scale_by_madgrad",
    "scale_by_mars",
    "scale_by_muon",
    "scale_by_simplified_ademamix",
    "scale_by_soap",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "simplified_ademamix",
    "soap",
    "sophia",
    "split_real_and_imaginary",
]
