"""``inject_hyperparams``: hyperparameters as arrays in the optimizer state."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import tree_math as _tree_math
from jaxopt_scratch._schedules import stateful as _stateful


class InjectHyperparamsState(NamedTuple):
    """State of a transform built by :func:`inject_hyperparams`."""

    count: jax.Array  # updates applied so far (int32, saturating); schedules see this
    hyperparams: dict  # name -> current value: float32 (float64 for f64 params) or int32 scalar
    inner_state: Any  # the inner transform's state


class InjectStatefulHyperparamsState(NamedTuple):
    """State of an injected transform with a :class:`StatefulSchedule` among its arguments."""

    count: jax.Array  # updates applied so far (int32, saturating); plain schedules see this
    hyperparams: dict  # name -> the value used at the last step (as in InjectHyperparamsState)
    hyperparams_states: dict  # name -> the state of that hyperparameter's stateful schedule
    inner_state: Any  # the inner transform's state


# Arguments that hold a PRNG seed: a Python int there is an int32 hyperparameter.
_SEED_ARGS = frozenset({"key", "seed"})


def _is_structural_callable(name: str, value: Any) -> bool:
    """Callables that are options, not schedules: dtypes, classes and masks."""
    return isinstance(value, (type, np.dtype)) or name.endswith("mask")


def _numeric_kind(value: Any, default: Any) -> str | None:
    """``"float"``, ``"int"`` or ``None`` (not a numeric hyperparameter)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, float):
        return "float"
    if isinstance(value, (int, np.integer)):
        # A Python int is an integer hyperparameter only where the factory's
        # default is an int; elsewhere (``learning_rate=1``) it is a float.
        is_int_default = isinstance(default, int) and not isinstance(default, bool)
        return "int" if is_int_default else "float"
    if isinstance(value, (np.ndarray, np.floating, jax.Array)):
        dtype = jnp.result_type(value)
        if jnp.issubdtype(dtype, jnp.floating):
            return "float"
        if jnp.issubdtype(dtype, jnp.integer):
            return "int"
    return None


def _as_hyperparam(value: Any, kind: str, float_dtype: Any) -> jax.Array:
    if kind == "int":
        return jnp.asarray(value).astype(jnp.int32)
    if float_dtype is None:  # keep float64 if it is already there; bf16/f16 go up to f32
        given = jnp.result_type(value) if hasattr(value, "dtype") else jnp.float32
        float_dtype = _tree_math.moment_dtype(given)
    return jnp.asarray(value).astype(float_dtype)


def inject_hyperparams(
    inner_factory: Callable[..., _base.GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any | None = None,
) -> Callable[..., _base.GradientTransformation]:
    r"""Moves an optimizer's numeric hyperparameters into its state, as arrays.

    ``inject_hyperparams(jos.adam)(learning_rate=1e-3)`` behaves like
    ``jos.adam(1e-3)``, but its state holds ``hyperparams["learning_rate"]``
    (and ``b1``, ``b2``, ...). Each step rebuilds the inner transform from those
    arrays, so:

    * a value can be changed between steps by replacing it in the state,
      ``state.hyperparams["learning_rate"] = 1e-4`` (or ``state._replace``),
      without recompiling;
    * a schedule passed for a hyperparameter is evaluated every step on the
      0-based count of updates already applied, and its current value is stored
      (for logging);
    * the values are float32 arrays whatever the params' dtype (float64 if the
      params are float64; ``hyperparam_dtype`` overrides). optax stores them in
      the params' dtype, so with bfloat16 params its ``b2 = 0.999`` becomes 1.0;
    * integer hyperparameters are int32 arrays, traced like the floats (no
      ``static_args`` needed).

    A hyperparameter may also be a :class:`StatefulSchedule` (``init()``,
    ``update(state, **extra_args)``, ``__call__(state, **extra_args)``): its value
    ``s(state, **extra_args)`` is used at each step, then its state advances with
    ``s.update(state, **extra_args)``, where ``extra_args`` are this transform's extra
    ``update`` keywords (``value=loss``, ...). The transform's state is then an
    :class:`InjectStatefulHyperparamsState` whose ``hyperparams_states`` holds each
    stateful schedule's state.

    Which arguments are hyperparameters: numbers and numeric arrays (or
    tracers). Static (passed as given, never in the state): ``bool``, ``None``,
    strings, dtypes, classes, containers such as mask trees, arguments whose
    name ends in ``mask`` (mask functions), and the names in ``static_args``.
    Any other callable is treated as a schedule. A Python ``int`` is an int32
    hyperparameter where the factory's default is an ``int`` or the argument is
    a PRNG seed (``key``, ``seed``), a float otherwise.

    Args:
        inner_factory: A function returning a :class:`GradientTransformation`
            (e.g. ``jos.adamw``); it must accept its hyperparameters as arrays.
        static_args: Names of arguments to pass through unchanged (for
            example a callable option that is not a schedule).
        hyperparam_dtype: Structural; dtype of float hyperparameters
            (default: float32, or float64 for float64 params).

    Returns:
        A function with ``inner_factory``'s arguments returning a transform whose
        state is :class:`InjectHyperparamsState` (:class:`InjectStatefulHyperparamsState`
        when a stateful schedule is among the arguments).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.inject_hyperparams(jos.sgd)(learning_rate=0.1)
        >>> params = jnp.ones(2, jnp.bfloat16)
        >>> state = tx.init(params)
        >>> state.hyperparams["learning_rate"].dtype
        dtype('float32')
        >>> state.hyperparams["learning_rate"] = jnp.float32(0.5)   # change it between steps
        >>> u, state = tx.update(jnp.ones(2, jnp.bfloat16), state)
        >>> print(u)
        [-0.5 -0.5]
    """
    static, signature = check_wrapper_args(inner_factory, static_args)

    @functools.wraps(inner_factory)
    def factory(*args, **kwargs) -> _base.GradientTransformation:
        arguments = arguments_by_name(inner_factory, signature, args, kwargs)
        stateful = {name: value for name, value in arguments.items()
                    if name not in static and _stateful.is_stateful_schedule(value)}
        if stateful:
            return with_stateful_schedules(inner_factory, arguments, stateful, signature,
                                           static, hyperparam_dtype)
        return _injected(inner_factory, _classify(arguments, signature, static), hyperparam_dtype)

    return factory


def check_wrapper_args(inner_factory: Any, static_args: str | Iterable[str],
                        ) -> tuple[set[str], inspect.Signature]:
    """Step 1: checks the wrapper's own arguments; returns the static names and the signature."""
    _checks.check_transform_factory("inner_factory", inner_factory)
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    unknown = static - set(signature.parameters)
    if unknown:
        raise ValueError(
            f"`static_args` names {sorted(unknown)}, which `inner_factory` does not take; "
            f"its arguments are {list(signature.parameters)}."
        )
    return static, signature


def arguments_by_name(inner_factory: Callable[..., Any], signature: inspect.Signature,
                       args: tuple, kwargs: dict) -> dict[str, Any]:
    """Step 2: one call's arguments by name, defaults included and ``**kwargs`` flattened."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL and value:
            raise TypeError(
                f"`inject_hyperparams` passes arguments by name, so `{inner_factory.__name__}`"
                f"'s `*{name}` cannot be used; pass those values as keyword arguments."
            )
        if kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            arguments[name] = value
    return arguments


class _Arguments(NamedTuple):
    """One call's arguments, sorted by what :func:`inject_hyperparams` does with them."""

    fixed: dict[str, Any]  # passed to the inner factory unchanged
    numeric: dict[str, tuple[Any, str]]  # name -> (given value, "float" or "int"): in the state
    schedules: dict[str, Callable[..., Any]]  # evaluated every step; the value is in the state


def _classify(arguments: dict[str, Any], signature: inspect.Signature,
              static: set[str]) -> _Arguments:
    """Step 3: sorts the arguments into fixed ones, numeric hyperparameters and schedules."""
    fixed, numeric, schedules = {}, {}, {}
    for name, value in arguments.items():
        kind = None
        if name not in static:
            param = signature.parameters.get(name)
            kind = _numeric_kind(value, None if param is None else param.default)
            if name in _SEED_ARGS and isinstance(value, (int, np.integer)):
                kind = "int"  # a PRNG seed stays an integer (noisy_sgd's key), never a float
        if kind is not None:
            numeric[name] = (value, kind)
        elif (name not in static and callable(value)
              and not _is_structural_callable(name, value)):
            schedules[name] = value
        else:
            fixed[name] = value
    return _Arguments(fixed, numeric, schedules)


def _injected(inner_factory: Callable[..., _base.GradientTransformation], arguments: _Arguments,
              hyperparam_dtype: Any) -> _base.GradientTransformation:
    """Step 4: the transform that rebuilds the inner one from the state's values every step."""
    fixed, numeric, schedules = arguments

    def build(hyperparams):
        return inner_factory(**fixed, **hyperparams)

    def scheduled_values(count, dtypes):
        return {name: _as_hyperparam(
            _base.evaluate_schedule(fn, count, name), "float", dtypes[name])
            for name, fn in schedules.items()}

    def init_fn(params):
        _tree_math.check_float_params(params)  # before scalar_dtype, which needs float leaves
        dtype = hyperparam_dtype or _tree_math.scalar_dtype(params)
        count = _tree_math.zero_count()
        hyperparams = {name: _as_hyperparam(v, kind, dtype)
                       for name, (v, kind) in numeric.items()}
        hyperparams.update(scheduled_values(count, dict.fromkeys(schedules, dtype)))
        return InjectHyperparamsState(count, hyperparams, build(hyperparams).init(params))

    def update_fn(updates, state, params=None, **extra_args):
        hyperparams = {name: _as_hyperparam(state.hyperparams[name], kind, hyperparam_dtype)
                       for name, (_, kind) in numeric.items()}
        kept = {name: hyperparam_dtype or jnp.result_type(state.hyperparams[name])
                for name in schedules}  # the dtype chosen at init, so no retracing
        hyperparams.update(scheduled_values(state.count, kept))
        updates, inner_state = _base.call_update(
            build(hyperparams), updates, state.inner_state, params, extra_args)
        return updates, InjectHyperparamsState(
            _tree_math.safe_increment(state.count), hyperparams, inner_state)

    return _base.GradientTransformation(init_fn, update_fn)


def with_stateful_schedules(
    inner_factory: Callable[..., _base.GradientTransformation], arguments: dict[str, Any],
    stateful: dict[str, Any], signature: inspect.Signature, static: set[str],
    hyperparam_dtype: Any,
) -> _base.GradientTransformationExtraArgs:
    """The injected transform of ``arguments`` whose ``stateful`` ones are stateful schedules.

    Each stateful schedule's first value stands in for it (so that it is classified and
    stored like a number); before every step its current value replaces that entry.
    """
    arguments = dict(arguments)
    for name, schedule in stateful.items():
        arguments[name] = _first_value(schedule, name)
    injected = _injected(inner_factory, _classify(arguments, signature, static), hyperparam_dtype)

    def with_values(hyperparams, states, extra_args):
        new = dict(hyperparams)
        for name, schedule in stateful.items():
            value = _checked(schedule(states[name], **extra_args), name)
            new[name] = value.astype(hyperparams[name].dtype)
        return new

    def init_fn(params):
        state = injected.init(params)
        states = {name: schedule.init() for name, schedule in stateful.items()}
        return InjectStatefulHyperparamsState(
            state.count, with_values(state.hyperparams, states, {}), states, state.inner_state)

    def update_fn(updates, state, params=None, **extra_args):
        hyperparams = with_values(state.hyperparams, state.hyperparams_states, extra_args)
        inner = InjectHyperparamsState(state.count, hyperparams, state.inner_state)
        updates, inner = _base.call_update(injected, updates, inner, params, extra_args)
        states = {name: schedule.update(state.hyperparams_states[name], **extra_args)
                  for name, schedule in stateful.items()}
        return updates, InjectStatefulHyperparamsState(
            inner.count, inner.hyperparams, states, inner.inner_state)

    return _base.GradientTransformationExtraArgs(init_fn, update_fn)


def _checked(value: Any, name: str) -> jax.Array:
    """A stateful schedule's value as a real scalar array (else an error naming ``name``)."""
    try:
        array = jnp.asarray(value)
    except TypeError as err:
        raise TypeError(f"The stateful schedule for `{name}` must return a number, got "
                        f"{value!r}.") from err
    if array.shape != () or not (jnp.issubdtype(array.dtype, jnp.floating)
                                 or jnp.issubdtype(array.dtype, jnp.integer)):
        raise TypeError(
            f"The stateful schedule for `{name}` must return a real scalar, got dtype "
            f"{array.dtype} and shape {array.shape}."
        )
    return array


def _first_value(schedule: Any, name: str) -> jax.Array:
    """The schedule's value at its initial state, as a float stand-in.

    Like a plain schedule's, a stateful schedule's value is a float hyperparameter, even when
    it starts from an integer (a counter).
    """
    _checks.check_callable(name, schedule, "a stateful schedule")
    value = _checked(schedule(schedule.init()), name)
    return value if jnp.issubdtype(value.dtype, jnp.floating) else value.astype(jnp.float32)
