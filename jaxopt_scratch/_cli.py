"""Command-line entry point (placeholder demo until the sweep CLI lands)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxopt_scratch as jos


def main(argv: list[str] | None = None) -> int:
    """Races the seeds' optimizers on the ravine 50x^2 + y^2 from (1, 8) and prints a table."""
    del argv

    def loss(p):
        return 50 * p[0] ** 2 + p[1] ** 2

    optimizers = {
        "sgd (lr 0.01)": jos.sgd(0.01),
        "momentum (lr 0.01, 0.9)": jos.sgd(0.01, momentum=0.9),
        "rmsprop (lr 0.01)": jos.rmsprop(0.01, eps_in_sqrt=False),
        "adam (lr 0.1)": jos.adam(0.1),
    }
    print(f"{'optimizer':<26}{'loss after 100':>16}{'x':>12}{'y':>12}")
    for name, tx in optimizers.items():
        @jax.jit
        def step(carry, _, tx=tx):
            p, s = carry
            u, s = tx.update(jax.grad(loss)(p), s, p)
            return (jos.apply_updates(p, u), s), None

        p0 = jnp.array([1.0, 8.0])
        (p, _), _ = jax.lax.scan(step, (p0, tx.init(p0)), None, length=100)
        print(f"{name:<26}{float(loss(p)):>16.6g}{float(p[0]):>12.4f}{float(p[1]):>12.4f}")
    return 0
