"""The ``jaxopt-scratch`` command: ``race``, ``sweep``, ``lr-find``, ``pbt`` and ``seeds``
(``python -m jaxopt_scratch``), one module per command; this one assembles the parser and
dispatches.

User errors (unknown problem or optimizer, bad range, bad flag, an output path that
cannot be written) print ONE line ``jaxopt-scratch: error: ...`` on stderr and exit
with code 2, without a traceback, before any training starts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jaxopt_scratch._cli import budget as _budget
from jaxopt_scratch._cli import lr_find as _lr_find
from jaxopt_scratch._cli import options as _options
from jaxopt_scratch._cli import pbt as _pbt
from jaxopt_scratch._cli import race as _race
from jaxopt_scratch._cli import seeds as _seeds
from jaxopt_scratch._cli import sweep as _sweep
from jaxopt_scratch._cli import tuning as _tuning
from jaxopt_scratch._engine.problems import registry as _registry

PROG = _options.PROG
UsageError = _options.UsageError
COMMANDS = (_race, _sweep, _lr_find, _pbt, _seeds)  # each adds its subcommand: add_parser(sub)


def _parser() -> _options.Parser:
    parser = _options.Parser(prog=PROG, description=(
        "Race and sweep the tutorials' optimizers (docs/tutorial_claims.rst) with "
        "jaxopt_scratch. Problems: "
        + ", ".join(_registry.names()) + "."))
    sub = parser.add_subparsers(dest="command", metavar="{race,sweep,lr-find,pbt,seeds}")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jaxopt-scratch``; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: race, sweep, lr-find, pbt or seeds (see --help)")
        return args.func(args)
    except (UsageError, _tuning.TuningError, _budget.BudgetError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
