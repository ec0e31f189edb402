"""Runs the notebooks of notebooks/ for tests/test_notebooks*.py (a shared helper).

Each notebook runs top to bottom in a fresh IPython kernel with ``notebooks/`` as its working
directory, the same way ``notebooks/execute_all.py`` produces the committed outputs. The kernel
is started from a kernel spec written for *this* interpreter (``sys.executable``), so the tests
do not depend on a ``python3`` spec being installed on the machine, nor on which Python an
installed spec would launch.

The notebooks are split over two test files, :data:`ODD` and :data:`EVEN` by number, so that
pytest-xdist's ``--dist loadfile`` can run the two halves (about equal times) on two workers.
"""

from __future__ import annotations

import os
import pathlib
import sys

import nbclient
import nbformat
import pytest
from ipykernel import kernelspec  # the test extra installs ipykernel and nbclient (via nbmake)

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
ODD = [p for p in NOTEBOOKS if int(p.name[:2]) % 2 == 1]  # tests/test_notebooks.py
EVEN = [p for p in NOTEBOOKS if int(p.name[:2]) % 2 == 0]  # tests/test_notebooks_even.py
KERNEL_NAME = "jaxopt-scratch-test"
TIMEOUT_S = 300  # per cell; a healthy notebook takes well under a minute in total


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment whose JUPYTER_PATH holds a kernel spec launching this interpreter."""
    data_dir = tmp_path_factory.mktemp("jupyter")
    kernelspec.write_kernel_spec(
        path=str(data_dir / "kernels" / KERNEL_NAME),
        overrides={"display_name": "jaxopt_scratch tests", "argv": kernelspec.make_ipkernel_cmd(
            executable=sys.executable)},
    )
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data_dir), env.get("JUPYTER_PATH")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def run_notebook(path: pathlib.Path, kernel_env: dict, monkeypatch) -> None:
    """Executes ``path`` in a fresh kernel; fails naming the cell whose code (or assert) fails."""
    # The spec lookup happens in this process, so JUPYTER_PATH must be set here too.
    monkeypatch.setenv("JUPYTER_PATH", kernel_env["JUPYTER_PATH"])
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        record_timing=False,
    )
    client.execute(env=kernel_env)  # raises CellExecutionError naming the failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
