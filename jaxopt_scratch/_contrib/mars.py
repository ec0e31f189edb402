"""MARS: variance-reduced gradient correction on AdamW (Yuan et al., 2024).

Work in progress (issue 14, item 2): ``mars``/``scale_by_mars`` land here.
"""
