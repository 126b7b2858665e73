"""What the command line and the demos' own flags share: argument types and one-line errors.

Each type turns a command-line word into a number or a path, or refuses it with a one-line
error (``argument --epochs: expected a positive integer, got 0``), exit status 2; so does
:class:`Parser` for every other usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse's parser, with each usage error in one line: what is wrong, and where to
    read more (argparse prints the usage first, which buries the error under it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An integer >= 1, such as a number of steps or epochs."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def non_negative_int(text: str) -> int:
    """An integer >= 0, such as a random seed."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {n}")
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


def folder(text: str) -> Path:
    """A folder to write into, refused at once if a file is in the way (the folder itself, or
    one it would be made in), not after a run has printed its results."""
    path = Path(text)
    for part in (path, *path.parents):
        if part.exists():
            if part == path and not part.is_dir():
                raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
            if not part.is_dir():
                raise argparse.ArgumentTypeError(
                    f"{text!r} cannot be a folder: {str(part)!r} is a file"
                )
            break
    return path


def make_folder(parser: argparse.ArgumentParser, path: Path, option: str) -> None:
    """Make the folder ``path`` (given as ``option``) before a run that writes into it, or
    end with a usage error saying why it cannot be made."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(
            f"argument {option}: cannot make the folder {str(path)!r} "
            f"({error.strerror or error}); choose a folder you can write to"
        )
