r"""Reading and replacing values in optimizer states by name (``jos.tree.get``, ``set``, ...).

A name is a field of a ``NamedTuple`` state (``"count"``, ``"mu"``), a key of a
dict (a hyperparameter injected by :func:`jos.inject_hyperparams`, a transform of
a :func:`jos.named_chain`) or the class name of a state (``"ScaleByAdamState"``).
The search goes through every container, so a hyperparameter injected deep in a
chain is found by its name. Same names, arguments and paths as ``optax.tree``
0.2.8; a path step into a ``NamedTuple`` is a :class:`NamedTupleKey`, which
also names the tuple's class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

KeyPath = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A path step into field ``name`` of a ``NamedTuple`` whose class is ``tuple_name``.

    Paths returned by :func:`get_all_with_path` use it, so a ``filtering``
    function can tell apart equal field names of different states (the
    ``count`` of ``ScaleByAdamState`` from the one of ``InjectHyperparamsState``).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> str(jos.tree.NamedTupleKey("ScaleByAdamState", "count"))
        'ScaleByAdamState.count'
    """

    tuple_name: str  # the class name of the NamedTuple
    name: str  # the field

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


def _is_named_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _has_any(node: Any, keys: tuple[Any, ...]) -> bool:
    """Whether ``node`` holds one of ``keys`` as a field or dict key, or is a state so named."""
    if _is_named_tuple(node):
        return any(k in node._fields or k == type(node).__name__ for k in keys)
    return isinstance(node, dict) and any(k in node for k in keys)


def _children(path: KeyPath, node: Any) -> list[tuple[KeyPath, Any]]:
    """The direct children of a ``NamedTuple`` or dict, with their paths."""
    if _is_named_tuple(node):
        name = type(node).__name__
        return [((*path, NamedTupleKey(name, f)), getattr(node, f)) for f in node._fields]
    return [((*path, jax.tree_util.DictKey(k)), v) for k, v in node.items()]


def _flatten(tree: Any, stop: Callable[[Any], bool], path: KeyPath = ()) -> list:
    """``(path, node)`` for every leaf or ``stop`` node, with ``NamedTupleKey`` steps."""
    out = []
    nodes = jax.tree_util.tree_leaves_with_path(
        tree, is_leaf=lambda x: stop(x) or _is_named_tuple(x))
    for sub, node in nodes:
        if stop(node) or not _is_named_tuple(node):
            out.append(((*path, *sub), node))
        else:
            for child_path, child in _children((*path, *sub), node):
                out += _flatten(child, stop, child_path)
    return out


def _find(tree: Any, key: Any) -> list[tuple[KeyPath, Any]]:
    """Every ``(path, value)`` named ``key``, outer matches before the ones inside them."""

    def has_key(node):
        return _has_any(node, (key,))

    holders = [(p, n) for p, n in _flatten(tree, has_key) if has_key(n)]
    found = []
    for path, node in holders:
        if _is_named_tuple(node) and type(node).__name__ == key:
            found.append((path, node))
        elif _is_named_tuple(node):
            found.append(((*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)))
        else:
            found.append(((*path, jax.tree_util.DictKey(key)), node[key]))
    for path, node in holders:
        for child_path, child in _children(path, node):
            found += [((*child_path, *sub), value) for sub, value in _find(child, key)]
    return found


def get_all_with_path(
    tree: Any, key: Any, filtering: Callable[[KeyPath, Any], bool] | None = None,
) -> list[tuple[KeyPath, Any]]:
    r"""Every value named ``key`` in ``tree``, with its path.

    Args:
        tree: A pytree, typically an optimizer state.
        key: A field name, dict key or ``NamedTuple`` class name.
        filtering: Optional ``filtering(path, value) -> bool`` keeping only some matches.

    Returns:
        A list of ``(path, value)``; ``jax.tree_util.keystr(path)`` prints a path.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.chain(jos.inject_hyperparams(jos.sgd)(learning_rate=0.1), jos.scale(2.0))
        >>> found = jos.tree.get_all_with_path(tx.init(jnp.zeros(2)), "learning_rate")
        >>> print([(jax.tree_util.keystr(p), round(float(v), 3)) for p, v in found])
        [("[0]InjectHyperparamsState.hyperparams['learning_rate']", 0.1)]
    """
    found = _find(tree, key)
    if filtering is not None:
        found = [(p, v) for p, v in found if filtering(p, v)]
    return found


def get(tree: Any, key: Any, default: Any = None,
        filtering: Callable[[KeyPath, Any], bool] | None = None) -> Any:
    r"""The one value named ``key`` in ``tree`` (``default`` if there is none).

    Args:
        tree: A pytree, typically an optimizer state.
        key: A field name, dict key or ``NamedTuple`` class name.
        default: Returned when nothing is named ``key``.
        filtering: Optional ``filtering(path, value) -> bool`` keeping only some matches.

    Returns:
        The value.

    Raises:
        KeyError: If several values are named ``key`` (use ``filtering`` to pick one).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> state = jos.adam(1e-3).init(jnp.zeros(3))
        >>> print(jos.tree.get(state, "count"))
        0
    """
    found = get_all_with_path(tree, key, filtering)
    if len(found) > 1:
        where = ", ".join(jax.tree_util.keystr(p) for p, _ in found)
        raise KeyError(
            f"Found {len(found)} values named {key!r} (at {where}); pass `filtering` to pick "
            f"one, or use `get_all_with_path`."
        )
    return found[0][1] if found else default


def _replace_at(node: Any, path: KeyPath, value: Any) -> Any:
    """``node`` with the value at ``path`` replaced (containers are copied, never mutated)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, NamedTupleKey):
        return node._replace(**{step.name: _replace_at(getattr(node, step.name), rest, value)})
    if isinstance(node, dict) and isinstance(step, jax.tree_util.DictKey):
        return {k: (_replace_at(v, rest, value) if k == step.key else v) for k, v in node.items()}
    children, treedef = jax.tree_util.tree_flatten_with_path(node, is_leaf=lambda x: x is not node)
    new = [_replace_at(c, rest, value) if p[0] == step else c for p, c in children]
    return jax.tree.unflatten(treedef, new)


def set(tree: Any, filtering: Callable[[KeyPath, Any], bool] | None = None, /,
        **kwargs: Any) -> Any:
    r"""A copy of ``tree`` with every value named by a keyword replaced by that keyword's value.

    Every match that :func:`get_all_with_path` reports (and ``filtering``
    keeps) is replaced, including ones nested inside another match.

    Args:
        tree: A pytree, typically an optimizer state.
        filtering: Optional ``filtering(path, value) -> bool`` choosing which matches change.
        **kwargs: ``name=new_value`` pairs (field names, dict keys or state class names).

    Returns:
        The new tree (``tree`` itself is not modified).

    Raises:
        KeyError: If a name matches nothing (after ``filtering``).

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.chain(jos.clip(1.0), jos.inject_hyperparams(jos.adam)(learning_rate=0.1))
        >>> state = jos.tree.set(tx.init(jnp.zeros(2)), learning_rate=jnp.asarray(0.01))
        >>> print(jos.tree.get(state, "learning_rate"))
        0.01

    .. note::
        ``optax.tree.set`` skips a match that sits in a tuple inside another
        match (a chain's ``count`` inside an injected state whose own ``count``
        matched), although ``optax.tree.get_all_with_path`` reports it; here
        set and get agree.
    """
    replacements = []
    for key, value in kwargs.items():
        found = get_all_with_path(tree, key, filtering)
        if not found:
            how = " that pass `filtering`" if filtering is not None else ""
            raise KeyError(
                f"Found no values named {key!r}{how} in the tree; names are NamedTuple fields, "
                f"dict keys or state class names (see `get_all_with_path`)."
            )
        replacements += [(path, value) for path, _ in found]
    # Innermost first, so a match that contains another one is replaced last and wins.
    for path, value in sorted(replacements, key=lambda pv: -len(pv[0])):
        tree = _replace_at(tree, path, value)
    return tree


@jax.tree_util.register_pytree_node_class
class _Placeholder:
    """Stands in for the params while ``init`` builds a state's skeleton (it has no leaves)."""

    def tree_flatten(self):
        return (), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux, children
        return cls()


def map_params(
    initable: Any,
    f: Callable[..., Any],
    state: Any,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    r"""Maps ``f`` over every copy of the params held in an optimizer state.

    ``init`` is called on a placeholder to find which parts of the state are
    shaped like the params (moments, traces); ``f`` is mapped over those, leaf
    by leaf together with ``*rest`` (trees shaped like the params, such as
    sharding specs), and every other part goes through ``transform_non_params``
    (or stays as it is).

    Args:
        initable: A transform (anything with ``init``) or an ``init`` function.
        f: Applied to each params-shaped leaf (and the matching leaves of ``rest``).
        state: The state to map over.
        *rest: Trees with the params' structure, passed to ``f`` alongside.
        transform_non_params: Applied to each remaining leaf (counts, ...).
        is_leaf: Passed to ``jax.tree.map`` over the params-shaped parts.

    Returns:
        A tree with the state's structure.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> tx = jos.adam(1e-3)
        >>> state = tx.init({"w": jnp.ones(2)})
        >>> doubled = jos.tree.map_params(tx, lambda x: 2 * x + 1, state)
        >>> print(doubled[0].mu["w"], doubled[0].count)
        [1. 1.] 0
    """
    init = initable.init if hasattr(initable, "init") else initable
    if not callable(init):
        raise TypeError(
            f"`initable` must be a transform with `init` or an `init` function, got {initable!r}."
        )
    skeleton = init(_Placeholder())

    def leaf(marker, value):
        if isinstance(marker, _Placeholder):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        return value if transform_non_params is None else transform_non_params(value)

    return jax.tree.map(leaf, skeleton, state, is_leaf=lambda x: isinstance(x, _Placeholder))
