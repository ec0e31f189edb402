"""(b) Compile time of adamw + clip_by_global_norm + a warmup-cosine schedule.

Each repetition traces and compiles a fresh ``jit`` of the whole step
(update + apply, donated) for every contender, interleaved. Nothing is
executed, so only shapes are needed (``jax.ShapeDtypeStruct``). ``trace`` is
``jit(step).lower(...)`` (Python tracing and lowering to StableHLO),
``compile`` is ``.compile()`` (XLA).
"""

from __future__ import annotations

import time

from _common import Samples, fmt_time, log, md_table, paired_ratio
from _step import tree_shapes

LR, WD, WARMUP, STEPS = 1e-3, 1e-4, 100, 10_000


def _contenders():
    import optax

    import jaxopt_scratch as jos

    jos_sched = jos.warmup_cosine_decay_schedule(0.0, LR, WARMUP, STEPS)
    optax_sched = optax.warmup_cosine_decay_schedule(0.0, LR, WARMUP, STEPS)
    return {
        "jos": (jos.chain(jos.clip_by_global_norm(1.0), jos.adamw(jos_sched, weight_decay=WD)),
                jos.apply_updates),
        "jos.flatten": (jos.chain(jos.clip_by_global_norm(1.0), jos.flatten(jos.scale_by_adam()),
                                  jos.add_decayed_weights(WD), jos.scale_by_learning_rate(jos_sched)),
                        jos.apply_updates),
        "optax": (optax.chain(optax.clip_by_global_norm(1.0),
                              optax.adamw(optax_sched, weight_decay=WD)), optax.apply_updates),
    }


def _measure(tx, apply, shapes):
    import jax
    import jax.numpy as jnp

    params = {f"p{i:04d}": jax.ShapeDtypeStruct(s, jnp.float32) for i, s in enumerate(shapes)}
    state = jax.eval_shape(tx.init, params)

    def step(p, g, s):
        u, s = tx.update(g, s, p)
        return apply(p, u), s

    t0 = time.perf_counter()
    lowered = jax.jit(step, donate_argnums=(0, 2)).lower(params, params, state)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    kernels = compiled.as_text().count(" fusion(")
    return t1 - t0, t2 - t1, kernels


def bench_compile(trees, reps):
    contenders = _contenders()
    records = []
    for tree in trees:
        shapes = tree_shapes(tree)
        log(f"[compile] {tree}: {len(shapes)} leaves, {len(contenders)} contenders x {reps} reps")
        trace = {n: Samples(n) for n in contenders}
        comp = {n: Samples(n) for n in contenders}
        total = {n: Samples(n) for n in contenders}
        kernels = {}
        names = list(contenders)
        for r in range(reps):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                tx, apply = contenders[name]
                a, b, kernels[name] = _measure(tx, apply, shapes)
                trace[name].times.append(a)
                comp[name].times.append(b)
                total[name].times.append(a + b)
        for name in names:
            records.append({
                "tree": tree, "leaves": len(shapes), "distinct shapes": len(set(shapes)),
                "impl": name, "trace": trace[name], "compile": comp[name], "total": total[name],
                "vs_optax": paired_ratio(total[name], total["optax"]), "kernels": kernels[name],
            })
    return records


def compile_markdown(records) -> str:
    header = ["tree", "impl", "trace (median)", "XLA compile (median)", "total (median)",
              "total min / max", "reps", "x optax total", "kernels (fusions)"]
    rows = []
    for r in records:
        rows.append([
            f"{r['tree']} ({r['leaves']} leaves, {r['distinct shapes']} shapes)", r["impl"],
            fmt_time(r["trace"].median), fmt_time(r["compile"].median), fmt_time(r["total"].median),
            f"{fmt_time(r['total'].min)} / {fmt_time(r['total'].max)}", len(r["total"].times),
            f"{r['vs_optax']:.2f}", r["kernels"],
        ])
    note = ("`jos.flatten` is `chain(clip_by_global_norm, flatten(scale_by_adam()), "
            "add_decayed_weights, scale_by_learning_rate(schedule))`. The schedule is "
            "`warmup_cosine_decay_schedule(0, 1e-3, 100, 10000)` from each library.")
    return note + "\n\n" + md_table(header, rows)


def summary(records):
    rows = []
    for r in records:
        if r["impl"] == "jos":
            rows.append([f"compile {r['tree']} ({r['leaves']} leaves): <= optax's",
                         f"{r['vs_optax']:.2f}x optax (trace + compile)",
                         "yes" if r["vs_optax"] <= 1.0 else "no"])
    return rows

