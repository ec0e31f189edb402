"""Shared benchmark plumbing: the machine description and interleaved timing.

Every comparison in ``benchmarks/`` runs its contenders in one process, one
sample of each in turn (the order rotated every repetition), so that a burst of
load from another process on this shared machine hits every contender alike.
Ratios are medians of the per-repetition ratios (paired samples).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(REPO))


def log(*args) -> None:
    """Progress on stderr (stdout stays clean)."""
    print(*args, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def versions() -> dict[str, str]:
    import jax
    import jaxlib
    import numpy as np

    import jaxopt_scratch as jos

    out = {"python": platform.python_version(), "jax": jax.__version__,
           "jaxlib": jaxlib.__version__, "numpy": np.__version__,
           "jaxopt_scratch": jos.__version__}
    try:
        import optax
        out["optax"] = optax.__version__
    except ImportError:
        out["optax"] = "not installed"
    try:
        import torch
        out["torch"] = torch.__version__
    except ImportError:
        out["torch"] = "not installed"
    return out


def git_commit() -> str:
    head = REPO / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (REPO / ".git" / ref[5:]).read_text().strip()[:10]
        return ref[:10]
    except OSError:
        return "unknown"


def machine() -> dict[str, str]:
    import jax

    mem = memory_gib()
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "nproc": str(os.cpu_count()),
        "memory": f"{mem:.1f} GiB" if mem else "unknown",
        "platform": platform.platform(),
        "jax devices": ", ".join(str(d) for d in jax.devices()),
        "git commit": git_commit(),
    }


@dataclasses.dataclass
class Samples:
    """Seconds per unit of work for one contender, one entry per repetition."""

    name: str
    times: list[float] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def max(self) -> float:
        return max(self.times) if self.times else float("nan")


def paired_ratio(a: Samples, b: Samples) -> float:
    """Median over repetitions of ``a[i] / b[i]`` (samples taken side by side)."""
    pairs = [x / y for x, y in zip(a.times, b.times) if y > 0]
    return statistics.median(pairs) if pairs else float("nan")


def interleave(contenders: dict[str, Callable[[], float]], reps: int,
               budget_s: float | None = None) -> dict[str, Samples]:
    """Runs ``reps`` rounds; each round calls every contender once, order rotated.

    Each contender returns the seconds for one unit of work (it does its own
    blocking). ``budget_s`` stops early (after at least 3 rounds) when the
    rounds take longer than expected, so a loaded machine cannot blow the
    time limit of the whole run.
    """
    names = list(contenders)
    out = {n: Samples(n) for n in names}
    start = time.perf_counter()
    for r in range(reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            out[n].times.append(contenders[n]())
        if budget_s is not None and r >= 2 and time.perf_counter() - start > budget_s:
            break
    return out


def fmt_time(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
