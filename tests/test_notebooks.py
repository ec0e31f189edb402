"""Executes every notebook in notebooks/: a notebook whose cells (asserts included) fail, fails CI.

Each notebook runs top to bottom in a fresh IPython kernel with ``notebooks/`` as its working
directory, the same way ``notebooks/execute_all.py`` produces the committed outputs. The kernel
is started from a kernel spec written for *this* interpreter (``sys.executable``), so the test
does not depend on a ``python3`` spec being installed on the machine, nor on which Python an
installed spec would launch.
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
KERNEL_NAME = "jaxopt-scratch-test"
TIMEOUT_S = 300  # per cell; a healthy notebook takes well under a minute in total


EXPECTED = [
    "01_gradient_descent", "02_momentum", "03_adagrad_rmsprop", "04_adam", "05_optimizer_race",
    "06_xor", "07_adamw_and_weight_decay", "08_schedules_and_clipping", "09_sweeps_with_vmap",
    "10_composing_transforms", "11_new_families", "12_todays_optimizers", "13_tuning",
    "14_full_batch_lbfgs",
]


def test_the_notebooks_exist():
    # Guards the parametrization below: a missing or renamed notebook would otherwise pass silently.
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env, monkeypatch):
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
