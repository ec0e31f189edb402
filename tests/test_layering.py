"""The house rules, read from the source: layers import downwards only, no private names across
layers, no import cycles, and optional or peer libraries only where they belong.

The checker reads every module's imports with :mod:`ast` (nothing is imported), so a violation
fails here before it can hide behind an import order. ``test_checker_catches_*`` run the same
checker on a small synthetic package, so the rules themselves cannot silently stop working.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxopt_scratch"

# Floors from the ground up. A module may import its own floor and the floors below it.
# The public facade (``__init__``, ``transforms``, ``schedules``, ``tree``, ``contrib``,
# ``problems``) re-exports the layers; the command line sits above it and may use it as a user
# would; ``__main__`` is the roof.
RANKS = {
    "_core": 0,
    "_schedules": 1,
    "_transforms": 2,
    "_wrappers": 3,
    "_optimizers": 4,
    "_contrib": 5,
    "_engine": 6,
    "": 7,  # the public facade: the package root and its public submodules
    "_cli": 8,
    "__main__": 9,
}
LIBRARY_TOP = RANKS["_contrib"]  # floors at or below this are "the library"
# Optional extras: never in the library floors; in the engine and CLI only inside functions.
EXTRAS = {"matplotlib", "tqdm", "pandas", "orbax", "sklearn"}
# Peer libraries are test oracles and interop partners, never imported by the package.
PEERS = {"optax", "torch", "flax", "equinox", "jaxopt", "scipy", "optuna", "pytorch_optimizer"}


def layer_of(parts: tuple[str, ...]) -> str:
    """The floor of a module given its dotted path below the package (``("_core", "base")``)."""
    head = parts[0] if parts else ""
    if head in RANKS and head:
        return head
    return ""  # __init__ and the public submodules


def module_parts(path: pathlib.Path, root: pathlib.Path) -> tuple[str, ...]:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts
    return parts[:-1] if parts[-1] == "__init__" else parts


class Import:
    def __init__(self, target: tuple[str, ...], names: tuple[str, ...], lineno: int,
                 top_level: bool, external: str | None = None):
        self.target, self.names, self.lineno = target, names, lineno
        self.top_level, self.external = top_level, external


def read_imports(path: pathlib.Path, package: str) -> tuple[list[Import], list[tuple[str, str, int]]]:
    """The imports of one file, and the attribute reads ``alias._private`` on imported modules."""
    tree = ast.parse(path.read_text(), filename=str(path))
    function_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            function_nodes.update(id(n) for n in ast.walk(node) if n is not node)
    imports, aliases = [], {}
    for node in ast.walk(tree):
        top = id(node) not in function_nodes
        if isinstance(node, ast.Import):
            for a in node.names:
                first = a.name.split(".")[0]
                if first == package:
                    target = tuple(a.name.split(".")[1:])
                    imports.append(Import(target, (), node.lineno, top))
                    aliases[a.asname or a.name] = target
                else:
                    imports.append(Import((), (), node.lineno, top, external=first))
        elif isinstance(node, ast.ImportFrom) and node.module:
            first = node.module.split(".")[0]
            if node.level == 0 and first == package:
                base = tuple(node.module.split(".")[1:])
                names = tuple(a.name for a in node.names)
                imports.append(Import(base, names, node.lineno, top))
                for a in node.names:
                    aliases[a.asname or a.name] = base + (a.name,)
            elif node.level == 0:
                imports.append(Import((), (), node.lineno, top, external=first))
    private_reads = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            private_reads.append((node.value.id, node.attr, node.lineno))
    return imports, [(aliases[a], attr, line) for a, attr, line in private_reads]


def check_package(root: pathlib.Path) -> list[str]:
    """Every broken house rule in the package at ``root``, one sentence each."""
    package = root.name
    problems = []
    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    files = sorted(root.rglob("*.py"))
    known = {module_parts(f, root) for f in files}
    for path in files:
        here = module_parts(path, root)
        here_layer = layer_of(here)
        if here == ("__main__",):
            here_layer = "__main__"
        rank = RANKS[here_layer]
        where = path.relative_to(root.parent)
        imports, private_reads = read_imports(path, package)
        for imp in imports:
            if imp.external:
                if imp.external in PEERS:
                    problems.append(f"{where}:{imp.lineno} imports the peer library "
                                    f"`{imp.external}`; peers belong in tests and benchmarks.")
                elif imp.external in EXTRAS and (rank <= LIBRARY_TOP or imp.top_level):
                    problems.append(f"{where}:{imp.lineno} imports the optional extra "
                                    f"`{imp.external}` " + ("in a library layer" if rank <= LIBRARY_TOP
                                                            else "at module level") + "; import it "
                                    "lazily inside the engine or CLI function that needs it.")
                continue
            targets = [imp.target + (n,) for n in imp.names if imp.target + (n,) in known]
            if not targets:
                targets = [imp.target]
            for target in targets:
                there_layer = layer_of(target)
                if RANKS[there_layer] > rank:
                    problems.append(
                        f"{where}:{imp.lineno} ({here_layer or 'public'}) imports "
                        f"{'.'.join((package,) + target)} ({there_layer or 'public'}), a floor "
                        f"above it; move the shared piece down to the lower layer instead.")
                if imp.top_level and target in known and target != here:
                    graph.setdefault(here, set()).add(target)
            if imp.names and imp.target in known and layer_of(imp.target) != here_layer:
                for name in imp.names:
                    if name.startswith("_"):
                        problems.append(
                            f"{where}:{imp.lineno} takes the private name `{name}` from "
                            f"{'.'.join((package,) + imp.target)}, another layer; make it public "
                            f"in the layer that owns it.")
        for target, attr, line in private_reads:
            if target in known and layer_of(target) != here_layer:
                problems.append(f"{where}:{line} reads the private name `{attr}` of "
                                f"{'.'.join((package,) + target)}, another layer; make it "
                                f"public in the layer that owns it.")
    problems += [f"import cycle: {' -> '.join('.'.join(m) for m in c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component) + [sorted(component)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_keeps_the_house_rules():
    problems = check_package(PACKAGE)
    assert not problems, "\n".join(problems)


def test_every_subpackage_is_a_known_floor():
    floors = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name.startswith("_")
              and p.name != "__pycache__"}
    assert floors <= set(RANKS), f"add {sorted(floors - set(RANKS))} to RANKS in this file"


def _write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    pkg = root / "pkg"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in [pkg, *[p for p in pkg.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    return pkg


@pytest.mark.parametrize("files, expected", [
    ({"_core/base.py": "from pkg._engine import sweep\n", "_engine/sweep.py": ""},
     "a floor above it"),
    ({"_core/base.py": "import pkg._engine.sweep as s\n", "_engine/sweep.py": ""},
     "a floor above it"),
    ({"_transforms/a.py": "from pkg._core.base import _secret\n", "_core/base.py": ""},
     "private name `_secret`"),
    ({"_transforms/a.py": "from pkg._core import base\nx = base._secret\n", "_core/base.py": ""},
     "private name `_secret`"),
    ({"_optimizers/a.py": "import matplotlib\n"}, "optional extra `matplotlib` in a library"),
    ({"_engine/a.py": "import tqdm\n"}, "at module level"),
    ({"_core/a.py": "import optax\n"}, "peer library `optax`"),
    ({"_engine/a.py": "from pkg._engine import b\n", "_engine/b.py": "from pkg._engine import a\n"},
     "import cycle"),
])
def test_checker_catches_a_broken_rule(tmp_path, files, expected):
    problems = check_package(_write(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_checker_accepts_what_the_rules_allow(tmp_path):
    pkg = _write(tmp_path, {
        "_core/base.py": "import jax\n",
        "_transforms/a.py": "from pkg._core import base\nx = base.public\n",
        "_engine/run.py": "def f():\n    import tqdm\n    return tqdm\n",
        "_cli/main.py": "import pkg\nfrom pkg._engine import run\n",
    })
    assert check_package(pkg) == []
