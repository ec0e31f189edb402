r"""The training loop: ``num_steps`` optimizer updates as one jitted ``lax.scan``.

:func:`run` trains one set of parameters; :func:`sweep` (``sweep.py``) vmaps
the same step function, :func:`train_steps`, over many configurations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import checks as _checks
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._core import update as _update
from jaxopt_scratch._engine import adapters as _adapters
from jaxopt_scratch._engine import extra_args as _extra_args
from jaxopt_scratch._engine import metrics as _metrics

LossFn = Callable[..., jax.Array]
SampleFn = Callable[[jax.Array], Any]


class RunResult(NamedTuple):
    """What :func:`run` returns."""

    losses: jax.Array  # (num_steps,) loss at the params each update starts from, on its batch
    final_loss: jax.Array  # scalar: the loss after the last update (see `run` for which batch)
    params: _base.Params  # the params after num_steps updates (the training params)
    trajectory: _base.Params  # params after 0, k, 2k, ..., num_steps updates, stacked on axis 0
    opt_state: _base.OptState  # the optimizer state after the last update
    metrics: dict[str, jax.Array]  # {name: (evaluations,)} from `metrics_fn` ({} without it)
    eval_steps: np.ndarray  # (evaluations,) the step after which each evaluation was made


def batch_mode(batches: Any, sample_fn: SampleFn | None) -> str:
    """``"full"``, ``"batches"`` or ``"sample"``; rejects giving both data sources."""
    if batches is not None and sample_fn is not None:
        raise ValueError(
            "Give either `batches` (an array with a leading steps axis) or `sample_fn` "
            "(a function of a PRNG key returning a batch), not both."
        )
    if sample_fn is not None:
        _checks.check_callable("sample_fn", sample_fn, "a function of a PRNG key")
    return "batches" if batches is not None else ("sample" if sample_fn is not None else "full")


def check_steps_axis(batches: Any, num_steps: int) -> None:
    """Every leaf of ``batches`` must have a leading axis of length ``num_steps``."""
    for leaf in jax.tree.leaves(batches):
        shape = jnp.shape(leaf)
        if not shape or shape[0] != num_steps:
            raise ValueError(
                f"`batches` must have a leading steps axis of length `num_steps`={num_steps}; "
                f"a leaf has shape {shape}. Stack one batch per step, or use `sample_fn`."
            )


def check_count(name: str, value: Any, minimum: int) -> int:
    """A static integer count (a Python int, ``>= minimum``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be a Python int >= {minimum} (it fixes the program's shape), "
            f"got {value!r}."
        )
    return value


def check_data(loss_fn: Any, num_steps: Any, batches: Any, sample_fn: Any) -> str:
    """The checks :func:`run` and :func:`sweep` share; returns the :func:`batch_mode`."""
    _checks.check_callable("loss_fn", loss_fn, "a function of the params")
    check_count("num_steps", num_steps, 0)
    mode = batch_mode(batches, sample_fn)
    if mode == "batches":
        check_steps_axis(batches, num_steps)
    return mode


def call_loss(loss_fn: LossFn, params: Any, batch: Any, mode: str) -> jax.Array:
    """``loss_fn(params)`` for full-batch training, ``loss_fn(params, batch)`` otherwise."""
    return loss_fn(params) if mode == "full" else loss_fn(params, batch)


def train_steps(
    tx: _base.GradientTransformation,
    loss_fn: LossFn,
    mode: str,
    sample_fn: SampleFn | None,
    params: Any,
    opt_state: Any,
    start: jax.Array,
    length: int,
    *,
    batches: Any = None,
    data_key: jax.Array | None = None,
    stop: int | None = None,
    trace: Callable[[Any, Any, Any], Any] | None = None,
) -> tuple[tuple[Any, Any], Any]:
    """Runs ``length`` updates from step ``start``; returns ``((params, state), losses)``.

    With ``trace``, ``losses`` becomes ``(losses, traced)``: ``trace(grads, updates,
    new_state, new_params, t)`` at every step, stacked (the diagnostics of
    :mod:`metrics`, the evaluations of :func:`run`).

    Step ``t`` uses ``batches[t]`` or ``sample_fn(fold_in(data_key, t))``, so the
    batches depend only on ``t``, never on how the steps are chunked. Steps with
    ``t >= stop`` leave params and state unchanged (a padded final chunk). The
    optimizer gets the extra arguments of :mod:`extra_args`; a ``key`` it declares
    is ``fold_in(fold_in(data_key, t), 1)`` (``data_key`` defaults to ``key(0)``).
    """
    step_key = jax.random.key(0) if data_key is None else data_key

    def advance(carry, t):
        params, state = carry
        batch = _adapters.batch_at(mode, t, batches, sample_fn, data_key)

        def value_fn(p):
            return call_loss(loss_fn, p, batch, mode)

        # A line search's last evaluation is this step's value and gradient only for a
        # deterministic (full-batch) loss.
        loss, grads, _ = _extra_args.value_and_grad(value_fn, params, state,
                                                    reuse=mode == "full")
        updates, state = _extra_args.update(
            tx, grads, state, params, value=loss, value_fn=value_fn,
            key_fn=lambda: jax.random.fold_in(jax.random.fold_in(step_key, t), 1))
        params = _update.apply_updates(params, updates)
        out = loss if trace is None else (loss, trace(grads, updates, state, params, t))
        return (params, state), out

    def step(carry, i):
        t = start + i
        if stop is None:
            return advance(carry, t)
        # A real conditional (t is the same for every vmapped run), not a select: the
        # update is compiled exactly as in an unpadded chunk, so results do not depend
        # on the chunking.
        out = jax.eval_shape(lambda c: advance(c, t)[1], carry)
        return jax.lax.cond(t < stop, lambda c: advance(c, t),
                            lambda c: (c, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), out)),
                            carry)

    return jax.lax.scan(step, (params, opt_state), jnp.arange(length, dtype=jnp.int32))


def _run(tx, loss_fn, sample_fn, mode, num_steps, record_every, binding, metrics_fn, block,
         evaluate, params, held, batches, key, eval_batch):
    value = binding.loss(loss_fn, held)
    opt_state = tx.init(params)
    num_records = num_steps // record_every

    def at_eval_point(trained, state):  # the whole params, where the optimizer evaluates
        return _adapters.combine(_adapters.evaluation_point(evaluate, trained, state), held,
                                 binding.static)

    def observe(grads, updates, state, trained, t):  # metrics_fn after steps block, 2 block, ...
        del grads, updates

        def evaluated():
            return _metrics.evaluate(metrics_fn, at_eval_point(trained, state), eval_batch)

        shapes = jax.eval_shape(evaluated)
        due = ((t + 1) % block == 0) | (t + 1 == num_steps)
        return jax.lax.cond(due, evaluated, lambda: jax.tree.map(
            lambda s: jnp.zeros(s.shape, s.dtype), shapes))

    def record(carry, r):
        carry, out = train_steps(
            tx, value, mode, sample_fn, *carry, r * record_every, record_every,
            batches=batches, data_key=key, trace=None if metrics_fn is None else observe,
        )
        return carry, (carry[0], out)

    (final, opt_state), (path, out) = jax.lax.scan(
        record, (params, opt_state), jnp.arange(num_records, dtype=jnp.int32)
    )
    losses, per_step = (out, {}) if metrics_fn is None else out
    rows = _metrics.eval_steps(num_steps, block) - 1 if metrics_fn is not None else []
    metrics = {n: v.reshape(num_steps)[rows] for n, v in per_step.items()}
    trajectory = jax.tree.map(lambda p0, rest: jnp.concatenate([p0[None], rest]), params, path)
    no_batch = mode == "batches" and num_steps == 0
    final_loss = _adapters.final_loss(
        value, binding.final, _adapters.evaluation_point(evaluate, final, opt_state), eval_batch,
        None if no_batch else lambda: _adapters.batch_at(mode, num_steps - 1, batches, sample_fn, key))
    return RunResult(losses.reshape(num_steps), final_loss, final, trajectory, opt_state, metrics,
                     None)


_run_jit = jax.jit(
    _run,
    static_argnames=("tx", "loss_fn", "sample_fn", "mode", "num_steps", "record_every", "binding",
                     "metrics_fn", "block", "evaluate"),
)


def run(
    optimizer: _base.GradientTransformation,
    loss_fn: LossFn,
    params: _base.Params,
    num_steps: int,
    *,
    batches: Any = None,
    sample_fn: SampleFn | None = None,
    key: jax.Array | None = None,
    record_every: int | None = 1,
    eval_batch: Any = None,
    has_aux: bool = False,
    metrics_fn: _metrics.MetricsFn | None = None,
    eval_every: int | None = None,
    eval_params: bool = True,
) -> RunResult:
    r"""Trains ``params`` for ``num_steps`` updates in one jitted ``lax.scan``.

    .. math::

        \ell_t = L(\theta_t; B_t), \qquad
        (u_t, s_{t+1}) = \mathrm{update}(\nabla L(\theta_t; B_t), s_t, \theta_t), \qquad
        \theta_{t+1} = \theta_t + u_t

    for :math:`t = 0, \dots, T-1`. ``losses[t]`` is :math:`\ell_t`, the loss at
    the params the update *starts* from (the "loss at epoch t+1" the tutorials
    of ``docs/tutorial_claims.rst`` print), computed in the same pass as the gradient.

    The data :math:`B_t` is one of:

    * full batch (default): ``loss_fn(params)`` is called with no batch;
    * ``batches``: a pytree whose leaves have a leading axis of length
      ``num_steps``; step ``t`` calls ``loss_fn(params, batches[t])``;
    * ``sample_fn``: step ``t`` calls ``loss_fn(params, sample_fn(fold_in(key, t)))``.

    ``final_loss`` is the loss after the last update: ``loss_fn(params, eval_batch)``
    when ``eval_batch`` is given, else ``loss_fn(params)`` when ``loss_fn`` can be
    called without a batch (full-batch training, or a ``batch=None`` default: the
    full data set for :mod:`jaxopt_scratch.problems`), else the loss on the last
    step's batch (the mean over the last batch, for a mean loss).

    ``metrics_fn(params, eval_batch) -> {name: scalar}`` (validation loss,
    accuracy, ...) is evaluated after every ``eval_every`` updates and after the last
    one, inside the compiled program, exactly as :func:`sweep` evaluates it
    (``eval_batch`` is ``None`` when not given).

    Optimizers that train at one point and evaluate at another (Schedule-Free's
    average, SAM's unperturbed params, lookahead's slow weights) define an
    evaluation hook (:func:`jaxopt_scratch.contrib.eval_params`); by default
    ``final_loss`` and ``metrics_fn`` are evaluated at those params, while
    ``losses``, ``params`` and ``trajectory`` stay the training params (the
    evaluation params of the end are ``jos.contrib.eval_params(result.opt_state,
    result.params)``). ``eval_params=False`` evaluates at the training params.

    ``params`` may be any pytree, such as an equinox module or a flax nnx state:
    floating-point arrays (and Python floats) are trained, other arrays (integer
    counters, PRNG keys) are carried unchanged and every other leaf (activation
    functions, sizes) is held static; ``loss_fn`` always receives the whole pytree.

    Optimizers that need more than the gradient work unchanged: an ``update``
    that takes extra keyword arguments receives ``value=`` (:math:`\ell_t`),
    ``grad=`` and ``value_fn=`` (the loss on :math:`B_t` as a function of the
    params), so ``jos.run(jos.lbfgs(), loss_fn, params, 50)`` needs nothing more;
    with a full batch, the value and gradient a line search computed at the new
    params are reused instead of evaluated again. An ``update`` that declares a
    keyword-only ``key`` argument gets ``fold_in(fold_in(key, t), 1)``.

    The compiled program is cached on ``(optimizer, loss_fn, sample_fn, num_steps,
    record_every)``: reuse the same objects to avoid recompiling.

    Args:
        optimizer: A :class:`GradientTransformation` (a fresh state is built by its ``init``).
        loss_fn: ``loss_fn(params)`` or ``loss_fn(params, batch)`` returning a real scalar.
        params: The initial parameters: any pytree (only its float leaves are trained).
        num_steps: The number of updates, a Python int ``>= 0``.
        batches: Minibatches stacked along a leading steps axis.
        sample_fn: A function of a PRNG key returning one minibatch.
        key: The PRNG key for ``sample_fn`` and for an optimizer that asks for
            one; default ``jax.random.key(0)``.
        record_every: Record the params every this many updates; must divide
            ``num_steps``. ``None`` records only the first and the last params.
        eval_batch: The batch for ``final_loss`` (default: see above).
        has_aux: ``loss_fn`` returns ``(loss, aux)``; ``aux`` is dropped.
        metrics_fn: ``metrics_fn(params, batch) -> {name: scalar}``, called with
            ``eval_batch``; in :attr:`RunResult.metrics`.
        eval_every: Updates between evaluations of ``metrics_fn``, a Python int
            ``>= 1`` (default: about a twentieth of ``num_steps``, as :func:`sweep`).
        eval_params: Evaluate ``final_loss`` and ``metrics_fn`` at the optimizer's
            evaluation params when it defines them (default), or at the training
            params (``False``).

    Returns:
        A :class:`RunResult` with ``losses`` (num_steps,), ``final_loss``, the
        final ``params``, the ``trajectory`` (``num_steps // record_every + 1``
        entries on a leading axis, from the initial params to the final ones),
        the final ``opt_state``, the ``metrics`` (``{name: (evaluations,)}``)
        and their ``eval_steps``.

    Examples:
        >>> import jaxopt_scratch as jos
        >>> bowl = jos.problems.get("bowl")  # x^2 + y^2 from (4, 3), docs/tutorial_claims.rst P1
        >>> result = jos.run(jos.sgd(0.1), bowl.loss_fn, bowl.init_params(), 14)
        >>> print(result.losses[:3], result.trajectory[1])   # (4, 3) * 0.8 after one step
        [25.   16.   10.24] [3.2 2.4]
        >>> print(result.params, result.final_loss)
        [0.176 0.132] 0.0484
        >>> def metrics_fn(params, batch):
        ...     return {"distance": jnp.linalg.norm(params)}
        >>> result = jos.run(jos.sgd(0.1), bowl.loss_fn, bowl.init_params(), 14,
        ...                  metrics_fn=metrics_fn, eval_every=5)
        >>> result.eval_steps, [round(float(d), 3) for d in result.metrics["distance"]]
        (array([ 5, 10, 14]), [1.638, 0.537, 0.22])
    """
    _combine.check_transform(optimizer, "`optimizer`", example="jos.adam(1e-3)")
    mode = check_data(loss_fn, num_steps, batches, sample_fn)
    if record_every is None:
        record_every = max(num_steps, 1)
    check_count("record_every", record_every, 1)
    if num_steps % record_every:
        raise ValueError(
            f"`record_every`={record_every} must divide `num_steps`={num_steps} so that the "
            f"trajectory ends at the final params; pick a divisor, or None for first/last only."
        )
    _metrics.check_metrics_fn(metrics_fn)
    if eval_every is not None:
        check_count("eval_every", eval_every, 1)
    block = _metrics.eval_block(num_steps, eval_every)
    evaluate = _adapters.check_eval_params(eval_params)
    if mode == "sample" and key is None:
        key = jax.random.key(0)
    trained, held, static = _adapters.split(params)
    binding = _adapters.Binding(static, bool(has_aux),
                                _adapters.final_rule(loss_fn, mode, eval_batch))
    result = _run_jit(
        optimizer, loss_fn, sample_fn, mode, num_steps, record_every, binding, metrics_fn,
        block if metrics_fn is not None else 1, evaluate, trained, held, batches, key,
        eval_batch,
    )
    result = result._replace(eval_steps=_metrics.eval_steps(
        num_steps, block) if metrics_fn is not None else np.zeros(0, np.int64))
    if static is None:
        return result
    return result._replace(params=_adapters.combine(result.params, held, static),
                           trajectory=_adapters.combine(result.trajectory, held, static))
