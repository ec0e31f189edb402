"""Small plotting helpers shared by the notebooks. Drawing only: no optimizer code lives here.

Every function takes already-computed NumPy/JAX arrays (paths, losses, schedules) and draws
them; the numbers themselves always come from ``jaxopt_scratch`` inside the notebook.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

# One palette for the whole series, so "Adam" is the same colour in every notebook.
COLORS = {
    "SGD": "tab:blue",
    "GD": "tab:blue",
    "Momentum": "tab:orange",
    "heavy-ball": "tab:orange",
    "Nesterov": "tab:red",
    "EMA": "tab:brown",
    "AdaGrad": "tab:olive",
    "RMSProp": "tab:green",
    "Adam": "tab:purple",
    "AdamW": "tab:pink",
    "Adam + L2": "tab:cyan",
}


def setup() -> None:
    """Small, deterministic figures: low dpi keeps the committed notebooks light."""
    plt.rcParams.update({
        "figure.dpi": 72,
        "savefig.dpi": 72,
        "figure.figsize": (9.0, 3.4),
        "font.size": 9,
        "axes.titlesize": 10,
        "legend.fontsize": 8,
        "lines.linewidth": 1.5,
        "axes.grid": True,
        "grid.alpha": 0.3,
    })


def color(name: str) -> str | None:
    """The series colour of an optimizer name (None lets matplotlib choose)."""
    return COLORS.get(name)


def contour(ax, loss_fn, xlim, ylim, *, n=100, levels=18, log=True, minima=()):
    """Draws the level sets of a 2-D loss ``loss_fn(theta)`` with ``theta = [x, y]``.

    ``loss_fn`` must accept a stacked grid of shape ``(2, n, n)`` (write it with
    ``theta[0]``, ``theta[1]`` and elementwise operations).
    """
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)
    grid = np.stack(np.meshgrid(xs, ys))
    z = np.asarray(loss_fn(grid), dtype=np.float64)
    if log:
        z = np.log10(z - z.min() + 1e-3)
    ax.contour(grid[0], grid[1], z, levels=levels, cmap="Greys", linewidths=0.6, alpha=0.8)
    for m in minima:
        ax.plot(*m, marker="*", color="gold", markeredgecolor="k", markersize=12, zorder=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def paths(ax, trajectories: dict, *, markers=False):
    """Draws optimizer paths, a dict ``name -> array (steps + 1, 2)``, from a common start."""
    for name, path in trajectories.items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], "-", color=color(name), label=name,
                marker="." if markers else None, markersize=3)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=color(name), markersize=4)
    first = np.asarray(next(iter(trajectories.values())))
    ax.plot(first[0, 0], first[0, 1], "ks", markersize=5, label="start")
    ax.legend(loc="best")


def curves(ax, series: dict, *, log=True, xlabel="step", ylabel="loss"):
    """Draws one line per entry of ``series`` (``name -> 1-D array``)."""
    for name, values in series.items():
        ax.plot(np.asarray(values), color=color(name), label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")


def table(rows, header) -> str:
    """A fixed-width text table (printed, so it shows on GitHub without HTML)."""
    cells = [[str(h) for h in header]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if v == 0.0:
        return "0.0"
    if not np.isfinite(v):
        return str(v)
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.7g}"
    return f"{v:.4e}"
