"""What the tutorials print, as data: the numbers ``jaxopt-scratch seeds`` checks.

Each experiment gives the tutorial (0 to 4, as numbered in ``docs/tutorial_claims.rst``),
a short description of the setup, the format the tutorial's code prints each field
with, and the printed rows, copied as strings so their precision is kept. Only
tutorials 0, 2 and 3 print numbers; 1 and 4 show plots only. Setups, true values
and why they differ: ``docs/tutorial_claims.rst``, P1-P9.
"""

from __future__ import annotations

from typing import NamedTuple


class Experiment(NamedTuple):
    """One printed table of a tutorial."""

    tutorial: int  # the tutorial, 0 .. 4 (docs/tutorial_claims.rst)
    key: str  # identifier used by the recomputation
    title: str  # the setup, in one line
    fields: tuple[str, ...]  # the printed quantities
    formats: tuple[str, ...]  # the tutorial's format spec per field (str.format mini-language)
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (row label, printed strings per field)


_XY_LOSS_3 = ("x", "y", "loss"), ("6.3f", "6.3f", ".4f")
_XY_LOSS_4 = ("x", "y", "loss"), ("7.4f", "7.4f", ".4f")

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        3, "bowl_sgd", "bowl x^2+y^2 from (4, 3), SGD lr 0.1 (P1)", *_XY_LOSS_3,
        rows=(("step 0", ("4.000", "3.000", "25.0000")),
              ("step 1", ("3.200", "2.400", "16.0000")),
              ("step 2", ("2.560", "1.920", "10.2400")),
              ("step 14", ("0.176", "0.132", "0.0484"))),
    ),
    Experiment(
        3, "ravine_sgd", "ravine 50x^2+y^2 from (1, 8), SGD lr 0.01 (P2)", *_XY_LOSS_4,
        rows=(("step 0", ("1.0000", "8.0000", "114.0000")),
              ("step 5", ("0.0000", "7.2384", "52.3944")),
              ("step 10", ("-0.0000", "6.5434", "42.8159")),
              ("step 15", ("0.0000", "5.9149", "34.9864")),
              ("step 20", ("-0.0000", "5.3478", "28.5988")),
              ("step 25", ("0.0000", "4.8357", "23.3838"))),
    ),
    Experiment(
        3, "ravine_momentum", "ravine, heavy-ball momentum lr 0.01, beta 0.9 (P3)",
        *_XY_LOSS_4,
        rows=(("step 0", ("1.0000", "8.0000", "114.0000")),
              ("step 5", ("0.0035", "5.6498", "32.4208")),
              ("step 10", ("-0.0001", "3.3082", "10.9445")),
              ("step 15", ("0.0000", "1.7468", "3.0514")),
              ("step 20", ("-0.0000", "0.8134", "0.6616")),
              ("step 25", ("0.0000", "0.3237", "0.1048"))),
    ),
    Experiment(
        3, "showdown", "Beale-like surface from (0.5, 3.5), clip 10, 200 steps (P4)",
        ("final loss", "x", "y"), ("12.6f", ".4f", ".4f"),
        rows=(("SGD lr 5e-4", ("12.690121", "0.6856", "2.9379")),
              ("Momentum lr 5e-4", ("0.481937", "1.6862", "0.8754")),
              ("RMSProp lr 5e-3", ("0.002648", "2.8614", "0.5138")),
              ("Adam lr 1e-2", ("0.000001", "2.9998", "0.5001"))),
    ),
    Experiment(
        2, "theta_adam", "theta^2 from 5, Adam lr 0.001, at most 1000 steps (P5)",
        ("converged at step", "theta"), ("d", ".8f"),
        rows=(("result", ("817", "0.00000001")),),
    ),
    Experiment(
        2, "linreg_adam", "y = 2x + 1 on x = 1..5, Adam lr 0.01, 200 epochs (P6)",
        ("loss", "w", "b"), (".6f", ".4f", ".4f"),
        rows=(("epoch 50", ("0.000042", "1.9953", "1.0044")),
              ("epoch 100", ("0.000000", "2.0000", "1.0000")),
              ("epoch 150", ("0.000000", "2.0000", "1.0000")),
              ("epoch 200", ("0.000000", "2.0000", "1.0000"))),
    ),
    Experiment(
        0, "xor", "XOR, 3000 epochs; the tutorial does not give its network (P9 setups A, B)",
        ("final loss", "accuracy"), ("_tutorial0", "_percent"),
        rows=(("Adam lr 0.01", ("0.000122", "100%")),
              ("SGD lr 0.10", ("0.225", "100%")),
              ("Momentum lr 0.01", ("0.00118", "100%"))),
    ),
)

# Tutorials that print no numbers, and what docs/tutorial_claims.rst computes for their setups.
SILENT = (
    (1, "x^2+10y^2 from (1.5, 1.5): plots only (P7: GD lr 0.2 diverges)"),
    (4, "0.1x^2+5y^2 from (9, -3): plots only (P8)"),
)
