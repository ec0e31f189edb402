"""Executes the even-numbered notebooks (tests/test_notebooks.py runs the odd ones and says why)."""

from __future__ import annotations

import _notebooks as N
import pytest
from _notebooks import kernel_env  # noqa: F401  (the fixture)


@pytest.mark.parametrize("path", N.EVEN, ids=[p.stem for p in N.EVEN])
def test_notebook_runs(path, kernel_env, monkeypatch):  # noqa: F811
    N.run_notebook(path, kernel_env, monkeypatch)
