"""Layer 0, the contract: GradientTransformation, chain and masked, apply_updates, tree maths, numerics, dtype policy, validation.

Imports nothing else of the package. Every other layer builds on it.
"""
