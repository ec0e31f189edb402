r"""Problems with data: tutorial 2's line fit, tutorial 0's XOR networks and a synthetic MLP task.

The tutorials' problems (P6, P9) are described in ``docs/tutorial_claims.rst``.
Registered into the table of ``registry.py``; use them through
``jos.problems.get(name)``. Each ``loss_fn(params, batch=None)`` evaluates the
whole data set when ``batch`` is ``None`` and the given ``(inputs, targets)``
otherwise, so the same function serves full-batch and minibatch training.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core.tree_math import as_float, float_dtype
from jaxopt_scratch._engine.problems.registry import Problem, register


@register("linear_regression")
def linear_regression() -> Problem:
    r"""Tutorial 2's line fit: :math:`\mathrm{mean}((wX + b - y)^2)`, ``y = 2X + 1``, X = 1..5.

    Problem P6 of ``docs/tutorial_claims.rst``.

    The params are ``{"w": w, "b": b}``, two scalars starting at 0; the minimum
    is ``w = 2, b = 1`` with loss 0.
    """
    inputs = np.arange(1.0, 6.0)
    data = (as_float(inputs), as_float(2 * inputs + 1))

    def loss_fn(params, batch=None):
        x, y = data if batch is None else batch
        return jnp.mean((params["w"] * x + params["b"] - y) ** 2)

    def init_params(key=None):
        del key  # tutorial 2 starts from zero
        return {"w": as_float(0.0), "b": as_float(0.0)}

    return Problem(
        name="linear_regression",
        description=("mean((w x + b - y)^2), y = 2x + 1, x = 1..5, from w = b = 0: tutorial 2 "
                     "(docs/tutorial_claims.rst, P6)"),
        loss_fn=loss_fn, init_params=init_params, minima=({"w": 2.0, "b": 1.0},), min_loss=0.0,
        num_steps=200, target_loss=1e-2,
    )


_XOR_INPUTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
_XOR_TARGETS = ((0.0,), (1.0,), (1.0,), (0.0,))


def _xor(name: str, hidden: int, activation: str, loss: str, numpy_seed: int) -> Problem:
    """A 2-``hidden``-1 network on XOR, set up as P9 of ``docs/tutorial_claims.rst``.

    ``init_params()`` is P9's NumPy-seeded initialisation; ``init_params(key)``
    draws a fresh standard-normal one of the same shapes (for sweeps over seeds).
    """
    act = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[activation]
    data = (as_float(_XOR_INPUTS), as_float(_XOR_TARGETS))

    def logits(params, x):
        hidden_out = act(x @ params["W1"] + params["b1"])
        return hidden_out @ params["W2"] + params["b2"]

    def loss_fn(params, batch=None):
        x, y = data if batch is None else batch
        z = logits(params, x)
        if loss == "mse":
            return jnp.mean((jax.nn.sigmoid(z) - y) ** 2)
        # Binary cross-entropy from the logits: log p = log_sigmoid(z), log(1 - p) = log_sigmoid(-z).
        return -jnp.mean(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z))

    def accuracy_fn(params, batch=None):
        x, y = data if batch is None else batch
        predicted = (logits(params, x) > 0).astype(y.dtype)  # p > 0.5 exactly when z > 0
        return jnp.mean((predicted == y).astype(y.dtype))

    def init_params(key=None):
        if key is None:
            # P9's initialisation, drawn by NumPy's legacy global generator.
            state = np.random.get_state()
            try:
                np.random.seed(numpy_seed)
                w1 = np.random.randn(2, hidden)
                w2 = np.random.randn(hidden, 1)
            finally:
                np.random.set_state(state)  # leave the caller's NumPy stream untouched
        else:
            k1, k2 = jax.random.split(key)
            w1 = jax.random.normal(k1, (2, hidden), float_dtype())
            w2 = jax.random.normal(k2, (hidden, 1), float_dtype())
        return {"W1": as_float(w1), "b1": as_float(np.zeros((1, hidden))),
                "W2": as_float(w2), "b2": as_float(np.zeros((1, 1)))}

    loss_name = "MSE" if loss == "mse" else "BCE"
    return Problem(
        name=name,
        description=(f"XOR, 2-{hidden}-1 {activation} net, {loss_name}, NumPy seed {numpy_seed} "
                     f"(docs/tutorial_claims.rst, P9 setup {name[-1].upper()})"),
        loss_fn=loss_fn, init_params=init_params, min_loss=0.0, num_steps=3000,
        target_loss=1e-2 if loss == "mse" else 5e-2, accuracy_fn=accuracy_fn,
    )


@register("xor_a")
def xor_a() -> Problem:
    """XOR setup A of P9: 2-4-1, tanh hidden layer, MSE, ``np.random.seed(0)``."""
    return _xor("xor_a", 4, "tanh", "mse", 0)


@register("xor_b")
def xor_b() -> Problem:
    """XOR setup B of P9: 2-8-1, sigmoid hidden layer, BCE, ``np.random.seed(42)``."""
    return _xor("xor_b", 8, "sigmoid", "bce", 42)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))  # one compilation, not one per op
def _mlp_data(key, num_samples, num_features, num_classes, dtype):
    kx, kt1, kt2, kn = jax.random.split(key, 4)
    x = jax.random.normal(kx, (num_samples, num_features), dtype)
    teacher_w1 = jax.random.normal(kt1, (num_features, 64), dtype) / math.sqrt(num_features)
    teacher_w2 = jax.random.normal(kt2, (64, num_classes), dtype) * (3.0 / 8.0)
    teacher_logits = jnp.tanh(x @ teacher_w1) @ teacher_w2
    noise = jax.random.gumbel(kn, teacher_logits.shape, dtype)
    return x, jnp.argmax(teacher_logits + noise, axis=-1)


@functools.partial(jax.jit, static_argnums=(1, 2))
def he_init(key: jax.Array, sizes: tuple[int, ...], dtype: Any) -> list[dict[str, jax.Array]]:
    """He-normal weights and zero biases of a ``sizes[0] -> ... -> sizes[-1]`` MLP."""
    layers = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), itertools.pairwise(sizes)):
        w = jax.random.normal(k, (n_in, n_out), dtype) * math.sqrt(2.0 / n_in)
        layers.append({"w": w, "b": jnp.zeros(n_out, dtype)})
    return layers


def relu_mlp_logits(params: list[dict[str, jax.Array]], inputs: jax.Array) -> jax.Array:
    """The logits of a ReLU MLP whose params are :func:`he_init`'s list of layers."""
    out = inputs
    for i, layer in enumerate(params):
        out = out @ layer["w"] + layer["b"][None, :]
        if i < len(params) - 1:
            out = jax.nn.relu(out)
    return out


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    r"""Mean over the rows of :math:`-\log \mathrm{softmax}(z)_y` (in nats), for integer labels."""
    picked = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - picked)


def check_sizes(**sizes: int) -> None:
    for arg, value in sizes.items():
        if not isinstance(value, int) or value < 1 or (arg == "num_classes" and value < 2):
            raise ValueError(f"`{arg}` must be a positive integer (>= 2 for classes), "
                             f"got {value!r}.")


@register("mlp")
def mlp(
    num_samples: int = 20_000,
    num_features: int = 32,
    num_classes: int = 10,
    hidden: tuple[int, ...] = (256, 256),
    batch_size: int = 128,
    data_seed: int = 0,
) -> Problem:
    r"""Synthetic classification with a ReLU MLP, big enough that CPU time matters.

    Inputs are standard normal; labels are the argmax of a random two-layer
    tanh "teacher" network plus Gumbel noise (so the task is learnable but not
    separable). The student is ``num_features -> hidden... -> num_classes`` with
    ReLU and softmax cross-entropy. Everything is drawn from
    ``jax.random.key(data_seed)``; ``init_params(key)`` draws He-normal weights
    (``key=None`` means ``jax.random.key(0)``) and ``sample_fn(key)`` draws
    ``batch_size`` examples with replacement.
    """
    check_sizes(num_samples=num_samples, num_features=num_features, num_classes=num_classes,
                 batch_size=batch_size)
    hidden = tuple(hidden)
    dtype = float_dtype()
    sizes = (num_features, *hidden, num_classes)

    x, y = _mlp_data(jax.random.key(data_seed), num_samples, num_features, num_classes, dtype)

    def loss_fn(params, batch=None):
        inputs, labels = (x, y) if batch is None else batch
        return softmax_cross_entropy(relu_mlp_logits(params, inputs), labels)

    def accuracy_fn(params, batch=None):
        inputs, labels = (x, y) if batch is None else batch
        hits = jnp.argmax(relu_mlp_logits(params, inputs), axis=-1) == labels
        return jnp.mean(hits.astype(dtype))

    def init_params(key=None):
        return he_init(jax.random.key(0) if key is None else key, sizes, dtype)

    def sample_fn(key):
        idx = jax.random.randint(key, (batch_size,), 0, num_samples)
        return x[idx], y[idx]

    return Problem(
        name="mlp",
        description=(f"{num_samples} synthetic samples, {num_features} features, {num_classes} "
                     f"classes; ReLU MLP {'-'.join(map(str, sizes))}, cross-entropy"),
        loss_fn=loss_fn, init_params=init_params, num_steps=500, target_loss=1.0,
        sample_fn=sample_fn, accuracy_fn=accuracy_fn,
    )
