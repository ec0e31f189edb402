r"""Real data: scikit-learn's handwritten digits and a byte-level model of Python's own source.

Both are small enough to train on two CPU cores in seconds and large enough that
tuning matters. Each has a training split (``loss_fn(params)`` and ``sample_fn``
use it) and a held-out validation split (``Problem.eval_batch``), and a
``metrics_fn`` for :func:`sweep` (validation loss, accuracy, bits per byte).
The data are read once, when the problem is first built (``jos.problems.get``).
"""

from __future__ import annotations

import functools
import math
import pathlib
import sysconfig
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_scratch._core.tree_math import as_float, float_dtype
from jaxopt_scratch._engine.problems import networks as _networks
from jaxopt_scratch._engine.problems.registry import Problem, register


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "The 'digits' problem reads scikit-learn's bundled digits, and scikit-learn is an "
            "optional dependency: install it with `python3 -m pip install "
            "'jaxopt_scratch[cli]'` (or `python3 -m pip install scikit-learn`)."
        ) from err
    data = load_digits()
    return data.data, data.target


def _classifier_metrics(logits_fn, data):
    def metrics_fn(params, batch=None):
        inputs, labels = data if batch is None else batch
        z = logits_fn(params, inputs)
        hits = (jnp.argmax(z, axis=-1) == labels).astype(z.dtype)
        return {"loss": _networks.softmax_cross_entropy(z, labels), "accuracy": jnp.mean(hits)}

    return metrics_fn


@register("digits")
def digits(
    hidden: tuple[int, ...] = (64,),
    batch_size: int = 64,
    validation_fraction: float = 0.2,
    data_seed: int = 0,
) -> Problem:
    r"""scikit-learn's handwritten digits (1,797 8x8 images, 10 classes) with a ReLU MLP.

    The pixels (0..16) are divided by 16; a permutation drawn by
    ``np.random.default_rng(data_seed)`` puts the first ``validation_fraction``
    of the images (359 by default) in the validation split (``eval_batch``)
    and the rest in the training split. The network is ``64 -> hidden... -> 10``
    with ReLU and softmax cross-entropy; ``init_params(key)`` draws He-normal
    weights (``key=None`` means ``jax.random.key(0)``) and ``sample_fn(key)``
    draws ``batch_size`` training images with replacement. ``metrics_fn`` gives
    ``{"loss", "accuracy"}``. Needs scikit-learn (the ``cli`` extra).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> digits = jos.problems.get("digits")
        >>> [x.shape for x in digits.eval_batch]
        [(359, 64), (359,)]
        >>> result = jos.run(jos.adam(1e-2), digits.loss_fn, digits.init_params(), 200,
        ...                  sample_fn=digits.sample_fn, record_every=None)
        >>> float(digits.metrics_fn(result.params)["accuracy"]) > 0.9
        True
    """
    hidden = tuple(hidden)
    _networks.check_sizes(batch_size=batch_size, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    if not 0 < validation_fraction < 1:
        raise ValueError(f"`validation_fraction` must be in (0, 1), got {validation_fraction!r}.")
    images, labels = _load_digits()
    order = np.random.default_rng(data_seed).permutation(len(labels))
    num_valid = round(validation_fraction * len(labels))
    valid, train = order[:num_valid], order[num_valid:]
    x, y = as_float(images[train] / 16.0), jnp.asarray(labels[train], jnp.int32)
    eval_batch = (as_float(images[valid] / 16.0), jnp.asarray(labels[valid], jnp.int32))
    sizes = (images.shape[1], *hidden, 10)
    dtype = float_dtype()

    def loss_fn(params, batch=None):
        inputs, targets = (x, y) if batch is None else batch
        return _networks.softmax_cross_entropy(_networks.relu_mlp_logits(params, inputs), targets)

    metrics_fn = _classifier_metrics(_networks.relu_mlp_logits, eval_batch)

    def accuracy_fn(params, batch=None):
        return metrics_fn(params, (x, y) if batch is None else batch)["accuracy"]

    def init_params(key=None):
        return _networks.he_init(jax.random.key(0) if key is None else key, sizes, dtype)

    def sample_fn(key):
        idx = jax.random.randint(key, (batch_size,), 0, len(train))
        return x[idx], y[idx]

    return Problem(
        name="digits",
        description=(f"scikit-learn digits, {len(train)} train / {num_valid} validation images; "
                     f"ReLU MLP {'-'.join(map(str, sizes))}, cross-entropy"),
        loss_fn=loss_fn, init_params=init_params, num_steps=500, target_loss=0.1,
        sample_fn=sample_fn, accuracy_fn=accuracy_fn, eval_batch=eval_batch,
        metrics_fn=metrics_fn,
    )


# Long, stable modules of the standard library, read in this order; the validation
# split is the end of the last one. The text is fixed for a given Python installation.
STDLIB_FILES = ("argparse.py", "difflib.py", "dataclasses.py", "functools.py", "textwrap.py")


def read_stdlib(num_bytes: int) -> bytes:
    """The first ``num_bytes`` bytes of :data:`STDLIB_FILES`, joined by newlines."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    text, missing = b"", []
    for name in STDLIB_FILES:
        path = root / name
        if path.is_file():
            text += path.read_bytes() + b"\n"
        else:
            missing.append(name)
    if len(text) < num_bytes:
        raise ValueError(f"The standard library at {root} holds {len(text)} bytes of "
                         f"{', '.join(STDLIB_FILES)} (missing: {', '.join(missing) or 'none'}), "
                         f"fewer than the {num_bytes} asked for; lower `num_train`/`num_valid`.")
    return text[:num_bytes]


def _windows(text: jax.Array, targets: jax.Array, context: int) -> jax.Array:
    """The ``context`` bytes before each target position, ``(len(targets), context)``."""
    return text[targets[:, None] + jnp.arange(-context, 0)[None, :]]


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _lm_init(key, context, embed, hidden, dtype):
    k_embed, k_hidden, k_out = jax.random.split(key, 3)
    fan_in = context * embed
    return {
        "embed": jax.random.normal(k_embed, (256, embed), dtype),
        "hidden": {"w": jax.random.normal(k_hidden, (fan_in, hidden), dtype) / math.sqrt(fan_in),
                   "b": jnp.zeros(hidden, dtype)},
        "out": {"w": jax.random.normal(k_out, (hidden, 256), dtype) / math.sqrt(hidden),
                "b": jnp.zeros(256, dtype)},
    }


def _lm_logits(params: Any, windows: jax.Array) -> jax.Array:
    """Bengio et al.'s (2003) neural language model: embed, concatenate, tanh layer, softmax."""
    features = params["embed"][windows].reshape(windows.shape[0], -1)
    h = jnp.tanh(features @ params["hidden"]["w"] + params["hidden"]["b"][None, :])
    return h @ params["out"]["w"] + params["out"]["b"][None, :]


@register("stdlib_text")
def stdlib_text(
    num_train: int = 65_536,
    num_valid: int = 8_192,
    context: int = 8,
    embed: int = 16,
    hidden: int = 128,
    batch_size: int = 64,
) -> Problem:
    r"""A byte-level language model of Python's own standard-library source.

    The text is the first ``num_train + num_valid`` bytes of the files
    :data:`STDLIB_FILES` read from ``sysconfig.get_paths()["stdlib"]`` (so it
    ships with every Python; it is fixed for a given installation): the first
    ``num_train`` bytes train, the last ``num_valid`` validate. The model
    predicts each byte from the ``context`` bytes before it: an embedding of
    size ``embed`` per byte, concatenated, one tanh layer of ``hidden`` units and
    a softmax over the 256 byte values (Bengio et al., 2003). A batch is an
    array of target positions into the text; ``loss_fn(params)`` is the mean
    cross-entropy (nats per byte) over every training position,
    ``sample_fn(key)`` draws ``batch_size`` of them, and ``metrics_fn`` gives
    ``{"loss", "bits_per_byte", "accuracy"}`` (bits per byte is the loss over
    :math:`\ln 2`; a uniform guess scores 8).

    Examples:
        >>> import jaxopt_scratch as jos
        >>> text = jos.problems.get("stdlib_text", num_train=4096, num_valid=1024)
        >>> metrics = text.metrics_fn(text.init_params())
        >>> 7.0 < float(metrics["bits_per_byte"]) < 12.0   # an untrained model: about a guess
        True
    """
    _networks.check_sizes(num_train=num_train, num_valid=num_valid, context=context,
                          embed=embed, hidden=hidden, batch_size=batch_size)
    if context >= num_train or context >= num_valid:
        raise ValueError(f"`context`={context} must be smaller than `num_train`={num_train} and "
                         f"`num_valid`={num_valid}.")
    raw = read_stdlib(num_train + num_valid)
    text = jnp.asarray(np.frombuffer(raw, np.uint8).astype(np.int32))
    train = jnp.arange(context, num_train, dtype=jnp.int32)
    valid = jnp.arange(num_train + context, num_train + num_valid, dtype=jnp.int32)
    dtype = float_dtype()

    def logits(params, positions):
        return _lm_logits(params, _windows(text, positions, context))

    def loss_fn(params, batch=None):
        positions = train if batch is None else batch
        return _networks.softmax_cross_entropy(logits(params, positions), text[positions])

    def metrics_fn(params, batch=None):
        positions = valid if batch is None else batch
        metrics = _classifier_metrics(logits, None)(params, (positions, text[positions]))
        return {**metrics, "bits_per_byte": metrics["loss"] / math.log(2.0)}

    def init_params(key=None):
        return _lm_init(jax.random.key(0) if key is None else key, context, embed, hidden, dtype)

    def sample_fn(key):
        return jax.random.randint(key, (batch_size,), context, num_train)

    return Problem(
        name="stdlib_text",
        description=(f"byte-level LM on {num_train} + {num_valid} bytes of Python's standard "
                     f"library source; context {context}, embed {embed}, tanh {hidden}"),
        loss_fn=loss_fn, init_params=init_params, num_steps=500, target_loss=2.5 * math.log(2.0),
        sample_fn=sample_fn, accuracy_fn=lambda params, batch=None: metrics_fn(
            params, train if batch is None else batch)["accuracy"],
        eval_batch=valid, metrics_fn=metrics_fn,
    )
