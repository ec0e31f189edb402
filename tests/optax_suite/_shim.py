"""Runs ONE optax test file under pytest, with ``optax`` served by ``jaxopt_scratch`` (or not).

Started by ``run_optax_tests.py`` in a fresh interpreter (never imported by the suite's own
tests; importing this module has no side effects)::

    python tests/optax_suite/_shim.py {jos|optax} <test file> <result json>

In ``jos`` mode a meta-path finder answers every ``import optax...``: the test files themselves,
optax's ``test_utils`` and the few test helpers in :data:`TEST_HELPERS` are loaded from optax's
sources, every other optax module is a
:class:`ShimModule` whose attributes are the ``jaxopt_scratch`` objects of the same name
(``tree_<name>`` of ``optax.tree_utils`` is ``jos.tree.<name>``). A name with no counterpart
is a :func:`missing` stand-in that raises :class:`MissingName` when it is used, so a test that
needs it is reported as *cannot run* (with the name) rather than as a failure. In ``optax``
mode nothing is replaced: that is the baseline.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import pathlib
import sys
import tempfile
import types

import pytest


class MissingName(AttributeError):
    """A test used an optax name that jaxopt_scratch does not have."""

    def __init__(self, qualname: str):
        super().__init__(f"jaxopt_scratch has no counterpart for `{qualname}`")
        self.qualname = qualname


class _MissingMeta(type):
    """Any use of a stand-in (call, attribute, isinstance, subscript) raises MissingName."""

    def __call__(cls, *args, **kwargs):
        raise MissingName(cls._qualname)

    def __getattr__(cls, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise MissingName(cls._qualname)

    def __instancecheck__(cls, obj):
        raise MissingName(cls._qualname)

    def __subclasscheck__(cls, sub):
        raise MissingName(cls._qualname)

    def __getitem__(cls, item):
        raise MissingName(cls._qualname)


def missing(qualname: str) -> type:
    """A stand-in for an optax name that jaxopt_scratch lacks."""
    return _MissingMeta(qualname.rsplit(".", 1)[-1], (), {"_qualname": qualname})


def _real_root() -> pathlib.Path:
    spec = importlib.util.find_spec("optax")  # locates the installed package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("optax is not installed: `pip install optax==0.2.8` (a test dependency).")
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def _source(root: pathlib.Path, fullname: str) -> pathlib.Path | None:
    parts = fullname.split(".")[1:]
    if not parts:
        return root / "__init__.py"
    rel = pathlib.Path(*parts)
    for candidate in (root / rel / "__init__.py", root / rel.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_real_code(fullname: str) -> bool:
    """Test files and optax's test helper run as optax wrote them."""
    last = fullname.rsplit(".", 1)[-1]
    return last.endswith("_test") or last == "test_utils"


# Helpers optax's test files use to set up or check a test, not the optimizers under test;
# they are taken from optax's sources (``--strict`` in the runner turns this off).
TEST_HELPERS = {"optax._src.utils": ("x64_precision",), "optax._src.numerics": ("abs_sq",)}
if os.environ.get("JOS_OPTAX_SUITE_STRICT"):
    TEST_HELPERS = {}


def _real_module(root: pathlib.Path, fullname: str) -> types.ModuleType:
    """optax's own module ``fullname``, loaded from source (its imports still see the shims)."""
    key = f"_optax_source_.{fullname}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, _source(root, fullname))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_PROBED = ("__", "pytest_", "setup", "teardown", "setUp", "tearDown", "load_tests")


class ShimModule(types.ModuleType):
    """An optax module whose attributes are jaxopt_scratch's objects."""

    def __init__(self, name: str, root: pathlib.Path, log: list):
        super().__init__(name)
        self.__path__ = []  # a package, so that ``import optax.x.y`` reaches the finder
        self._root, self._log = root, log

    def __getattr__(self, name: str):
        if name.startswith(_PROBED):  # hooks tools look for on any module: not optax names
            raise AttributeError(name)
        full = f"{self.__name__}.{name}"
        if _source(self._root, full) is not None:  # a submodule of optax
            return importlib.import_module(full)
        value = _resolve(self.__name__, name)
        if value is None and name in TEST_HELPERS.get(self.__name__, ()):
            value = getattr(_real_module(self._root, self.__name__), name)
        if value is None:
            self._log.append(full)
            value = missing(full)
        setattr(self, name, value)
        return value


def _resolve(module: str, name: str):
    import jaxopt_scratch as jos

    if module.startswith(("optax.tree_utils", "optax.tree")):
        spaces = [jos.tree, jos]
        names = [name[len("tree_"):], name] if name.startswith("tree_") else [name]
    elif module.startswith("optax.contrib"):
        spaces, names = [jos.contrib], [name]
    elif module.startswith("optax.microbatching"):
        spaces, names = [jos.microbatching], [name]
    elif module.startswith(("optax.losses", "optax.projections", "optax.assignment",
                            "optax.perturbations", "optax.second_order", "optax.experimental")):
        return None  # out of scope: jaxopt_scratch has no such subpackage
    else:
        spaces, names = [jos, jos.transforms, jos.schedules], [name]
    for space in spaces:
        for candidate in names:
            if not candidate.startswith("_") and hasattr(space, candidate):
                return getattr(space, candidate)
    return None


class ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``optax`` and its submodules (test code from source, the rest as shims)."""

    def __init__(self, root: pathlib.Path, log: list):
        self._root, self._log = root, log

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "optax" and not fullname.startswith("optax."):
            return None
        source = _source(self._root, fullname)
        if source is not None and _is_real_code(fullname):
            return importlib.util.spec_from_file_location(fullname, source)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        return ShimModule(spec.name, self._root, self._log)

    def exec_module(self, module):
        pass


def _missing_in(excinfo) -> str | None:
    """The name a test lacked, if a MissingName is anywhere in the exception's chain."""
    err, seen = excinfo.value if excinfo is not None else None, set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, MissingName):
            return err.qualname
        err = err.__cause__ or err.__context__
    return None


class _Recorder:
    """A pytest plugin keeping one outcome per test: passed, failed, skipped or missing.

    With ``out`` the results so far are rewritten after every test, so a run stopped by the
    runner's timeout still reports the tests that finished. With ``shard`` ``(i, n)`` only
    every n-th collected test (from the i-th) runs, so one slow file can use n processes.
    """

    def __init__(self, out: pathlib.Path | None = None, shard: tuple[int, int] = (0, 1)):
        self.results: dict[str, dict] = {}
        self._out, self._shard = out, shard

    def pytest_collection_modifyitems(self, config, items):
        index, count = self._shard
        if count > 1:
            keep = [item for i, item in enumerate(items) if i % count == index]
            config.hook.pytest_deselected(items=[x for x in items if x not in keep])
            items[:] = keep

    def pytest_runtest_logfinish(self, nodeid, location):
        if self._out is not None:
            self.dump({"exit_code": None})

    def dump(self, extra: dict) -> None:
        tmp = self._out.with_suffix(".partial")
        tmp.write_text(json.dumps({**extra, "results": self.results}))
        tmp.replace(self._out)

    def _store(self, nodeid, outcome, detail=""):
        old = self.results.get(nodeid)
        if old is None or old["outcome"] in ("passed",):  # a teardown error overrides a pass
            self.results[nodeid] = {"outcome": outcome, "detail": detail[:300]}

    def pytest_collectreport(self, report):
        if report.failed:
            self._store(f"{report.nodeid}::<collection>", "failed", str(report.longrepr)[-300:])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or report.failed or report.skipped:
            if report.passed:
                self._store(item.nodeid, "passed")
            elif report.skipped:
                reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
                self._store(item.nodeid, "skipped", str(reason))
            else:
                name = _missing_in(call.excinfo)
                if name is not None:
                    self._store(item.nodeid, "missing", name)
                else:
                    text = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
                    lines = text.strip().splitlines()
                    self._store(item.nodeid, "failed", " ".join(lines[:3]) if lines else "")


def main(argv: list[str]) -> int:
    mode, test_file, out = argv
    log: list[str] = []
    if mode == "jos":
        sys.meta_path.insert(0, ShimFinder(_real_root(), log))
    elif mode != "optax":
        raise SystemExit(f"mode must be 'jos' or 'optax', got {mode!r}")
    index, count = (int(x) for x in os.environ.get("JOS_OPTAX_SUITE_SHARD", "0/1").split("/"))
    recorder = _Recorder(pathlib.Path(out).resolve(), (index, count))
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # no conftest or ini of this repository applies: optax's tests as a user runs them
        code = pytest.main(["-q", "-c", os.devnull, "--rootdir", tmp, "-p", "no:cacheprovider",
                            "-W", "ignore::DeprecationWarning", test_file], plugins=[recorder])
    recorder.dump({"exit_code": int(code), "missing_lookups": sorted(set(log))})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
