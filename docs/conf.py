"""Sphinx configuration: the API reference is generated from ``jaxopt_scratch.__all__``.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``tests/test_docs.py``
runs the same build, warnings as errors).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jaxopt_scratch as jos

project = "jaxopt_scratch"
author = "jaxopt_scratch developers"
release = jos.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
# Show type aliases by name instead of expanding them into long unions.
autodoc_type_aliases = {
    "jax.typing.ArrayLike": "ArrayLike",
    "ArrayLike": "ArrayLike",
    "_base.ScalarOrSchedule": "ScalarOrSchedule",
    "ScalarOrSchedule": "ScalarOrSchedule",
    "_base.Schedule": "Schedule",
    "Schedule": "Schedule",
    "_base.Params": "Params",
    "_base.Updates": "Updates",
    "_base.OptState": "OptState",
    "_combine.MaskOrFn": "MaskOrFn",
    "MaskOrFn": "MaskOrFn",
}
exclude_patterns = ["_build"]
html_theme = "alabaster"


def _section_title(module_name: str) -> str:
    """The first line of a module's docstring, e.g. "Adam-family optimizer aliases"."""
    doc = inspect.getdoc(importlib.import_module(module_name)) or module_name
    return doc.splitlines()[0].split(". ")[0].rstrip(".")


def api_rst() -> str:
    """reStructuredText for every public name, grouped by the private module defining it.

    Built from ``jos.__all__`` at build time, so a newly exported name appears
    without editing the docs.
    """
    groups: dict[str, list[str]] = {}
    for name in jos.__all__:
        obj = getattr(jos, name)
        module = obj.__name__ if inspect.ismodule(obj) else obj.__module__
        groups.setdefault(module, []).append(name)
    lines = ["API reference", "=============", "", ".. currentmodule:: jaxopt_scratch", "",
             "Every public name is ``jaxopt_scratch.<name>`` (``import jaxopt_scratch as jos``).",
             ""]
    for module in sorted(groups):
        title = _section_title(module)
        lines += [title, "-" * len(title), ""]
        for name in groups[module]:
            obj = getattr(jos, name)
            if inspect.ismodule(obj):
                lines += [f".. automodule:: jaxopt_scratch.{name}", "   :members:", ""]
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: {name}", ""]
            else:
                lines += [f".. autofunction:: {name}", ""]
    return "\n".join(lines)


_PRIVATE_PREFIX = re.compile(r"\b_[a-z]\w*\.")  # "_base.Schedule" -> "Schedule"


def _tidy_signature(app, what, name, obj, options, signature, return_annotation):
    """Drops private module prefixes and spells ``jax.typing.ArrayLike`` as ``ArrayLike``."""

    def tidy(text):
        if text is None:
            return None
        return _PRIVATE_PREFIX.sub("", text).replace("jax.typing.ArrayLike", "ArrayLike")

    return tidy(signature), tidy(return_annotation)


def _fill_api_page(app, docname, source):
    if docname == "api":
        source[0] = api_rst()


def setup(app):
    app.connect("source-read", _fill_api_page)
    app.connect("autodoc-process-signature", _tidy_signature)
