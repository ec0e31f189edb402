"""``--max-batch`` and ``--memory-budget``: how much memory ``sweep`` and ``pbt`` may use.

Both commands always measure their sweep's memory before it starts (see
``jaxopt_scratch/_engine/memory.py``) and print the estimate; a sweep that needs
more than the budget is refused with exit code 2 and a sentence naming the flag
to change, before anything is trained.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import jax

from jaxopt_scratch._engine import memory as _memory


class BudgetError(ValueError):
    """A bad memory option, or a sweep too large for its budget; the message says what to change."""


def add_arguments(p: argparse.ArgumentParser, count: Callable[[str], int]) -> None:
    def max_batch(text: str) -> int | str:
        return "auto" if text.strip().lower() == "auto" else count(text)

    p.add_argument("--max-batch", type=max_batch, default="auto", metavar="N|auto",
                   help="at most N runs per compiled call, or as many as fit --memory-budget")
    p.add_argument("--memory-budget", default=None, metavar="SIZE",
                   help="memory the sweep may use, such as 4GB (default: half the free memory); "
                   "a sweep that needs more is refused before it starts")


def sweep_options(args: argparse.Namespace) -> dict[str, Any]:
    """``max_batch`` and ``memory_budget`` for ``jos.sweep`` (a budget always: it is checked)."""
    try:
        budget = None if args.memory_budget is None else _memory.parse_size(args.memory_budget)
    except ValueError:
        raise BudgetError(f"--memory-budget must be a size such as 4GB or 512MB, got "
                          f"{args.memory_budget!r}") from None
    if budget is None:
        budget = int(_memory.BUDGET_FRACTION * _memory.available_bytes(jax.devices()))
    return {"max_batch": args.max_batch, "memory_budget": budget}


@contextlib.contextmanager
def refusal() -> Iterator[None]:
    """Turns a sweep's :class:`MemoryBudgetError` into a :class:`BudgetError` naming the flags."""
    try:
        yield
    except _memory.MemoryBudgetError as err:
        text = str(err).replace("`max_batch`=", "--max-batch ").replace("`max_batch`",
                                                                         "--max-batch")
        raise BudgetError(text.replace("`memory_budget`", "--memory-budget")) from None
