"""GaLore under ``vmap`` (a ``jos.sweep``): its SVD is never one batched LAPACK call.

jaxlib 0.10.2's batched CPU LAPACK kernels can deadlock XLA's intra-op thread pool (the
mechanism and an end-to-end hang test: tests/test_contrib_soap_vmap.py). ``scale_by_galore``
computes its SVD with ``_core.linear_algebra.one_matrix_at_a_time``, so a vmapped update loops
over the runs' matrices. Checked on the lowered program (no compile: cheap).
"""

import re

import chex
import jax
import jax.numpy as jnp
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._contrib import galore as _galore

PARAMS = {"tall": jnp.sin(jnp.arange(24.0)).reshape(6, 4) / 3,
          "wide": jnp.cos(jnp.arange(15.0)).reshape(3, 5) / 3, "b": jnp.array([0.3, -0.2, 0.1])}
STEPS = 2


def _plain_svd(mat):
    return jnp.linalg.svd(mat, full_matrices=False)


def _run(learning_rate):
    """2 GaLore steps refreshing the projectors every step; the gradients follow the params, so
    under vmap over ``learning_rate`` the SVD input is batched from the second step on."""
    tx = jos.contrib.galore(learning_rate, rank=2, update_proj_gap=1)
    params, state = PARAMS, tx.init(PARAMS)
    for t in range(STEPS):
        grads = jax.tree.map(lambda p, t=t: jnp.sin(p * (t + 2.0)), params)
        updates, state = tx.update(grads, state, params)
        params = jos.apply_updates(params, updates)
    return params, state[0].projector


def _svd_batch_dims(lowered_text: str) -> list[str]:
    """``num_batch_dims`` of every LAPACK SVD (``gesdd``/``gesvd``/``gesvdj``) custom call."""
    lines = [s for s in lowered_text.splitlines() if re.search(r"custom_call @lapack_\w*ges", s)]
    return [re.search(r'num_batch_dims = "(\d+)"', s).group(1) for s in lines]


LEARNING_RATES = jnp.array([0.01, 0.05])


@pytest.fixture(scope="module")
def lowered():
    """The vmapped program, lowered once (inspected, then compiled by the next tests)."""
    return jax.jit(jax.vmap(_run)).lower(LEARNING_RATES)


def test_vmapped_galore_calls_svd_on_single_matrices(lowered, monkeypatch):
    dims = _svd_batch_dims(lowered.as_text())
    # Per projected leaf (2), an SVD of one matrix: the first step's (unbatched input) and the
    # body of the lax.map of the later steps (jax outlines each as a function, called per step).
    assert len(dims) >= 2 and set(dims) == {"0"}, f"SVDs of a vmapped GaLore, batch dims: {dims}"
    # Control: the plain SVD is batched there (so the check above can fail).
    monkeypatch.setattr(_galore, "_thin_svd", _plain_svd)
    plain = _svd_batch_dims(jax.jit(jax.vmap(_run)).lower(LEARNING_RATES).as_text())
    assert "1" in plain, plain


@pytest.fixture(scope="module")
def single():
    return jax.jit(_run)


def test_unbatched_numbers_are_bitwise_those_of_the_plain_svd(single, monkeypatch):
    ours = single(LEARNING_RATES[1])
    monkeypatch.setattr(_galore, "_thin_svd", _plain_svd)
    plain = jax.jit(_run)(LEARNING_RATES[1])
    chex.assert_trees_all_equal(ours, plain)


def test_vmapped_runs_equal_each_config_run_alone(lowered, single):
    batched = lowered.compile()(LEARNING_RATES)
    for i, lr in enumerate(LEARNING_RATES):
        # Tolerance: vmapped and unbatched matmuls (projection, Adam) may round differently by
        # a few float32 ulps; the SVDs themselves are the same kernel on one matrix each.
        chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), single(lr),
                                    rtol=1e-5, atol=1e-6)
