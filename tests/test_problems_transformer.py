"""Tests for jaxopt_scratch/_engine/problems/transformer.py (stdlib_transformer)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._engine.problems import datasets as _datasets
from jaxopt_scratch._engine.problems import transformer as _transformer

SMALL = {"num_train": 2048, "num_valid": 512, "context": 8, "d_model": 8, "num_layers": 1,
         "num_heads": 2, "batch_size": 4}


@pytest.fixture(scope="module")
def lm():
    return jos.problems.get("stdlib_transformer", **SMALL)


def test_params_are_a_transformer_with_two_dimensional_weights(lm):
    params = lm.init_params()
    d = SMALL["d_model"]
    assert params["embed"].shape == (256, d) and params["unembed"].shape == (d, 256)
    assert params["position"].shape == (SMALL["context"], d)
    (block,) = params["blocks"]
    assert {k: v.shape for k, v in block["attn"].items()} == {k: (d, d) for k in
                                                             ("wq", "wk", "wv", "wo")}
    assert block["mlp"]["w_in"].shape == (d, 4 * d) and block["mlp"]["w_out"].shape == (4 * d, d)
    # Different keys, different weights; the default key is key(0).
    other = lm.init_params(jax.random.key(1))
    assert not np.array_equal(np.asarray(params["embed"]), np.asarray(other["embed"]))
    np.testing.assert_array_equal(np.asarray(params["embed"]),
                                  np.asarray(lm.init_params(jax.random.key(0))["embed"]))


def test_attention_is_causal(lm):
    # Changing the last byte of a window must not change any earlier prediction.
    params = lm.init_params(jax.random.key(3))
    tokens = jnp.asarray([[10, 20, 30, 40, 50, 60, 70, 80]], jnp.int32)
    changed = tokens.at[0, -1].set(200)
    logits = jax.jit(_transformer.transformer_logits, static_argnums=2)
    a, b = logits(params, tokens, 2), logits(params, changed, 2)
    np.testing.assert_array_equal(np.asarray(a[0, :-1]), np.asarray(b[0, :-1]))
    assert not np.allclose(np.asarray(a[0, -1]), np.asarray(b[0, -1]))


def test_splits_are_disjoint_windows_of_the_stdlib_text(lm):
    context, num_train = SMALL["context"], SMALL["num_train"]
    starts = np.asarray(lm.eval_batch)
    # Validation windows (context + 1 bytes each) lie wholly after the training text.
    assert starts.min() >= num_train and starts.max() + context < num_train + SMALL["num_valid"]
    np.testing.assert_array_equal(np.diff(starts), context)  # non-overlapping
    draws = np.asarray(jax.jit(jax.vmap(lm.sample_fn))(jax.random.split(jax.random.key(0), 64)))
    assert draws.shape == (64, SMALL["batch_size"])
    assert draws.min() >= 0 and draws.max() + context < num_train  # training windows only
    assert _datasets.read_stdlib(16) == _datasets.read_stdlib(num_train)[:16]


def test_metrics_start_at_a_uniform_guess_and_training_lowers_them(lm):
    metrics_fn = jax.jit(lm.metrics_fn)  # one compilation for both evaluations
    start = metrics_fn(lm.init_params())
    assert set(start) == {"loss", "bits_per_byte", "accuracy"}
    # Small initial weights: the predictions are about uniform over 256 bytes (8 bits).
    assert abs(float(start["bits_per_byte"]) - 8.0) < 0.1
    assert float(start["loss"]) == pytest.approx(float(start["bits_per_byte"]) * math.log(2))
    result = jos.run(jos.adam(3e-2), lm.loss_fn, lm.init_params(), 40, sample_fn=lm.sample_fn,
                     record_every=None, eval_batch=lm.eval_batch)
    end = metrics_fn(result.params)
    # 40 Adam steps learn the byte frequencies at least (about 5 bits per byte).
    assert float(end["bits_per_byte"]) < 6.0
    assert float(result.final_loss) == pytest.approx(float(end["loss"]), rel=1e-5)


def test_checks_its_options():
    with pytest.raises(ValueError, match="must be a multiple of `num_heads`"):
        _transformer.stdlib_transformer(d_model=10, num_heads=3)
    with pytest.raises(ValueError, match="`context`=600 must be smaller"):
        _transformer.stdlib_transformer(num_train=2048, num_valid=512, context=600)
    with pytest.raises(ValueError, match="`num_layers` must be a positive integer"):
        _transformer.stdlib_transformer(num_layers=0)
