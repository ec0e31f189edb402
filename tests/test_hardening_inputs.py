"""Hardening, bad input (issue 8, item 1): every bad input gets a clear error from the library.

Cross-cutting: these tests go through the public namespace and touch many
modules at once (every alias, every schedule, the wrappers), so they are
organised by theme, not by module; the per-module files test each module's
own behaviour. Each test checks the message (the argument named, what was
received, the allowed range or the fix) and that the error is raised by
``jaxopt_scratch`` itself, not from deep inside jax or NumPy.
"""

import functools
import inspect
import math
import pathlib

import _problems as P
import _registry as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import jaxopt_scratch as jos

_PACKAGE = pathlib.Path(jos.__file__).parent


def assert_raised_by_library(excinfo) -> None:
    """The innermost frame of the traceback is in jaxopt_scratch, not in jax or NumPy."""
    path = pathlib.Path(str(excinfo.traceback[-1].path))
    assert _PACKAGE in path.parents, f"raised from {path}, not by the library: {excinfo.value}"


def bad_grads_missing_leaf(params):
    """A gradient tree with the tuple leaf left out (a different structure)."""
    return {"w": jnp.ones_like(params["w"])}


# ---------------------------------------------------------------------------------------------
# Mismatched trees.
# ---------------------------------------------------------------------------------------------


class MismatchedTreesTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(R.named())
    def test_structure_mismatch_shows_both_structures(self, name):
        params = P.tiny_params()
        tx = R.BY_NAME[name].make(0.1)
        state = tx.init(params)
        grads = bad_grads_missing_leaf(params)
        # Stateless plain SGD has nothing to compare the updates with: its
        # mismatch is caught where the updates meet the params, in apply_updates.
        with pytest.raises(ValueError) as excinfo:
            updates, _ = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))(
                grads, state, params)
            jos.apply_updates(params, updates)
        message = str(excinfo.value)
        self.assertIn(str(jax.tree.structure(grads)), message)
        self.assertIn(str(jax.tree.structure(params)), message)
        self.assertIn("does not match", message)
        assert_raised_by_library(excinfo)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(R.named())
    def test_shape_mismatch_names_the_leaf_and_both_shapes(self, name):
        params = P.tiny_params()
        tx = R.BY_NAME[name].make(0.1)
        state = tx.init(params)
        grads = {"w": jnp.ones(4), "t": (jnp.ones(()),)}  # w has 4 entries, not 3
        with pytest.raises(ValueError, match=r"\['w'\].*\(4,\).*\(3,\)|\['w'\].*\(3,\).*\(4,\)") \
                as excinfo:
            updates, _ = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))(
                grads, state, params)
            jos.apply_updates(params, updates)
        assert_raised_by_library(excinfo)

    def test_apply_updates_shows_both_structures(self):
        params = P.tiny_params()
        updates = bad_grads_missing_leaf(params)
        with pytest.raises(ValueError, match="`apply_updates`") as excinfo:
            jos.apply_updates(params, updates)
        self.assertIn(str(jax.tree.structure(params)), str(excinfo.value))
        self.assertIn(str(jax.tree.structure(updates)), str(excinfo.value))
        assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------------------------
# Integer and complex params.
# ---------------------------------------------------------------------------------------------

WRAPPED = {
    "inject_hyperparams": lambda: jos.inject_hyperparams(jos.adam)(learning_rate=0.1),
    "MultiSteps": lambda: jos.MultiSteps(jos.adam(0.1), 2).gradient_transformation(),
    "apply_if_finite": lambda: jos.apply_if_finite(jos.adam(0.1), 3),
    "join_transforms": lambda: jos.join_transforms([jos.adam(0.1), jos.sgd(0.1)], [2]),
    "multi_transform": lambda: jos.multi_transform({"a": jos.adam(0.1)}, lambda p: "a"),
    "masked": lambda: jos.masked(jos.adam(0.1), lambda p: jax.tree.map(lambda _: True, p)),
    "named_chain": lambda: jos.named_chain(("clip", jos.clip(1.0)), ("adam", jos.adam(0.1))),
    "clip_by_global_norm": lambda: jos.clip_by_global_norm(1.0),
    "adaptive_grad_clip": lambda: jos.adaptive_grad_clip(0.1),
}


class IntegerParamsTest(parameterized.TestCase):

    @parameterized.named_parameters(
        [(f"{n}_{d}", n, d) for n in list(R.BY_NAME) + list(WRAPPED) for d in ("int32", "bool")])
    def test_integer_params_raise_type_error_saying_to_cast(self, name, dtype):
        tx = R.BY_NAME[name].make(0.1) if name in R.BY_NAME else WRAPPED[name]()
        params = {"w": jnp.ones(3, jnp.float32), "n": jnp.ones(2, dtype)}
        with pytest.raises(TypeError, match=rf"leaf \['n'\] has dtype {dtype}.*Cast it") \
                as excinfo:
            tx.init(params)
        assert_raised_by_library(excinfo)


COMPLEX_STEPS = 5
# Every row with complex support and an optax counterpart, except those whose code path
# is another row's with a flag off (plain/momentum SGD = Nesterov's, RMSProp = centered
# with momentum, Adam = AdamW, NAdamW = NAdam + AdamW's decay, AdaMax = AdaMaxW): new
# rows are in by default.
FLAG_OFF_OF_ANOTHER_ROW = ("sgd", "sgd_momentum", "rmsprop", "adam", "nadamw", "adamax")
COMPLEX_CASES = R.named(where=lambda e: e.complex64 and e.optax is not None
                        and e.name not in FLAG_OFF_OF_ANOTHER_ROW)
C_GAIN = (0.7 - 0.4j, 1.1 + 0.2j, -0.3 + 0.9j)


def complex_params():
    return {"w": jnp.asarray([0.8 + 0.3j, -1.3 + 0.5j, 0.4 - 1.0j], jnp.complex64),
            "t": (jnp.asarray(-0.6 + 0.2j, jnp.complex64),)}


def complex_grad(p):
    """A linear complex map of the params (any map serves; both libraries get the same one)."""
    return {"w": p["w"] * jnp.asarray(C_GAIN, jnp.complex64),
            "t": (p["t"][0] * jnp.asarray(0.5 - 0.5j, jnp.complex64),)}


@functools.cache  # both chex variants compare with the same optax run
def _optax_complex_run(name):
    import optax

    tx = R.BY_NAME[name].make_optax(0.1)

    def run(p):
        def body(p_s, _):
            p, s = p_s
            u, s = tx.update(complex_grad(p), s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(body, (p, tx.init(p)), None, length=COMPLEX_STEPS)[0][0]

    with jax.numpy_dtype_promotion("standard"):  # optax mixes float32 with complex64
        return jax.jit(run)(complex_params())


class ComplexParamsTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(COMPLEX_CASES)
    def test_complex64_matches_optax(self, name):
        # optax supports complex params in every one of these aliases (|g|^2 as
        # g * conj(g), sign(z) = z/|z| for Lion); so do we, with the same numbers.

        tx = R.BY_NAME[name].make(0.1)
        update = self.variant(tx.update)
        params, state = complex_params(), tx.init(complex_params())
        for _ in range(COMPLEX_STEPS):
            updates, state = update(complex_grad(params), state, params)
            self.assertEqual(updates["w"].dtype, jnp.complex64)
            params = jos.apply_updates(params, updates)
        ref = _optax_complex_run(name)
        # optax forms 1 - b**t naively in float32, we use expm1/log1p (about 2e-5
        # relative per bias correction, docs/tutorial_claims.rst, tolerances); measured <= 3e-6
        # here.
        chex.assert_trees_all_close(params, ref, rtol=1e-5, atol=1e-5)
        self.assertFalse(np.allclose(params["w"], complex_params()["w"]), "nothing moved")

    @chex.variants(with_jit=True, without_jit=True)
    def test_multisteps_keeps_the_imaginary_part(self):
        # Oracle: the inner Adam applied to the mean of each pair of micro-step
        # gradients (optax's MultiSteps itself drops the imaginary part).
        tx = jos.MultiSteps(jos.adam(0.1), every_k_schedule=2)
        inner = jos.adam(0.1)
        update, inner_update = self.variant(tx.update), self.variant(inner.update)
        grads = [jax.tree.map(lambda x, k=k: x * (1.0 + k), complex_grad(complex_params()))
                 for k in range(4)]
        params, state = complex_params(), tx.init(complex_params())
        for g in grads:
            updates, state = update(g, state, params)
            params = jos.apply_updates(params, updates)
        self.assertEqual(state.acc_grads["w"].dtype, jnp.complex64)
        ref, ref_state = complex_params(), inner.init(complex_params())
        for g1, g2 in (grads[:2], grads[2:]):
            mean = jax.tree.map(lambda a, b: (a + b) / jnp.asarray(2, a.dtype), g1, g2)
            u, ref_state = inner_update(mean, ref_state, ref)
            ref = jos.apply_updates(ref, u)
        # The running mean g1 + (g2 - g1)/2 and (g1 + g2)/2 round differently (1 ulp).
        chex.assert_trees_all_close(params, ref, rtol=1e-6, atol=1e-6)
        self.assertGreater(float(jnp.max(jnp.abs(params["w"].imag - complex_params()["w"].imag))),
                           1e-3, "the imaginary parts did not move")

    @parameterized.named_parameters(("init", "init"), ("update", "update"))
    def test_elementwise_clip_rejects_complex_with_a_fix(self, where):
        tx = jos.clip(1.0)
        params = complex_params()
        state = jos.EmptyState() if where == "update" else None
        with pytest.raises(TypeError, match=r"`clip`.*complex.*clip_by_global_norm") as excinfo:
            if where == "init":
                tx.init(params)
            else:
                tx.update(complex_grad(params), state)
        assert_raised_by_library(excinfo)

    @parameterized.named_parameters(("learning_rate", "learning_rate"), ("b1", "b1"),
                                    ("eps", "eps"))
    def test_complex_hyperparameter_raises_type_error(self, arg):
        kwargs = {"learning_rate": 0.1, arg: 0.1 + 0.1j}
        with pytest.raises(TypeError, match=rf"`{arg}` must be a real number") as excinfo:
            jos.adam(**kwargs)
        assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------------------------
# Concrete out-of-range hyperparameters: every alias, every schedule.
# ---------------------------------------------------------------------------------------------

_DECAY = r"\[0, 1\)"
_NONNEG = r"\[0, inf\)"
_POSITIVE = r"\(0, inf\)"
_REAL = r"\(-inf, inf\)"
_FRACTION = r"\[0, 1\]"

# Alias argument -> (a bad value, the interval the message must state, a valid edge value).
ALIAS_RANGES = {
    "learning_rate": (-0.1, _NONNEG, 0.0),
    "b1": (1.0, _DECAY, 0.0),
    "b2": (-0.5, _DECAY, 0.0),
    "decay": (1.0, _DECAY, 0.0),
    "momentum": (1.0, _DECAY, 0.0),
    "eps": (-1e-8, _NONNEG, 0.0),
    "eps_root": (-1.0, _NONNEG, 0.0),
    "weight_decay": (-0.1, _NONNEG, 0.0),
    "initial_scale": (-1.0, _NONNEG, 0.0),
    "initial_accumulator_value": (-1.0, _NONNEG, 0.0),
    "trust_coefficient": (0.0, _POSITIVE, 1e-6),
    "rho": (1.0, _DECAY, 0.0),
    "b3": (1.0, _DECAY, 0.0),
    "threshold": (math.nan, _REAL, -1.0),
    "eta": (-0.1, _NONNEG, 0.0),
    "gamma": (-0.1, _NONNEG, 0.0),
    "alpha": (math.nan, _REAL, -1.0),
    "beta": (math.nan, _REAL, -1.0),
    "optimism": (math.nan, _REAL, -1.0),
    "min_norm": (-1.0, _NONNEG, 0.0),
    "eta_minus": (-0.5, _NONNEG, 0.0),
    "eta_plus": (-1.2, _NONNEG, 0.0),
    "min_step_size": (-1.0, _NONNEG, 0.0),
    "max_step_size": (-1.0, _NONNEG, 1e-6),  # the edge may not undercut min_step_size
    "decay_rate": (math.nan, _REAL, -1.0),
    "decay_offset": (math.nan, _REAL, -3),
    "clipping_threshold": (-1.0, _NONNEG, 0.0),
    "weight_decay_rate": (-0.1, _NONNEG, 0.0),
    "shampoo_beta": (1.0, _DECAY, 0.0),
    "precondition_frequency": (0, r"\[1, inf\)", 1),
    # Issue 14's optimizers (jos.contrib) and polyak_sgd.
    "max_learning_rate": (0.0, _POSITIVE, 1e-6),
    "f_min": (math.nan, _REAL, -1.0),
    "adam_b1": (1.0, _DECAY, 0.0),
    "adam_b2": (-0.5, _DECAY, 0.0),
    "adam_eps_root": (-1.0, _NONNEG, 0.0),
    "adam_weight_decay": (-0.1, _NONNEG, 0.0),
    "adam_learning_rate": (-0.1, _NONNEG, 0.0),
    "weight_lr_power": (-1.0, _NONNEG, 0.0),
    "beta3": (1.0, _DECAY, 0.0),
    "estim_lr0": (0.0, _POSITIVE, 1e-12),
    "estim_lr_coef": (0.0, _POSITIVE, 1e-6),
    "init_estim_sq_dist": (-1.0, _NONNEG, 0.0),
    "scale": (math.nan, _REAL, -1.0),
    "lower_bound": (math.nan, _REAL, -1.0),
    "clip_threshold": (0.0, _POSITIVE, 1e-6),
    "l2_norm_clip": (-1.0, _NONNEG, 0.0),
    "noise_multiplier": (-1.0, _NONNEG, 0.0),
}
# (alias, argument) -> the same triple, where an argument's range depends on the alias.
ALIAS_RANGE_OVERRIDES = {
    ("signum", "beta"): (1.0, _DECAY, 0.0),  # an EMA decay (optimistic aliases: any real)
    ("contrib_muon", "beta"): (1.0, _DECAY, 0.0),  # the momentum's decay
    ("contrib_momo", "beta"): (1.0, _DECAY, 0.0),  # the momentum's decay
    # Schedule-Free interpolates with b1 and divides by it: (0, 1], 1 allowed (no averaging).
    ("contrib_schedule_free_sgd", "b1"): (0.0, r"\(0, 1\]", 1.0),
    ("contrib_schedule_free_adamw", "b1"): (0.0, r"\(0, 1\]", 1.0),
    ("contrib_sophia", "eps"): (0.0, _POSITIVE, 1e-12),  # the floor of gamma * h, divided by
    ("contrib_sophia", "gamma"): (0.0, _POSITIVE, 1e-6),
}
# Structural options: static, never range-checked.
STRUCTURAL = {"mu_dtype", "nesterov", "mask", "eps_in_sqrt", "centered", "bias_correction",
              "bias_correction_mu", "bias_correction_nu",
              "accumulator_dtype", "weight_decay_mask", "trust_ratio_mask",
              "key", "seed", "min_dim_size_to_factor", "multiply_by_parameter_scale",
              "dtype_momentum", "factored", "memory_size", "scale_init_precond", "linesearch",
              "max_precond_dim", "precondition_1d",
              # Issue 14: flags, sizes, step counts, estimators and dimension numbers (each
              # validated once in its own test file), and tuples of numbers validated by
              # element there (betas, ns_coeffs, init_step).
              "ns_coeffs", "ns_steps", "adaptive", "preconditioning", "consistent_rms",
              "muon_weight_dimension_numbers", "weight_dimension_numbers", "warmup_steps",
              "state_dtype", "betas", "safeguard_warmup", "use_clipping", "clip_value_fn",
              "init_step", "rank", "update_proj_gap", "base_optimizer", "adapt_lower_bound",
              "update_interval", "hessian_diagonal_fn", "verbose",
              "print_win_rate_every_n_steps", "variant"}


# Every alias function of the registry (once, whatever its variants), by test name.
ALIAS_FUNCTIONS = {R.alias_name(e).replace(".", "_"): e.alias for e in R.REGISTRY}
# Arguments without a default besides the learning rate (DP-SGD's clip, noise and seed): the
# row's values, so that the alias can be called with one argument changed.
ALIAS_REQUIRED = {
    R.alias_name(e).replace(".", "_"): {
        k: e.options[k] for k, p in inspect.signature(e.alias).parameters.items()
        if p.default is p.empty and k != "learning_rate"}
    for e in R.REGISTRY}


def _alias_cases():
    cases = []
    for alias, fn in ALIAS_FUNCTIONS.items():
        for arg in inspect.signature(fn).parameters:
            if arg in ALIAS_RANGES:
                cases.append((f"{alias}_{arg}", alias, arg))
    return cases


class AliasHyperparameterRangeTest(parameterized.TestCase):

    @parameterized.named_parameters(*[(a, a) for a in ALIAS_FUNCTIONS])
    def test_every_numeric_argument_has_a_range_test(self, alias):
        for arg in inspect.signature(ALIAS_FUNCTIONS[alias]).parameters:
            self.assertIn(arg, set(ALIAS_RANGES) | STRUCTURAL,
                          f"{alias}({arg}=...) has no out-of-range test: add it to ALIAS_RANGES")

    @parameterized.named_parameters(*_alias_cases())
    def test_out_of_range_names_argument_and_range(self, alias, arg):
        bad, interval, edge = ALIAS_RANGE_OVERRIDES.get((alias, arg), ALIAS_RANGES[arg])
        kwargs = {"learning_rate": 0.1, **ALIAS_REQUIRED[alias]}
        ALIAS_FUNCTIONS[alias](**{**kwargs, arg: edge})  # the edge of the range is accepted
        for value in (bad, math.nan, np.float32(bad), jnp.asarray(bad)):
            with pytest.raises(ValueError, match=rf"`{arg}` must lie in {interval}, got") \
                    as excinfo:
                ALIAS_FUNCTIONS[alias](**{**kwargs, arg: value})
            assert_raised_by_library(excinfo)

    def test_traced_out_of_range_values_are_not_checked(self):
        # A sweep may pass anything traced; validation must not turn into a
        # TracerBoolConversionError (values are only checked when concrete).
        def step(b1, lr):
            tx = jos.adam(lr, b1=b1)
            return tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))[0]

        out = jax.jit(step)(jnp.float32(1.5), jnp.float32(-0.1))
        self.assertEqual(out.shape, (2,))


# Schedule -> (valid keyword arguments, [(argument, bad value, message pattern), ...]).
# Every numeric argument appears at least with NaN; those with a range also with a
# value outside it.
SCHEDULES = {
    "constant_schedule": (dict(value=0.1), []),
    "polynomial_schedule": (
        dict(init_value=1.0, end_value=0.0, power=1.0, transition_steps=10, transition_begin=0),
        [("power", -1.0, _NONNEG), ("transition_steps", -1, _NONNEG)]),
    "linear_schedule": (
        dict(init_value=1.0, end_value=0.0, transition_steps=10, transition_begin=0),
        [("transition_steps", -1, _NONNEG)]),
    "exponential_decay": (
        dict(init_value=1.0, transition_steps=10, decay_rate=0.5, transition_begin=0,
             end_value=0.01),
        [("transition_steps", -1, _NONNEG), ("decay_rate", -0.5, _NONNEG)]),
    "piecewise_constant_schedule": (dict(init_value=1.0), []),
    "piecewise_interpolate_schedule": (dict(interpolate_type="linear", init_value=1.0), []),
    "cosine_decay_schedule": (
        dict(init_value=1.0, decay_steps=10, alpha=0.0, exponent=1.0),
        [("decay_steps", -1, _NONNEG), ("exponent", 0.0, _POSITIVE)]),
    "warmup_constant_schedule": (
        dict(init_value=0.0, peak_value=1.0, warmup_steps=5),
        [("warmup_steps", -1, _NONNEG)]),
    "warmup_cosine_decay_schedule": (
        dict(init_value=0.0, peak_value=1.0, warmup_steps=5, decay_steps=20, end_value=0.0,
             exponent=1.0),
        [("warmup_steps", -1, _NONNEG), ("decay_steps", -1, _NONNEG),
         ("exponent", 0.0, _POSITIVE)]),
    "warmup_exponential_decay_schedule": (
        dict(init_value=0.0, peak_value=1.0, warmup_steps=5, transition_steps=10,
             decay_rate=0.5, transition_begin=0, end_value=0.01),
        [("warmup_steps", -1, _NONNEG), ("transition_steps", -1, _NONNEG),
         ("decay_rate", -0.5, _NONNEG)]),
    "linear_onecycle_schedule": (
        dict(transition_steps=100, peak_value=1.0, pct_start=0.3, pct_final=0.85,
             div_factor=25.0, final_div_factor=1e4),
        [("transition_steps", -1, _NONNEG), ("pct_start", 1.5, _FRACTION),
         ("pct_final", -0.1, _FRACTION), ("div_factor", 0.0, _POSITIVE),
         ("final_div_factor", -1.0, _POSITIVE)]),
    "cosine_onecycle_schedule": (
        dict(transition_steps=100, peak_value=1.0, pct_start=0.3, div_factor=25.0,
             final_div_factor=1e4),
        [("transition_steps", -1, _NONNEG), ("pct_start", -0.5, _FRACTION),
         ("div_factor", -1.0, _POSITIVE), ("final_div_factor", 0.0, _POSITIVE)]),
    "cyclic_schedule": (
        dict(init_value=0.0, peak_value=1.0, step_size_up=10, step_size_down=5, gamma=0.9),
        [("step_size_up", -1, _NONNEG), ("step_size_down", -1, _NONNEG),
         ("gamma", 0.0, _POSITIVE)]),
}
# Schedules whose arguments are containers of schedules or boundaries; tested one by one below.
COMPOSITE = {"join_schedules", "sgdr_schedule"}


def _schedule_cases():
    cases = []
    for name, (kwargs, bounded) in SCHEDULES.items():
        for arg, value in kwargs.items():
            if isinstance(value, (int, float)):
                cases.append((f"{name}_{arg}_nan", name, arg, math.nan, None))
        for arg, bad, interval in bounded:
            cases.append((f"{name}_{arg}", name, arg, bad, interval))
    return cases


class ScheduleHyperparameterRangeTest(parameterized.TestCase):

    def test_every_public_schedule_is_covered(self):
        public = {n for n in jos.__all__ if n.endswith("_schedule") or n == "exponential_decay"}
        public -= {"scale_by_schedule"}  # a transform, not a schedule
        public |= {"join_schedules"}
        self.assertEqual(public, set(SCHEDULES) | COMPOSITE)

    @parameterized.named_parameters(*[(n, n) for n in SCHEDULES])
    def test_every_numeric_argument_is_listed(self, name):
        kwargs, _ = SCHEDULES[name]
        params = inspect.signature(getattr(jos, name)).parameters
        numeric = {a for a, p in params.items()  # bool flags and containers are structural
                   if p.kind is not p.KEYWORD_ONLY and not isinstance(p.default, bool)
                   and a != "boundaries_and_scales"}
        self.assertEqual(numeric, set(kwargs), f"{name}: list every numeric argument")
        getattr(jos, name)(**kwargs)(3)  # the listed values are valid

    @parameterized.named_parameters(*_schedule_cases())
    def test_out_of_range_names_argument_and_range(self, name, arg, bad, interval):
        kwargs, _ = SCHEDULES[name]
        pattern = rf"`{arg}` must lie in {interval or '[^,]*, [^,]*'}, got"
        with pytest.raises(ValueError, match=pattern) as excinfo:
            getattr(jos, name)(**{**kwargs, arg: bad})
        assert_raised_by_library(excinfo)

    @parameterized.named_parameters(
        ("decay_shorter_than_warmup", "warmup_cosine_decay_schedule",
         dict(init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=5),
         r"`decay_steps`.*at least `warmup_steps`"),
        ("pct_final_before_pct_start", "linear_onecycle_schedule",
         dict(transition_steps=100, peak_value=1.0, pct_start=0.5, pct_final=0.4),
         r"`pct_final`.*at least `pct_start`"),
        ("unknown_policy", "cyclic_schedule",
         dict(init_value=0.0, peak_value=1.0, policy="sawtooth"), r"`policy` must be one of"),
        ("negative_boundary", "piecewise_constant_schedule",
         dict(init_value=1.0, boundaries_and_scales={-5: 0.5}),
         rf"`boundaries_and_scales` must lie in {_NONNEG}.*step counts"),
        ("negative_scale", "piecewise_constant_schedule",
         dict(init_value=1.0, boundaries_and_scales={5: -0.5}),
         rf"`boundaries_and_scales` must lie in {_NONNEG}.*flip the sign"),
        ("join_negative_boundary", "join_schedules",
         dict(schedules=[jos.constant_schedule(1.0)] * 2, boundaries=[-1]),
         rf"`boundaries` must lie in {_NONNEG}"),
        ("join_decreasing_boundaries", "join_schedules",
         dict(schedules=[jos.constant_schedule(1.0)] * 3, boundaries=[5, 3]),
         r"`boundaries`.*non-decreasing"),
        ("join_wrong_count", "join_schedules",
         dict(schedules=[jos.constant_schedule(1.0)] * 3, boundaries=[5]),
         r"one boundary fewer"),
        ("sgdr_negative_warmup", "sgdr_schedule",
         dict(cosine_kwargs=[dict(init_value=0.0, peak_value=1.0, warmup_steps=-2,
                                  decay_steps=10)]),
         rf"`warmup_steps` must lie in {_NONNEG}"),
        ("sgdr_no_cycle", "sgdr_schedule", dict(cosine_kwargs=[]), r"at least one cycle"),
    )
    def test_inconsistent_arguments(self, name, kwargs, pattern):
        with pytest.raises(ValueError, match=pattern) as excinfo:
            getattr(jos, name)(**kwargs)
        assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------------------------
# params=None where params are needed.
# ---------------------------------------------------------------------------------------------

NEEDS_PARAMS_WRAPPED = {
    "inject_hyperparams": lambda: jos.inject_hyperparams(jos.adamw)(learning_rate=0.1),
    "MultiSteps": lambda: jos.MultiSteps(jos.lamb(0.1), 1).gradient_transformation(),
    "apply_if_finite": lambda: jos.apply_if_finite(jos.lars(0.1), 3),
    "join_transforms": lambda: jos.join_transforms([jos.adamw(0.1), jos.sgd(0.1)], [2]),
    "multi_transform": lambda: jos.multi_transform({"a": jos.lion(0.1)}, lambda p: "a"),
    "adaptive_grad_clip": lambda: jos.adaptive_grad_clip(0.1),
}


class ParamsNoneTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        R.named(where=lambda e: e.needs_params) + [(n, n) for n in NEEDS_PARAMS_WRAPPED])
    def test_missing_params_says_so(self, name):
        tx = R.BY_NAME[name].make(0.1) if name in R.BY_NAME else NEEDS_PARAMS_WRAPPED[name]()
        params = P.tiny_params()
        update = R.BY_NAME[name].update(tx) if name in R.BY_NAME else tx.update
        with pytest.raises(ValueError, match=r"needs the current parameters.*"
                                             r"tx.update\(updates, state, params\)") as excinfo:
            self.variant(update)(P.bowl_grad(params), tx.init(params))
        assert_raised_by_library(excinfo)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        R.named(where=lambda e: not e.needs_params))
    def test_aliases_that_ignore_params_accept_none(self, name):
        tx = R.BY_NAME[name].make(0.1)
        update = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))
        params = P.tiny_params()
        grads = P.bowl_grad(params)
        # A row's extra arguments (value=) are formed at the params in both calls.
        without, _ = update(grads, tx.init(params), None, params)
        with_params, _ = update(grads, tx.init(params), params)
        chex.assert_trees_all_equal(without, with_params)


# ---------------------------------------------------------------------------------------------
# Schedules returning the wrong thing.
# ---------------------------------------------------------------------------------------------


def _vector_schedule(count):
    return jnp.full((2,), 0.1) + 0 * count.astype(jnp.float32)


SCHEDULE_USERS = {
    "sgd_learning_rate": ("learning_rate", lambda s: jos.sgd(s)),
    "adam_learning_rate": ("learning_rate", lambda s: jos.adam(s)),
    "adamw_weight_decay": ("weight_decay", lambda s: jos.adamw(0.1, weight_decay=s)),
    "scale_by_schedule": ("step_size_fn", lambda s: jos.scale_by_schedule(s)),
    "inject_learning_rate": ("learning_rate",
                             lambda s: jos.inject_hyperparams(jos.adam)(learning_rate=s)),
    "inject_b1": ("b1", lambda s: jos.inject_hyperparams(jos.adam)(learning_rate=0.1, b1=s)),
    "multisteps_k": ("every_k_schedule",
                     lambda s: jos.MultiSteps(jos.sgd(0.1), s).gradient_transformation()),
}


class ScheduleOutputTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(k, k) for k in SCHEDULE_USERS])
    def test_non_scalar_schedule_names_the_argument(self, key):
        arg, build = SCHEDULE_USERS[key]
        tx = build(_vector_schedule)
        params = P.tiny_params()
        with pytest.raises(ValueError, match=rf"`{arg}` must return a scalar.*shape \(2,\)") \
                as excinfo:
            self.variant(lambda p: tx.update(P.bowl_grad(p), tx.init(p), p))(params)
        assert_raised_by_library(excinfo)

    @parameterized.named_parameters(("none", None), ("string", "0.1"))
    def test_non_numeric_schedule_output_names_the_argument(self, output):
        tx = jos.sgd(lambda count: output)
        params = P.tiny_params()
        with pytest.raises(TypeError, match=r"`learning_rate` must return a number") as excinfo:
            tx.update(P.bowl_grad(params), tx.init(params), params)
        assert_raised_by_library(excinfo)

    def test_non_scalar_every_k_array_is_rejected_at_construction(self):
        with pytest.raises(ValueError, match=r"`every_k_schedule` must be a scalar") as excinfo:
            jos.MultiSteps(jos.sgd(0.1), jnp.asarray([2, 3]))
        assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------------------------
# Masks and labels whose structure does not match the params.
# ---------------------------------------------------------------------------------------------

MASK_USERS = {
    "adamw_tree": ("mask", lambda: jos.adamw(0.1, mask={"w": True})),
    "adamw_fn": ("mask", lambda: jos.adamw(0.1, mask=lambda p: {"w": True})),
    "nadamw_list": ("mask", lambda: jos.nadamw(0.1, mask=[True, False])),
    "lion_tree": ("mask", lambda: jos.lion(0.1, mask={"w": True, "b": False})),
    "masked": ("mask", lambda: jos.masked(jos.adam(0.1), {"w": True})),
    "freeze": ("mask", lambda: jos.freeze({"w": True, "x": (False,)})),
    "lars_weight_decay_mask": ("mask", lambda: jos.lars(0.1, weight_decay_mask={"w": True})),
    "multi_transform": ("param_labels",
                        lambda: jos.multi_transform({"a": jos.sgd(0.1)}, {"w": "a"})),
}


class MaskMismatchTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(k, k) for k in MASK_USERS])
    def test_mask_structure_mismatch_shows_both_structures(self, key):
        arg, build = MASK_USERS[key]
        tx = build()
        params = P.tiny_params()
        with pytest.raises(ValueError, match=rf"`{arg}`.*does not match") as excinfo:
            self.variant(lambda p: tx.update(P.bowl_grad(p), tx.init(p), p))(params)
        self.assertIn(str(jax.tree.structure(params)), str(excinfo.value))
        assert_raised_by_library(excinfo)

    @chex.variants(with_jit=True, without_jit=True)
    def test_mask_function_must_fit_the_updates_too(self):
        # The mask is built from params; updates of another structure are named.
        tx = jos.masked(jos.scale(2.0), lambda p: jax.tree.map(lambda _: True, p))
        params = P.tiny_params()
        with pytest.raises(ValueError, match=r"`mask`.*does not match") as excinfo:
            self.variant(tx.update)(bad_grads_missing_leaf(params), tx.init(params), params)
        assert_raised_by_library(excinfo)
