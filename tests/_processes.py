"""Subprocess helpers shared by the multi-device and multi-process tests.

Each test file doubles as its own worker script (``python tests/test_x.py worker ...``); these
helpers start those workers with the repository on ``PYTHONPATH`` and collect the one
``RESULT {json}`` line each prints.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 150  # a hung subprocess must fail the test, not stall the suite


def env(**extra: str) -> dict:
    """This process's environment on CPU, with the repository first on ``PYTHONPATH``."""
    out = dict(os.environ, JAX_PLATFORMS="cpu", **extra)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), out.get("PYTHONPATH")]))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_workers(script: str, *args: str) -> list[dict[str, Any]]:
    """Runs ``script worker I PORT *args`` for I in 0, 1 (one CPU device each, one coordinator
    port) and returns each worker's ``RESULT`` object, failing with its output if it failed."""
    port = free_port()
    worker_env = env()
    worker_env.pop("XLA_FLAGS", None)  # one device per process
    procs = [subprocess.Popen([sys.executable, script, "worker", str(i), str(port), *args],
                              env=worker_env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
            assert proc.returncode == 0, f"worker failed:\n{stdout}\n{stderr}"
            (line,) = [s for s in stdout.splitlines() if s.startswith("RESULT ")]
            outs.append(json.loads(line[len("RESULT "):]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outs
