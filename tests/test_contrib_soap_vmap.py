"""SOAP under ``vmap`` (a ``jos.sweep``): no batched LAPACK call, so no jaxlib CPU deadlock.

The bug this guards against (jax/jaxlib 0.10.2, CPU): jaxlib's LAPACK kernels split a batch of
large matrices (``eigh``: about ``5 n^3 >= 2e5``, so ``n >= 35``) over XLA's intra-op thread
pool and block the calling pool thread until the pieces are done. When as many such calls as
the pool has threads run at once (independent calls in one loop body), every pool thread waits
for pieces that no thread is free to run: the process hangs with no CPU used. A ``jos.sweep``
of two SOAP configurations on ``digits`` (three 64 x 64 factors) hung this way on a 2-core
machine. ``scale_by_soap`` now runs its ``eigh`` and ``qr`` one matrix at a time under
``vmap`` (a single matrix never leaves the calling thread).

Minimal repro without jaxopt_scratch (:func:`_program` with ``plain=True``; run as
``python tests/test_contrib_soap_vmap.py plain``): it hangs on a 2-core machine with jax and
jaxlib 0.10.2 (3 runs out of 3), while the same program with SOAP's one-matrix-at-a-time
``eigh``/``qr`` (``... ours``) finishes in about a second.
"""

import re
import subprocess
import sys

import _processes
import chex
import jax
import jax.numpy as jnp

import jaxopt_scratch as jos


def _program(plain: bool):
    """vmap over 2 of a 5-step scan; each step does ``switch(index, [keep, eigh, qr])`` of four
    64 x 64 Gram matrices, the index batched (as SOAP's count is in a sweep), so the switch
    becomes a select and all 4 ``eigh`` and 4 ``qr`` run every step, independently."""
    from jaxopt_scratch._contrib import soap as _soap

    eigh = (lambda g: jnp.linalg.eigh(g)[1]) if plain else _soap._eigenvectors
    qr = (lambda g: jnp.linalg.qr(g)[0]) if plain else _soap._orthonormal_basis

    def step(carry, t):
        mats, count = carry
        grams = [m @ m.T + jnp.sin(t + i) for i, m in enumerate(mats)]
        index = jnp.where(count == 0, 1, jnp.where(count % 2 == 0, 2, 0))
        new = jax.lax.switch(index, [lambda gs: gs, lambda gs: [eigh(g) for g in gs],
                                     lambda gs: [qr(g) for g in gs]], grams)
        return ([m + 1e-3 * q for m, q in zip(mats, new)], count + 1), None

    def run(x, count):
        return jax.lax.scan(step, ([x + i for i in range(4)], count), jnp.arange(5))[0]

    x = jax.random.normal(jax.random.key(0), (2, 64, 64)) / 8
    return jax.jit(jax.vmap(run)), (x, jnp.zeros(2, jnp.int32))


def _lapack_batch_dims(lowered_text: str) -> list[str]:
    """``num_batch_dims`` of every LAPACK custom call of a lowered program."""
    lines = [s for s in lowered_text.splitlines() if "custom_call @lapack_" in s]
    return [re.search(r'num_batch_dims = "(\d+)"', s).group(1) for s in lines]


def test_vmapped_update_calls_lapack_on_single_matrices_and_changes_no_number():
    # Deterministic: the lowered program of vmapped updates (batched state, as in a sweep)
    # holds no batched LAPACK call, in the eigh branch (first call) or the QR branch (second);
    # and each config of the vmapped run is the config run alone. Tolerance: vmapped and
    # unbatched matmuls may round differently (a few float32 ulps); eps = 0.1 because the
    # second call is Adam's first step, whose coordinates where the rotated gradient is only
    # rounding would otherwise be +-1 by rounding (see scale_by_soap's note).
    params = {"w": jnp.arange(12.0).reshape(4, 3) / 7}

    def run(b2):
        tx = jos.contrib.scale_by_soap(b2=b2, eps=0.1, precondition_frequency=1)
        state, out = tx.init(params), None
        for t in range(2):
            out, state = tx.update(jax.tree.map(lambda p, t=t: jnp.sin(p * (t + 2.0)), params),
                                   state)
        return out

    b2s = jnp.array([0.9, 0.99])
    lowered = jax.jit(jax.vmap(run)).lower(b2s)
    dims = _lapack_batch_dims(lowered.as_text())
    # 2 eigh + 2 (geqrf + orgqr): one per rotated axis in each branch, twice: in the branch
    # that runs for every run when they agree, and in the fallback where each takes its own.
    assert dims == ["0"] * 12, f"LAPACK calls of a vmapped SOAP update, batch dims: {dims}"
    batched, single = lowered.compile()(b2s), jax.jit(run)
    for i, b2 in enumerate(b2s):
        chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), single(b2),
                                    rtol=1e-5, atol=1e-6)


def test_refresh_switch_runs_one_branch_when_every_run_agrees():
    # In a sweep every run is at the same step, so SOAP's keep / eigh / QR choice is the same
    # for all, but the count is batched and lax.switch would run every branch (the eigh and
    # QR of every factor at every step: 3.7x the time of a 12-step digits sweep). A host
    # callback per branch counts which ran; the outputs must be lax.switch's, bit for bit,
    # also when the runs disagree.
    from jaxopt_scratch._contrib import soap as _soap

    ran = []

    def branch(k):
        def fn(x, y):
            jax.debug.callback(lambda: ran.append(k))
            return x * (k + 1.0) + y, y - k
        return fn

    branches = [branch(k) for k in range(3)]
    x, y = jnp.arange(3.0), jnp.float32(0.5)  # y unbatched: the rule keeps it so

    def ours(i, x):
        return _soap._agreed_switch(i, branches, x, y)

    def plain(i, x):
        return jax.lax.switch(i, branches, x, y)

    for index in ([2, 2, 2], [0, 2, 1]):
        i = jnp.asarray(index)
        ran.clear()
        got = jax.jit(jax.vmap(ours))(i, x)
        jax.effects_barrier()
        assert sorted(set(ran)) == sorted(set(index)), (index, ran)  # [2] when they agree
        chex.assert_trees_all_equal(got, jax.jit(jax.vmap(plain))(i, x))
    # An unbatched index stays a plain switch.
    chex.assert_trees_all_equal(jax.jit(jax.vmap(lambda x: ours(1, x)))(x),
                                jax.jit(jax.vmap(lambda x: plain(1, x)))(x))
    # Differentiable as lax.switch is (gradients through an update, vmapped or not).
    def grads(switch):
        return jax.jit(jax.vmap(jax.grad(lambda x, i: jnp.sum(switch(i, x)[0] ** 2))))(
            x, jnp.asarray([0, 2, 2]))

    chex.assert_trees_all_equal(grads(ours), grads(plain))


def test_program_that_deadlocks_with_batched_lapack_finishes():
    # End to end in a subprocess (a regression hangs forever: the timeout turns it into a
    # failure). On a 2-core machine the same program with plain jnp.linalg hangs.
    try:
        proc = subprocess.run([sys.executable, __file__, "ours"], check=False,
                              env=_processes.env(), cwd=_processes.REPO, capture_output=True,
                              text=True, timeout=_processes.TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"vmapped eigh/qr in a loop hung for {_processes.TIMEOUT_S} s: batched LAPACK calls "
            "deadlock jaxlib's CPU thread pool (see this module's docstring)") from None
    assert proc.returncode == 0 and "RESULT ok" in proc.stdout, proc.stdout + proc.stderr


if __name__ == "__main__":
    f, args = _program(plain=sys.argv[1] == "plain")
    jax.block_until_ready(f(*args))
    print("RESULT ok", flush=True)
