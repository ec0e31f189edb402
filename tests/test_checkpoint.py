"""Saving and restoring optimizer state with the tools users already have.

This file tests cross-library behaviour, not one module: the states of many
transforms (NamedTuples, ``EmptyState``, ``MaskedNode``, ``named_chain`` dicts, int32
counts) go through orbax-checkpoint's ``StandardCheckpointer`` and through flax's
msgpack serialization (no pickle anywhere), and a run resumed from a checkpoint must
continue bit-identically. With ``named_chain``, a checkpoint restores by name into a
chain that gained a transform; the README's ``## Checkpoints`` section shows the same
code.
"""

from __future__ import annotations

from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from absl.testing import parameterized
from flax import serialization

import jaxopt_scratch as jos


def _schedule(count):
    return 0.05 * jnp.exp(-0.1 * count.astype(jnp.float32))  # depends on the restored count


def _optimizers():
    return {
        "adamw_scheduled": lambda: jos.adamw(_schedule, weight_decay=1e-2),
        "sgd_nesterov": lambda: jos.sgd(0.05, momentum=0.9, nesterov=True),
        "amsgrad": lambda: jos.amsgrad(0.05),
        "lion": lambda: jos.lion(0.01),
        "lamb_masked": lambda: jos.lamb(0.05, weight_decay=1e-2,
                                        mask=lambda p: jax.tree.map(lambda x: x.ndim >= 2, p)),
        "named_clip_adam": lambda: jos.named_chain(("clip", jos.clip_by_global_norm(1.0)),
                                                   ("adam", jos.adam(0.05))),
    }


def _params(dtype=jnp.float32):
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.normal(size=(3, 2)), dtype),
            "b": jnp.asarray(rng.normal(size=(2,)), dtype)}


def _grads(params, i):
    return jax.tree.map(lambda p: jnp.sin(p * (i + 1)) + p, params)


# The two ways to save: each is a (save, restore-into-target) pair.


def _orbax_save(path: Path, tree):
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, tree)
        ckpt.wait_until_finished()


def _orbax_restore(path: Path, target):
    with ocp.StandardCheckpointer() as ckpt:
        return ckpt.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, target))


def _msgpack_save(path: Path, tree):
    path.write_bytes(serialization.to_bytes(tree))


def _msgpack_restore(path: Path, target):
    return serialization.from_bytes(target, path.read_bytes())


BACKENDS = {"orbax": (_orbax_save, _orbax_restore), "msgpack": (_msgpack_save, _msgpack_restore)}


class ResumeTest(chex.TestCase):

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path):
        self.tmp_path = tmp_path

    def _steps(self, tx, params, state, start, stop):
        update = self.variant(tx.update)
        for i in range(start, stop):
            updates, state = update(_grads(params, i), state, params)
            params = jos.apply_updates(params, updates)
        return params, state

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.product(name=sorted(_optimizers()), backend=sorted(BACKENDS))
    def test_resumed_run_is_bit_identical(self, name, backend):
        self._check_resume(name, backend, jnp.float32)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.product(backend=sorted(BACKENDS))
    def test_resumed_run_is_bit_identical_bfloat16_params(self, backend):
        # bfloat16 params with float32 moments: both dtypes must come back as saved.
        self._check_resume("adamw_scheduled", backend, jnp.bfloat16)

    def _check_resume(self, name, backend, dtype):
        save, restore = BACKENDS[backend]
        make = _optimizers()[name]
        tx = make()
        params0 = _params(dtype)
        straight = self._steps(tx, params0, tx.init(params0), 0, 6)

        first = self._steps(tx, params0, tx.init(params0), 0, 3)
        path = self.tmp_path / f"ckpt_{name}_{backend}"
        save(path, {"params": first[0], "opt_state": first[1]})
        # A fresh process: a new optimizer object and a target made from scratch.
        tx = make()
        fresh = _params(dtype)
        restored = restore(path, {"params": fresh, "opt_state": tx.init(fresh)})
        chex.assert_trees_all_equal(restored["params"], first[0])
        chex.assert_trees_all_equal(restored["opt_state"], first[1])
        chex.assert_trees_all_equal_dtypes(restored["opt_state"], first[1])
        self.assertEqual(jax.tree.structure(restored["opt_state"]), jax.tree.structure(first[1]))
        resumed = self._steps(tx, restored["params"], restored["opt_state"], 3, 6)
        chex.assert_trees_all_equal(resumed, straight)  # bit-identical, no tolerance


# ---------------------------------------------------------------------------
# named_chain: a checkpoint restores by name into a chain with one more transform.
# ---------------------------------------------------------------------------


def _old_chain():
    return jos.named_chain(("clip", jos.clip_by_global_norm(1.0)), ("adam", jos.scale_by_adam()),
                           ("lr", jos.scale_by_learning_rate(_schedule)))


def _new_chain():  # the same, with weight decay inserted before Adam
    return jos.named_chain(("clip", jos.clip_by_global_norm(1.0)),
                           ("decay", jos.add_decayed_weights(1e-2)),
                           ("adam", jos.scale_by_adam()),
                           ("lr", jos.scale_by_learning_rate(_schedule)))


def _orbax_restore_by_name(path: Path, state):
    """README recipe: restore the names the checkpoint has, keep fresh state for new ones."""
    with ocp.StandardCheckpointer() as ckpt:
        saved = ckpt.metadata(path).item_metadata.tree  # names only; reads no arrays
        target = {name: s for name, s in state.items() if name in saved}
        return state | ckpt.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, target))


def _msgpack_restore_by_name(path: Path, state):
    """README recipe: the same with flax's msgpack state dicts."""
    saved = serialization.msgpack_restore(path.read_bytes())
    return {name: serialization.from_state_dict(s, saved[name]) if name in saved else s
            for name, s in state.items()}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_named_chain_restores_by_name_into_a_longer_chain(tmp_path, backend):
    save = BACKENDS[backend][0]
    restore_by_name = {"orbax": _orbax_restore_by_name,
                       "msgpack": _msgpack_restore_by_name}[backend]
    params = _params()
    old = _old_chain()
    state = old.init(params)
    for i in range(3):
        updates, state = old.update(_grads(params, i), state, params)
        params = jos.apply_updates(params, updates)
    save(tmp_path / "opt", state)

    new = _new_chain()
    restored = restore_by_name(tmp_path / "opt", new.init(params))
    assert sorted(restored) == ["adam", "clip", "decay", "lr"]
    chex.assert_trees_all_equal(restored["adam"], state["adam"])  # moments and count kept
    chex.assert_trees_all_equal(restored["lr"], state["lr"])  # schedule position kept
    assert int(restored["adam"].count) == 3
    assert restored["decay"] == new.init(params)["decay"]  # the newcomer starts fresh
    # The restored state drives the new chain: its next step is Adam's 4th step.
    updates, after = jax.jit(new.update)(_grads(params, 3), restored, params)
    assert int(after["adam"].count) == 4
    assert int(after["lr"].count) == 4
    assert jnp.all(jnp.isfinite(updates["w"]))


def test_positional_chain_cannot_restore_into_a_longer_chain(tmp_path):
    # Why named_chain: with `chain`, the saved states are keyed by position, so the
    # inserted transform shifts every later state and the restore fails.
    params = _params()
    old = jos.chain(jos.clip_by_global_norm(1.0), jos.scale_by_adam())
    new = jos.chain(jos.clip_by_global_norm(1.0), jos.add_decayed_weights(1e-2),
                    jos.scale_by_adam())
    _msgpack_save(tmp_path / "opt", old.init(params))
    with pytest.raises(ValueError):
        _msgpack_restore(tmp_path / "opt", new.init(params))
