"""Progress feedback for long work: a tqdm bar on stderr, or a plain counter without tqdm.

tqdm is an optional extra (``pip install 'jaxopt_scratch[cli]'``), imported lazily
here so that the library layers never need it.
"""

from __future__ import annotations

import sys


class Progress:
    """A tqdm bar on stderr, or a plain text line when tqdm is not installed."""

    def __init__(self, total: int, label: str, enabled: bool, unit: str = "step"):
        self.total, self.label, self.done, self.bar = total, label, 0, None
        self.unit = unit
        self.enabled = enabled and total > 0
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                print(f"{label}: 0/{total} {unit}s", end="", file=sys.stderr, flush=True)
            else:
                self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr,
                                leave=True, dynamic_ncols=True)

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
        else:
            print(f"\r{self.label}: {self.done}/{self.total} {self.unit}s", end="", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr, flush=True)
