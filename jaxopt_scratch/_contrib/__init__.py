"""Layer 5, contributed optimizers: recent methods (filled by later issues), re-exported as ``jos.contrib``.

Imports the layers ``_core`` to ``_optimizers``.
"""
