"""Argument types shared by the command line and the demos' own flags.

Each turns a command-line word into a number or refuses it with argparse's one-line error
(``argument --epochs: expected a positive integer, got 0``), exit status 2.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1, such as a number of steps or epochs."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def positive_float(text: str) -> float:
    """A finite number > 0, such as a learning rate or a time limit."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0.0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return x
