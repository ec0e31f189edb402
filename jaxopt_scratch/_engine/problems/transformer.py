r"""A tiny byte-level transformer language model of Python's own standard-library source.

The text and its splits are those of ``stdlib_text`` (``datasets.py``); the model
is a decoder-only transformer written with ``jax.numpy`` (pre-LayerNorm blocks of
causal multi-head self-attention and a GELU MLP, learned positions), small enough
that a sweep of a dozen runs trains on two CPU cores in a minute. Registered into
the table of ``registry.py``; use it through ``jos.problems.get("stdlib_transformer")``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core.tree_math import float_dtype
from jaxopt_scratch._engine.problems import datasets as _datasets
from jaxopt_scratch._engine.problems import networks as _networks
from jaxopt_scratch._engine.problems.registry import Problem, register


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _init(key, context, d_model, num_layers, dtype):
    """GPT-2-style initialisation: normal(0.02) weights, residual outputs scaled by depth."""
    keys = iter(jax.random.split(key, 3 + 6 * num_layers))
    std, res_std = 0.02, 0.02 / math.sqrt(2 * num_layers)

    def normal(shape, scale):
        return jax.random.normal(next(keys), shape, dtype) * scale

    def norm():
        return {"scale": jnp.ones(d_model, dtype), "bias": jnp.zeros(d_model, dtype)}

    blocks = [{
        "ln1": norm(),
        "attn": {"wq": normal((d_model, d_model), std), "wk": normal((d_model, d_model), std),
                 "wv": normal((d_model, d_model), std), "wo": normal((d_model, d_model), res_std)},
        "ln2": norm(),
        "mlp": {"w_in": normal((d_model, 4 * d_model), std), "b_in": jnp.zeros(4 * d_model, dtype),
                "w_out": normal((4 * d_model, d_model), res_std), "b_out": jnp.zeros(d_model, dtype)},
    } for _ in range(num_layers)]
    return {"embed": normal((256, d_model), std), "position": normal((context, d_model), std),
            "blocks": blocks, "ln_f": norm(), "unembed": normal((d_model, 256), std)}


def _layer_norm(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + 1e-5) * p["scale"][None, None] + p["bias"][None, None]


def _attention(p: dict[str, jax.Array], x: jax.Array, num_heads: int) -> jax.Array:
    """Causal multi-head self-attention of ``x`` (batch, time, d_model)."""
    b, t, d = x.shape

    def heads(w):  # (b, t, d) -> (b, heads, t, d / heads)
        return (x @ w).reshape(b, t, num_heads, d // num_heads).transpose(0, 2, 1, 3)

    q, k, v = heads(p["wq"]), heads(p["wk"]), heads(p["wv"])
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d // num_heads)
    causal = jnp.tril(jnp.ones((t, t), bool))
    scores = jnp.where(causal[None, None], scores, jnp.asarray(-1e9, scores.dtype))
    out = jax.nn.softmax(scores, axis=-1) @ v
    return out.transpose(0, 2, 1, 3).reshape(b, t, d) @ p["wo"]


def transformer_logits(params: Any, tokens: jax.Array, num_heads: int) -> jax.Array:
    """Next-byte logits ``(batch, time, 256)`` of a ``(batch, time)`` array of bytes."""
    x = params["embed"][tokens] + params["position"][None, : tokens.shape[1]]
    for block in params["blocks"]:
        x = x + _attention(block["attn"], _layer_norm(block["ln1"], x), num_heads)
        mlp = block["mlp"]
        h = jax.nn.gelu(_layer_norm(block["ln2"], x) @ mlp["w_in"] + mlp["b_in"][None, None])
        x = x + h @ mlp["w_out"] + mlp["b_out"][None, None]
    return _layer_norm(params["ln_f"], x) @ params["unembed"]


@register("stdlib_transformer")
def stdlib_transformer(
    num_train: int = 65_536,
    num_valid: int = 8_192,
    context: int = 32,
    d_model: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    batch_size: int = 16,
) -> Problem:
    r"""A byte-level transformer language model of Python's standard-library source.

    The text is ``stdlib_text``'s: the first ``num_train + num_valid`` bytes of
    ``datasets.STDLIB_FILES``, the first ``num_train`` to train on and the rest to
    validate. A batch is an array of window starts; the model reads the
    ``context`` bytes from each start and predicts every next byte (``context``
    predictions per window, each seeing only the bytes before it). The network:
    byte embedding and learned positions of width ``d_model``, ``num_layers``
    pre-LayerNorm blocks (causal self-attention with ``num_heads`` heads, a GELU
    MLP of width ``4 * d_model``), a final LayerNorm and an untied projection onto
    the 256 byte values; every weight matrix is 2-D (as Muon wants).
    ``sample_fn(key)`` draws ``batch_size`` window starts in the training text;
    ``loss_fn(params)`` with no batch is the mean cross-entropy (nats per byte)
    over the non-overlapping training windows; ``eval_batch`` is the
    non-overlapping validation windows and ``metrics_fn`` gives
    ``{"loss", "bits_per_byte", "accuracy"}`` on them (a uniform guess scores 8
    bits per byte).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> lm = jos.problems.get("stdlib_transformer", num_train=4096, num_valid=1024)
        >>> metrics = lm.metrics_fn(lm.init_params())
        >>> 7.5 < float(metrics["bits_per_byte"]) < 8.5   # untrained: about a uniform guess
        True
    """
    _networks.check_sizes(num_train=num_train, num_valid=num_valid, context=context,
                          d_model=d_model, num_layers=num_layers, num_heads=num_heads,
                          batch_size=batch_size)
    if d_model % num_heads:
        raise ValueError(f"`d_model`={d_model} must be a multiple of `num_heads`={num_heads}.")
    if context + 1 > min(num_train, num_valid):
        raise ValueError(f"`context`={context} must be smaller than `num_train`={num_train} and "
                         f"`num_valid`={num_valid}.")
    raw = _datasets.read_stdlib(num_train + num_valid)
    text = jnp.asarray(np.frombuffer(raw, np.uint8).astype(np.int32))
    train_starts = jnp.arange(0, num_train - context, context, dtype=jnp.int32)
    valid_starts = jnp.arange(num_train, num_train + num_valid - context, context, dtype=jnp.int32)
    dtype = float_dtype()
    offsets = jnp.arange(context + 1)

    def logits_and_targets(params, starts):
        windows = text[starts[:, None] + offsets[None, :]]  # (batch, context + 1)
        logits = transformer_logits(params, windows[:, :-1], num_heads)
        return logits.reshape(-1, 256), windows[:, 1:].reshape(-1)

    def loss_fn(params, batch=None):
        logits, targets = logits_and_targets(params, train_starts if batch is None else batch)
        return _networks.softmax_cross_entropy(logits, targets)

    def metrics_fn(params, batch=None):
        logits, targets = logits_and_targets(params, valid_starts if batch is None else batch)
        loss = _networks.softmax_cross_entropy(logits, targets)
        hits = (jnp.argmax(logits, axis=-1) == targets).astype(logits.dtype)
        return {"loss": loss, "bits_per_byte": loss / math.log(2.0), "accuracy": jnp.mean(hits)}

    def init_params(key=None):
        return _init(jax.random.key(0) if key is None else key, context, d_model, num_layers,
                     dtype)

    def sample_fn(key):
        return jax.random.randint(key, (batch_size,), 0, num_train - context)

    return Problem(
        name="stdlib_transformer",
        description=(f"byte-level transformer LM on {num_train} + {num_valid} bytes of Python's "
                     f"standard library source; context {context}, d_model {d_model}, "
                     f"{num_layers} block(s), {num_heads} heads"),
        loss_fn=loss_fn, init_params=init_params, num_steps=500, target_loss=3.0 * math.log(2.0),
        sample_fn=sample_fn, accuracy_fn=lambda params, batch=None: metrics_fn(
            params, train_starts if batch is None else batch)["accuracy"],
        eval_batch=valid_starts, metrics_fn=metrics_fn,
    )
