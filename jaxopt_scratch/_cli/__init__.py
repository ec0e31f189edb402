"""Layer 7, the command line: ``jaxopt-scratch`` commands, plots and the tutorial-claims table.

The top floor: may import anything below it, and matplotlib lazily.
"""
