"""Sharded and multi-process training: optimizer state follows the params' sharding.

This file tests cross-module behaviour (``_tree``'s state builders, every transform's
``init``/``update``, ``apply_updates``) rather than one module. JAX fixes its device
count when it starts, so the checks that need 8 devices or 2 processes run in fresh
Python processes. This file is also the script those processes run:

* ``python tests/test_sharding.py cases`` runs every ``_case_*`` function on 8
  simulated CPU devices and prints one JSON line per case;
* ``python tests/test_sharding.py worker PROCESS_ID PORT`` is one of the two
  processes of a data-parallel run coordinated by ``jax.distributed`` on 127.0.0.1.

The pytest side starts those processes and asserts on what they print.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path

import _processes
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxopt_scratch as jos

# Leaves with distinct shapes, so a state leaf's shape names its param.
_SPECS = {"w": P("data", "model"), "b": P("model"), "e": P(None, "data"), "s": P()}
_SHAPES = {"w": (8, 4), "b": (4,), "e": (3, 8), "s": ()}


def _optimizers():
    """Optimizers whose states cover moments, traces, max-moments, masks and norms."""
    return {
        "adamw": jos.adamw(1e-2, weight_decay=0.1),
        "sgd_nesterov": jos.sgd(1e-2, momentum=0.9, nesterov=True),
        "rmsprop_centered": jos.rmsprop(1e-2, centered=True, momentum=0.9),
        "adagrad": jos.adagrad(1e-1),
        "amsgrad": jos.amsgrad(1e-2),
        "lamb_masked": jos.lamb(1e-2, weight_decay=0.1,
                                mask=lambda p: jax.tree.map(lambda x: x.ndim >= 2, p)),
        "clip_adam": jos.chain(jos.clip_by_global_norm(1.0), jos.adam(1e-2)),
        # Wrappers: an accumulator under lax.cond, and per-label states with injected
        # (scalar, replicated) hyperparameters.
        "multisteps_adam": jos.MultiSteps(jos.adam(1e-2), 2),
        "partition_injected": jos.multi_transform(
            {"adam": jos.inject_hyperparams(jos.adam)(learning_rate=1e-2),
             "sgd": jos.sgd(1e-2, momentum=0.9)},
            {"w": "adam", "e": "adam", "b": "sgd", "s": "sgd"}),
    }


def _host_params(dtype=np.float32):
    rng = np.random.default_rng(0)
    return {k: rng.normal(size=shape).astype(dtype) for k, shape in _SHAPES.items()}


def _host_grads(step, dtype=np.float32):
    rng = np.random.default_rng(100 + step)
    return {k: rng.normal(size=shape).astype(dtype) for k, shape in _SHAPES.items()}


# ---------------------------------------------------------------------------
# Code shown in README.md (`## Scaling out`): out_shardings for `tx.init` from the params.
# ---------------------------------------------------------------------------


def state_shardings(tx, params, mesh):
    """The sharding of each leaf of ``tx.init(params)``, read off the params.

    A state leaf whose path ends with a param's path (``[0].mu['w']`` ends with
    ``['w']``) and has its shape takes that param's sharding; counts and other
    leaves are replicated.
    """
    by_path = sorted(((jax.tree_util.keystr(k), p)
                      for k, p in jax.tree_util.tree_leaves_with_path(params)),
                     key=lambda kv: -len(kv[0]))  # most specific path first

    def pick(path, leaf):
        key = jax.tree_util.keystr(path)
        for p_key, p in by_path:
            if key.endswith(p_key) and leaf.shape == p.shape:
                return p.sharding
        return NamedSharding(mesh, P())

    return jax.tree_util.tree_map_with_path(pick, jax.eval_shape(tx.init, params))


# ---------------------------------------------------------------------------
# 8-device cases (run in the subprocess).
# ---------------------------------------------------------------------------


def _mesh(axis_type):
    return jax.make_mesh((4, 2), ("data", "model"), axis_types=(axis_type, axis_type))


def _put(host_tree, mesh):
    return {k: jax.device_put(v, NamedSharding(mesh, _SPECS[k])) for k, v in host_tree.items()}


def _assert_state_follows_params(state, params, mesh):
    """Every array leaf has the sharding of the param with its shape; scalars are replicated."""
    by_shape = {p.shape: p.sharding for p in params.values() if p.ndim}
    leaves = jax.tree_util.tree_leaves_with_path(state)
    assert leaves, "the state has no leaves to check"
    for path, leaf in leaves:
        where = jax.tree_util.keystr(path)
        sharding = leaf.sharding
        if leaf.ndim == 0:
            assert sharding.is_fully_replicated, f"{where}: scalar not replicated: {sharding}"
            continue
        want = by_shape[leaf.shape]
        assert isinstance(sharding, NamedSharding), f"{where}: {sharding}"
        assert sharding.spec == want.spec, f"{where}: spec {sharding.spec}, param has {want.spec}"
        assert sharding.mesh.abstract_mesh == mesh.abstract_mesh, f"{where}: other mesh"


def _case_eager_init_takes_param_sharding():
    for axis_type in (AxisType.Explicit, AxisType.Auto):
        mesh = _mesh(axis_type)
        for dtype in (np.float32, jnp.bfloat16):  # bf16 params get f32 state, same layout
            params = _put(_host_params(dtype), mesh)
            for name, tx in _optimizers().items():
                with jax.set_mesh(mesh):
                    state = tx.init(params)
                try:
                    _assert_state_follows_params(state, params, mesh)
                except AssertionError as err:
                    raise AssertionError(f"{name}, {axis_type}, {dtype}: {err}") from None


def _case_eager_init_outside_mesh_context():
    # Without `jax.set_mesh`, sharded accumulators still follow their params; a count
    # is an *uncommitted* scalar, which `jit` replicates over the params' devices.
    mesh = _mesh(AxisType.Explicit)
    params = _put(_host_params(), mesh)
    state = jos.adamw(1e-2).init(params)
    adam_state = state[0]
    assert not adam_state.count.committed, adam_state.count.sharding
    for k, p in params.items():
        assert adam_state.mu[k].sharding == p.sharding, (k, adam_state.mu[k].sharding)
        assert adam_state.nu[k].sharding == p.sharding, (k, adam_state.nu[k].sharding)


def _case_abstract_init_under_eval_shape():
    mesh = _mesh(AxisType.Explicit)
    abstract = {k: jax.ShapeDtypeStruct(_SHAPES[k], jnp.float32,
                                        sharding=NamedSharding(mesh, _SPECS[k])) for k in _SHAPES}
    for name, tx in _optimizers().items():
        out = jax.eval_shape(tx.init, abstract)
        for path, leaf in jax.tree_util.tree_leaves_with_path(out):
            if leaf.ndim == 0:
                continue
            (k,) = [k for k, s in _SHAPES.items() if s == leaf.shape]
            where = f"{name}{jax.tree_util.keystr(path)}"
            assert leaf.sharding is not None, f"{where}: abstract state lost its sharding"
            assert leaf.sharding.spec == _SPECS[k], f"{where}: {leaf.sharding.spec} != {_SPECS[k]}"


def _case_jit_init():
    # Explicit axes: the shardings travel in the types, `jit` under the mesh needs nothing else.
    mesh = _mesh(AxisType.Explicit)
    params = _put(_host_params(), mesh)
    with jax.set_mesh(mesh):
        for name, tx in _optimizers().items():
            try:
                _assert_state_follows_params(jax.jit(tx.init)(params), params, mesh)
            except AssertionError as err:
                raise AssertionError(f"{name}: {err}") from None
    # Auto axes: a tracer carries no sharding, so the README's `out_shardings` recipe.
    mesh = _mesh(AxisType.Auto)
    params = _put(_host_params(), mesh)
    for name, tx in _optimizers().items():
        eager = tx.init(params)
        shardings = state_shardings(tx, params, mesh)
        state = jax.jit(tx.init, out_shardings=shardings)(params)
        try:
            _assert_state_follows_params(state, params, mesh)
            for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(eager)):
                if b.ndim:
                    assert a.sharding == b.sharding, (a.sharding, b.sharding)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None


def _step_fn(tx):
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return jos.apply_updates(params, updates), state

    return step


def _run(tx, params, grads_list, step):
    state = tx.init(params)
    for grads in grads_list:
        params, state = step(params, state, grads)
    return params, state


_SHARDED_RESULTS = {}  # (optimizer name, axis type) -> params after the sharded run


def _case_jit_update_keeps_shardings_and_gathers_nothing():
    steps = 3
    for axis_type in (AxisType.Auto, AxisType.Explicit):
        mesh = _mesh(axis_type)
        params = _put(_host_params(), mesh)
        grads = [_put(_host_grads(i), mesh) for i in range(steps)]
        for name, tx in _optimizers().items():
            state = tx.init(params)
            # The compiled step is also the one the run below calls (one compile, not two).
            step = jax.jit(_step_fn(tx)).lower(params, state, grads[0]).compile()
            hlo = step.as_text()
            assert "all-gather" not in hlo, f"{name}, {axis_type}: the update gathers"
            assert "all-to-all" not in hlo, f"{name}, {axis_type}: the update reshuffles"
            if name in ("lamb_masked", "clip_adam"):
                # Norms over sharded leaves must reduce across devices: proof that the
                # compiled program really is partitioned, so the no-gather check means something.
                assert "all-reduce" in hlo, f"{name}, {axis_type}: no cross-device reduction"
            new_params, new_state = _run(tx, params, grads, step)
            _SHARDED_RESULTS[name, axis_type] = new_params  # reused by the equality case
            try:
                _assert_state_follows_params(new_state, params, mesh)
                for k, p in params.items():
                    assert new_params[k].sharding.spec == p.sharding.spec, (k, new_params[k])
            except AssertionError as err:
                raise AssertionError(f"{name}, {axis_type}: {err}") from None


def _case_sharded_equals_single_device():
    steps = 3  # as in the update case, whose sharded results are reused when present
    mesh = _mesh(AxisType.Auto)
    one = jax.devices()[0]
    host_params, host_grads = _host_params(), [_host_grads(i) for i in range(steps)]
    for name, tx in _optimizers().items():
        step = jax.jit(_step_fn(tx))
        sharded = _SHARDED_RESULTS.get((name, AxisType.Auto))
        if sharded is None:
            sharded, _ = _run(tx, _put(host_params, mesh), [_put(g, mesh) for g in host_grads],
                              step)
        single, _ = _run(tx, jax.device_put(host_params, one),
                         [jax.device_put(g, one) for g in host_grads], step)
        for k in host_params:
            # Elementwise math is identical; norms (lamb, global clip) sum their partial
            # sums in another order across devices: a few float32 ulps.
            np.testing.assert_allclose(np.asarray(sharded[k]), np.asarray(single[k]),
                                       rtol=1e-6, atol=1e-7, err_msg=f"{name}[{k!r}]")


def _case_orbax_restore_keeps_shardings():
    import tempfile

    import orbax.checkpoint as ocp

    mesh = _mesh(AxisType.Explicit)
    params = _put(_host_params(), mesh)
    tx = jos.adamw(1e-2)
    state = jax.jit(_step_fn(tx))(params, tx.init(params), _put(_host_grads(0), mesh))[1]
    with tempfile.TemporaryDirectory() as tmp, ocp.StandardCheckpointer() as ckpt:
        ckpt.save(Path(tmp) / "state", state)
        ckpt.wait_until_finished()
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, tx.init(params))
        restored = ckpt.restore(Path(tmp) / "state", target)
    _assert_state_follows_params(restored, params, mesh)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


_CASES = {name[len("_case_"):]: fn for name, fn in sorted(globals().items())
          if name.startswith("_case_")}


def _main_cases():
    jax.config.update("jax_numpy_dtype_promotion", "strict")  # the suite's conftest settings
    jax.config.update("jax_numpy_rank_promotion", "raise")
    print(json.dumps({"devices": jax.device_count()}), flush=True)
    for name, fn in _CASES.items():
        try:
            fn()
            print(json.dumps({"case": name, "ok": True}), flush=True)
        except Exception:  # noqa: BLE001 -- report every case, then let pytest fail on the bad ones
            print(json.dumps({"case": name, "ok": False, "error": traceback.format_exc()}),
                  flush=True)


# ---------------------------------------------------------------------------
# Several processes: data-parallel training, one CPU device per process.
# ---------------------------------------------------------------------------

_DP_STEPS = 5
_DP_BATCH = 8


def _dp_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(_DP_BATCH, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32) + np.float32(0.3)).astype(np.float32)
    params = {"w": np.zeros(4, np.float32), "b": np.zeros((), np.float32)}
    return params, x, y


def _dp_train():
    """The recipe of README.md's multi-host section; also the single-process reference.

    Every process calls it with the same code: params and optimizer state are
    replicated, the batch is split over processes along ``data``, and the
    gradient's mean over the global batch is what ``jit`` all-reduces.
    """
    host_params, x, y = _dp_problem()
    mesh = jax.make_mesh((jax.device_count(),), ("data",), axis_types=(AxisType.Explicit,))
    rows = _DP_BATCH // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)
    batch_sharding, replicated = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    xs = jax.make_array_from_process_local_data(batch_sharding, x[mine])
    ys = jax.make_array_from_process_local_data(batch_sharding, y[mine])
    params = jax.tree.map(lambda p: jax.make_array_from_process_local_data(replicated, p),
                          host_params)
    tx = jos.adamw(0.05, weight_decay=1e-2)

    def loss_fn(params, xs, ys):
        return jnp.mean(jnp.square(xs @ params["w"] + params["b"] - ys))

    @jax.jit
    def train_step(params, state, xs, ys):
        grads = jax.grad(loss_fn)(params, xs, ys)
        updates, state = tx.update(grads, state, params)
        return jos.apply_updates(params, updates), state

    with jax.set_mesh(mesh):
        state = jax.jit(tx.init)(params)
        for _ in range(_DP_STEPS):
            params, state = train_step(params, state, xs, ys)
    # Replicated: this process's own copy is the whole value.
    return {k: np.asarray(v.addressable_data(0)).tolist() for k, v in params.items()}


def _main_worker(process_id, port):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=process_id, initialization_timeout=60)
    out = {"process_count": jax.process_count(), "device_count": jax.device_count(),
           "params": _dp_train()}
    print("RESULT " + json.dumps(out), flush=True)
    jax.distributed.shutdown()


# ---------------------------------------------------------------------------
# pytest side
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eight_device_report():
    proc = subprocess.run(
        [sys.executable, __file__, "cases"], capture_output=True, text=True, check=False,
        timeout=_processes.TIMEOUT_S, cwd=_processes.REPO,
        env=_processes.env(XLA_FLAGS="--xla_force_host_platform_device_count=8"),
    )
    lines = [json.loads(s) for s in proc.stdout.splitlines() if s.startswith("{")]
    assert proc.returncode == 0 and lines, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return lines


def test_subprocess_sees_eight_devices(eight_device_report):
    assert eight_device_report[0] == {"devices": 8}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_eight_devices(eight_device_report, case):
    (result,) = [r for r in eight_device_report if r.get("case") == case]
    assert result["ok"], result["error"]


def test_two_processes_end_with_identical_params():
    outs = _processes.two_workers(__file__)
    for out in outs:
        assert (out["process_count"], out["device_count"]) == (2, 2)
    assert outs[0]["params"] == outs[1]["params"]  # bit-identical: one all-reduced program
    # Same training on one process over the whole batch; the two-process gradient
    # sums its halves in another order (float32 rounding only).
    reference = _dp_train()
    assert reference["w"] != np.zeros(4).tolist()  # it trained
    for k in reference:
        np.testing.assert_allclose(outs[0]["params"][k], reference[k], rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    if sys.argv[1] == "cases":
        _main_cases()
    elif sys.argv[1] == "worker":
        _main_worker(int(sys.argv[2]), int(sys.argv[3]))
