"""Test problems for optimizers: ``jos.problems.get(name)``, ``jos.problems.names()``.

A public submodule rather than more names in the flat ``jos`` namespace: the
problems are a catalogue (16 entries and growing) that users browse by name,
and ``jaxopt_scratch.problems`` is an ordinary module, so ``help()``,
``from jaxopt_scratch.problems import get`` and doctests work as for any module.
The code lives in the private package ``_engine/problems/``.

Examples:
    >>> import jaxopt_scratch as jos
    >>> bowl = jos.problems.get("bowl")
    >>> print(bowl.description)
    x^2 + y^2 from (4, 3): tutorial 3's bowl (docs/tutorial_claims.rst, P1)
"""

from jaxopt_scratch._engine.problems.registry import Problem as Problem
from jaxopt_scratch._engine.problems.registry import get as get
from jaxopt_scratch._engine.problems.registry import names as names

__all__ = ["Problem", "get", "names"]
