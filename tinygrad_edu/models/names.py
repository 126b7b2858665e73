"""First names as data for a character-level language model: loading, the split, the tokens.

``load_names()`` reads the 1990 US Census first-name lists (public-domain data: 4,275 female
and 1,219 male names, 5,163 distinct), which ship as text files inside the ``names`` package
on PyPI: no network is needed. ``load_names(path)`` reads any text file of one name per line
instead, such as the 32,033 names of Karpathy's makemore (names.txt).

A name becomes tokens, one per letter, between two BOS tokens (BOS, token 26, starts and ends
every name): "emma" is [26, 4, 12, 12, 0, 26]. The model reads [26, e, m, m, a] and at every
position predicts the next token: [e, m, m, a, 26].
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Sequence
from pathlib import Path

from .gpt import one_hot

LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOS = len(LETTERS)  # the token that starts and ends every name
VOCAB_SIZE = len(LETTERS) + 1
CENSUS_FILES = ("dist.female.first", "dist.male.first")  # in the names package's folder
INSTALL_HINT = "pip install 'tinygrad-edu[demos]' (or: pip install names)"


def load_names(path: str | Path | None = None, max_letters: int | None = None) -> list[str]:
    """The names, lower-case, each once, in the order first met.

    Without ``path``, the census first names of the ``names`` package; with it, the text file
    at ``path``, one name per line (blank lines are skipped, case is ignored). Every name must be
    letters a-z only, and at most ``max_letters`` long if that is given; anything else is a
    ValueError naming the line.
    """
    if path is None:
        where, lines = _census_lines()
    else:
        where, lines = _file_lines(Path(path))
    names: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip().lower()
        if not name:
            continue
        bad = next((c for c in name if c not in LETTERS), None)
        if bad is not None:
            raise ValueError(
                f"{where}, line {number}: {line.strip()!r} has {bad!r}, which is not a letter "
                "a-z; the model's vocabulary is the 26 letters (one name per line)"
            )
        if max_letters is not None and len(name) > max_letters:
            raise ValueError(
                f"{where}, line {number}: {name!r} has {len(name)} letters, more than the "
                f"{max_letters} the model's context holds; remove it or shorten it"
            )
        names[name] = None
    if not names:
        raise ValueError(f"{where} has no names: it is empty or holds only blank lines")
    return list(names)


def split_names(
    names: Sequence[str], seed: int = 0, held_out: float = 0.1
) -> tuple[list[str], list[str]]:
    """The names shuffled with ``seed`` and cut in two: the training names, and a fraction
    ``held_out`` (at least one) kept apart to measure how well the model does on names it never
    saw."""
    if not 0.0 < held_out < 1.0:
        raise ValueError(f"held_out must be a fraction between 0 and 1, got {held_out!r}")
    if len(names) < 2:
        raise ValueError(
            f"splitting needs at least 2 names (one to train on, one to hold out), got {len(names)}"
        )
    shuffled = list(names)
    random.Random(seed).shuffle(shuffled)
    n_held = min(len(names) - 1, max(1, round(held_out * len(names))))
    return shuffled[n_held:], shuffled[:n_held]


def encode(name: str) -> list[int]:
    """The tokens of a name: BOS, one per letter (a = 0 ... z = 25), BOS."""
    if not isinstance(name, str):
        raise TypeError(f"encode takes a name (a str), got {type(name).__name__}: {name!r:.60}")
    bad = next((c for c in name if c not in LETTERS), None)
    if bad is not None:
        raise ValueError(f"encode: {name!r} has {bad!r}; a name is lower-case letters a-z")
    return [BOS, *(LETTERS.index(c) for c in name), BOS]


def decode(tokens: Sequence[int]) -> str:
    """The letters of tokens, BOS left out."""
    bad = next((t for t in tokens if type(t) is not int or not 0 <= t <= BOS), None)
    if bad is not None:
        raise ValueError(f"decode: {bad!r} is not a token; tokens are ints from 0 to {BOS}")
    return "".join(LETTERS[t] for t in tokens if t != BOS)


def one_hot_batch(
    names: Sequence[str], positions: int, size: int | None = None
) -> tuple[list[list[list[float]]], list[list[list[float]]]]:
    """A batch of names as ``GPT.loss`` takes it, every name padded to ``positions``:
    ``inputs[b][t]`` is the one-hot row of token t of name b (BOS, then its letters) and
    ``targets[b][t]`` that of the token after it (its letters, then BOS). Past the end of a
    name both are rows of zeros: nothing is read there, nor predicted. With ``size``, the batch
    is filled up to ``size`` sequences of zeros only, which count for nothing in the loss."""
    zeros = [0.0] * VOCAB_SIZE
    inputs, targets = [], []
    for name in names:
        tokens = encode(name)
        if len(tokens) - 1 > positions:
            raise ValueError(
                f"one_hot_batch: {name!r} needs {len(tokens) - 1} positions, more than {positions}"
            )
        padding = [zeros] * (positions - len(tokens) + 1)
        inputs.append([one_hot(t, VOCAB_SIZE) for t in tokens[:-1]] + padding)
        targets.append([one_hot(t, VOCAB_SIZE) for t in tokens[1:]] + padding)
    if size is not None:
        if size < len(names):
            raise ValueError(f"one_hot_batch: {len(names)} names do not fit a batch of {size}")
        inputs += [[zeros] * positions for _ in range(size - len(names))]
        targets += [[zeros] * positions for _ in range(size - len(names))]
    return inputs, targets


def _census_lines() -> tuple[str, list[str]]:
    """The first names of the census lists (each line: NAME, frequency, cumulative, rank)."""
    spec = importlib.util.find_spec("names")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the census names come with the 'names' package, which is not installed: "
            f"{INSTALL_HINT}; or pass a file of names, one per line"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    lines = []
    for file in CENSUS_FILES:
        lines += [line.split()[0] for line in (folder / file).read_text().splitlines() if line]
    return "the census names", lines


def _file_lines(path: Path) -> tuple[str, list[str]]:
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a text file of names, one per line")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (a text file of names, one per line)")
    try:
        return str(path), path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not UTF-8 text; give a text file of names, one per line"
        ) from None
