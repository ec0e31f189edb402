"""The API reference (``docs/``, Sphinx autodoc + napoleon) builds cleanly and is complete.

This file tests the documentation build, not one module: every docstring in the
package is rendered, with Sphinx warnings turned into errors, and every name in
``jaxopt_scratch.__all__`` must get an entry on the generated API page.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import jaxopt_scratch as jos

REPO = Path(__file__).resolve().parents[1]


def test_api_reference_builds_with_warnings_as_errors_and_lists_all_names(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(REPO / "docs"), str(tmp_path / "html")],
        cwd=REPO, capture_output=True, text=True, check=False,
        timeout=300,  # a hung build must fail, not stall the suite
    )
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stdout}\n{proc.stderr}"
    html = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    missing = [name for name in jos.__all__
               if f'id="jaxopt_scratch.{name}"' not in html
               and f'id="module-jaxopt_scratch.{name}"' not in html]
    assert not missing, f"names in jos.__all__ without an API entry: {missing}"
    assert "\\(" in html  # the math blocks of the docstrings were rendered as math


def test_public_signatures_are_annotated_and_typed_marker_ships():
    # The reference shows these annotations, and type checkers read them through py.typed.
    unannotated = []
    for name in jos.__all__:
        obj = getattr(jos, name)
        if not inspect.isfunction(obj):
            continue  # classes (states, results) are annotated NamedTuples/dataclasses
        sig = inspect.signature(obj)
        missing = [p.name for p in sig.parameters.values() if p.annotation is p.empty]
        if sig.return_annotation is sig.empty:
            missing.append("return")
        if missing:
            unannotated.append(f"{name}: {missing}")
    assert not unannotated, "public functions missing annotations:\n" + "\n".join(unannotated)
    assert (REPO / "jaxopt_scratch" / "py.typed").is_file()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'jaxopt_scratch = ["py.typed"]' in pyproject  # package-data: it ships in the wheel


def test_readme_tuning_examples_run(tmp_path, monkeypatch):
    # The README's tuning section promises that its Python block runs as printed; run it, then
    # check the values its comments quote (to_csv writes into tmp_path).
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Tuning:", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(blocks[0], "README.md (tuning)", "exec"), ns)  # noqa: S102 (the README block)
    np = ns["np"]
    assert ns["grid"].metrics["distance"].shape == (6, 6)
    assert ns["grid"].best(metric="distance")["learning_rate"] == 0.01
    assert ns["grid"].best(metric="distance")["momentum"] == 0.9
    assert (tmp_path / "ravine.csv").read_text().count("\n") == 7  # header + 6 runs
    assert np.bincount(ns["halved"].stopped_at)[[10, 30, 60]].tolist() == [18, 6, 3]
    assert ns["halved"].steps_run == 540
    np.testing.assert_allclose(float(ns["again"].final_loss),
                               ns["pop"].final_losses[ns["best"]], rtol=1e-5)
    assert 1e-5 < ns["found"].suggestion < 1.0
