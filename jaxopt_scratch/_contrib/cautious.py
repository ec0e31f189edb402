"""Cautious updates: keep only coordinates that agree with the gradient (Liang et al., 2024).

Work in progress (issue 14, item 2): ``cautious(tx)`` lands here.
"""
