"""Tests for jaxopt_scratch/_engine/problems/datasets.py (digits, stdlib_text)."""

import math
import pathlib
import sys
import sysconfig

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._engine.problems import datasets as _datasets

SMALL_TEXT = {"num_train": 2048, "num_valid": 512}  # shared with tests/test_problems.py


@pytest.fixture(scope="module")
def digits():
    return jos.problems.get("digits")


@pytest.fixture(scope="module")
def text():
    return jos.problems.get("stdlib_text", **SMALL_TEXT)


def test_digits_splits_are_disjoint_deterministic_and_scaled(digits):
    from sklearn.datasets import load_digits

    x_val, y_val = digits.eval_batch
    assert x_val.shape == (359, 64) and y_val.shape == (359,) and y_val.dtype == jnp.int32
    # The validation images are rows of the bundled set, divided by 16 (pixels 0..16).
    raw = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(np.asarray(x_val), (raw.data[order[:359]] / 16).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(y_val), raw.target[order[:359]])
    # The training split is everything else: 1438 images, every class present.
    train_x, train_y = digits.sample_fn(jax.random.key(0))
    assert train_x.shape == (64, 64) and train_y.shape == (64,)
    assert float(jnp.max(x_val)) == 1.0 and float(jnp.min(x_val)) == 0.0
    other = jos.problems.get("digits", data_seed=1)
    assert not np.array_equal(np.asarray(other.eval_batch[1]), np.asarray(y_val))


def test_digits_learns_and_metrics_are_on_the_validation_split(digits):
    params = digits.init_params()
    start = digits.metrics_fn(params)
    assert set(start) == {"loss", "accuracy"}
    # An untrained 10-class classifier: loss about ln 10, accuracy about a tenth.
    assert abs(float(start["loss"]) - math.log(10)) < 1.5 and float(start["accuracy"]) < 0.3
    result = jos.run(jos.adam(1e-2), digits.loss_fn, params, 150, sample_fn=digits.sample_fn,
                     record_every=None, eval_batch=digits.eval_batch)
    end = digits.metrics_fn(result.params)
    assert float(end["accuracy"]) > 0.9  # held-out accuracy of a 64-unit MLP: about 0.97
    # The run's final loss on `eval_batch` is the metric's validation loss.
    assert float(result.final_loss) == pytest.approx(float(end["loss"]), rel=1e-6)
    # `accuracy_fn(params)` is the training accuracy (the whole training split).
    assert float(digits.accuracy_fn(result.params)) >= float(end["accuracy"]) - 0.05


def test_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails as if missing
    with pytest.raises(ImportError, match=r"jaxopt_scratch\[cli\]"):
        _datasets.digits()


def test_digits_checks_its_options():
    with pytest.raises(ValueError, match="`validation_fraction` must be in"):
        _datasets.digits(validation_fraction=1.0)
    with pytest.raises(ValueError, match=r"`hidden\[0\]` must be a positive integer"):
        _datasets.digits(hidden=(0,))


def test_text_is_the_standard_library_source(text):
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    first = (root / _datasets.STDLIB_FILES[0]).read_bytes()
    assert _datasets.read_stdlib(2560) == first[:2560]
    with pytest.raises(ValueError, match="fewer than the"):
        _datasets.read_stdlib(10**9)


def test_text_splits_and_loss_match_a_numpy_oracle(text):
    positions = np.asarray(text.eval_batch)
    # Validation targets are the last 512 bytes minus the first `context` (no window
    # reaches back into the training bytes).
    np.testing.assert_array_equal(positions, np.arange(2048 + 8, 2048 + 512))
    params = text.init_params()
    raw = np.frombuffer(_datasets.read_stdlib(2560), np.uint8).astype(np.int64)
    host = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    windows = raw[positions[:, None] + np.arange(-8, 0)]
    h = np.tanh(host["embed"][windows].reshape(len(positions), -1) @ host["hidden"]["w"]
                + host["hidden"]["b"])
    z = h @ host["out"]["w"] + host["out"]["b"]
    log_z = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
    nats = np.mean(log_z - z[np.arange(len(positions)), raw[positions]])
    metrics = text.metrics_fn(params)
    # float32 forward pass against a float64 oracle over 504 positions.
    assert float(metrics["loss"]) == pytest.approx(nats, rel=1e-5)
    assert float(metrics["bits_per_byte"]) == pytest.approx(nats / math.log(2), rel=1e-5)
    accuracy = np.mean(z.argmax(1) == raw[positions])
    assert float(metrics["accuracy"]) == pytest.approx(accuracy, abs=1e-6)
    # Training batches are target positions whose windows lie in the training bytes.
    batch = np.asarray(text.sample_fn(jax.random.key(3)))
    assert batch.shape == (64,) and batch.min() >= 8 and batch.max() < 2048


def test_text_learns_more_than_byte_frequencies(text):
    # The baseline: each validation byte predicted by its (add-one) frequency in the
    # training bytes, about 4.6 bits per byte; a uniform guess is 8.
    raw = np.frombuffer(_datasets.read_stdlib(2560), np.uint8)
    counts = np.bincount(raw[:2048], minlength=256) + 1.0
    unigram = -np.mean(np.log2(counts[raw[2048 + 8:]] / counts.sum()))
    result = jos.run(jos.adam(3e-3), text.loss_fn, text.init_params(), 100,
                     sample_fn=text.sample_fn, record_every=None)
    bits = float(text.metrics_fn(result.params)["bits_per_byte"])
    assert bits < unigram - 0.3  # measured: 3.9 against 4.6 after these 100 steps


def test_text_checks_its_options():
    with pytest.raises(ValueError, match="`context`=600 must be smaller"):
        _datasets.stdlib_text(num_train=1024, num_valid=512, context=600)
