r"""Resumable sweeps: the whole state of a sweep, saved after every chunk with orbax-checkpoint.

A sweep given ``checkpoint_dir`` saves, after each chunk of steps (every group of
runs at the same step), one checkpoint holding

* every running run's params, optimizer state (the carry of the chunk program) and
  hyperparameters (PBT changes them), and the params of runs already stopped;
* everything recorded so far: losses, metrics, diagnostics, final losses, stop steps,
  a PBT population's history;
* the chunk index and a *fingerprint* of the sweep's arguments.

Calling :func:`sweep` again with the same arguments finds the latest checkpoint,
checks the fingerprint and continues from that chunk. The chunk program is
deterministic and the groups are rebuilt the same way, so the result equals the
uninterrupted sweep's bit for bit. Everything is saved as host NumPy arrays (so
any device layout, and any number of processes, restores it); orbax-checkpoint is
an optional dependency, imported only here and only when ``checkpoint_dir`` is given.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

FORMAT = 1  # bumped when the layout of a checkpoint changes


def _describe(value: Any) -> Any:
    """A JSON-able description of one argument of a sweep, equal for equal arguments."""
    if isinstance(value, Mapping):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, jax.Array)):
        if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
            value = jax.random.key_data(value)
        arr = np.ascontiguousarray(np.asarray(value))
        return f"array{arr.shape}:{arr.dtype}:{hashlib.sha256(arr.tobytes()).hexdigest()[:16]}"
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    leaves = jax.tree.leaves(value)
    if leaves and all(isinstance(x, (np.ndarray, jax.Array, float, int)) for x in leaves):
        return [_describe(np.asarray(x)) for x in leaves] + [repr(jax.tree.structure(value))]
    return repr(value)


def fingerprint(**arguments: Any) -> dict[str, Any]:
    """What identifies a sweep: its arguments, with arrays hashed and functions named."""
    return {"format": FORMAT, **{name: _describe(v) for name, v in arguments.items()}}


def flatten(prefix: str, tree: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    """The leaves of ``tree`` as ``{prefix.i: array}``, and each leaf's kind.

    A kind is ``""`` for data or the PRNG implementation of a key array (saved as
    its key data).
    """
    arrays, kinds = {}, []
    for i, leaf in enumerate(jax.tree.leaves(tree)):
        kind = ""
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            kind, leaf = str(jax.random.key_impl(leaf)), jax.random.key_data(leaf)
        arrays[f"{prefix}.{i:04d}"] = np.asarray(leaf)
        kinds.append(kind)
    return arrays, kinds


def unflatten(prefix: str, arrays: Mapping[str, np.ndarray], treedef: Any,
              kinds: list[str]) -> Any:
    """The inverse of :func:`flatten`, given the tree's structure."""
    leaves = []
    for i, kind in enumerate(kinds):
        leaf = np.asarray(arrays[f"{prefix}.{i:04d}"])
        leaves.append(jax.random.wrap_key_data(leaf, impl=kind) if kind else leaf)
    return jax.tree.unflatten(treedef, leaves)


def _orbax() -> Any:
    try:
        import orbax.checkpoint as ocp
    except ImportError as err:
        raise ImportError(
            "`checkpoint_dir` saves sweeps with orbax-checkpoint, an optional dependency: "
            "install it with `python3 -m pip install orbax-checkpoint` (it is in the "
            "'test' extra), or drop `checkpoint_dir`."
        ) from err
    return ocp


class Store:
    """The checkpoints of one sweep in ``directory``: the latest one is kept."""

    def __init__(self, directory: str | pathlib.Path, identity: dict[str, Any]):
        if not isinstance(directory, (str, pathlib.Path)):
            raise TypeError(f"`checkpoint_dir` must be a path (str or pathlib.Path), "
                            f"got {directory!r}.")
        ocp = _orbax()
        self._ocp, self.identity = ocp, identity
        self.directory = pathlib.Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=1, enable_async_checkpointing=False,
                                               create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """``(arrays, meta)`` of the latest checkpoint, or ``None`` if there is none.

        Raises:
            ValueError: If the directory holds a checkpoint of a different sweep.
        """
        step = self._manager.latest_step()
        if step is None:
            return None
        args = self._ocp.args
        restored = self._manager.restore(step, args=args.Composite(
            state=args.PyTreeRestore(), meta=args.JsonRestore()))
        meta = restored.meta
        if meta["identity"] != self.identity:
            changed = sorted(k for k in set(meta["identity"]) | set(self.identity)
                             if meta["identity"].get(k) != self.identity.get(k))
            raise ValueError(
                f"`checkpoint_dir`={str(self.directory)!r} holds a checkpoint of a different "
                f"sweep (these arguments differ: {', '.join(changed)}). Resume with the same "
                f"arguments, or give another (or an empty) directory."
            )
        return {k: np.asarray(v) for k, v in restored.state.items()}, meta

    def save(self, index: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Writes checkpoint ``index`` (and removes the older one once it is complete)."""
        # orbax refuses empty arrays: they are rebuilt from their shapes in `meta`.
        empty = {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items() if v.size == 0}
        state = {k: v for k, v in arrays.items() if v.size}
        meta = {**meta, "identity": self.identity, "empty": empty}
        json.dumps(meta)  # fail here, not inside orbax, if something is not JSON
        args = self._ocp.args
        self._manager.save(index, args=args.Composite(state=args.PyTreeSave(state),
                                                      meta=args.JsonSave(meta)), force=True)
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.close()


def with_empty(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """``arrays`` with the empty arrays :meth:`Store.save` could not write put back."""
    return {**arrays, **{k: np.zeros(shape, dtype) for k, (shape, dtype) in meta["empty"].items()}}


def snapshot(chunk: int, alive: np.ndarray, carry: Any, record: Any, run_hp: dict[str, Any],
             evolution: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and metadata of a sweep after ``chunk`` chunks (``carry`` on the host)."""
    arrays = {"alive": np.asarray(alive), "losses": record.losses,
              "final_losses": record.final_losses, "stopped_at": record.stopped_at}
    arrays.update({f"hp.{n}": np.asarray(v) for n, v in run_hp.items()})
    for group in ("diagnostics", "metrics"):
        arrays.update({f"{group}.{n}": v for n, v in getattr(record, group).items()})
    carry_arrays, carry_kinds = flatten("carry", carry)
    arrays.update(carry_arrays)
    stopped_kinds = []
    if record._params:  # runs already stopped (pruned): one stacked entry
        rows = np.concatenate([r for r, _ in record._params])
        trees = [t for _, t in record._params]
        merged = jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *trees)
        stopped_arrays, stopped_kinds = flatten("stopped", merged)
        arrays.update(stopped_arrays, **{"stopped.rows": rows})
    if evolution:
        arrays["pbt.steps"] = np.asarray(evolution.steps, np.int64)
        arrays["pbt.parents"] = np.stack(evolution.parents, axis=1)
        for n in evolution.values[0]:
            arrays[f"pbt.values.{n}"] = np.stack([v[n] for v in evolution.values], axis=1)
    meta = {"chunk": chunk, "carry_kinds": carry_kinds, "stopped_kinds": stopped_kinds,
            "diagnostics": list(record.diagnostics), "metrics": list(record.metrics),
            "hp": list(run_hp)}
    return arrays, meta


def restore(arrays: dict[str, np.ndarray], meta: dict[str, Any], carry_treedef: Any,
            stopped_treedef: Any, record: Any, run_hp: dict[str, Any],
            evolution: Any) -> tuple[int, np.ndarray, Any]:
    """Loads a :func:`snapshot` into the recorders and ``run_hp``; ``(chunk, alive, carry)``."""
    arrays = with_empty(arrays, meta)
    record.losses, record.final_losses = arrays["losses"], arrays["final_losses"]
    record.stopped_at = arrays["stopped_at"]
    for group in ("diagnostics", "metrics"):
        getattr(record, group).update({n: arrays[f"{group}.{n}"] for n in meta[group]})
    run_hp.update({n: arrays[f"hp.{n}"] for n in meta["hp"]})
    record._params = []
    if meta["stopped_kinds"]:
        record._params.append((arrays["stopped.rows"], unflatten(
            "stopped", arrays, stopped_treedef, meta["stopped_kinds"])))
    if evolution:
        evolution.steps = arrays["pbt.steps"].tolist()
        evolution.parents = list(arrays["pbt.parents"].T)
        evolution.values = [{n: arrays[f"pbt.values.{n}"][:, k] for n in meta["hp"]}
                            for k in range(len(evolution.steps))]
    carry = unflatten("carry", arrays, carry_treedef, meta["carry_kinds"])
    return meta["chunk"], arrays["alive"], carry


class Checkpointer:
    """Saves a sweep after every chunk and restores the latest save (the sweep's hook)."""

    def __init__(self, store: Store, fetch: Callable[[Any], Any], record: Any,
                 run_hp: dict[str, Any], evolution: Any):
        self.store, self.fetch, self.record = store, fetch, record
        self.run_hp, self.evolution = run_hp, evolution

    def resume(self, template: Callable[[], Any]) -> tuple[int, np.ndarray, Any] | None:
        """``(chunk, alive, carry)`` of the latest save, loaded into the recorders, or ``None``.

        ``template()`` is the abstract carry of a group (its tree structure is used).
        """
        found = self.store.latest()
        if found is None:
            return None
        treedef = jax.tree.structure(template())
        trained_held = jax.tree.unflatten(treedef, range(treedef.num_leaves))[:2]
        stopped = jax.tree.structure(tuple(trained_held))
        return restore(*found, treedef, stopped, self.record, self.run_hp, self.evolution)

    def __call__(self, chunk: int, alive: np.ndarray, carry: Any) -> None:
        host = jax.tree.map(self.fetch, carry)
        self.store.save(chunk, *snapshot(chunk, alive, host, self.record, self.run_hp,
                                         self.evolution))

    def close(self) -> None:
        self.store.close()


def checkpointer(checkpoint_dir: Any, fetch: Callable[[Any], Any], record: Any,
                 run_hp: dict[str, Any], evolution: Any, **arguments: Any) -> Checkpointer | None:
    """The :class:`Checkpointer` of a sweep with these ``arguments`` (``None`` without one)."""
    if checkpoint_dir is None:
        return None
    return Checkpointer(Store(checkpoint_dir, fingerprint(**arguments)), fetch, record, run_hp,
                        evolution)
