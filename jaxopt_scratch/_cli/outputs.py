"""What the commands write: tables on stdout, and files (``--out`` figures, ``--csv`` tables)
whose paths are checked before any work starts.

A command writes exactly the path it prints: a figure's format comes from its
extension, so a missing or unknown extension, a directory or an unwritable
folder is a usage error (exit code 2) before the first step is trained.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

# The formats matplotlib's Agg canvas writes without extra dependencies.
FIGURE_EXTENSIONS = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


class OutputError(ValueError):
    """A path a command cannot write; the message is one sentence saying what to change."""


def _check_folder(flag: str, path: str, example: str) -> None:
    if os.path.isdir(path):
        raise OutputError(f"{flag} {path!r} is a directory; give a file name in it, for example "
                          f"{os.path.join(path, example)!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"{flag} {path!r}: the directory {folder!r} does not exist; create it "
                          f"or choose another path")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{flag} {path!r}: the directory {folder!r} is not writable; choose "
                          f"another path")


def check_figure(path: str, example: str) -> None:
    """Raises :class:`OutputError` unless ``--out path`` can be written as a figure."""
    _check_folder("--out", path, example)
    stem, ext = os.path.splitext(path)
    if not ext:
        raise OutputError(f"--out {path!r} has no extension, so its format is unknown; end it in "
                          f"one of {', '.join(FIGURE_EXTENSIONS)} (for example {path + '.png'!r})")
    if ext.lower() not in FIGURE_EXTENSIONS:
        raise OutputError(f"--out {path!r} ends in {ext!r}, which is not a figure format; use "
                          f"one of {', '.join(FIGURE_EXTENSIONS)} (for example {stem + '.png'!r})")


def check_table(path: str) -> None:
    """Raises :class:`OutputError` unless ``--csv path`` can be written."""
    _check_folder("--csv", path, "sweep.csv")



def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns under a dashed line, on stdout."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
