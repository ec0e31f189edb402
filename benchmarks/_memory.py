"""(d) Optimizer-state memory per parameter, and XLA's temporary allocation for one step.

State sizes come from ``jax.eval_shape(tx.init, params)`` (nothing allocated)
for float32 params of two sizes, ``bytes = per_param * n + fixed``. The
temporary allocation is ``compiled.memory_analysis().temp_size_in_bytes`` of
the donated update + apply step: buffers XLA needs beyond the arguments and
outputs.
"""

from __future__ import annotations

import _step
import numpy as np
from _common import log, md_table
from _step import tree_shapes

LR = 1e-3


def _aliases():
    import optax

    import jaxopt_scratch as jos

    names = ["sgd", "sgd (momentum 0.9)", "adam", "adamw", "nadam", "nadamw", "amsgrad", "adamax",
             "adamaxw", "lion", "rmsprop", "adagrad", "lamb", "lars"]
    out = []
    for name in names:
        if name.startswith("sgd ("):
            out.append((name, jos.sgd(LR, momentum=0.9), optax.sgd(LR, momentum=0.9)))
        else:
            out.append((name, getattr(jos, name)(LR), getattr(optax, name)(LR)))
    out.append(("flatten(adam)", jos.flatten(jos.adam(LR)), optax.flatten(optax.adam(LR))))
    return out


def _state_bytes(tx, n_leaves, leaf_size):
    import jax
    import jax.numpy as jnp

    params = {f"p{i}": jax.ShapeDtypeStruct((leaf_size,), jnp.float32) for i in range(n_leaves)}
    state = jax.eval_shape(tx.init, params)
    return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(state))


def _per_param(tx):
    """(bytes per parameter, fixed bytes) from 4 leaves of 1000 and of 2000 floats."""
    a, b = _state_bytes(tx, 4, 1000), _state_bytes(tx, 4, 2000)
    per = (b - a) / 4000
    return per, a - per * 4000


def _temp_bytes(tx, apply, shapes):
    import jax
    import jax.numpy as jnp

    params = {f"p{i:04d}": jax.ShapeDtypeStruct(s, jnp.float32) for i, s in enumerate(shapes)}
    state = jax.eval_shape(tx.init, params)

    def step(p, g, s):
        u, s = tx.update(g, s, p)
        return apply(p, u), s

    mem = jax.jit(step, donate_argnums=(0, 2)).lower(params, params, state).compile().memory_analysis()
    return None if mem is None else mem.temp_size_in_bytes


def memory_markdown(quick) -> str:
    import optax

    import jaxopt_scratch as jos

    log("[memory] state bytes per parameter")
    rows = []
    for name, ours, theirs in _aliases():
        po, fo = _per_param(ours)
        pt, ft = _per_param(theirs)
        rows.append([name, f"{po:g}", f"{fo:g}", f"{pt:g}", f"{ft:g}"])
    table1 = md_table(["alias", "jos bytes / param", "jos fixed bytes", "optax bytes / param",
                       "optax fixed bytes"], rows)

    trees = ["1 x 16M"] if quick else ["1 x 16M", "200 mixed"]
    rows = []
    for tree in trees:
        shapes = tree_shapes(tree)
        n = sum(int(np.prod(s)) for s in shapes)
        for alg in ("adam", "adamw"):
            contenders = {k: (tx, jos.apply_updates) for k, tx in _step._jos_txs(alg).items()}
            contenders["optax"] = (optax.adam(_step.LR) if alg == "adam"
                                   else optax.adamw(_step.LR, weight_decay=_step.WD),
                                   optax.apply_updates)
            for impl, (tx, apply) in contenders.items():
                log(f"[memory] temp allocation: {tree} {alg} {impl}")
                temp = _temp_bytes(tx, apply, shapes)
                rows.append([tree, alg, impl, "-" if temp is None else f"{temp / 2**20:.1f} MiB",
                             "-" if temp is None else f"{temp / n:.2f}"])
    table2 = md_table(["tree", "alg", "impl", "XLA temp allocation", "temp bytes / param"], rows)
    return (
        "Optimizer state (float32 params; `fixed` is the step counters and other scalars):\n\n"
        + table1
        + "\n\nXLA's temporary buffers for one donated update + apply step "
          "(`compiled.memory_analysis().temp_size_in_bytes`):\n\n"
        + table2
    )
