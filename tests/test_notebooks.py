"""Executes every notebook in notebooks/: a notebook whose cells (asserts included) fail, fails CI.

This file runs the odd-numbered notebooks, tests/test_notebooks_even.py the even-numbered
ones (two files, so that ``--dist loadfile`` spreads them over two workers); the kernel and
how a notebook runs are in tests/_notebooks.py.
"""

from __future__ import annotations

import _notebooks as N
import pytest
from _notebooks import kernel_env  # noqa: F401  (the fixture)

EXPECTED = [
    "01_gradient_descent", "02_momentum", "03_adagrad_rmsprop", "04_adam", "05_optimizer_race",
    "06_xor", "07_adamw_and_weight_decay", "08_schedules_and_clipping", "09_sweeps_with_vmap",
    "10_composing_transforms", "11_new_families", "12_todays_optimizers", "13_tuning",
    "14_full_batch_lbfgs",
]


def test_the_notebooks_exist():
    # Guards the parametrization below: a missing or renamed notebook would otherwise pass silently.
    assert [p.stem for p in N.NOTEBOOKS] == EXPECTED
    # The two files' halves run every notebook exactly once.
    assert sorted(N.ODD + N.EVEN) == N.NOTEBOOKS and not set(N.ODD) & set(N.EVEN)


@pytest.mark.parametrize("path", N.ODD, ids=[p.stem for p in N.ODD])
def test_notebook_runs(path, kernel_env, monkeypatch):  # noqa: F811
    N.run_notebook(path, kernel_env, monkeypatch)
