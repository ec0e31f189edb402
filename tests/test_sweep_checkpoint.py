"""Tests for jaxopt_scratch/_engine/checkpoint.py: a sweep interrupted and resumed (bit for bit)."""

import sys

import jax
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._engine import checkpoint as _checkpoint
from jaxopt_scratch._engine import programs as _programs

XOR = jos.problems.get("xor_a")
LRS = {"learning_rate": np.geomspace(0.01, 1.0, 5).tolist()}


class Interrupted(Exception):
    """Raised right after a checkpoint was written: the process 'dies' there."""


def _interrupt_after(monkeypatch, saves):
    done = []
    save = _checkpoint.Store.save

    def save_then_die(self, index, arrays, meta):
        save(self, index, arrays, meta)
        done.append(index)
        if len(done) == saves:
            raise Interrupted(index)

    monkeypatch.setattr(_checkpoint.Store, "save", save_then_die)
    return done


def _metrics_fn(params, batch):
    del batch
    return {"accuracy": XOR.accuracy_fn(params)}


def _assert_bitwise_equal(a, b):
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.final_losses, b.final_losses)
    np.testing.assert_array_equal(a.stopped_at, b.stopped_at)
    for name in (*a.hyperparams, *b.hyperparams):
        np.testing.assert_array_equal(a.hyperparams[name], b.hyperparams[name])
    for group in ("metrics", "diagnostics"):
        x, y = getattr(a, group), getattr(b, group)
        assert set(x) == set(y)
        for name in x:
            np.testing.assert_array_equal(x[name], y[name])
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(x, y)


# Seeds (params drawn per run), groups of 4 runs (the last padded), 5 chunks of 6 steps,
# metrics every 3 steps and every diagnostic: everything the checkpoint must carry.
KWARGS = {"seeds": 2, "max_batch": 4, "chunk_steps": 6, "eval_every": 3, "diagnostics": True,
          "metrics_fn": _metrics_fn, "progress": False}


@pytest.fixture(scope="module")
def uninterrupted():
    return jos.sweep(jos.adam, LRS, XOR.loss_fn, XOR.init_params, 30, **KWARGS)


@pytest.mark.parametrize("saves", [1, 3])
def test_interrupted_and_resumed_equals_uninterrupted(monkeypatch, tmp_path, uninterrupted,
                                                      saves):
    done = _interrupt_after(monkeypatch, saves)
    with pytest.raises(Interrupted):
        jos.sweep(jos.adam, LRS, XOR.loss_fn, XOR.init_params, 30, checkpoint_dir=tmp_path,
                  **KWARGS)
    assert done == list(range(1, saves + 1))  # one checkpoint per chunk (all groups done)
    monkeypatch.undo()
    resumed = jos.sweep(jos.adam, LRS, XOR.loss_fn, XOR.init_params, 30,
                        checkpoint_dir=tmp_path, **KWARGS)
    _assert_bitwise_equal(resumed, uninterrupted)
    # orbax keeps the latest checkpoint only: the finished sweep's, after chunk 5.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["5"]


def test_a_finished_sweep_is_read_back_without_training(monkeypatch, tmp_path):
    kwargs = {**KWARGS, "seeds": None, "max_batch": None}
    first = jos.sweep(jos.adam, LRS, XOR.loss_fn, XOR.init_params(), 30,
                      checkpoint_dir=tmp_path, **kwargs)
    calls = []
    program = _programs.chunk_program
    monkeypatch.setattr(_programs, "chunk_program", lambda *a: calls.append(1) or program(*a))
    again = jos.sweep(jos.adam, LRS, XOR.loss_fn, XOR.init_params(), 30,
                      checkpoint_dir=tmp_path, **kwargs)
    assert not calls
    _assert_bitwise_equal(again, first)


def test_resume_across_halving_rungs_and_pbt_rounds(monkeypatch, tmp_path):
    # Rungs at 3 and 9 steps (chunks of 3): saves 1 and 3 land on them, before the ranking.
    lrs = {"learning_rate": [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9, 1.1]}
    bowl = jos.problems.get("bowl")
    cases = {"prune": jos.halving(3, 3), "population": jos.pbt(3, fraction=0.34, seed=1)}
    for name, value in cases.items():
        args = (jos.sgd, lrs, bowl.loss_fn, bowl.init_params(), 27)
        kwargs = {name: value, "progress": False, "chunk_steps": 3}
        whole = jos.sweep(*args, **kwargs)
        for saves in (1, 3):
            directory = tmp_path / f"{name}{saves}"
            _interrupt_after(monkeypatch, saves)
            with pytest.raises(Interrupted):
                jos.sweep(*args, checkpoint_dir=directory, **kwargs)
            monkeypatch.undo()
            resumed = jos.sweep(*args, checkpoint_dir=directory, **kwargs)
            _assert_bitwise_equal(resumed, whole)
            if name == "population":
                record, ref = resumed.population, whole.population
                np.testing.assert_array_equal(record.parents, ref.parents)
                np.testing.assert_array_equal(record.hyperparams["learning_rate"],
                                              ref.hyperparams["learning_rate"])


def test_another_sweep_in_the_directory_is_refused(tmp_path):
    bowl = jos.problems.get("bowl")
    jos.sweep(jos.sgd, {"learning_rate": [0.1, 0.2]}, bowl.loss_fn, bowl.init_params(), 4,
              progress=False, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"holds a checkpoint of a different sweep \(these "
                                         r"arguments differ: hyperparams\)"):
        jos.sweep(jos.sgd, {"learning_rate": [0.1, 0.3]}, bowl.loss_fn, bowl.init_params(), 4,
                  progress=False, checkpoint_dir=tmp_path)


def test_fingerprint_hashes_arrays_and_names_functions():
    a = _checkpoint.fingerprint(x=np.arange(3.0), f=_metrics_fn, n=3)
    assert a == _checkpoint.fingerprint(x=np.arange(3.0), f=_metrics_fn, n=3)
    assert a != _checkpoint.fingerprint(x=np.arange(3.0) + 1, f=_metrics_fn, n=3)
    assert a["f"].endswith("test_sweep_checkpoint._metrics_fn")


def test_flatten_round_trips_keys_and_structure():
    tree = ({"k": jax.random.split(jax.random.key(1), 3), "w": np.ones((3, 2), np.float32)},
            [np.arange(3)])
    arrays, kinds = _checkpoint.flatten("carry", tree)
    back = _checkpoint.unflatten("carry", arrays, jax.tree.structure(tree), kinds)
    np.testing.assert_array_equal(jax.random.key_data(back[0]["k"]),
                                  jax.random.key_data(tree[0]["k"]))
    np.testing.assert_array_equal(back[0]["w"], tree[0]["w"])
    assert kinds == ["threefry2x32", "", ""]


def test_without_orbax_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    with pytest.raises(ImportError, match="orbax-checkpoint, an optional dependency"):
        _checkpoint.Store(tmp_path, {})
    with pytest.raises(TypeError, match="`checkpoint_dir` must be a path"):
        _checkpoint.Store(3, {})
