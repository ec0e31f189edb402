"""(c) A 64-learning-rate Adam sweep, four ways, on XOR and on the synthetic MLP.

* ``jos.sweep``: ``jos.sweep(jos.adam, {"learning_rate": lrs}, ...)``;
* ``jos vmapped by hand``: ``jit(vmap(run))`` over the learning rates with jos;
* ``optax vmapped by hand``: the same program with ``optax.adam``;
* ``Python loop``: 64 calls of one jitted run (``lax.scan`` over the steps) that
  takes the learning rate as an argument, so it compiles once.

Every run records the loss at every step and the final loss, from the same
initial params and (MLP) the same minibatches as ``jos.run``'s: step ``t``
trains on ``sample_fn(fold_in(data_key, t))``. ``cold`` includes tracing and
compiling; ``warm`` is a second call of the compiled program(s).
"""

from __future__ import annotations

import time

import numpy as np
from _common import Samples, fmt_time, interleave, log, md_table, paired_ratio

NUM_LRS = 64


def _problem(name, quick):
    import jax

    import jaxopt_scratch as jos

    if name == "XOR":
        prob = jos.problems.get("xor_a")
        steps = 300 if quick else 3000
    else:
        prob = jos.problems.get("mlp")
        steps = 50 if quick else 500
    params = prob.init_params()
    data_key = jax.random.split(jax.random.key(0))[1]  # what jos.sweep's seed 0 uses
    return prob, params, steps, data_key


def _runner(lib, prob, steps, data_key):
    """``run(lr, params) -> (losses, final_loss)`` with ``lib``'s Adam."""
    import jax

    import jaxopt_scratch as jos

    if lib == "optax":
        import optax

        make, apply = optax.adam, optax.apply_updates
    else:
        make, apply = jos.adam, jos.apply_updates
    loss_fn, sample_fn = prob.loss_fn, prob.sample_fn

    def run(lr, params):
        tx = make(lr)

        def body(carry, t):
            p, s = carry
            if sample_fn is None:
                loss, g = jax.value_and_grad(loss_fn)(p)
            else:
                batch = sample_fn(jax.random.fold_in(data_key, t))
                loss, g = jax.value_and_grad(loss_fn)(p, batch)
            u, s = tx.update(g, s, p)
            return (apply(p, u), s), loss

        (p, _), losses = jax.lax.scan(body, (params, tx.init(params)), jax.numpy.arange(steps))
        return losses, loss_fn(p)

    return run


def _contenders(prob, params, steps, data_key, lrs):
    import jax

    import jaxopt_scratch as jos

    def sweep(chunk_steps=None):
        res = jos.sweep(jos.adam, {"learning_rate": lrs}, prob.loss_fn, params, steps,
                        sample_fn=prob.sample_fn, progress=False, chunk_steps=chunk_steps)
        return np.asarray(res.final_losses)

    by_hand = {}
    for lib in ("jos", "optax"):
        fn = jax.jit(jax.vmap(_runner(lib, prob, steps, data_key), in_axes=(0, None)))
        by_hand[lib] = lambda fn=fn: np.asarray(jax.block_until_ready(fn(lrs, params))[1])

    one = jax.jit(_runner("jos", prob, steps, data_key))

    def loop():
        outs = [one(lr, params) for lr in lrs]  # dispatched asynchronously, run one by one
        return np.asarray([float(o[1]) for o in jax.block_until_ready(outs)])

    out = {"jos.sweep": sweep,
           "jos.sweep, one chunk": lambda: sweep(chunk_steps=steps),
           "jos vmapped by hand": by_hand["jos"],
           "optax vmapped by hand": by_hand["optax"], "Python loop of 64 jitted runs": loop}
    return out, _flops(prob, params, steps, data_key, lrs)


def _flops(prob, params, steps, data_key, lrs):
    """XLA's flop count for all runs: one training step times the steps, plus the final loss.

    (``cost_analysis`` of a ``lax.scan`` counts its body once, not once per step.)
    """
    import jax

    import jaxopt_scratch as jos

    def cost(fn, *args):
        c = jax.jit(fn).lower(*args).compile().cost_analysis()
        c = c[0] if isinstance(c, (list, tuple)) else c
        return float(c["flops"])

    def one_step(lr, p, t):
        tx = jos.adam(lr)
        if prob.sample_fn is None:
            g = jax.grad(prob.loss_fn)(p)
        else:
            g = jax.grad(prob.loss_fn)(p, prob.sample_fn(jax.random.fold_in(data_key, t)))
        u, _ = tx.update(g, tx.init(p), p)
        return jos.apply_updates(p, u)

    try:
        per_run = steps * cost(one_step, lrs[0], params, 0) + cost(prob.loss_fn, params)
    except Exception:  # noqa: BLE001 - the flop count is informative only
        return float("nan")
    return per_run * len(lrs)


def bench_sweeps(quick, reps=None):
    import jax.numpy as jnp

    lrs = jnp.asarray(np.logspace(-4, 0, NUM_LRS), jnp.float32)
    records = []
    for name in ("XOR", "MLP"):
        prob, params, steps, data_key = _problem(name, quick)
        contenders, flops = _contenders(prob, params, steps, data_key, lrs)
        if name == "MLP":  # ~40 s per call here: keep the run under 15 minutes
            del contenders["jos.sweep, one chunk"]
            if not quick:
                del contenders["jos vmapped by hand"]
        log(f"[sweep] {name}: {NUM_LRS} learning rates x {steps} steps, {len(contenders)} ways")
        cold, finals = {}, {}
        for cname, fn in contenders.items():
            t = time.perf_counter()
            finals[cname] = fn()
            cold[cname] = time.perf_counter() - t
            log(f"  {cname}: cold {cold[cname]:.1f} s")

        def timed(fn):
            def sample():
                t = time.perf_counter()
                fn()
                return time.perf_counter() - t
            return sample

        n = reps or (1 if quick else (3 if name == "XOR" else 2))
        warm = interleave({c: timed(f) for c, f in contenders.items()}, n)
        loop = warm["Python loop of 64 jitted runs"]
        ref = finals["Python loop of 64 jitted runs"]
        stable = np.asarray(lrs) <= 1e-2  # larger rates are chaotic: rounding decides the end
        for cname in contenders:
            diff = np.abs(finals[cname] - ref)[stable] / np.maximum(np.abs(ref[stable]), 1e-6)
            agree = float(np.nanmax(diff))
            records.append({
                "problem": name, "steps": steps, "impl": cname, "cold": cold[cname],
                "warm": warm[cname], "loop_speedup": paired_ratio(loop, warm[cname]),
                "cold_speedup": cold["Python loop of 64 jitted runs"] / cold[cname],
                "agree": agree, "best_lr": float(lrs[int(np.nanargmin(finals[cname]))]),
                "gflops": flops / warm[cname].median / 1e9,
            })
    return records


def sweep_markdown(records) -> str:
    header = ["problem", "impl", "warm (median)", "warm min / max", "reps", "speed-up vs loop (warm)",
              "cold (incl. compile)", "speed-up vs loop (cold)", "GFLOP/s (warm)", "best lr",
              "final losses vs loop (lr <= 1e-2, max rel. diff)"]
    rows = []
    for r in records:
        s: Samples = r["warm"]
        rows.append([
            f"{r['problem']} ({r['steps']} steps)", r["impl"], fmt_time(s.median),
            f"{fmt_time(s.min)} / {fmt_time(s.max)}", len(s.times), f"{r['loop_speedup']:.1f}x",
            fmt_time(r["cold"]), f"{r['cold_speedup']:.1f}x", (f"{r['gflops']:.1f}" if r["problem"] == "MLP" else "-"), f"{r['best_lr']:.3g}",
            f"{r['agree']:.1e}",
        ])
    return SWEEP_NOTES + "\n\n" + md_table(header, rows)


SWEEP_NOTES = f"""\
{NUM_LRS} learning rates log-spaced in [1e-4, 1], Adam, each run from the problem's default
initial params. `jos.sweep` is `jos.sweep(jos.adam, {{"learning_rate": lrs}}, ...)`; `vmapped by
hand` is `jit(vmap(run))` over the rates, with jos or optax; the `Python loop` calls one jitted
run (a `lax.scan` over the steps, the rate an argument, so it compiles once) 64 times. All
record every step's loss and the final loss; the MLP runs see `jos.run`'s minibatches. `warm`
is a second call of the compiled programs, `cold` the first (tracing and compiling included).
GFLOP/s: XLA's `cost_analysis()` flops of one training step times the steps, plus the final
loss, times 64 runs (the same work for every way).
`jos.sweep, one chunk` passes `chunk_steps=num_steps` (one compiled call instead of the
default twenty chunks that let a progress bar move). In the full run the MLP leaves out
`jos vmapped by hand` and the one-chunk sweep (about 40 s a call each)."""


def summary(records):
    rows = []
    for r in records:
        if r["impl"] == "jos.sweep":
            rows.append([f"{r['problem']} 64-lr sweep: >= 10x faster than the Python loop",
                         f"{r['loop_speedup']:.1f}x (warm), {r['cold_speedup']:.1f}x (cold)",
                         "yes" if r["loop_speedup"] >= 10 else "no"])
    return rows
