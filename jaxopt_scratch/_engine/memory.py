r"""How much memory a sweep needs, and how many runs fit in one compiled call.

``max_batch="auto"`` asks XLA: the programs a group of runs calls (the chunk
program, and the final-loss program, which may evaluate the whole data set) are
compiled (not run) for groups of :math:`u` and :math:`2u` runs (:math:`u` the
device count), and ``compiled.memory_analysis()`` gives the bytes of their
arguments, outputs and temporaries; :math:`M(G)` is the largest program's. Memory is linear in the group size
:math:`G`, so one run costs :math:`m = (M(2u) - M(u))/u` and a call
:math:`M(G) = M(u) + m (G - u)`. Besides the call in flight, a sweep keeps every
run's params and optimizer state between chunks (:math:`c` bytes each) and its
records on the host (:math:`h` bytes each: losses, metrics, final params), so
for :math:`R` runs

.. math::

    \text{peak} \approx M(G) + (c + h) R.

The largest :math:`G` (a multiple of the device count) with a peak within the
budget is chosen; the default budget is half the memory available now (the
``MemAvailable`` of ``/proc/meminfo``, or psutil, for CPU devices; the
accelerator's free memory otherwise). A sweep that cannot fit even one run per
device raises :class:`MemoryBudgetError` before anything runs.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._engine import programs as _programs

BUDGET_FRACTION = 0.5  # of the memory available when the sweep starts


class MemoryBudgetError(ValueError):
    """A sweep needs more memory than its budget; the message says what to change."""


class MemoryEstimate(NamedTuple):
    """What :func:`sweep` expects to need (``SweepResult.memory`` with ``max_batch="auto"``)."""

    call_fixed: int  # bytes of a compiled call whatever its group size (data, shared params)
    per_run: int  # bytes one more run adds to a compiled call
    kept_per_run: int  # bytes kept for every run between chunks (carry) and on the host
    num_runs: int
    group: int  # runs per compiled call
    budget: int

    @property
    def peak(self) -> int:
        """The expected peak, in bytes."""
        return self.call_fixed + self.per_run * self.group + self.kept_per_run * self.num_runs

    def describe(self) -> str:
        return (f"memory: about {_size(self.per_run)} per run in a call and "
                f"{_size(self.kept_per_run)} kept per run; groups of {self.group} runs; "
                f"peak about {_size(self.peak)} of a {_size(self.budget)} budget")


def _size(num_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(num_bytes) < 1024 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    raise AssertionError("unreachable")


def parse_size(text: str | int) -> int:
    """``"4GB"``, ``"512 MB"``, ``"2e9"`` or an int, in bytes."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    units = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
    s = str(text).strip().upper().replace(" ", "")
    number = s.rstrip("KMGTB")
    try:
        value = float(number) * units[s[len(number):]]
    except (ValueError, KeyError):
        raise ValueError(f"`memory_budget` must be a number of bytes or a size such as '4GB', "
                         f"got {text!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`memory_budget` must be positive, got {text!r}.")
    return int(value)


def available_bytes(devices: Sequence[jax.Device]) -> int:
    """Memory free now: the host's for CPU devices, else the least free on one device."""
    if devices and devices[0].platform != "cpu":
        free = []
        for d in devices:
            stats = d.memory_stats() or {}
            if "bytes_limit" in stats:
                free.append(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
        if free:
            return min(free) * len(devices)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        raise MemoryBudgetError(
            "`max_batch`='auto' could not read the free memory (no /proc/meminfo and no "
            "psutil): give `memory_budget` in bytes, or an int `max_batch`.") from None
    return int(psutil.virtual_memory().available)


def call_bytes(compiled: Sequence[Any]) -> int:
    """Arguments, outputs and temporaries of the largest of these compiled programs."""
    def one(c):
        stats = c.memory_analysis()
        return int(stats.argument_size_in_bytes + stats.output_size_in_bytes
                   + stats.temp_size_in_bytes - stats.alias_size_in_bytes)

    return max(one(c) for c in compiled)


def tree_bytes(tree: Any) -> int:
    """Bytes of every array leaf (abstract or concrete) of ``tree``."""
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize if not
               jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else 8 * math.prod(x.shape)
               for x in jax.tree.leaves(tree))


def estimate(compile_group: Callable[[int], Any], unit: int, num_runs: int, kept_per_run: int,
             budget: int, max_group: int | None = None) -> MemoryEstimate:
    """Measures one run's memory from two compilations and picks the group size.

    Args:
        compile_group: ``compile_group(size)`` compiles (without running) the
            programs a group of ``size`` runs calls.
        unit: The device count (groups are multiples of it).
        num_runs: Runs in the sweep.
        kept_per_run: Bytes kept for every run all along (carry and host records).
        budget: Bytes the sweep may use.
        max_group: A group size asked for (checked, not chosen), or ``None``.

    Raises:
        MemoryBudgetError: If even ``unit`` runs per call (or ``max_group``) exceed the budget.
    """
    small, large = call_bytes(compile_group(unit)), call_bytes(compile_group(2 * unit))
    per_run = max(math.ceil((large - small) / unit), 0)
    fixed = max(small - per_run * unit, 0)
    cap = math.ceil(num_runs / unit) * unit
    room = budget - fixed - kept_per_run * num_runs
    fits = min(cap, (room // per_run) // unit * unit if per_run else cap)
    if max_group is not None:
        group = math.ceil(min(max_group, num_runs) / unit) * unit
        out = MemoryEstimate(fixed, per_run, kept_per_run, num_runs, group, budget)
        if out.peak > budget:
            raise MemoryBudgetError(
                f"This sweep needs about {_size(out.peak)} with `max_batch`={max_group} "
                f"({_size(per_run)} per run in a call), more than its {_size(budget)} budget. "
                + (f"Lower `max_batch` to {fits} or less (or 'auto')." if fits >= unit else
                   _too_many(out)))
        return out
    out = MemoryEstimate(fixed, per_run, kept_per_run, num_runs, max(fits, unit), budget)
    if fits < unit:
        raise MemoryBudgetError(
            f"This sweep cannot fit its {_size(budget)} budget even with {unit} run(s) per "
            f"call: it needs about {_size(out.peak)}. " + _too_many(out))
    return out


def _too_many(out: MemoryEstimate) -> str:
    kept = out.kept_per_run * out.num_runs
    if kept > out.budget / 2:
        return (f"Its {out.num_runs} runs keep {_size(kept)} between chunks: sweep fewer "
                f"configurations or seeds, or fewer steps (the losses are kept per step).")
    return (f"One call alone needs {_size(out.call_fixed + out.per_run)}: use a smaller "
            f"model or batch, or a larger `memory_budget`.")


def fit_sweep(task: _programs.Task, num_runs: int, max_batch: int | None, budget: Any,
              devices: Sequence[jax.Device], verbose: bool) -> MemoryEstimate:
    """:func:`estimate` for a sweep's programs; prints the estimate to stderr if ``verbose``."""
    spec, plan = task.spec, task.plan
    shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype),
                          (task.shared, task.batches, task.eval_batch))

    def abstract(size):  # hyperparameters, seeds and carry of `size` runs
        hp = {n: jax.ShapeDtypeStruct((size,), jnp.asarray(v[:1]).dtype)
              for n, v in task.run_hp.items()}
        seeds = jax.ShapeDtypeStruct((size,), jnp.int32)
        carry = jax.eval_shape(lambda h, s: _programs.init_program(spec, h, s, shapes[0]), hp,
                               seeds)
        return hp, seeds, carry

    def compile_group(size):  # the chunk program and the final loss's (maybe the whole data)
        hp, seeds, carry = abstract(size)
        seed = jax.ShapeDtypeStruct((), jnp.int32) if task.one_seed else seeds
        return (task.chunk().lower(spec, plan.block, plan.blocks, plan.stop, hp, seed,
                                   *carry, np.int32(0), *shapes[1:]).compile(),
                _programs.final_program.lower(spec, np.int32(0), *carry, seeds,
                                              *shapes[1:]).compile())

    # Kept for every run: its carry on device, its params on the host, and per step its
    # float32 loss and diagnostics plus three bytes of the masks the result is checked with.
    carry = abstract(1)[2]
    kept = tree_bytes(carry) + tree_bytes(carry[:2]) + spec.num_steps * (
        4 * (1 + len(spec.diagnostics)) + 3)
    budget = (int(BUDGET_FRACTION * available_bytes(devices)) if budget is None
              else parse_size(budget))
    out = estimate(compile_group, len(devices), num_runs, kept, budget, max_batch)
    if verbose:
        print(out.describe(), file=sys.stderr, flush=True)
    return out
