"""The API reference (``docs/``, Sphinx autodoc + napoleon) builds cleanly and is complete.

This file tests the documentation build, not one module: every docstring in the
package is rendered, with Sphinx warnings turned into errors, and every name in
``jaxopt_scratch.__all__`` must get an entry on the generated API page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jaxopt_scratch as jos

REPO = Path(__file__).resolve().parents[1]


def test_api_reference_builds_with_warnings_as_errors_and_lists_all_names(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(REPO / "docs"), str(tmp_path / "html")],
        cwd=REPO, capture_output=True, text=True,
        timeout=300,  # a hung build must fail, not stall the suite
    )
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stdout}\n{proc.stderr}"
    html = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    missing = [name for name in jos.__all__
               if f'id="jaxopt_scratch.{name}"' not in html
               and f'id="module-jaxopt_scratch.{name}"' not in html]
    assert not missing, f"names in jos.__all__ without an API entry: {missing}"
    assert "\\(" in html  # the math blocks of the docstrings were rendered as math
