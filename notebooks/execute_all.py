"""Executes the notebooks in place so the committed copies carry their outputs (plots included).

Usage (from the repository root)::

    python notebooks/execute_all.py                 # all notebooks
    python notebooks/execute_all.py 03 07           # only those whose name starts with 03 or 07

Each notebook runs in a fresh kernel with ``notebooks/`` as its working directory, exactly as
``tests/_notebooks.py`` runs them; the wall time of each is printed. Execution timestamps
are not recorded, so re-running an unchanged notebook gives an unchanged file.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

import nbclient
import nbformat

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def execute(path: pathlib.Path, kernel_name: str = "python3", timeout: int = 300):
    """Runs one notebook; returns the executed notebook and its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures become outputs
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


def main(prefixes: list[str]) -> None:
    notebooks = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        notebooks = [p for p in notebooks if any(p.name.startswith(x) for x in prefixes)]
    for path in notebooks:
        nb, seconds = execute(path)
        nbformat.write(nb, path)
        size_kb = path.stat().st_size / 1024
        print(f"{path.name:40s} {seconds:6.1f} s  {size_kb:6.0f} KB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
