"""THE table of optimizers that every cross-cutting test harness iterates.

One row per public optimizer alias (``jos.<name>`` and ``jos.contrib.<name>``)
and per structural variant that changes the computation (momentum, Nesterov,
centered, ...). Test scaffolding only: expected values come from optax, NumPy
or the mathematics, never from this module.

How to add an optimizer: append ONE row to :data:`REGISTRY` (keep the family
order), e.g.::

    row(jos.contrib.muon, 0.05, needs_params=True),
    row(jos.sgd, 0.05, name="sgd_momentum", options={"momentum": 0.9}),

``row`` reads the alias's signature: every argument whose default is a float
(not a bool, not an int size) is a numeric hyperparameter that may be traced;
each one needs a second value to sweep, taken from :data:`SECOND_VALUE` by
argument name (add the name there once, or pass ``second={"name": value}``).
Numeric ``options`` of a variant (``momentum=0.9``) are hyperparameters too.
The optax counterpart is found by name in ``optax`` / ``optax.contrib``, called
with the same options (pass ``optax=None`` when optax has none, or a builder
``lambda lr: ...``). Flags: ``needs_params`` (update reads ``params``: weight
decay, trust ratio), ``decays_by_default`` (params shrink with zero gradients),
``extra_args`` (names of the extra keyword arguments ``update`` needs, e.g.
``("value", "grad", "value_fn")`` for L-BFGS, ``("obj_fn",)`` for Sophia: every harness
calls ``entry.update(tx, loss_fn)``, which forms them from the loss whose gradient it
passes; see :func:`update_extra_args`), ``per_example`` (update takes per-example
gradients: the harnesses pass a batch of one example), ``matrix`` (hyperparameters that
act on matrices only: the traced harness adds a matrix leaf), ``narrow_state`` (state
fields kept in the params' dtype, such as a line search's cached gradient),
``bfloat16`` (False if low-precision params, bfloat16 and float16, are not
supported), ``complex64`` (False if complex params are not), ``sign_like``
(steps of size ~lr near the minimum: low precision may drift by a step),
``sign_update`` (update = lr * sign(.), so an Inf gradient leaves it finite),
``absorbs_inf`` (the sign of g is all that is kept, so an Inf gradient leaves
neither the update nor the state non-finite), ``drifts`` (params move even
under zero gradients: only finiteness is checked then), ``schedule`` (False if
``learning_rate`` must be a number: a schedule is refused), ``couples_leaves`` (the
update mixes leaves, as L-BFGS's inner products do: a NaN in one leaf reaches all),
``tuning`` (learning rates of the hardening harnesses where the row's step
scale differs from :data:`TUNING`, as for LARS), and ``eager`` (False: the numerical
hardening harnesses run the row under jit only; see :func:`registry_variants`).

A row is then covered, without editing any harness, by:

- tests/test_common.py: convergence on the bowl, jit == no-jit, a schedule as
  learning rate, one trace per jitted step, dtypes (bfloat16, float64 under
  x64), integer params rejected, traced hyperparameters never raise, and THE
  traced-hyperparameter harness (``TracedHyperparameterTest``: vmap over each
  numeric hyperparameter equals the Python loop, one trace per row); also the
  check that every public alias has a row;
- tests/test_hardening_inputs.py (mismatched trees, integer and complex params
  against optax, out-of-range arguments, ``params=None``),
  tests/test_hardening_numerics.py (NaN/Inf with and without
  ``apply_if_finite``, 1e30/1e-30 gradients, 3000 zero gradients, lr 0),
  tests/test_hardening_longrun.py (100k steps, one trace across steps),
  tests/test_hardening_precision.py (float16/bfloat16/float64 dtype contract
  and tracking); tests/test_properties.py samples a few rows by name;
- tests/test_public_api.py: the row's hyperparameters are exactly the alias's
  numeric arguments; the alias's signature equals optax's.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax
from absl.testing import parameterized

import jaxopt_scratch as jos

# A second value to sweep for each numeric hyperparameter, by argument name.
# It must change the result of a few steps (the traced harness checks it).
SECOND_VALUE: dict[str, float] = {
    "b1": 0.5,
    "b2": 0.9,
    "decay": 0.5,
    "eps": 1e-3,
    "eps_root": 1e-2,
    "initial_accumulator_value": 1.0,
    "initial_scale": 0.5,
    "momentum": 0.5,
    "trust_coefficient": 0.01,
    "weight_decay": 0.1,
    # Issue 12's optimizers (adam_variants, rms_variants, sign, sgd_variants, optimistic).
    "alpha": 0.5,
    "b3": 0.9,
    "beta": 0.5,
    "clipping_threshold": 0.1,
    "decay_rate": 0.5,
    "eta": 0.1,
    "eta_minus": 0.3,
    "eta_plus": 1.5,
    "gamma": 1.0,
    "max_step_size": 0.05,  # reached by Rprop's growing steps (from 0.015) within 10 steps
    "min_norm": 1.0,
    "min_step_size": 0.2,
    "rho": 0.5,
    "threshold": 4.0,  # RAdam: rho_t passes 4 at t = 5 (below 4 the rectifier is NaN)
}

# Modules whose public functions are optimizer aliases (each needs a row).
ALIAS_MODULES = ("jaxopt_scratch._optimizers", "jaxopt_scratch._contrib")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One optimizer under test (build rows with :func:`row`)."""

    name: str  # test id; the alias name for the default configuration
    alias: Callable[..., jos.GradientTransformation]  # the public factory
    learning_rate: float  # converges on the bowl x^2 + y^2 from (4, 3) in 200 steps
    options: Mapping[str, Any]  # fixed arguments that make the variant
    hyperparams: Mapping[str, tuple[float, float]]  # traceable name -> (value used, second)
    optax: Callable[..., Any] | None  # (learning_rate) -> optax's counterpart, or None
    needs_params: bool = False  # update reads `params` (weight decay, trust ratio)
    decays_by_default: bool = False  # params shrink even with zero gradients
    extra_args: tuple[str, ...] = ()  # extra keyword arguments of update (see update_extra_args)
    bfloat16: bool = True  # bfloat16 and float16 params are supported
    complex64: bool = True  # complex params are supported (checked against optax)
    sign_like: bool = False  # steps of size ~lr near the minimum (Lion; RMSProp, |g|/sqrt(v) ~ 1)
    sign_update: bool = False  # the update is lr * sign(.): an Inf gradient leaves it finite
    absorbs_inf: bool = False  # stateless sign of g (signSGD, Rprop): an Inf leaves no trace
    drifts: bool = False  # params move under zero gradients (noise, nonzero initial moments)
    schedule: bool = True  # learning_rate may be a schedule (Rprop's is an initial step size)
    couples_leaves: bool = False  # the update mixes leaves (L-BFGS's inner products)
    tuning: Mapping[str, float] = dataclasses.field(default_factory=dict)  # see TUNING
    family: str = ""  # module of the alias, e.g. "_optimizers.adam"
    per_example: bool = False  # update takes per-example gradients on axis 0 (DP-SGD)
    first_update_zero: bool = False  # the first update is zero by design (ADOPT): faults are
    # injected at the second step, after one clean step
    bounded_update: bool = False  # the step is clipped whatever g (ADOPT, Sophia): an Inf
    # gradient leaves the update finite and shows in the state
    matrix: bool = False  # some hyperparameters act on matrices only (Muon, GaLore): see params
    moves_at_lr0: bool = False  # params move at learning rate 0 (MADGRAD): compared with optax
    narrow_state: tuple[str, ...] = ()  # state fields kept in the params' dtype (see moments)
    eager: bool = True  # the hardening harnesses also run it op by op (see registry_variants)

    def make(self, learning_rate: Any = None, **hyperparams: Any) -> jos.GradientTransformation:
        """The optimizer: ``learning_rate`` defaults to the row's; hyperparameters override."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        return self.alias(lr, **{**self.options, **hyperparams})

    def make_optax(self, learning_rate: Any = None) -> Any:
        """optax's counterpart with the same options (test oracle only)."""
        assert self.optax is not None, f"{self.name} has no optax counterpart"
        return self.optax(self.learning_rate if learning_rate is None else learning_rate)

    def update(self, tx: Any, loss_fn: Callable[[Any], Any] | None = None) -> Callable:
        """``tx.update`` as the harnesses call it, ``(grads, state, params=None)``.

        For a row with :attr:`extra_args` it adds them at the params from ``loss_fn``
        (the loss whose gradient the harness passes) at ``extra_at``, by default the
        params (none when both are None, so the library's own "needs the params"
        error shows); for a :attr:`per_example` row it hands the gradients over as a
        batch of one example.
        """
        if not self.extra_args and not self.per_example:
            return lambda grads, state, params=None, extra_at=None: tx.update(grads, state, params)

        def update(grads, state, params=None, extra_at=None):
            if self.per_example:
                grads = jax.tree.map(lambda g: g[None], grads)
            at = params if extra_at is None else extra_at
            extra = {} if at is None else update_extra_args(self, at, loss_fn)
            return tx.update(grads, state, params, **extra)

        return update

    def tuned(self, knob: str) -> float:
        """The learning rate harness ``knob`` uses for this row (see :data:`TUNING`)."""
        return self.tuning.get(knob, TUNING[knob])

    def __repr__(self) -> str:  # short test ids in pytest output
        return self.name


# Learning rates of the hardening harnesses, by knob; a row whose step scale differs
# (LARS: steps carry trust_coefficient = 1e-3) overrides them with ``tuning={...}``.
TUNING: dict[str, float] = {
    "precision": 0.05,  # test_hardening_precision: 3 and 100 steps on tiny_params
    "long_run": 1e-2,  # test_hardening_longrun: peak of a cosine decay over 100k steps
    # Not a learning rate: how many steps of size lr a sign_like row's low-precision run
    # may fall out of phase with its float32 run (test_hardening_precision).
    "sign_gap": 3.0,
    # Not learning rates: the tolerances of test_common's vmap-versus-loop comparison.
    "traced_rtol": 1e-6,
    "traced_atol": 1e-7,
    # Not a learning rate: how many first steps of test_common's bfloat16 run must track
    # the float32 run step by step (both must converge in any case).
    "track_steps": 20,
    # Not a learning rate: test_hardening_precision's bound on how far a bfloat16/float16
    # run may stray from the float32 run (non-sign-like rows).
    "track_tol": 0.03,
}


def _is_numeric_default(value: Any) -> bool:
    return isinstance(value, float) and not isinstance(value, bool)


def numeric_arguments(alias: Callable[..., Any]) -> dict[str, float]:
    """The alias's arguments with a float default (traceable hyperparameters), in order."""
    # ``learning_rate`` is swept by every harness anyway; some aliases give it a default.
    return {p.name: p.default for p in inspect.signature(alias).parameters.values()
            if p.name != "learning_rate" and _is_numeric_default(p.default)}


def _optax_counterpart(alias: Callable[..., Any], options: Mapping[str, Any]):
    # contrib first for contrib aliases: optax.dpsgd is a deprecated alias of optax.contrib's.
    contrib = alias.__module__.startswith("jaxopt_scratch._contrib")
    for namespace in (optax.contrib, optax) if contrib else (optax, optax.contrib):
        fn = getattr(namespace, alias.__name__, None)
        if fn is not None:
            return lambda lr: fn(lr, **options)
    return None


_SAME = object()


def row(alias: Callable[..., jos.GradientTransformation], learning_rate: float, *,
        name: str | None = None, options: Mapping[str, Any] | None = None,
        second: Mapping[str, float] | None = None, optax: Any = _SAME,
        **flags: Any) -> Entry:
    """A registry row; ``flags`` are the other :class:`Entry` fields (see the module docstring)."""
    options = dict(options or {})
    second = {**SECOND_VALUE, **(second or {})}
    values = {**numeric_arguments(alias),
              **{k: v for k, v in options.items() if _is_numeric_default(v)}}
    missing = sorted(set(values) - set(second))
    if missing:
        raise KeyError(f"no second value for {missing} of {alias.__name__}: add them to "
                       "SECOND_VALUE or pass second={...}")
    return Entry(
        name=name or alias.__name__, alias=alias, learning_rate=learning_rate, options=options,
        hyperparams={k: (v, second[k]) for k, v in values.items()},
        optax=_optax_counterpart(alias, options) if optax is _SAME else optax,
        **{"family": alias.__module__.removeprefix("jaxopt_scratch."), **flags})


def cautious_adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, weight_decay=1e-4):
    """``jos.contrib.cautious(jos.adamw(...))``: the whole update is masked, decay included."""
    return jos.contrib.cautious(jos.adamw(learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                          weight_decay=weight_decay))


def cautious_lion(learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3):
    """C-Lion as the paper and pytorch-optimizer: the Lion direction is masked, the decay is not."""
    return jos.chain(jos.contrib.cautious(jos.scale_by_lion(b1=b1, b2=b2), direction=True),
                     jos.add_decayed_weights(weight_decay),
                     jos.scale_by_learning_rate(learning_rate))


def polyak_sgd(learning_rate=1.0, max_learning_rate=1.0, f_min=0.0, eps=0.0, variant="sps"):
    """``jos.polyak_sgd`` with its ``scaling`` (the factor of the Polyak step, a number or a
    schedule) as the learning rate the harnesses sweep."""
    return jos.polyak_sgd(max_learning_rate, scaling=learning_rate, f_min=f_min, eps=eps,
                          variant=variant)


def alias_name(entry: Entry) -> str:
    """``"adam"`` or ``"contrib.muon"``: how :func:`public_aliases` names the entry's alias."""
    prefix = "contrib." if entry.alias.__module__.startswith("jaxopt_scratch._contrib") else ""
    return prefix + entry.alias.__name__


REGISTRY: tuple[Entry, ...] = (
    # _optimizers.basic
    row(jos.sgd, 0.1),
    row(jos.sgd, 0.05, name="sgd_momentum", options={"momentum": 0.9}),
    row(jos.sgd, 0.05, name="sgd_nesterov", options={"momentum": 0.9, "nesterov": True}),
    row(jos.rmsprop, 0.1, sign_like=True),
    row(jos.rmsprop, 0.02, name="rmsprop_centered", options={"centered": True, "momentum": 0.5},
        second={"momentum": 0.9}, sign_like=True),
    row(jos.adagrad, 1.0),
    # _optimizers.adam
    row(jos.adam, 0.1),
    row(jos.adamw, 0.1, needs_params=True, decays_by_default=True),
    row(jos.nadam, 0.1),
    row(jos.nadamw, 0.1, needs_params=True, decays_by_default=True),
    row(jos.amsgrad, 0.1),
    row(jos.adamax, 0.1),
    row(jos.adamaxw, 0.1, needs_params=True, decays_by_default=True),
    row(jos.lion, 0.1, needs_params=True, decays_by_default=True, sign_like=True,
        sign_update=True),
    # _optimizers.layerwise
    row(jos.lamb, 0.05, needs_params=True),
    # trust_coefficient 1e-3 makes the raw step tiny: larger learning rates.
    row(jos.lars, 5.0, needs_params=True, second={"eps": 1.0},
        tuning={"precision": 20.0, "long_run": 1.0}),
    # _optimizers.adam_variants
    row(jos.adabelief, 0.1),
    row(jos.adabelief, 0.1, name="adabelief_weight_decay", options={"weight_decay": 1e-2},
        optax=lambda lr: optax.chain(optax.scale_by_belief(), optax.add_decayed_weights(1e-2),
                                     optax.scale_by_learning_rate(lr)),
        needs_params=True, decays_by_default=True),
    row(jos.radam, 0.1),
    # Its default eps is the usual second value; its moments start at 1e-6, so a zero
    # gradient still moves the params while m decays.
    row(jos.yogi, 0.1, second={"eps": 0.1}, drifts=True),
    # b1 = 0.98 is a long momentum: on the bowl it needs large steps to settle in 200
    # (and b1 = 0.5 at such steps makes the vmap/loop rounding gap grow past a few ulps).
    row(jos.adan, 1.5, second={"b1": 0.9}, needs_params=True, complex64=False),
    row(jos.novograd, 0.05, needs_params=True),
    # _optimizers.rms_variants
    # Adadelta's unit step is ~sqrt(eps) = 1e-3: larger learning rates everywhere.
    row(jos.adadelta, 10.0, needs_params=True, complex64=False,
        tuning={"precision": 10.0, "long_run": 10.0}),
    row(jos.adafactor, 0.1, needs_params=True),
    row(jos.sm3, 1.0, complex64=False, sign_like=True),  # its first step is lr * sign(g)
    # _optimizers.sign
    # Precision runs: a step that divides a coordinate of tiny_params (0.05 into 0.4) lands
    # it on 0, where rounding alone picks the next sign; 0.07 divides none of them.
    row(jos.sign_sgd, 0.05, complex64=False, sign_like=True, sign_update=True, absorbs_inf=True,
        tuning={"precision": 0.07}),
    # Signum's momentum keeps the old sign for several steps past the minimum: a limit
    # cycle several steps wide, whose phase rounding shifts (measured 5.9 lr in bfloat16).
    row(jos.signum, 0.03, complex64=False, sign_like=True, sign_update=True,
        tuning={"precision": 0.07, "sign_gap": 8.0}),
    # optax 0.2.8's rprop returns the previous step's update (optax#1725): no counterpart.
    # Steps grow by 1.2 per step: from 0.015 they reach the bowl's minimum after ~20 steps
    # (sooner, and float32 and float64 positions near 0 differ by more than rtol 1e-5).
    row(jos.rprop, 0.015, optax=None, complex64=False, sign_like=True, sign_update=True,
        absorbs_inf=True, schedule=False),
    # _optimizers.sgd_variants
    row(jos.noisy_sgd, 0.1, complex64=False, drifts=True),
    # Shrinks params by 1/sqrt(1 + lr^2) per step, not by a weight decay (tested in its file).
    row(jos.fromage, 0.1, needs_params=True, decays_by_default=True, drifts=True,
        complex64=False),
    # _optimizers.optimistic
    row(jos.optimistic_gradient_descent, 0.1, complex64=False),
    row(jos.optimistic_adam, 0.1, complex64=False),
    row(jos.optimistic_adam_v2, 0.1),
    # _optimizers.lbfgs: the harnesses pass no `value`/`grad`/`value_fn` yet, so this row is
    # L-BFGS without a line search (a fixed-step quasi-Newton method); the line searches
    # are tested in test_lbfgs.py, test_linesearch.py and test_minimize.py.
    # Learning rate 0.5: the steps halve the distance to the bowl's minimum (1.0 would
    # land on it exactly at the second step, where float32 and float64 cannot be compared).
    # Its memory holds differences of gradients and 1 / <s, y>: cancellation turns the
    # last-ulp gap between a vmapped and a looped gradient into ~2e-6 relative.
    # Its two-loop recursion is hundreds of small ops: op by op (without jit) each
    # hardening run takes seconds, so those harnesses run it jitted (eager=False).
    row(jos.lbfgs, 0.5, name="lbfgs_fixed_step", options={"linesearch": None},
        needs_params=True, couples_leaves=True, eager=False,
        tuning={"traced_rtol": 1e-5, "traced_atol": 1e-6}),
    # L-BFGS as meant: its zoom line search, fed value=, grad= and value_fn=.
    # Its state keeps the gradient at the accepted point as given, in the params' dtype
    # (as optax): a cache, not a moment. Its memory and the line search's slopes mix
    # every leaf: the vmap/loop tolerance of lbfgs_fixed_step.
    # (Its family: the line search is what this row adds to lbfgs_fixed_step.)
    # Op by op its line search takes 4-14 s per hardening test: eager=False (as above).
    row(jos.lbfgs, 1.0, needs_params=True, extra_args=("value", "grad", "value_fn"),
        family="_transforms.zoom_linesearch", eager=False,
        couples_leaves=True, complex64=False, narrow_state=("grad",),
        tuning={"traced_rtol": 1e-5, "traced_atol": 1e-6, "precision": 1.0, "long_run": 1.0}),
    # _optimizers.polyak: the step size scaling * (f - f_min) / |g|^2 from value=, capped by
    # max_learning_rate; `scaling` (a number or a schedule) plays the learning rate.
    row(polyak_sgd, 1.0, extra_args=("value",), couples_leaves=True, complex64=False,
        family="_optimizers.polyak",
        second={"max_learning_rate": 0.1, "f_min": -1.0, "eps": 1e-3},
        optax=lambda lr: optax.polyak_sgd(scaling=lr)),
    # _contrib (jos.contrib): append rows here.
    # _contrib.muon: the bowl's leaves are vectors, so these rows exercise the AdamW
    # fallback; tests/test_contrib_muon.py covers the matrices.
    row(jos.contrib.muon, 0.1, needs_params=True, matrix=True,
        second={"beta": 0.5, "adam_b1": 0.5, "adam_b2": 0.9, "adam_eps_root": 1e-2,
                "adam_weight_decay": 0.1}),
    # _contrib.schedule_free
    row(jos.contrib.schedule_free_sgd, 0.1, needs_params=True, second={"weight_lr_power": 1.0},
        tuning={"long_run": 0.5}),  # the average of z needs lr * 0.01 curvature >> 1e-5
    row(jos.contrib.schedule_free_adamw, 0.5, needs_params=True,
        second={"weight_lr_power": 1.0}),
    # _contrib.dadapt: learning-rate free (the learning rate multiplies the estimate d).
    # d_0 = 0.1 instead of 1e-6, so that the first steps of the harnesses are not ~1e-6;
    # optax squares complex gradients without conjugating them: no complex parity.
    # The step size d feeds back on itself (d grows with the running sum of <g, x0 - x>):
    # the last-ulp gap of a vmapped and a looped step compounds through d (measured
    # <= 4.6e-6 relative after 10 steps).
    row(jos.contrib.prodigy, 1.0, options={"estim_lr0": 0.1}, needs_params=True,
        second={"estim_lr0": 0.01, "estim_lr_coef": 2.0}, complex64=False,
        tuning={"long_run": 1.0, "precision": 1.0, "traced_rtol": 1e-5, "traced_atol": 1e-6,
                # d grows geometrically over the first ~10 steps on the bowl, and with it
                # the bfloat16 rounding of the params it is estimated from: the ratio of the
                # bf16/f32 gap to the tolerance doubles per step from step 5 (0.64 at step
                # 8, 6.5 at step 10, measured); then both runs converge (loss ~1e-8).
                "track_steps": 8}),
    row(jos.contrib.dadapt_adamw, 1.0, options={"estim_lr0": 0.1}, needs_params=True,
        second={"estim_lr0": 0.01}, complex64=False, tuning={"long_run": 1.0, "precision": 1.0}),
    # _contrib.ademamix. Simplified AdEMAMix's momentum is undamped: b1 = 0.99 rings
    # on the bowl for longer than 200 steps, b1 = 0.9 settles.
    row(jos.contrib.ademamix, 0.1, needs_params=True, second={"alpha": 1.0, "b3": 0.9}),
    row(jos.contrib.simplified_ademamix, 0.01, options={"b1": 0.9}, needs_params=True,
        second={"alpha": 1.0, "b1": 0.5}, complex64=False),  # optax squares complex g, no |g|^2
    # _contrib.adopt. ADOPT's first step only records g^2 (a zero update); eps floors
    # sqrt(v) ~ |g| ~ 1 on small_params, so its second value must exceed that.
    # It clips g / sqrt(v) at count**0.25: an Inf gradient gives a finite step.
    row(jos.contrib.adopt, 0.1, second={"eps": 5.0}, complex64=False,  # optax: jnp.clip(complex)
        first_update_zero=True, bounded_update=True),
    row(jos.contrib.acprop, 0.1, needs_params=True),
    # _contrib.dog: parameter-free; the learning rate multiplies the estimated step. The
    # default first steps (r_eps ~ 1e-6) are too small for the harnesses to see anything.
    # Both scale by a global norm (of the distance travelled, of the gradients), so one
    # leaf's NaN reaches every leaf, as in optax. Learning rate 1 (their default) in the
    # precision runs: at 0.05 they barely descend in 100 steps. DoWG's step is the largest
    # distance from x0 so far (squared, over a running sum weighted by it): bfloat16
    # rounding of the params (2**-9 relative) moves that distance and so every later step:
    # measured worst gap to float32 over 100 steps 0.121 in bfloat16 (0.020 in float16,
    # DoG 0.004 and 0.001).
    row(jos.contrib.dog, 1.0, options={"init_step": ("distance", 0.1)}, needs_params=True,
        second={"eps": 1e-3}, couples_leaves=True, tuning={"long_run": 1.0, "precision": 1.0}),
    row(jos.contrib.dowg, 1.0, options={"init_estim_sq_dist": 0.1}, needs_params=True,
        second={"eps": 1e-2, "init_estim_sq_dist": 0.5}, couples_leaves=True,
        tuning={"long_run": 1.0, "precision": 1.0, "track_tol": 0.2}),
    # _contrib.coin_betting: the learning rate multiplies the gradients the bets see; eps
    # is the first scale L_0, which |g| overrides unless eps is larger.
    # optax's COCOB and MADGRAD fail on complex params (maximum, cbrt): no complex parity.
    row(jos.contrib.cocob, 1.0, needs_params=True, second={"alpha": 10.0, "eps": 5.0},
        complex64=False),
    # _contrib.madgrad
    # Its step weights are (lr + eps) * sqrt(k + 1): it moves at lr 0, as optax's.
    row(jos.contrib.madgrad, 0.1, needs_params=True, complex64=False, moves_at_lr0=True),
    row(jos.contrib.scale_by_madgrad, 0.1, needs_params=True, complex64=False,
        moves_at_lr0=True),
    # _contrib.galore: the bowl's leaves are vectors (Adam, unprojected);
    # tests/test_contrib_galore.py covers the projected matrices.
    row(jos.contrib.galore, 0.1, needs_params=True, second={"scale": 0.5}, matrix=True),
    # _contrib.soap: the bowl's leaves are vectors and scalars (Adam, with SOAP's skipped
    # first call and eps before the bias correction); tests/test_contrib_soap.py has the
    # matrices. Complex params are refused, as by the reference code.
    row(jos.contrib.soap, 0.1, needs_params=True, decays_by_default=True, complex64=False),
    # _contrib.mars
    row(jos.contrib.mars, 0.1, needs_params=True),
    # _contrib.momo: Polyak-type steps from the loss (value=) and its EMA: the inner
    # products and the norm span every leaf.
    # Learning rate 0.1 caps the Polyak step (0.25 on the bowl), so it matters.
    row(jos.contrib.momo, 0.1, needs_params=True, extra_args=("value",), couples_leaves=True,
        second={"lower_bound": -1.0}, complex64=False),
    row(jos.contrib.momo_adam, 0.1, needs_params=True, extra_args=("value",),
        couples_leaves=True, second={"lower_bound": -1.0}, complex64=False),
    # _contrib.sophia: a Hutchinson estimate of the Hessian's diagonal from obj_fn=.
    # optax's defaults (b1 0.965, gamma 0.01) are an LLM's: on the bowl gamma * h is so small
    # that every step is clipped to lr, and the long momentum circles the minimum for more
    # than 200 steps (loss 0.04 at the end). b1 0.9 and gamma 1 (gamma * h ~ the curvature,
    # Newton-like steps) settle. h is an EMA (b2 0.99) of the estimate: ~0.01 * curvature
    # for the traced harness's 10 steps, so the second values of gamma and eps lift
    # gamma * h (and eps) past |m| ~ 1, where the clip stops hiding them.
    # Its steps are clipped (an Inf gradient gives a finite one); weight decay 1e-4 by default.
    row(jos.contrib.sophia, 0.1, options={"b1": 0.9, "gamma": 1.0}, needs_params=True,
        extra_args=("obj_fn",), bounded_update=True, decays_by_default=True, second={"clip_threshold": 0.1, "gamma": 100.0, "eps": 0.1},
        complex64=False, eager=False),  # op by op its Hutchinson estimate takes 3-4 s a test
    # _contrib.privacy: clips each example's gradient (over all leaves) and adds noise;
    # the harnesses pass a batch of one example. noise_multiplier 0 keeps the runs
    # deterministic (its second value adds noise, which the traced harness sees).
    row(jos.contrib.dpsgd, 0.1, options={"l2_norm_clip": 1.0, "noise_multiplier": 0.0, "seed": 0},
        second={"l2_norm_clip": 0.5, "noise_multiplier": 0.1}, per_example=True,
        couples_leaves=True, complex64=False, eager=False),  # per-example vmap: 3-6 s op by op
    # _contrib.cautious (a wrapper, not an alias): C-AdamW masking the whole update, and
    # C-Lion masking the direction (decay outside the mask, as the paper).
    row(cautious_adamw, 0.1, needs_params=True, family="_contrib.cautious"),
    # b1 acts only where Lion's sign and the gradient's differ, which the mask drops: the
    # second value must flip a sign on its own (b1 = 0 follows g at once).
    row(cautious_lion, 0.1, second={"b1": 0.0}, needs_params=True, decays_by_default=True,
        sign_like=True, sign_update=True, family="_contrib.cautious"),
)

# Aliases that the cross-cutting harnesses do not cover, each with the reason (empty: every
# alias of jos and jos.contrib has a row that passes every harness; behaviours that differ,
# such as ADOPT's zero first update or MADGRAD moving at lr 0, are flags on the row).
# test_common checks the table stays honest: only real aliases, none that has a row.
HARNESS_PENDING: dict[str, str] = {}
REGISTRY = tuple(e for e in REGISTRY if alias_name(e) not in HARNESS_PENDING)

BY_NAME: dict[str, Entry] = {e.name: e for e in REGISTRY}
assert len(BY_NAME) == len(REGISTRY), "duplicate registry names"


def is_alias(fn: Any) -> bool:
    """An optimizer alias: a function of :data:`ALIAS_MODULES` whose first argument is
    ``learning_rate`` (so not ``scale_by_*`` transforms, wrappers such as
    ``schedule_free(base_optimizer, ...)`` or utilities such as ``eval_params``)."""
    if not (inspect.isfunction(fn) and fn.__module__.startswith(ALIAS_MODULES)):
        return False
    first = next(iter(inspect.signature(fn).parameters), None)
    return first == "learning_rate"


def public_aliases() -> list[str]:
    """Every public optimizer alias of ``jos`` and ``jos.contrib`` (``"contrib.<name>"``)."""
    return sorted(prefix + n for prefix, namespace in (("", jos), ("contrib.", jos.contrib))
                  for n in namespace.__all__ if is_alias(getattr(namespace, n)))


def named(entries=None, where: Callable[[Entry], bool] | None = None) -> list[tuple[str, str]]:
    """``(testcase_name, name)`` pairs for ``parameterized.named_parameters``."""
    entries = REGISTRY if entries is None else [BY_NAME[n] if isinstance(n, str) else n
                                                for n in entries]
    return [(e.name, e.name) for e in entries if where is None or where(e)]


def registry_variants(cases: list[tuple]) -> Callable:
    """``@chex.variants(with_jit=True, without_jit=True)`` over
    ``@parameterized.named_parameters(cases)``, without the ``without_jit`` variant of the
    rows whose :attr:`Entry.eager` is False; each case is ``(testcase_name, row name, ...)``.

    For the numerical harnesses (faults, extreme gradients, zero steps, dtypes), whose claims
    are about the mathematics: that an eager run of every row equals its jitted run is
    pinned once per row by ``test_common.py::test_jit_and_no_jit_agree``.
    """
    cases = list(cases)
    eager = [c for c in cases if BY_NAME[c[1]].eager]

    def decorate(test: Callable) -> list:
        generated = list(chex.variants(with_jit=True)(parameterized.named_parameters(cases)(test)))
        if eager:
            generated += chex.variants(without_jit=True)(
                parameterized.named_parameters(eager)(test))
        return generated  # a class attribute that absl's metaclass expands into tests

    return decorate


def hyperparameter_cases() -> list[tuple[str, str, str]]:
    """``(testcase_name, entry name, hyperparameter)`` for the traced-hyperparameter harness.

    ``learning_rate`` first, then every numeric hyperparameter of the row.
    """
    return [(f"{e.name}_{hp}", e.name, hp)
            for e in REGISTRY for hp in ("learning_rate", *e.hyperparams)]


def _is_key(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jax.dtypes.prng_key)


def comparable(tree: Any) -> Any:
    """``tree`` with PRNG keys as their raw data (NumPy cannot compare typed keys)."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def moments(entry: Entry, state: Any) -> list:
    """The inexact leaves of ``state`` that must be at least float32: all but those under a
    field the row names in :attr:`Entry.narrow_state` (a line search's cached gradient)."""
    out = []
    for path, x in jax.tree_util.tree_flatten_with_path(state)[0]:
        names = {getattr(k, "name", None) for k in path}
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact) and not names & set(entry.narrow_state):
            out.append(x)
    return out


def update_extra_args(entry: Entry, params: Any, loss_fn: Callable[[Any], Any]) -> dict:
    """The extra keyword arguments ``entry``'s update needs at ``params`` (empty for most)."""
    available = {"value": lambda: loss_fn(params), "grad": lambda: jax.grad(loss_fn)(params),
                 "value_fn": lambda: loss_fn, "obj_fn": lambda: loss_fn}
    return {k: available[k]() for k in entry.extra_args}
