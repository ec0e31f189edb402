"""Today's optimizers on two small problems: each learning rate tuned by one jos.sweep, ranked.

The showcase of issue 14 (item 6): every optimizer of ``jos.contrib`` that trains
a network out of the box, against AdamW, on

* ``transformer``: ``jos.problems.get("stdlib_transformer", ...)``, a byte-level
  causal transformer (one pre-LayerNorm block of 2-head self-attention and a GELU
  MLP, d_model 32, context 32, 30,048 parameters) on the first 64 KiB of Python's
  own standard-library source (``argparse.py``, ``difflib.py``, ...; the next 8 KiB
  validate), minibatches of 8 windows (256 predicted bytes), 150 steps;
* ``digits``: ``jos.problems.get("digits")``, scikit-learn's 8x8 digits with a
  64-64-10 ReLU MLP, minibatches of 64, 359 held-out images, 300 steps.

The budgets are small on purpose: the whole race (2 problems x 15 optimizers x 15
runs) must train on two shared CPU cores in minutes. The transformer sees about
38,000 bytes in 150 steps, so its ranking is one of early training speed.

For each optimizer, ONE ``jos.sweep`` trains a log grid of learning rates (five
values, a factor of sqrt(10) apart, around the optimizer's usual scale: the
``CENTRES`` below) x three seeds (seed ``s`` draws the initial weights and the
minibatch stream; every optimizer sees the same ones), all for the same number of
steps (one gradient evaluation each; the learning rate is constant: no schedule
for anyone). The learning rate whose mean validation loss over the three seeds is
lowest wins, and the optimizers are ranked by that mean. Parameter-free methods
(Prodigy, D-Adaptation, COCOB, DoG) sweep their learning-rate multiplier around
1. Schedule-Free AdamW is evaluated at its evaluation parameters ``x`` (the point
it returns for inference), not at the point where it takes gradients.

Sophia's Hutchinson estimator needs the loss as a function of the parameters
(``obj_fn=`` in optax); the engine hands every optimizer ``value_fn=`` (the
minibatch loss at each step), so a two-line adapter passes it on under that name.
SAM spends every other step at its adversarial point (``sync_period=2``): with the
same number of gradient evaluations it makes half as many outer updates.

Run: ``python3 benchmarks/showcase.py [--problem transformer|digits|all] [--steps N]
[--quick]``. Writes ``benchmarks/SHOWCASE.md`` (``--out``) and
``benchmarks/showcase_<problem>.png``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path

import numpy as np
from _common import log, machine, md_table, versions

HERE = Path(__file__).resolve().parent
SEEDS = 3
GRID = np.sqrt(10.0) ** np.arange(-2, 3)  # centre x {0.1, 0.32, 1, 3.2, 10}
STEPS = {"transformer": 150, "digits": 300}
TRANSFORMER = {"num_layers": 1, "d_model": 32, "num_heads": 2, "context": 32, "batch_size": 8}
METRIC = {"transformer": "bits_per_byte", "digits": "accuracy"}

# Each optimizer's usual learning rate (its grid's centre), per problem.
CENTRES = {
    "adamw": (3e-3, 3e-3), "muon": (1e-2, 1e-2), "schedule_free_adamw": (3e-3, 3e-3),
    "prodigy": (1.0, 1.0), "dadapt_adamw": (1.0, 1.0), "ademamix": (3e-3, 3e-3),
    "adopt": (3e-3, 3e-3), "sophia": (3e-3, 3e-3), "sam": (3e-3, 3e-3),
    "mars": (3e-3, 3e-3), "soap": (3e-3, 3e-3), "cautious_adamw": (3e-3, 3e-3),
    "madgrad": (1e-2, 1e-2), "cocob": (1.0, 1.0), "dog": (1.0, 1.0),
}


def _jos():
    import jaxopt_scratch as jos

    return jos


def _hessian_from_value_fn():
    """Hutchinson's estimator, fed the loop's ``value_fn`` under optax's name ``obj_fn``."""
    jos = _jos()
    inner = jos.contrib.hutchinson_estimator_diag_hessian()

    def update(updates, state, params=None, *, value_fn=None, **extra):
        del extra
        return inner.update(updates, state, params, obj_fn=value_fn)

    return jos.GradientTransformationExtraArgs(inner.init, update)


# Module-level factories: jos.sweep compiles each once per process.
def adamw(learning_rate):
    return _jos().adamw(learning_rate)


def muon(learning_rate):
    return _jos().contrib.muon(learning_rate)


def schedule_free_adamw(learning_rate):
    return _jos().contrib.schedule_free_adamw(learning_rate)


def prodigy(learning_rate):
    return _jos().contrib.prodigy(learning_rate)


def dadapt_adamw(learning_rate):
    return _jos().contrib.dadapt_adamw(learning_rate)


def ademamix(learning_rate):
    return _jos().contrib.ademamix(learning_rate)


def adopt(learning_rate):
    return _jos().contrib.adopt(learning_rate)


def sophia(learning_rate):
    return _jos().contrib.sophia(learning_rate, hessian_diagonal_fn=_hessian_from_value_fn())


def sam(learning_rate):
    jos = _jos()
    return jos.contrib.sam(jos.adam(learning_rate),
                           jos.chain(jos.contrib.normalize(), jos.sgd(0.05)))


def mars(learning_rate):
    return _jos().contrib.mars(learning_rate)


def soap(learning_rate):
    # Axes longer than 128 (the 256 byte values) keep the identity basis: an eigendecomposition
    # of a 256 x 256 matrix per run every 10 steps (every step under vmap, where the refresh's
    # `lax.cond` becomes a select) would cost more than the rest of the race.
    return _jos().contrib.soap(learning_rate, max_precond_dim=128)


def cautious_adamw(learning_rate):
    jos = _jos()
    return jos.contrib.cautious(jos.adamw(learning_rate))


def madgrad(learning_rate):
    return _jos().contrib.madgrad(learning_rate)


def cocob(learning_rate):
    return _jos().contrib.cocob(learning_rate)


def dog(learning_rate):
    return _jos().contrib.dog(learning_rate)


SKIPPED = {"soap": "not part of the measured run: a `jos.sweep` of several SOAP configurations "
                    "then hung (jaxlib 0.10.2's batched CPU `eigh`/`qr` deadlocked XLA's thread "
                    "pool); fixed since (SOAP factorizes one matrix at a time under `vmap`), "
                    "not re-run"}
FACTORIES = {f.__name__: f for f in (
    adamw, muon, schedule_free_adamw, prodigy, dadapt_adamw, ademamix, adopt, sophia, sam,
    mars, soap, cautious_adamw, madgrad, cocob, dog)}
LABELS = {"cautious_adamw": "cautious(adamw)", "sam": "sam(adam, rho 0.05)",
          "soap": "soap (max_precond_dim 128)"}


def get_problem(name: str, quick: bool):
    jos = _jos()
    if name == "digits":
        return jos.problems.get("digits")
    options = dict(TRANSFORMER)
    if quick:
        options.update(num_train=16_384, num_valid=4_096)
    return jos.problems.get("stdlib_transformer", **options)


def sweep_eval_option() -> dict:
    """The keyword that makes ``jos.sweep`` score an optimizer at its evaluation params."""
    params = inspect.signature(_jos().sweep).parameters
    for name in ("eval_params", "eval_params_fn", "use_eval_params"):
        if name in params:
            return {name: True}
    return {}


def race(problem_name: str, steps: int, names: list[str], grid: np.ndarray, seeds: int,
         quick: bool, save=None) -> list[dict]:
    """One ``jos.sweep`` per optimizer; one dict per optimizer (sorted by validation loss)."""
    jos = _jos()
    problem = get_problem(problem_name, quick)
    metric = METRIC[problem_name]
    eval_option = sweep_eval_option()
    rows = []
    for name in names:
        centre = CENTRES[name][0 if problem_name == "transformer" else 1]
        lrs = centre * grid
        start = time.perf_counter()
        result = jos.sweep(FACTORIES[name], {"learning_rate": lrs}, problem.loss_fn,
                           problem.init_params, steps, seeds=seeds, sample_fn=problem.sample_fn,
                           eval_batch=problem.eval_batch, metrics_fn=problem.metrics_fn,
                           eval_every=steps, progress=False, **eval_option)
        seconds = time.perf_counter() - start
        final = result.final_metrics()
        loss = final["loss"].reshape(len(lrs), seeds)
        other = final[metric].reshape(len(lrs), seeds)
        scores = result.config_scores("loss")
        best = int(np.argmin(scores)) if np.isfinite(scores).any() else None
        train = np.where(result.diverged[:, None], np.nan, result.losses)
        train = train.reshape(len(lrs), seeds, -1)
        row = {"name": name, "lrs": lrs, "val_loss": loss, "metric": other, "seconds": seconds,
               "diverged": result.diverged.reshape(len(lrs), seeds), "best": best,
               "edge": best in (0, len(lrs) - 1), "eval_option": bool(eval_option),
               "train_curve": None if best is None else train[best].mean(axis=0)}
        rows.append(row)
        if best is None:
            log(f"{problem_name} {name}: every learning rate diverged ({seconds:.1f} s)")
        else:
            log(f"{problem_name} {name}: best lr {lrs[best]:.3g}, val loss "
                f"{loss[best].mean():.4f} ± {loss[best].std():.4f}, {metric} "
                f"{other[best].mean():.4f} ({seconds:.1f} s)")
        if save is not None:
            save(rows)  # after every optimizer: a crash or a hang loses one sweep, not the race
    rows.sort(key=lambda r: np.inf if r["best"] is None else r["val_loss"][r["best"]].mean())
    return rows


def table(rows: list[dict], problem_name: str) -> str:
    metric = METRIC[problem_name]
    header = ["rank", "optimizer", "best lr (grid)", "val loss (mean ± std, 3 seeds)",
              metric.replace("_", " "), "vs adamw", "sweep time"]
    base = next(r for r in rows if r["name"] == "adamw")
    base_loss = base["val_loss"][base["best"]].mean()
    out = []
    for rank, r in enumerate(rows, 1):
        label = LABELS.get(r["name"], r["name"])
        if r["best"] is None:
            out.append([str(rank), label, "all diverged", "-", "-", "-", f"{r['seconds']:.0f} s"])
            continue
        b = r["best"]
        loss = r["val_loss"][b]
        lr = f"{r['lrs'][b]:.2g}" + (" (edge)" if r["edge"] else "")
        out.append([str(rank), label, lr, f"{loss.mean():.4f} ± {loss.std():.4f}",
                    f"{r['metric'][b].mean():.3f}", f"{loss.mean() / base_loss - 1:+.1%}",
                    f"{r['seconds']:.0f} s"])
    return md_table(header, out)


def plot(rows: list[dict], problem_name: str, steps: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_lr, ax_curve) = plt.subplots(1, 2, figsize=(13, 5))
    for i, r in enumerate(rows):
        label = LABELS.get(r["name"], r["name"])
        color = plt.get_cmap("tab10")(i) if i < 10 else plt.get_cmap("Dark2")(i - 10)
        loss = np.where(r["diverged"], np.nan, r["val_loss"]).mean(axis=1)
        ax_lr.plot(r["lrs"] / r["lrs"][len(r["lrs"]) // 2], loss, "o-", color=color, label=label,
                   lw=2.5 if r["name"] == "adamw" else 1.2)
        if r["train_curve"] is not None:
            curve = r["train_curve"]
            window = max(1, steps // 20)
            smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
            ax_curve.plot(np.arange(window, len(curve) + 1), smooth, color=color, label=label,
                          lw=2.5 if r["name"] == "adamw" else 1.2)
    ax_lr.set_xscale("log")
    ax_lr.set_xlabel("learning rate / the optimizer's grid centre")
    ax_lr.set_ylabel("validation loss (mean of 3 seeds; nats)")
    ax_lr.set_title(f"{problem_name}: validation loss after {steps} steps")
    best_all = min(r["val_loss"][r["best"]].mean() for r in rows if r["best"] is not None)
    ax_lr.set_yscale("log")
    ax_lr.set_ylim(best_all * 0.9, best_all * 6)
    ax_curve.set_xlabel("step")
    ax_curve.set_ylabel(f"training minibatch loss (moving average of {max(1, steps // 20)})")
    ax_curve.set_title("training loss at each optimizer's best learning rate")
    ax_curve.set_yscale("log")
    ax_lr.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_rows(rows: list[dict], path: Path, setup: dict) -> None:
    """The raw numbers (every learning rate and seed), so a partial re-run can reuse the rest."""
    def plain(value):
        return value.tolist() if isinstance(value, np.ndarray) else value

    path.write_text(json.dumps({"setup": setup,
                                "rows": [{k: plain(v) for k, v in r.items()} for r in rows]},
                               indent=None, separators=(",", ":")) + "\n")


def load_rows(path: Path, setup: dict) -> list[dict]:
    """The rows saved by :func:`save_rows` for the same setup, else none."""
    if not path.is_file():
        return []
    saved = json.loads(path.read_text())
    if saved["setup"] != json.loads(json.dumps(setup)):  # tuples are saved as lists
        log(f"{path.name}: saved with another setup, not reused")
        return []
    arrays = ("lrs", "val_loss", "metric", "diverged", "train_curve")
    return [{k: (np.asarray(v, dtype=float if k != "diverged" else bool)
                 if k in arrays and v is not None else v) for k, v in r.items()}
            for r in saved["rows"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=["transformer", "digits", "all"], default="all")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"updates per run (default {STEPS})")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 4 optimizers, 3 learning rates, 40 steps")
    parser.add_argument("--optimizers", default=",".join(FACTORIES),
                        help="comma-separated subset of: " + ", ".join(FACTORIES)
                        + " (the other rows are reused from showcase_<problem>.json; 'none' "
                        "only rebuilds the report)")
    parser.add_argument("--out", default=str(HERE / "SHOWCASE.md"))
    args = parser.parse_args()
    # "none": rebuild the report from the saved numbers only (no training).
    names = [] if args.optimizers == "none" else args.optimizers.split(",")
    unknown = sorted(set(names) - set(FACTORIES))
    if unknown:
        parser.error(f"unknown optimizer(s) {unknown}; choose from {', '.join(FACTORIES)}")
    grid = GRID
    if args.quick:
        names = [n for n in names if n in ("adamw", "muon", "schedule_free_adamw", "prodigy")]
        grid = GRID[1:4]
    problems = ["transformer", "digits"] if args.problem == "all" else [args.problem]
    info = machine()
    command = "python3 benchmarks/showcase.py " + " ".join(
        a for a in (f"--problem {args.problem}", f"--steps {args.steps}" if args.steps else "",
                    "--quick" if args.quick else "",
                    f"--optimizers {args.optimizers}" if set(names) != set(FACTORIES) else "")
        if a)
    text = [
        "# Showcase: today's optimizers, each learning rate tuned by one `jos.sweep`",
        "",
        f"Generated by `{command}` (do not edit by hand; the setup is the script's docstring).",
        "",
    ]
    for name in problems:
        steps = args.steps or (40 if args.quick else STEPS[name])
        start = time.perf_counter()
        suffix = "_quick" if args.quick else ""
        setup = {"steps": steps, "grid": grid.tolist(), "seeds": SEEDS, "quick": args.quick,
                 "centres": CENTRES, **({"model": TRANSFORMER} if name == "transformer" else {})}
        saved = HERE / f"showcase_{name}{suffix}.json"
        earlier = load_rows(saved, setup)

        def save(new_rows, earlier=earlier, saved=saved, setup=setup):
            done = {r["name"] for r in new_rows}
            save_rows(new_rows + [r for r in earlier if r["name"] not in done], saved, setup)

        rows = race(name, steps, names, grid, SEEDS, args.quick, save)
        seconds = time.perf_counter() - start
        reused = [r for r in earlier if r["name"] not in names]
        rows = sorted(rows + reused, key=lambda r: np.inf if r["best"] is None
                      else r["val_loss"][r["best"]].mean())
        save_rows(rows, saved, setup)
        png = HERE / f"showcase_{name}{suffix}.png"
        plot(rows, name, steps, png)
        problem = get_problem(name, args.quick)
        text += [
            f"## {name}: {problem.description}",
            "",
            (f"{steps} steps per run, {len(grid)} learning rates x {SEEDS} seeds per optimizer "
             f"(one sweep each), ranked by the mean validation loss at the best learning rate; "
             f"'(edge)' marks a best learning rate at the end of its grid (the optimum may lie "
             f"beyond it); 'sweep time' is the whole sweep ({len(grid) * SEEDS} runs vmapped, "
             f"compilation included) on two CPU cores shared with other jobs (load average "
             f"10-22 while these ran, so times are several times an idle machine's); all "
             f"sweeps together: {sum(r['seconds'] for r in rows):.0f} s"
             + (f". The rows of {', '.join(r['name'] for r in reused)} come from earlier calls "
                f"with the same setup (raw numbers: `{saved.name}`)." if reused else ".")),
            "",
            table(rows, name),
            "",
            *(["Not in the race: " + "; ".join(
                f"{n} ({SKIPPED.get(n, 'not run: it did not fit the time budget')})"
                for n in FACTORIES if n not in {r['name'] for r in rows}) + ".", ""]
              if set(FACTORIES) - {r["name"] for r in rows} else []),
            f"![{name}]({png.name})",
            "",
        ]
        log(f"{name}: {seconds:.0f} s")
    text += [("Schedule-Free AdamW is scored at its evaluation parameters: `jos.sweep` evaluates "
              "the final loss and `metrics_fn` where the optimizer evaluates "
              "(`eval_params=True`, its default). SAM is synchronised after an even number of "
              "steps, so its evaluation and training parameters coincide at the end; the "
              "other optimizers have no evaluation hook."
              if sweep_eval_option() else
              "WARNING: this `jos.sweep` has no `eval_params` option: Schedule-Free AdamW is "
              "scored at its training parameters."), "",
             "## Machine", "", md_table(["", ""], [[k, v] for k, v in {**info, **versions()}.items()]),
             ""]
    Path(args.out).write_text("\n".join(text))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
