"""Lists optax 0.2.8's public names that jaxopt_scratch lacks (issue 12's "Done when").

Opt-in (not collected by pytest)::

    python tests/optax_suite/compare_names.py

Compared: optax's top level (minus the out-of-scope subpackages and the losses they
re-export) with ``jos``; ``optax.tree``, ``optax.tree_utils``, ``optax.transforms``,
``optax.schedules`` and ``optax.microbatching`` with their ``jos`` counterparts. Exits 1 when
a name is missing.
"""

from __future__ import annotations

import sys
import types

OUT_OF_SCOPE = ("losses", "projections", "assignment", "perturbations", "experimental",
                "second_order", "contrib")


def public(module: types.ModuleType) -> set[str]:
    """Public names, without the modules a package happens to import (functools, typing)."""
    return {n for n in dir(module) if not n.startswith("_")
            and not (isinstance(getattr(module, n), types.ModuleType)
                     and not getattr(module, n).__name__.startswith(module.__name__))}


def main() -> int:
    import optax
    import optax.losses

    import jaxopt_scratch as jos

    # The top level re-exports the losses (l2_loss, ...): out of scope with their subpackage.
    top = public(optax) - set(OUT_OF_SCOPE) - public(optax.losses)
    pairs = [("optax", top, jos), ("optax.tree", public(optax.tree), jos.tree),
             ("optax.tree_utils", public(optax.tree_utils), jos.tree_utils),
             ("optax.transforms", public(optax.transforms), jos.transforms),
             ("optax.schedules", public(optax.schedules), jos.schedules),
             ("optax.microbatching", public(optax.microbatching), jos.microbatching)]
    missing_any = False
    for name, theirs, ours in pairs:
        missing = sorted(n for n in theirs if not hasattr(ours, n))
        missing_any |= bool(missing)
        print(f"{name:22s} {len(theirs):4d} names, missing {len(missing)}: {missing}")
    return 1 if missing_any else 0


if __name__ == "__main__":
    sys.exit(main())
