"""Property-based tests (issue 8, item 5): invariants that no single example shows.

Cross-cutting: each property spans several modules (transforms, chain, aliases,
apply_updates), so this file is organised by property, not by module. Shapes
are fixed across hypothesis examples and hyperparameters are jit arguments, so
each jitted runner compiles once; hypothesis varies only values (the ``ci``
profile from tests/conftest.py sets the number of examples).
"""

import functools

import _problems as P
import _registry as R
import chex
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given

import jaxopt_scratch as jos

STEPS = 3
# A few registry rows, one per kind of state (momentum, centered RMS, Adam, sign, trust
# ratio), so that the jitted runners below compile a bounded number of times (hypothesis
# varies values, not optimizers; every row gets the registry harnesses in test_common.py).
SAMPLED = ("sgd_momentum", "rmsprop_centered", "adamw", "lion", "lamb", "lars")
# Chaining with identity and the container kind are handled by chain and the tree helpers
# whatever the state: three kinds (momentum, Adam's moments, layer-wise norms) suffice, and
# each row costs three compiles per property.
STRUCTURAL_SAMPLED = ("sgd_momentum", "adamw", "lars")
assert set(SAMPLED) <= set(R.BY_NAME)

finite32 = functools.partial(st.floats, width=32, allow_nan=False, allow_infinity=False)
vectors = hnp.arrays(np.float32, (3,), elements=finite32(-4.0, 4.0))
scalars = finite32(-4.0, 4.0)


def _tree(vector, scalar):
    return {"w": jnp.asarray(vector), "t": (jnp.asarray(scalar, jnp.float32),)}


def _scan(tx, params, grad_fn=P.bowl_grad, steps=STEPS):
    return P.scan_run(tx, params, grad_fn, steps)


# ---------------------------------------------------------------------------------------------
# Adam's first step is sign(g), whatever the scale of g.
# ---------------------------------------------------------------------------------------------

# Binary exponents for which float32 holds (1 - b2) g^2: |g| in [2**-56, 2**63]. Outside,
# the second moment underflows or overflows (README, "Guarantees").
exponents = hnp.arrays(np.int32, (4,), elements=st.integers(-56, 62))
mantissas = hnp.arrays(np.float32, (4,), elements=finite32(1.0, 1.9921875))
signs = hnp.arrays(np.bool_, (4,))


@jax.jit
def _adam_first_step(g):
    tx = jos.adam(0.5, eps=0.0)  # eps = 0: with eps > 0 a tiny g gives a smaller step
    return tx.update(g, tx.init(jnp.zeros_like(g)))[0]


@given(e=exponents, m=mantissas, s=signs, k=st.integers(-20, 20))
def test_adam_first_step_is_sign_whatever_the_scale(e, m, s, k):
    g = np.where(s, 1.0, -1.0).astype(np.float32) * np.ldexp(m, e)
    u = _adam_first_step(jnp.asarray(g))
    # m_hat = g and sqrt(v_hat) = |g| up to a few float32 roundings (bias corrections).
    np.testing.assert_allclose(np.asarray(u), -0.5 * np.sign(g), rtol=1e-6)
    rescaled = np.ldexp(g, np.clip(e + k, -56, 62) - e).astype(np.float32)  # g * 2**k, clipped
    np.testing.assert_allclose(np.asarray(_adam_first_step(jnp.asarray(rescaled))),
                               np.asarray(u), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# chain(identity(), t) equals t.
# ---------------------------------------------------------------------------------------------


@functools.cache
def _chain_runner(name, wrap):
    tx = R.BY_NAME[name].make(0.05)
    if wrap == "left":
        tx = jos.chain(jos.identity(), tx)
    elif wrap == "right":
        tx = jos.chain(tx, jos.identity())
    return jax.jit(lambda p: _scan(tx, p)[0])


@given(name=st.sampled_from(STRUCTURAL_SAMPLED), v=vectors, t=scalars)
def test_chain_with_identity_equals_the_transform(name, v, t):
    params = _tree(v, t)
    alone = _chain_runner(name, "none")(params)
    chex.assert_trees_all_equal(_chain_runner(name, "left")(params), alone)
    chex.assert_trees_all_equal(_chain_runner(name, "right")(params), alone)


# ---------------------------------------------------------------------------------------------
# vmap over a hyperparameter equals the loop.
# ---------------------------------------------------------------------------------------------


@functools.cache
def _lr_runner(name):
    def run(lr, params):
        return _scan(R.BY_NAME[name].make(lr), params)[0]

    return jax.jit(run), jax.jit(jax.vmap(run, in_axes=(0, None)))


@given(name=st.sampled_from(SAMPLED),
       lrs=hnp.arrays(np.float32, (3,), elements=finite32(0.0, 1.0)), v=vectors, t=scalars)
def test_vmap_over_learning_rate_equals_the_loop(name, lrs, v, t):
    params = _tree(v, t)
    loop, batched = _lr_runner(name)
    swept = batched(jnp.asarray(lrs), params)
    for i, lr in enumerate(lrs):
        # Same float32 program; batching may reorder fused operations (a few ulps).
        chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], swept),
                                    loop(jnp.float32(lr), params), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Results do not depend on the container.
# ---------------------------------------------------------------------------------------------


def _container_grad(params):
    return jax.tree.map(lambda p: p * jnp.asarray([1.0, 2.0, 3.0], p.dtype) - 0.5, params)


@functools.cache
def _container_runner(name):
    return jax.jit(lambda p: _scan(R.BY_NAME[name].make(0.05), p, _container_grad)[0])


@given(name=st.sampled_from(STRUCTURAL_SAMPLED), a=vectors, b=vectors)
def test_results_do_not_depend_on_the_container(name, a, b):
    a, b = jnp.asarray(a), jnp.asarray(b)
    run = _container_runner(name)
    as_dict = run({"a": a, "b": b})
    as_tuple = run((a, b))
    as_list = run([a, b])
    for got in (as_tuple, as_list):
        chex.assert_trees_all_equal(list(got), [as_dict["a"], as_dict["b"]])


# ---------------------------------------------------------------------------------------------
# SGD never moves along the gradient.
# ---------------------------------------------------------------------------------------------


@jax.jit
def _sgd_updates(lr, grads):
    tx = jos.sgd(lr)
    state = tx.init(grads[0])
    out = []
    for g in grads:
        u, state = tx.update(g, state)
        out.append(u)
    return out


@given(lr=finite32(0.0, 10.0),
       grads=hnp.arrays(np.float32, (STEPS, 4), elements=finite32(-1e3, 1e3)))
def test_sgd_never_moves_along_the_gradient(lr, grads):
    updates = _sgd_updates(jnp.float32(lr), [jnp.asarray(g) for g in grads])
    tiny = np.finfo(np.float32).tiny
    for g, u in zip(grads, updates):
        expected = -np.float32(lr) * g  # one float32 product per element
        # XLA flushes subnormal results to zero; NumPy keeps them (below `tiny`).
        np.testing.assert_allclose(np.asarray(u), expected, rtol=0, atol=tiny)
        along = float(np.dot(np.asarray(u, np.float64), g))
        assert along <= 0.0
        if np.any(np.abs(expected) >= tiny):  # some coordinate actually moves
            assert along < 0.0


# ---------------------------------------------------------------------------------------------
# Weight decay alone shrinks params geometrically.
# ---------------------------------------------------------------------------------------------

DECAY_STEPS = 10


@jax.jit
def _decay_only(lr, wd, params):
    tx = jos.chain(jos.add_decayed_weights(wd), jos.scale_by_learning_rate(lr))
    zero = lambda p: jax.tree.map(jnp.zeros_like, p)  # noqa: E731
    return _scan(tx, params, zero, DECAY_STEPS)[0]


@given(lr=finite32(0.0, 1.0), wd=finite32(0.0, 1.0), v=vectors, t=scalars)
def test_weight_decay_alone_shrinks_params_geometrically(lr, wd, v, t):
    params = _tree(v, t)
    final = _decay_only(jnp.float32(lr), jnp.float32(wd), params)
    factor = (1.0 - np.float64(lr) * np.float64(wd)) ** DECAY_STEPS
    for got, start in zip(jax.tree.leaves(final), jax.tree.leaves(params)):
        start = np.asarray(start, np.float64)
        # Each of the 10 steps rounds p * lr * wd and p - that in float32 (~2e-7 each).
        np.testing.assert_allclose(np.asarray(got, np.float64), start * factor,
                                   rtol=1e-5, atol=1e-6)
        assert np.all(np.abs(np.asarray(got)) <= np.abs(start))  # never grows
