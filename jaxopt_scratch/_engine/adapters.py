r"""Any model, any loss: what :func:`run` and :func:`sweep` do to the params and the loss.

* **Params of any pytree.** An equinox module or a flax nnx state holds leaves that
  are not trainable arrays: activation functions, sizes, integer counters, PRNG keys.
  :func:`split` partitions the params into the trainable leaves (floating-point
  arrays and Python floats), the held arrays (integer, boolean and key arrays,
  carried through the loop unchanged) and the rest (everything else, held static in
  the compiled program). Neither library is imported: a leaf is classified by its
  type and dtype only, so any pytree works the same way.
* **Losses with auxiliary outputs.** ``has_aux=True`` accepts ``loss_fn`` returning
  ``(loss, aux)``; the loops train on ``loss`` and drop ``aux``.
* **The final loss without an evaluation batch** (:func:`final_rule`).
* **Where to evaluate** (:func:`evaluation_point`): optimizers that train at one
  point and evaluate at another (Schedule-Free, SAM, lookahead) define an
  ``eval_params`` hook on their state (:func:`jaxopt_scratch.contrib.eval_params`);
  the final loss, the rungs' losses and ``metrics_fn`` are evaluated there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._contrib import evaluation as _evaluation

TRAINED, HELD, STATIC = 0, 1, 2


def _kind(leaf: Any) -> int:
    """Trained (a float array or a Python float), held (another array) or static."""
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        return TRAINED if jnp.issubdtype(leaf.dtype, jnp.inexact) else HELD
    if isinstance(leaf, (float, complex)):
        return TRAINED  # a plain pytree of Python numbers trains as before
    return STATIC  # functions, strings, Python ints and bools, other objects


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:  # noqa: BLE001 (an object whose == raises or is not a bool)
        return False


def _hash(value: Any) -> int:
    try:
        return hash(value)
    except TypeError:
        return id(value)


class Static:
    """The part of a params pytree that is not an array, hashable (a static jit argument).

    Two ``Static`` are equal when their tree structures match and their static
    leaves are equal (or identical, for an object that cannot be compared), so
    repeated calls with the same model reuse the compiled program.
    """

    def __init__(self, treedef: Any, kinds: tuple[int, ...], values: tuple[Any, ...]):
        self.treedef, self.kinds, self.values = treedef, kinds, values
        self._hash = hash((treedef, kinds, tuple(_hash(v) for v in values)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Static) and self.treedef == other.treedef
                and self.kinds == other.kinds and len(self.values) == len(other.values)
                and all(_same(a, b) for a, b in zip(self.values, other.values)))


def split(params: Any) -> tuple[Any, Any, Static | None]:
    """``(trained, held, static)``; ``static`` is ``None`` when every leaf is trained.

    ``trained`` has the structure of ``params`` with ``None`` in place of the other
    leaves (the optimizer sees only the trained leaves); ``held`` is the tuple of
    held arrays, in leaf order. :func:`combine` puts them back together.
    """
    leaves, treedef = jax.tree.flatten(params)
    kinds = tuple(_kind(leaf) for leaf in leaves)
    if all(k == TRAINED for k in kinds):
        return params, (), None
    trained = jax.tree.unflatten(treedef, [x if k == TRAINED else None
                                           for x, k in zip(leaves, kinds)])
    held = tuple(x for x, k in zip(leaves, kinds) if k == HELD)
    values = tuple(x for x, k in zip(leaves, kinds) if k == STATIC)
    return trained, held, Static(treedef, kinds, values)


def combine(trained: Any, held: Any, static: Static | None) -> Any:
    """The params again, from the parts :func:`split` returned (the inverse of :func:`split`)."""
    if static is None:
        return trained
    held_leaves, values = iter(held), iter(static.values)
    leaves = [t if k == TRAINED else next(held_leaves) if k == HELD else next(values)
              for t, k in zip(static.treedef.flatten_up_to(trained), static.kinds)]
    return jax.tree.unflatten(static.treedef, leaves)


class Binding(NamedTuple):
    """How a loop calls ``loss_fn`` on the trained leaves (hashable: a static jit argument)."""

    static: Static | None  # the non-array part of the params (None: plain arrays)
    has_aux: bool  # loss_fn returns (loss, aux)
    final: str  # "full", "eval" or "last": the batch of the final loss (see final_rule)

    def loss(self, loss_fn: Callable[..., Any], held: Any) -> Callable[..., jax.Array]:
        """``f(trained, *batch) -> loss``: rebuilds the params and drops ``aux``."""

        def value(trained, *batch):
            out = loss_fn(combine(trained, held, self.static), *batch)
            if self.has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TypeError(
                        f"`has_aux`=True needs `loss_fn` to return a pair (loss, aux), got "
                        f"{type(out).__name__}. Return (loss, aux), or drop `has_aux`."
                    )
                return out[0]
            if isinstance(out, tuple):
                raise TypeError(
                    f"`loss_fn` returned a tuple of {len(out)} values; a loss must be one "
                    f"scalar. If it returns (loss, aux), pass `has_aux`=True."
                )
            return out

        return value


def accepts_params_only(loss_fn: Callable[..., Any]) -> bool:
    """Whether ``loss_fn(params)`` is a valid call (its batch argument has a default)."""
    try:
        inspect.signature(loss_fn).bind(None)
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): assume the documented default call
        return True
    return True


def final_rule(loss_fn: Callable[..., Any], mode: str, eval_batch: Any) -> str:
    r"""Which batch the final loss (and a halving rung's loss) is evaluated on.

    * ``"eval"``: ``loss_fn(params, eval_batch)`` when ``eval_batch`` is given;
    * ``"full"``: ``loss_fn(params)`` when the loss can be called without a batch
      (full-batch training, or a batch argument with a default such as the
      problems' ``batch=None``, which means the whole data set);
    * ``"last"``: otherwise (``batches`` or ``sample_fn`` with a loss that needs a
      batch), the loss on the batch of the last step, so the mean over the last
      batch for a mean loss.
    """
    if eval_batch is not None:
        return "eval"
    return "full" if mode == "full" or accepts_params_only(loss_fn) else "last"


def batch_at(mode: str, t: jax.Array, batches: Any, sample_fn: Callable[[jax.Array], Any] | None,
             data_key: jax.Array | None) -> Any:
    """The batch of step ``t`` (as the loops draw it), or ``None`` for full-batch training."""
    if mode == "batches":
        last = jax.tree.leaves(batches)[0].shape[0] - 1
        return jax.tree.map(lambda b: b[jnp.clip(t, 0, last)], batches)
    if mode == "sample":
        return sample_fn(jax.random.fold_in(data_key, t))
    return None


def final_loss(value: Callable[..., jax.Array], rule: str, params: Any, eval_batch: Any,
               last_batch: Callable[[], Any] | None) -> jax.Array:
    """The loss of ``params`` by the :func:`final_rule` ``rule``.

    ``last_batch()`` draws the batch of the last step; ``None`` when there is no
    such batch (``batches`` and zero steps), and then the ``"last"`` loss is NaN.
    """
    if rule == "eval":
        return value(params, eval_batch)
    if rule == "full":
        return value(params)
    if last_batch is None:
        return jnp.full((), jnp.nan)
    return value(params, last_batch())


def check_eval_params(eval_params: Any) -> bool:
    """The ``eval_params`` switch of :func:`run` and :func:`sweep`: a Python bool."""
    if not isinstance(eval_params, bool):
        raise TypeError(
            f"`eval_params` must be True (report the loss and metrics at the optimizer's "
            f"evaluation params, when it defines them) or False (at the training params), "
            f"got {eval_params!r}."
        )
    return eval_params


def evaluation_point(evaluate: bool, trained: Any, opt_state: Any) -> Any:
    """The trained leaves at which to report the loss and the metrics.

    With ``evaluate``, the optimizer's evaluation params
    (:func:`jaxopt_scratch.contrib.eval_params`: Schedule-Free's average, SAM's
    unperturbed params, lookahead's slow weights), else ``trained`` itself (also
    when the optimizer defines no evaluation params).
    """
    return _evaluation.eval_params(opt_state, trained) if evaluate else trained
