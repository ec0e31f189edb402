"""What every command shares: the parser classes, the optimizer table, the common flags and their
checks, and the figure writer.

User errors raise :class:`UsageError`, which :func:`main.main` prints as one line
``jaxopt-scratch: error: ...`` and turns into exit code 2, before any training starts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from jaxopt_scratch._cli import outputs as _outputs
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._engine.problems import registry as _registry
from jaxopt_scratch._optimizers import adam as _adam
from jaxopt_scratch._optimizers import basic as _basic
from jaxopt_scratch._transforms import clipping as _clipping

PROG = "jaxopt-scratch"


class UsageError(Exception):
    """A bad command line; reported as one line with exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the usage too
        raise UsageError(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default once: not when the help already names it, nor None, [] or a bare flag."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _momentum(learning_rate):
    return _basic.sgd(learning_rate, momentum=0.9)


def _nesterov(learning_rate):
    return _basic.sgd(learning_rate, momentum=0.9, nesterov=True)


def _rmsprop(learning_rate):
    # Tutorials 3 and 4's RMSProp (docs/tutorial_claims.rst): decay 0.9, eps 1e-8 outside the root.
    return _basic.rmsprop(learning_rate, eps_in_sqrt=False)


# Module-level factories, so that repeated sweeps reuse the compiled programs.
OPTIMIZERS: dict[str, Callable[..., Any]] = {
    "sgd": _basic.sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adagrad": _basic.adagrad,
    "adam": _adam.adam,
    "adamw": _adam.adamw,
    "nadam": _adam.nadam,
    "amsgrad": _adam.amsgrad,
    "adamax": _adam.adamax,
    "lion": _adam.lion,
}
OPTIMIZER_HELP = ("momentum = sgd with heavy-ball 0.9; nesterov = its Nesterov form; "
                  "rmsprop = decay 0.9, eps outside the sqrt (the tutorials' form)")
FOUR = "sgd,momentum,rmsprop,adam"


def problem(name: str) -> _registry.Problem:
    key = name.strip().lower().replace("-", "_")
    known = _registry.names()
    if key not in known:
        raise UsageError(f"unknown problem {name!r}; known problems: {', '.join(known)}")
    return _registry.get(key)


def optimizer_names(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown or not names:
        raise UsageError(f"unknown optimizer {', '.join(map(repr, unknown)) or repr(text)}; "
                         f"known optimizers: {', '.join(OPTIMIZERS)}")
    if len(set(names)) != len(names):
        raise UsageError(f"optimizer listed twice in {text!r}")
    return names


def number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what} must be finite, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def lr_range(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"--lr-range must be LOW,HIGH (for example 1e-4,1e2), got {text!r}")
    low, high = (number(p, "--lr-range") for p in parts)
    if not 0 < low < high:
        raise UsageError(f"--lr-range needs 0 < LOW < HIGH, got {text!r}")
    return low, high


def with_clip(tx: Any, clip: float) -> Any:
    return _combine.chain(_clipping.clip(clip), tx) if clip > 0 else tx


def check_outputs(args: argparse.Namespace, example: str) -> None:
    """``--out`` (unless ``--no-plot``) and ``--csv`` can be written: checked before any work."""
    try:
        if not args.no_plot:
            _outputs.check_figure(args.out, example)
        if getattr(args, "csv", None):
            _outputs.check_table(args.csv)
    except _outputs.OutputError as err:
        raise UsageError(str(err)) from None


def save(plot: Callable[[], None], out: str) -> int:
    from jaxopt_scratch._cli import plotting as _plotting

    try:
        plot()
    except _plotting.PlottingUnavailable as err:
        print(f"{PROG}: not writing {out}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: error: cannot write {out}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"\nwrote {out}")
    return 0


def command(sub: Any, name: str, func: Callable[[argparse.Namespace], int], summary: str,
            description: str) -> argparse.ArgumentParser:
    """A subcommand that runs ``func(args)``, its defaults shown in ``--help``."""
    p = sub.add_parser(name, formatter_class=HelpFormatter, help=summary,
                       description=description)
    p.set_defaults(func=func)
    return p


def add_problem_args(p: argparse.ArgumentParser, default: str) -> None:
    """``--problem`` and ``--optimizers`` (race, sweep and lr-find)."""
    p.add_argument("--problem", default=default, help="problem name")
    p.add_argument("--optimizers", default=FOUR, help=f"comma-separated; {OPTIMIZER_HELP}")


def add_output_args(p: argparse.ArgumentParser, out: str) -> None:
    """``--out``, ``--no-plot`` and ``--no-progress``."""
    p.add_argument("--out", default=out,
                   help="figure to write, exactly this path; its extension (.png, .pdf, .svg, "
                   ".jpg) gives the format")
    p.add_argument("--no-plot", action="store_true", help="print the table only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
