r"""Resuming an optax run: an optax optimizer state turned into the state of a jos transform.

The library never imports optax: :func:`from_optax_state` works on the structure of
the two states only. Both are trees of ``NamedTuple`` states, chain tuples and dicts;
they are walked together, ``NamedTuple`` fields and dict entries matched by name,
chain entries by position, and each optax leaf is checked against the shape of the
jos leaf it replaces and cast to that leaf's dtype.

Where a jos state differs from optax 0.2.8's (each difference is handled here):

- Moments are kept in at least float32: optax's bfloat16 moments of bfloat16 params
  are cast up exactly, and the run continues in float32 from there (so its numbers
  then differ from optax's own continuation by optax's bfloat16 rounding).
- ``ScaleByRmsState`` and ``ScaleByStddevState`` (``rmsprop``) always hold a ``count``;
  optax keeps one only with ``bias_correction=True``. Without it, jos's ``count``
  (read only by that bias correction) starts again from the value ``init`` gives.
- optax's ``inject_hyperparams`` state also holds ``hyperparams_states`` (each
  schedule's own step count, equal to the state's ``count``); jos's
  :class:`InjectHyperparamsState` evaluates schedules at ``count`` and drops them.
- PRNG keys: a typed optax key (``jax.random.key``) and jos's raw ``uint32`` key
  data are converted into one another.
- Entries without any array (``EmptyState()``, ``MaskedState(EmptyState())``) carry
  nothing, so a chain entry that is empty on either side matches any empty entry.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

# Fields that only a jos state holds; their value comes from ``tx.init(params)``.
_JOS_ONLY_FIELDS = frozenset({"count"})
# Fields that only an optax state holds and that jos recomputes from the others.
_OPTAX_ONLY_FIELDS = frozenset({"hyperparams_states"})


def _is_named_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _has_arrays(tree: Any) -> bool:
    return bool(jax.tree.leaves(tree))


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


class _Mismatch(ValueError):
    pass


def _fail(where: str, detail: str) -> None:
    raise _Mismatch(
        f"`optax_state` does not match the state of `tx` at {where or '<root>'}: {detail}. "
        f"Pass the state of the optax optimizer that `tx` reproduces (same transforms, in the "
        f"same order, with the same options) and the params it was trained on."
    )


def _leaf(theirs: Any, ours: Any, where: str) -> Any:
    if theirs is None:
        _fail(where, f"optax holds None where jos holds an array of shape {jnp.shape(ours)}")
    if _is_key(ours):
        value = theirs if _is_key(theirs) else jax.random.wrap_key_data(
            jnp.asarray(theirs, jnp.uint32), impl=jax.random.key_impl(ours))
    elif _is_key(theirs):
        value = jax.random.key_data(theirs)
    elif hasattr(theirs, "shape") or isinstance(theirs, (int, float, complex)):
        value = jnp.asarray(theirs)
    else:
        _fail(where, f"optax holds {type(theirs).__name__} {theirs!r} where jos holds an array")
    if value.shape != jnp.shape(ours):
        _fail(where, f"optax's leaf has shape {value.shape}, jos's has shape {jnp.shape(ours)}")
    if _is_key(ours):
        return value
    # Exact for the widening casts that occur (bfloat16 moments -> float32).
    return value.astype(jnp.result_type(ours))


def _named_tuple(theirs: Any, ours: Any, where: str) -> Any:
    name, their_name = type(ours).__name__, type(theirs).__name__
    if not _is_named_tuple(theirs):
        _fail(where, f"jos holds a {name}, optax a {their_name}")
    lacking = [f for f in ours._fields if f not in theirs._fields
               and f not in _JOS_ONLY_FIELDS and _has_arrays(getattr(ours, f))]
    if lacking and name != their_name:
        _fail(where, f"jos holds a {name} (fields {list(ours._fields)}), optax a {their_name} "
                     f"(fields {list(theirs._fields)})")
    fields = {}
    for field in ours._fields:
        sub = f"{where}.{field}"
        if field in theirs._fields:
            fields[field] = _convert(getattr(theirs, field), getattr(ours, field), sub)
        elif field in _JOS_ONLY_FIELDS or not _has_arrays(getattr(ours, field)):
            fields[field] = getattr(ours, field)
        else:
            _fail(sub, f"jos's {name} has a field `{field}` that optax's {their_name} "
                       f"(fields {list(theirs._fields)}) lacks")
    for field in theirs._fields:
        if (field not in ours._fields and field not in _OPTAX_ONLY_FIELDS
                and _has_arrays(getattr(theirs, field))):
            _fail(f"{where}.{field}", f"optax's {their_name} holds `{field}`, which jos's {name} "
                                      f"(fields {list(ours._fields)}) does not keep")
    return type(ours)(**fields)


def _sequence(theirs: Any, ours: Any, where: str) -> Any:
    if not isinstance(theirs, (tuple, list)) or _is_named_tuple(theirs):
        _fail(where, f"jos holds a {type(ours).__name__} of {len(ours)} states (a chain), "
                     f"optax a {type(theirs).__name__}")
    if len(theirs) == len(ours):
        pairs = list(zip(range(len(ours)), theirs))
    else:  # match the entries that carry arrays, in order; empty ones carry nothing
        full_ours = [i for i, s in enumerate(ours) if _has_arrays(s)]
        full_theirs = [s for s in theirs if _has_arrays(s)]
        if len(full_ours) != len(full_theirs):
            _fail(where, f"jos's chain has {len(ours)} states ({len(full_ours)} with arrays), "
                         f"optax's has {len(theirs)} ({len(full_theirs)} with arrays)")
        pairs = list(zip(full_ours, full_theirs))
    out = list(ours)
    for i, their_entry in pairs:
        out[i] = _convert(their_entry, ours[i], f"{where}[{i}]")
    return type(ours)(out)


def _convert(theirs: Any, ours: Any, where: str) -> Any:
    if not _has_arrays(ours):
        if _has_arrays(theirs):
            _fail(where, f"optax holds arrays ({jax.tree.structure(theirs)}) where jos's "
                         f"{type(ours).__name__} holds none")
        return ours
    if _is_named_tuple(ours):
        return _named_tuple(theirs, ours, where)
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            _fail(where, f"jos holds a dict, optax a {type(theirs).__name__}")
        missing = [k for k in ours if k not in theirs and _has_arrays(ours[k])]
        extra = [k for k in theirs if k not in ours and _has_arrays(theirs[k])]
        if missing or extra:
            _fail(where, f"the keys differ: only in jos {missing}, only in optax {extra}")
        return {k: _convert(theirs[k], v, f"{where}[{k!r}]") if k in theirs else v
                for k, v in ours.items()}
    if isinstance(ours, (tuple, list)):
        return _sequence(theirs, ours, where)
    ours_leaves, treedef = jax.tree.flatten(ours)
    if treedef.num_nodes == 1:  # an array
        return _leaf(theirs, ours, where)
    # Another pytree node type (a registered dataclass): match its leaves in order.
    their_leaves = jax.tree.leaves(theirs)
    if len(their_leaves) != len(ours_leaves):
        _fail(where, f"jos's {type(ours).__name__} has {len(ours_leaves)} arrays, optax's "
                     f"{type(theirs).__name__} has {len(their_leaves)}")
    return jax.tree.unflatten(treedef, [_leaf(t, o, f"{where}<leaf {i}>") for i, (t, o) in
                                        enumerate(zip(their_leaves, ours_leaves))])


def from_optax_state(optax_state: Any, tx: Any, params: Any) -> Any:
    r"""Turns a saved optax optimizer state into the state of the jos transform ``tx``.

    So a run trained with optax continues with jos from where it stopped:
    ``tx.init(params)`` gives the jos state's structure, and every array of
    ``optax_state`` is moved to its place (matched by field names, dict keys and
    chain positions, checked by shape, cast to jos's dtype). The module
    docstring lists where the two libraries' states differ and how each
    difference is bridged.

    Args:
        optax_state: The state of the optax optimizer (for example restored from a
            checkpoint), built for ``params``.
        tx: The jos transform that reproduces that optimizer (``jos.adam(1e-3)``
            for ``optax.adam(1e-3)``).
        params: The params the state belongs to (only their structure, shapes and
            dtypes are used).

    Returns:
        A state for ``tx``, with the structure of ``tx.init(params)``.

    Raises:
        ValueError: If the states do not match; the message names the place (as a
            path like ``[0].mu['w']``) and what differs there.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optax  # doctest: +SKIP
        >>> import jaxopt_scratch as jos
        >>> params = {"w": jnp.ones(3)}
        >>> saved = optax.adam(1e-3).init(params)  # doctest: +SKIP
        >>> saved = jos.adam(1e-3).init(params)  # (a stand-in for the line above)
        >>> state = jos.tree.from_optax_state(saved, jos.adam(1e-3), params)
        >>> print(jos.tree.get(state, "count"))
        0
    """
    template = tx.init(params)
    try:
        return _convert(optax_state, template, "")
    except _Mismatch as err:
        raise ValueError(str(err)) from None
