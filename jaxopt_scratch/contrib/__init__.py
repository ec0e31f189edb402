"""``jos.contrib``: recent optimizers, where ``optax.contrib`` keeps them.

Empty for now, on purpose: this namespace is where Muon, Schedule-Free, Prodigy,
SOAP, MARS and the other recent methods land, each with every numeric
hyperparameter traceable. Their code lives in the private ``_contrib`` layer,
which may build on every library layer below it; this module only re-exports.

Examples:
    >>> import jaxopt_scratch as jos
    >>> jos.contrib.__all__
    []
"""

__all__: list[str] = []
