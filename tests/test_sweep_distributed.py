"""A sweep over the devices of two processes (``jax.distributed`` on 127.0.0.1) equals one process,
also when it is interrupted and resumed from a checkpoint the two processes share.

As in ``tests/test_sharding.py``, the processes are fresh Pythons, and this file is
also the script they run: ``python tests/test_sweep_distributed.py worker PROCESS_ID
PORT`` is one of two processes, each with one CPU device, that run the same sweeps
with the runs sharded over both devices and print what they got back.
"""

from __future__ import annotations

import json
import sys

import _processes
import jax
import numpy as np

import jaxopt_scratch as jos


def _metrics_fn(params, batch):
    del batch
    return {"distance": jax.numpy.sqrt(jax.numpy.sum(params**2))}


def _init(key):
    return jax.random.normal(key, (2,))


def _halving(**kwargs):
    bowl = jos.problems.get("bowl")
    lrs = {"learning_rate": [0.01, 0.03, 0.1, 0.3, 1.0]}
    return jos.sweep(jos.adam, lrs, bowl.loss_fn, bowl.init_params(), 12,
                     prune=jos.halving(2, 4), progress=False, chunk_steps=4, **kwargs)


class _Stop(Exception):
    pass


def _interrupted_and_resumed(directory):
    """The halving sweep stopped after its first checkpoint, then called again: resumed."""
    from jaxopt_scratch._engine import checkpoint as _checkpoint

    save, saves = _checkpoint.Store.save, []

    def save_then_stop(self, *args, **kwargs):
        save(self, *args, **kwargs)
        saves.append(1)
        if len(saves) == 1:
            raise _Stop

    _checkpoint.Store.save = save_then_stop
    try:
        try:
            _halving(checkpoint_dir=directory)
        except _Stop:
            pass
        resumed = _halving(checkpoint_dir=directory)
    finally:
        _checkpoint.Store.save = save
    return resumed, len(saves) - 1


def _sweeps():
    """The sweeps both sides run: seeds, metrics, an odd group (padding), halving and PBT."""
    bowl = jos.problems.get("bowl")
    lrs = {"learning_rate": [0.01, 0.03, 0.1, 0.3, 1.0]}
    common = {"progress": False, "chunk_steps": 4}
    return {
        "grid": jos.sweep(jos.adam, lrs, bowl.loss_fn, _init, 12, seeds=2, max_batch=4,
                          metrics_fn=_metrics_fn, eval_every=4, **common),
        "halving": _halving(),
        "pbt": jos.sweep(jos.adam, lrs, bowl.loss_fn, bowl.init_params(), 12,
                         population=jos.pbt(4, fraction=0.4), **common),
    }


def _summary(result):
    return {"losses": result.losses.tolist(), "final_losses": result.final_losses.tolist(),
            "stopped_at": result.stopped_at.tolist(),
            "metrics": {k: v.tolist() for k, v in result.metrics.items()},
            "params": [np.asarray(x).tolist() for x in jax.tree.leaves(result.params)],
            "learning_rate": result.hyperparams["learning_rate"].tolist()}


def _main_worker(process_id, port, directory):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=process_id, initialization_timeout=60)
    resumed, saves_after_resume = _interrupted_and_resumed(directory)
    out = {"process_count": jax.process_count(), "device_count": jax.device_count(),
           "local_device_count": jax.local_device_count(),
           "sweeps": {name: _summary(r) for name, r in _sweeps().items()},
           "resumed": _summary(resumed), "saves_after_resume": saves_after_resume}
    print("RESULT " + json.dumps(out), flush=True)
    jax.distributed.shutdown()


def test_two_processes_sweep_equals_one_process(tmp_path):
    outs = _processes.two_workers(__file__, str(tmp_path / "checkpoints"))
    for out in outs:  # two processes, one device each: every run group spans both
        assert (out["process_count"], out["device_count"], out["local_device_count"]) == (2, 2, 1)
    # Every process gets the whole result, and the same one.
    _assert_same(outs[0]["sweeps"], outs[1]["sweeps"])
    # The same sweeps in this one process, on one device: the same numbers, bit for bit
    # (each run is computed by the same program whichever device holds it).
    reference = {name: _summary(r) for name, r in _sweeps().items()}
    assert reference["halving"]["stopped_at"] != [12] * 5  # halving stopped runs
    _assert_same(outs[0]["sweeps"], reference)
    # Interrupted after its first chunk and resumed from the checkpoint both processes
    # share: the two chunks left were trained (and saved), and the result is unchanged.
    for out in outs:
        assert out["saves_after_resume"] == 2
        _assert_same(out["resumed"], reference["halving"])


def _assert_same(a, b):
    """Equal trees of numbers, NaN equal to NaN (the losses of stopped runs)."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        _main_worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
