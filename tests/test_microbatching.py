"""Tests for jaxopt_scratch/_wrappers/microbatching.py (``jos.microbatch``, ``jos.microbatching``).

Parity with ``optax.microbatching`` 0.2.8 (the same strided split, so even a function that is
not a sum over rows gives optax's number) and with the un-microbatched function.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_scratch as jos

mb = jos.microbatching
X = jnp.asarray(np.random.default_rng(0).normal(size=(6, 2)), jnp.float32)
Y = jnp.asarray(np.random.default_rng(1).normal(size=(6, 2)), jnp.float32)
# float32 sums of 6 rows in a different order than the whole-batch reduction.
TOL = 1e-6


def _close(got, want):
    got, want = jax.tree.leaves(got), jax.tree.leaves(want)  # optax's Aux is another class
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def _f(w, x, y):
    return {"rows": x * y * w, "sum": jnp.sum(x + 2 * y, axis=0),
            "mean": (jnp.mean(w * x), jnp.mean(y))}


ACCS = {"rows": mb.AccumulationType.CONCAT, "sum": mb.AccumulationType.SUM,
        "mean": (mb.AccumulationType.MEAN, mb.AccumulationType.RUNNING_MEAN)}


@pytest.mark.parametrize("size", [2, 3])  # three microbatches of two, two of three
def test_microbatch_equals_the_whole_batch_and_optax(size):
    # Jitted whole: one compile per call instead of one per eager operation (test time).
    got = jax.jit(jos.microbatch(_f, (1, 2), size, ACCS))(1.5, X, Y)
    _close(got, _f(1.5, X, Y))
    o = optax.microbatching.AccumulationType
    optax_accs = {"rows": o.CONCAT, "sum": o.SUM, "mean": (o.MEAN, o.RUNNING_MEAN)}
    want = jax.jit(optax.microbatch(_f, (1, 2), size, optax_accs))(1.5, X, Y)
    _close(got, want)


def test_the_split_is_strided_as_in_optax():
    # x[:-1] @ x[1:] is not a sum over rows: its microbatched value shows the split.
    fun = lambda x: x[:-1] @ x[1:]
    x = jnp.arange(6.0)
    assert jos.microbatch(fun, 0, 3)(x) == 0 * 2 + 2 * 4 + 1 * 3 + 3 * 5
    np.testing.assert_array_equal(mb.reshape_batch_axis(x, 3),
                                  optax.microbatching.reshape_batch_axis(x, 3))


def test_kwargs_in_axes_and_early_stop_traced():
    fun = lambda a, *, b: jnp.einsum("bi,ib->", a, b)
    whole = fun(X, b=Y.T)
    got = jax.jit(jos.microbatch(fun, 0, 2, argnames="b", in_axes=(0, 1)))(X, b=Y.T)
    np.testing.assert_allclose(got, whole, rtol=TOL)
    stopped = jax.jit(lambda n: jos.microbatch(jnp.sum, 0, 2, num_real_microbatches=n)(
        jnp.ones(12)))
    assert stopped(jnp.int32(2)) == 4.0  # two microbatches of two ones: no recompilation needed


def test_micro_vmap_and_micro_grad_match_optax():
    np.testing.assert_array_equal(
        jax.jit(mb.micro_vmap(jnp.sum, in_axes=1, microbatch_size=2))(Y.T),
                                  jnp.sum(Y, axis=1))

    def loss(w, x, t):
        return 0.5 * jnp.mean((x @ w - t) ** 2)

    args = (jnp.array([0.5, -1.0]), X, Y[:, 0])
    kw = {"argnums": 0, "batch_argnums": (1, 2), "transform_fn": lambda g: (g, g**2),
          "metrics_fn": jnp.linalg.norm, "microbatch_size": 3}
    got = jax.jit(mb.micro_grad(loss, **kw))(*args)
    want = jax.jit(optax.microbatching.micro_grad(loss, **kw))(*args)
    _close(got, want)
    # The summed per-example gradients are the gradient of the summed per-example losses.
    np.testing.assert_allclose(got[0][0], jax.grad(lambda w: 6 * loss(w, *args[1:]))(args[0]),
                               rtol=1e-5)


def test_clear_errors():
    with pytest.raises(ValueError, match="divisible by `microbatch_size`"):
        jos.microbatch(jnp.sum, 0, 4)(X)
    with pytest.raises(ValueError, match="same batch size"):
        jos.microbatch(lambda a, b: a, (0, 1), 2)(X, jnp.ones(4))
    with pytest.raises(ValueError, match="floating-point"):
        jos.microbatch(jnp.sum, 0, 2, mb.AccumulationType.MEAN)(jnp.arange(4))
    assert jos.microbatch(jnp.sum, 0, None) is jnp.sum
