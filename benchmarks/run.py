"""Benchmarks jaxopt_scratch against optax (and torch.optim) and writes BENCHMARKS.md.

    python3 benchmarks/run.py            # everything, about 10-15 minutes on 2 cores
    python3 benchmarks/run.py --quick    # smoke run, under 2 minutes
    python3 benchmarks/run.py --parts step,memory --trees "3000 x 100"

Parts: ``step`` (a: one update + apply, donated), ``compile`` (b: adamw +
clip_by_global_norm + warmup-cosine), ``sweep`` (c: 64 learning rates through
``jos.sweep`` vs a loop vs optax vmapped by hand), ``memory`` (d: optimizer
state bytes per parameter and XLA's temporary allocation). Every comparison
runs in this one process with interleaved repetitions; see ``_common.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# torch's OpenMP workers spin between calls by default, stealing the CPU from whichever
# contender runs next on this 2-core box; make them sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from _common import loadavg, log, machine, md_table, versions  # also puts the repo on sys.path

PARTS = ("step", "compile", "sweep", "memory")
ALGS = "adam,adamw,adamw+clip+sched"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke mode: small shapes, few reps")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {PARTS}")
    ap.add_argument("--trees", default=None,
                    help="step part: comma list of tree shapes (default: all in a full run)")
    ap.add_argument("--algs", default=None,
                    help=f"step part: comma list from {ALGS} (default all; adam with --quick)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per comparison")
    ap.add_argument("--no-torch", action="store_true", help="leave torch.optim out")
    ap.add_argument("--optax-flatten", action="store_true",
                    help="step part: add optax.flatten (minutes of compile on many leaves)")
    ap.add_argument("--out", default=None,
                    help="markdown output (default benchmarks/BENCHMARKS.md; "
                         "benchmarks/BENCHMARKS-quick.md with --quick)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise SystemExit(f"unknown --parts {unknown}; choose from {PARTS}")
    if args.no_torch:
        sys.modules["torch"] = None  # makes `import torch` fail: torch contenders are skipped
    here = Path(__file__).resolve().parent
    out = Path(args.out) if args.out else here / ("BENCHMARKS-quick.md" if args.quick else "BENCHMARKS.md")

    import jax

    jax.config.update("jax_platforms", "cpu")
    started = time.perf_counter()
    load_start = loadavg()
    info = machine()
    vers = versions()
    sections = []
    summary_rows = []
    step_records = compile_records = sweep_records = None

    if "step" in parts:
        import _step

        if args.trees:
            trees = [t.strip() for t in args.trees.split(",")]
        else:
            trees = ["1 x 16M", "1000 x 100"] if args.quick else list(_step.TREES)
        algs = [a.strip() for a in (args.algs or ("adam" if args.quick else ALGS)).split(",")]
        reps = args.reps or (5 if args.quick else 15)
        step_records = _step.bench_steps(trees, algs, reps, args.quick,
                                         optax_flatten=args.optax_flatten,
                                         budget_s=8 if args.quick else 40)
        sections.append(("(a) One step: update + apply_updates, jit, donated buffers",
                         _step.STEP_NOTES + "\n\n" + _step.step_markdown(step_records)))
        summary_rows += _step.summary(step_records)

    if "compile" in parts:
        import _compile

        reps = args.reps or (1 if args.quick else 2)
        trees = ["200 mixed"] if args.quick else ["200 mixed", "1000 x 16k"]
        compile_records = _compile.bench_compile(trees, reps)
        sections.append(("(b) Compile time: adamw + clip_by_global_norm + warmup-cosine",
                         _compile.compile_markdown(compile_records)))
        summary_rows += _compile.summary(compile_records)

    if "sweep" in parts:
        import _sweep_bench

        sweep_records = _sweep_bench.bench_sweeps(args.quick, args.reps)
        sections.append(("(c) A 64-learning-rate sweep",
                         _sweep_bench.sweep_markdown(sweep_records)))
        summary_rows += _sweep_bench.summary(sweep_records)

    if "memory" in parts:
        import _memory

        sections.append(("(d) Optimizer-state memory", _memory.memory_markdown(args.quick)))

    import _notes

    sections.append(("Notes: what limits each target",
                     _notes.notes(step_records, compile_records, sweep_records)))
    elapsed = time.perf_counter() - started
    load_end = loadavg()
    command = "python3 benchmarks/run.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    text = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` in {elapsed / 60:.1f} min. Do not edit by hand.",
        "",
        ("Times are medians over interleaved repetitions in one process; ratios are the median "
         "of per-repetition ratios (each pair measured side by side). The machine is shared, so "
         "absolute times drift with the load shown below; the ratios are the stable part."),
        "",
        "## Machine",
        "",
        md_table(["", ""], [[k, v] for k, v in info.items()]
                 + [["load average at start (1/5/15 min)", " / ".join(f"{x:.2f}" for x in load_start)],
                    ["load average at end (1/5/15 min)", " / ".join(f"{x:.2f}" for x in load_end)]]
                 + [[k, v] for k, v in vers.items()]),
        "",
    ]
    if summary_rows:
        text += ["## Targets (issue 6)", "",
                 md_table(["target", "measured", "met"], summary_rows), ""]
    for title, body in sections:
        text += [f"## {title}", "", body, ""]
    out.write_text("\n".join(text))
    log(f"wrote {out} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
