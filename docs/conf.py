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


_LAYERS = (  # (private subpackage, heading), from the ground floor up; CONTRIBUTING.md has the map
    ("_core", "The contract and tree maths"),
    ("_schedules", "Schedules"),
    ("_transforms", "Primitives"),
    ("_wrappers", "Wrappers"),
    ("_optimizers", "Optimizers"),
    ("_contrib", "Contributed optimizers"),
    ("_engine", "Experiments: run and sweep"),
)


def _section_title(module_name: str) -> str:
    """The first line of a module's docstring, e.g. "Adam-family optimizer aliases"."""
    doc = inspect.getdoc(importlib.import_module(module_name)) or module_name
    return doc.splitlines()[0].split(". ")[0].rstrip(".")


def _entry(name: str, namespace=jos) -> list[str]:
    obj = getattr(namespace, name)
    directive = "autoclass" if inspect.isclass(obj) else "autofunction"
    return [f".. {directive}:: {name}", ""]


def api_rst() -> str:
    """reStructuredText for every public name, grouped by layer, then by the module defining it.

    Built from ``jos.__all__`` at build time, so a newly exported name appears
    without editing the docs. The public submodules (``jos.transforms``, ...) hold
    the same objects as the top level, so their section lists names and links
    instead of documenting each object twice.
    """
    groups: dict[str, dict[str, list[str]]] = {}
    submodules = []
    type_aliases = []
    for name in jos.__all__:
        obj = getattr(jos, name)
        if inspect.ismodule(obj):
            submodules.append(name)
            continue
        if not getattr(obj, "__module__", "").startswith("jaxopt_scratch."):
            type_aliases.append(name)  # Params = Any, Schedule = Callable[...], ...
            continue
        layer = obj.__module__.split(".")[1]
        groups.setdefault(layer, {}).setdefault(obj.__module__, []).append(name)
    lines = ["API reference", "=============", "", ".. currentmodule:: jaxopt_scratch", "",
             "Every public name is ``jaxopt_scratch.<name>`` (``import jaxopt_scratch as jos``).",
             "The sections follow the package's layers, from the ground floor up.", ""]
    known = {layer for layer, _ in _LAYERS}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise RuntimeError(f"docs/conf.py: add the layer(s) {unknown} to _LAYERS.")
    for layer, heading in _LAYERS:
        if layer not in groups:
            continue
        lines += [heading, "-" * len(heading), ""]
        for module in sorted(groups[layer]):
            title = _section_title(module)
            lines += [title, "~" * len(title), ""]
            for name in groups[layer][module]:
                lines += _entry(name)
    if type_aliases:
        heading = "Type aliases"
        lines += [heading, "-" * len(heading), ""]
        for name in type_aliases:
            lines += [f".. py:data:: {name}", "", f"   Type alias for ``{getattr(jos, name)!r}``.", ""]
    heading = "Public submodules"
    lines += [heading, "-" * len(heading), ""]
    for name in submodules:
        module = getattr(jos, name)
        lines += [f"``jos.{name}``", "~" * (len(name) + 8), ""]
        if name == "problems":  # its own objects, documented only here
            lines += [f".. automodule:: jaxopt_scratch.{name}", "   :members:", ""]
            continue
        lines += [f".. automodule:: jaxopt_scratch.{name}", ""]
        names = ", ".join(f":obj:`~jaxopt_scratch.{n}`" if _same(jos, module, n) else
                          f":obj:`~jaxopt_scratch.{name}.{n}`" for n in module.__all__)
        lines += [f"Holds: {names}." if names else "Holds no names yet.", ""]
        own = [n for n in module.__all__ if not _same(jos, module, n)]
        if own:  # names only this submodule has (``jos.tree.add``): documented here
            lines += [f".. currentmodule:: jaxopt_scratch.{name}", ""]
            for n in own:
                lines += _entry(n, module)
            lines += [".. currentmodule:: jaxopt_scratch", ""]
    return "\n".join(lines)


def _same(package, module, name: str) -> bool:
    """Whether ``module.name`` is the top-level object of that name (documented once there)."""
    return getattr(package, name, None) is getattr(module, name)


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
