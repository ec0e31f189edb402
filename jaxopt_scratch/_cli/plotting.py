"""PNG figures for the command-line tool. matplotlib is imported here, lazily, with Agg.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never
through ``pyplot``: no global backend switch, no GUI, no figure registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np


class PlottingUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _figure(width: float, height: float, ncols: int) -> tuple[Any, Sequence[Any]]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise PlottingUnavailable(
            'matplotlib is not installed; install the command\'s extra: '
            'python3 -m pip install -e ".[cli]"'
        ) from err
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _loss_axis_scale(ax: Any, values: Sequence[np.ndarray]) -> None:
    finite = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(0)])
    ax.set_yscale("log" if finite.size and finite.min() > 0 else "symlog")


def plot_race(
    path: str,
    problem: Any,
    curves: Mapping[str, tuple[np.ndarray | None, np.ndarray]],
    title: str,
) -> None:
    """Contour of a 2-D problem with every path, beside the loss curves.

    Args:
        path: The PNG file to write.
        problem: A ``jos.problems.Problem``; the contour needs ``problem.bounds``.
        curves: ``{label: (path (steps + 1, 2) or None, loss after k updates (steps + 1,))}``.
        title: The figure title.
    """
    two_d = problem.bounds is not None
    fig, axes = _figure(11.0 if two_d else 6.0, 4.6, 2 if two_d else 1)
    if two_d:
        ax = axes[0]
        (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
        xs, ys = np.linspace(x_lo, x_hi, 200), np.linspace(y_lo, y_hi, 200)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        z = np.asarray(jax.vmap(problem.loss_fn)(grid.astype(np.float32))).reshape(200, 200)
        ax.contourf(xs, ys, np.log1p(z - np.nanmin(z)), levels=30, cmap="viridis", alpha=0.85)
        for label, (points, _) in curves.items():
            if points is None:
                continue
            line = ax.plot(points[:, 0], points[:, 1], lw=1.5, label=label)[0]
            ax.plot(points[-1, 0], points[-1, 1], "o", color=line.get_color(), ms=5)
        start = next((p for p, _ in curves.values() if p is not None), None)
        if start is not None:
            ax.plot(start[0, 0], start[0, 1], "ks", ms=6, label="start")
        for i, m in enumerate(problem.minima):
            ax.plot(m[0], m[1], "w*", ms=12, mec="k", label="minimum" if i == 0 else None)
        ax.set(xlim=(x_lo, x_hi), ylim=(y_lo, y_hi), xlabel="x", ylabel="y",
               title=f"{problem.name}: paths on log(1 + loss - min)")
        ax.legend(fontsize=8, loc="best")
    ax = axes[-1]
    for label, (_, losses) in curves.items():
        ax.plot(np.arange(len(losses)), losses, lw=1.5, label=label)
    _loss_axis_scale(ax, [losses for _, losses in curves.values()])
    ax.set(xlabel="updates", ylabel="loss", title="loss after k updates")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)


def plot_sweep(
    path: str,
    learning_rates: np.ndarray,
    finals: Mapping[str, tuple[np.ndarray, np.ndarray]],
    target: float | None,
    title: str,
) -> None:
    """Final loss against learning rate, one curve per optimizer; diverged runs as crosses.

    Args:
        path: The PNG file to write.
        learning_rates: ``(n,)`` the swept learning rates.
        finals: ``{optimizer: (final losses (n,), diverged (n,) bools)}``.
        target: The target loss, drawn as a dashed line (``None``: no line).
        title: The figure title.
    """
    fig, (ax,) = _figure(7.5, 4.6, 1)
    shown = [f[np.isfinite(f) & ~d] for f, d in finals.values()]
    finite = np.concatenate(shown) if shown else np.zeros(0)
    top = float(finite.max()) * 3 if finite.size else 1.0
    for name, (final, diverged) in finals.items():
        ok = np.isfinite(final) & ~diverged
        line = ax.plot(learning_rates[ok], final[ok], ".-", lw=1.5, ms=4, label=name)[0]
        if diverged.any():
            ax.plot(learning_rates[diverged], np.full(diverged.sum(), top), "x",
                    color=line.get_color(), ms=6)
    _loss_axis_scale(ax, shown)
    ax.set_xscale("log")
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:g}")
    ax.set(xlabel="learning rate", ylabel="final loss",
           title="final loss vs learning rate (x: diverged)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)


def plot_lr_find(
    path: str,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    title: str,
) -> None:
    """The learning-rate range test: smoothed loss against learning rate, one curve per optimizer.

    Args:
        path: The figure to write (its extension gives the format).
        curves: ``{optimizer: (learning rates (n,), smoothed losses (n,), suggestion)}``;
            the suggestion is marked with a dot (NaN: no mark).
        title: The figure title.
    """
    fig, (ax,) = _figure(7.5, 4.6, 1)
    for name, (rates, losses, suggestion) in curves.items():
        line = ax.plot(rates, losses, lw=1.5, label=f"{name} (suggested {suggestion:.3g})")[0]
        if np.isfinite(suggestion) and rates.size:
            at = int(np.argmin(np.abs(np.log(rates / suggestion))))
            ax.plot(rates[at], losses[at], "o", color=line.get_color(), ms=7)
    _loss_axis_scale(ax, [losses for _, losses, _ in curves.values()])
    ax.set_xscale("log")
    ax.set(xlabel="learning rate (grows every step)", ylabel="smoothed loss",
           title="learning-rate range test (dot: steepest fall)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)


def plot_pbt(path: str, record: Any, losses: np.ndarray, best: int, num_steps: int,
             title: str) -> None:
    """Every member's learning rate and loss over the steps; the best member's lineage in bold.

    Args:
        path: The file to write.
        record: The sweep's ``PopulationRecord``.
        losses: ``(members, num_steps)``: each slot's training loss.
        best: The member whose lineage is drawn in bold.
        num_steps: The steps of the run.
        title: The figure title.
    """
    fig, (ax_lr, ax_loss) = _figure(11.0, 4.6, 2)
    edges = np.append(record.steps, num_steps)
    lrs = record.hyperparams["learning_rate"]
    for m in range(lrs.shape[0]):
        ax_lr.stairs(lrs[m], edges, baseline=None, color="0.7", lw=0.8)
        ax_loss.plot(losses[m], color="0.75", lw=0.6)
    lineage = record.lineage(best)
    ax_lr.stairs(record.schedule(best)["learning_rate"], edges, baseline=None, color="C3", lw=2,
                 label=f"member {best}")
    along = np.concatenate([losses[s, lo:hi] for s, lo, hi in zip(lineage, edges, edges[1:])])
    ax_loss.plot(along, color="C3", lw=1.5, label=f"member {best}'s lineage")
    ax_lr.set(yscale="log", xlabel="step", ylabel="learning rate",
              title="learning rate of every member")
    _loss_axis_scale(ax_loss, [along])
    ax_loss.set(xlabel="step", ylabel="training loss", title="loss of every slot")
    for ax in (ax_lr, ax_loss):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)
