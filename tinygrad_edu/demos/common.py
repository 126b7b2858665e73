"""What every demo shares: its command line, progress bars, figures and closing summary."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from matplotlib.figure import Figure
from tqdm import tqdm

from tinygrad_edu._argtypes import Parser, folder, make_folder, non_negative_int, positive_int

T = TypeVar("T")
DEFAULT_OUT = Path("out")


class Result(Protocol):
    """What a demo's ``run`` returns: at least the files it wrote."""

    files: list[Path]


def parser(
    name: str,
    description: str,
    default_epochs: int,
    unit: str = "epochs",
    seed_help: str = "random seed of the initial weights",
) -> argparse.ArgumentParser:
    """The command line every demo shares: ``--epochs`` (``--steps`` for a demo whose ``unit``
    of training is a step), ``--seed`` and ``--out``."""
    parser = Parser(prog=f"tinygrad-edu demo {name}", description=description)
    parser.add_argument(
        f"--{unit}",
        type=positive_int,
        default=default_epochs,
        help=f"training {unit} (default {default_epochs})",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help=f"{seed_help}, an integer >= 0 (default 0)",
    )
    parser.add_argument(
        "--out",
        type=folder,
        default=DEFAULT_OUT,
        help=f"folder for the pictures (default ./{DEFAULT_OUT})",
    )
    return parser


def main(
    argv: Sequence[str] | None,
    name: str,
    description: str,
    default_epochs: int,
    run: Callable[..., Result],
) -> int:
    """Parse the common flags, run the demo ``name``, and list every file it wrote."""
    args = parse(parser(name, description, default_epochs), argv)
    return timed(lambda: run(epochs=args.epochs, seed=args.seed, out=args.out))


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The demo's flags, with the ``--out`` folder made before the run (or a usage error
    saying why it cannot be, rather than a traceback once the training is done)."""
    args = parser.parse_args(argv)
    make_folder(parser, args.out, "--out")
    return args


def timed(run: Callable[[], Result]) -> int:
    """Run a demo, then say how long it took and list every file it wrote."""
    start = time.perf_counter()
    result = run()
    print_summary(result.files, time.perf_counter() - start)
    return 0


def say(text: str = "") -> None:
    """Print a line without tearing a progress bar that is on screen."""
    tqdm.write(text)


def numbers(xs: Iterable[float]) -> str:
    """A vector as the demos print it: ``[+0.448079, -0.591392]``."""
    return "[" + ", ".join(f"{x:+.6f}" for x in xs) + "]"


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """A tqdm bar over ``items``, on stderr so that stdout keeps only the demo's numbers; only
    on a terminal (disable=None): piped or captured, a bar's redraws would garble the text."""
    bar = tqdm(items, desc=description, total=total, leave=False, dynamic_ncols=True, disable=None)
    return iter(bar)


def save(figure: Figure, out: Path, name: str, files: list[Path]) -> Path:
    """Write ``figure`` as ``out/name`` (PNG), creating the folder, and record the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    figure.savefig(path, dpi=110)
    files.append(path)
    return path


def print_summary(files: Sequence[Path], seconds: float) -> None:
    print(f"\nDone in {seconds:.1f} s.", end=" ")
    if not files:
        print("No files written.")
        return
    print("Files written:")
    for path in files:
        print(f"  {path}  ({path.stat().st_size:,} bytes)")
