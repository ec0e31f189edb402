"""Tests for jaxopt_scratch/_engine/memory.py: max_batch="auto" and memory_budget."""

import builtins
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._engine import memory as _memory
from jaxopt_scratch._engine import programs as _programs

MB = 1024**2


class _Compiled:
    """A stand-in for a compiled program with a given memory analysis."""

    def __init__(self, argument, output, temp, alias=0):
        self.stats = types.SimpleNamespace(argument_size_in_bytes=argument,
                                           output_size_in_bytes=output,
                                           temp_size_in_bytes=temp, alias_size_in_bytes=alias)

    def memory_analysis(self):
        return self.stats


def _linear(fixed, per_run):
    """``compile_group`` whose larger program costs ``fixed + per_run * size`` bytes."""
    return lambda size: (_Compiled(fixed, 0, per_run * size), _Compiled(1, 1, size))


def test_estimate_fits_a_line_and_picks_the_largest_group():
    # 1 MB fixed, 2 MB per run in a call, 1 MB kept per run, 100 runs on 4 devices:
    # 1 + 2 G + 100 <= 200 -> G <= 49.5 -> 48 (a multiple of 4).
    out = _memory.estimate(_linear(MB, 2 * MB), 4, 100, MB, 200 * MB)
    assert (out.call_fixed, out.per_run, out.kept_per_run) == (MB, 2 * MB, MB)
    assert out.group == 48 and out.peak == MB + 96 * MB + 100 * MB <= 200 * MB
    # A budget with room for every run: the group is all of them (rounded to the devices).
    assert _memory.estimate(_linear(MB, 2 * MB), 4, 10, MB, 10**12).group == 12
    # Donated (aliased) buffers are not counted twice.
    assert _memory.call_bytes([_Compiled(10, 20, 30, alias=5)]) == 55


def test_an_oversize_request_is_refused_with_what_to_change():
    with pytest.raises(_memory.MemoryBudgetError, match=r"with `max_batch`=80 .* Lower "
                                                        r"`max_batch` to 48 or less"):
        _memory.estimate(_linear(MB, 2 * MB), 4, 100, MB, 200 * MB, max_group=80)
    ok = _memory.estimate(_linear(MB, 2 * MB), 4, 100, MB, 200 * MB, max_group=40)
    assert ok.group == 40
    # Not even one run per device fits: the runs' own records are the problem...
    with pytest.raises(_memory.MemoryBudgetError, match="sweep fewer configurations"):
        _memory.estimate(_linear(MB, 2 * MB), 1, 1000, MB, 500 * MB)
    # ... or one call is.
    with pytest.raises(_memory.MemoryBudgetError, match="a smaller model or batch"):
        _memory.estimate(_linear(MB, 300 * MB), 1, 10, MB, 200 * MB)
    assert issubclass(jos.MemoryBudgetError, ValueError)


def test_parse_size():
    assert _memory.parse_size("4GB") == 4 * 1024**3
    assert _memory.parse_size("512 mb") == 512 * MB
    assert _memory.parse_size("2e9") == 2 * 10**9
    assert _memory.parse_size(123) == 123
    for bad in ("lots", "-1GB", "4XB"):
        with pytest.raises(ValueError, match="`memory_budget` must be"):
            _memory.parse_size(bad)


def test_available_bytes_reads_meminfo_or_psutil(monkeypatch):
    assert _memory.available_bytes(jax.devices()) > 0

    def no_meminfo(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(builtins, "open", no_meminfo)
    fake = types.SimpleNamespace(virtual_memory=lambda: types.SimpleNamespace(available=12345))
    monkeypatch.setitem(sys.modules, "psutil", fake)
    assert _memory.available_bytes(jax.devices()) == 12345
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(_memory.MemoryBudgetError, match="give `memory_budget`"):
        _memory.available_bytes(jax.devices())


# A one-hidden-layer model whose loss without a batch reads every one of `n` examples: the
# final loss (no `eval_batch`, minibatches from `sample_fn`) then holds an (n, 16) hidden
# layer per run.
def _data_problem(n):
    x = jnp.asarray(np.random.default_rng(0).normal(size=(n, 64)), jnp.float32)

    def loss_fn(params, batch=None):
        inputs = x if batch is None else batch
        return jnp.mean((jnp.tanh(inputs @ params["w"]) @ params["v"]) ** 2)

    return loss_fn, lambda key: jax.random.normal(key, (8, 64))


PARAMS = {"w": jnp.full((64, 16), 0.1), "v": jnp.ones(16)}


def _auto(loss_fn, sample_fn, num_lrs, **kwargs):
    lrs = {"learning_rate": np.geomspace(1e-3, 1e-1, num_lrs)}
    return jos.sweep(jos.sgd, lrs, loss_fn, PARAMS, 6, sample_fn=sample_fn,
                     max_batch="auto", **{"progress": False, **kwargs})


def test_auto_measures_the_programs_and_picks_the_group_from_the_budget(capsys):
    small = _auto(*_data_problem(256), 4, memory_budget="1GB").memory
    loss_fn, sample_fn = _data_problem(4096)
    large = _auto(loss_fn, sample_fn, 4, memory_budget="1GB", progress=True).memory
    assert "memory: about" in capsys.readouterr().err  # printed before the sweep starts
    # The final loss reads every example: tanh(x @ w) is (n, 16) float32 per run.
    assert large.per_run - small.per_run >= (4096 - 256) * 16 * 4
    assert small.group == large.group == 4  # 1 GB holds every run
    budget = large.call_fixed + 5 * large.per_run + 40 * large.kept_per_run
    result = _auto(loss_fn, sample_fn, 40, memory_budget=budget)
    assert result.memory.group == 5 and result.memory.peak <= budget
    explicit = jos.sweep(jos.sgd, {"learning_rate": np.geomspace(1e-3, 1e-1, 40)}, loss_fn,
                         PARAMS, 6, sample_fn=sample_fn, max_batch=5, progress=False)
    np.testing.assert_array_equal(result.losses, explicit.losses)


def test_a_sweep_that_cannot_fit_says_so_before_it_starts(monkeypatch):
    calls = []
    run_chunk = _programs.run_chunk
    monkeypatch.setattr(_programs, "run_chunk", lambda *a: calls.append(1) or run_chunk(*a))
    loss_fn, sample_fn = _data_problem(4096)
    with pytest.raises(jos.MemoryBudgetError, match="cannot fit its 64.0 KB budget"):
        _auto(loss_fn, sample_fn, 4, memory_budget=64 * 1024)
    with pytest.raises(jos.MemoryBudgetError, match="Lower `max_batch` to"):
        jos.sweep(jos.sgd, {"learning_rate": np.geomspace(1e-3, 1e-1, 40)}, loss_fn,
                  PARAMS, 6, sample_fn=sample_fn, max_batch=40,
                  memory_budget="4MB", progress=False)
    assert not calls
    with pytest.raises(ValueError, match="`max_batch` must be a Python int >= 1, None"):
        jos.sweep(jos.sgd, {"learning_rate": [0.1]}, loss_fn, PARAMS, 6,
                  sample_fn=sample_fn, max_batch="most", progress=False)
