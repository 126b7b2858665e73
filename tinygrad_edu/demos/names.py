"""A GPT from scalar Values learns first names, then makes up new ones.

The model is the one of Karpathy's microgpt (2026) with its published settings: 16
dimensions, 4 attention heads, 1 layer, a context of 16 tokens, 4,192 parameters, every one a
``Value``. The data: the 5,163 distinct first names of the 1990 US Census (the ``names``
package, no download), or any file of one name per line (``--data FILE``), split 90/10 into
training and held-out names with ``--seed``.

Training is microgpt's: Adam with betas 0.85 and 0.99 and a learning rate of 0.01 that
falls linearly to 0, for 1,000 steps. microgpt trains on one name per step; by default this
demo trains on 8 names per step, padded to one shape so that ``jit`` captures the step once and
replays it (``--batch 1`` gives microgpt's schedule exactly). Then it measures the loss on the
held-out names beside that of a bigram model (counting letter pairs), samples 20 names at
temperature 0.5, and draws the loss curve and what each attention head looks at.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from tinygrad_edu import (
    GPT,
    Bigram,
    Value,
    decode,
    encode,
    jit,
    load_names,
    one_hot_batch,
    optim,
    split_names,
)
from tinygrad_edu._argtypes import make_folder, positive_int

from . import common

DEFAULT_STEPS = 1000
DEFAULT_BATCH = 8
LEARNING_RATE, BETAS, EPS = 0.01, (0.85, 0.99), 1e-8  # microgpt's Adam
TEMPERATURE = 0.5
SAMPLES = 20
BOS = encode("")[0]  # the token that starts and ends every name
MAX_LETTERS = 15  # GPT()'s context holds 16 tokens: BOS and 15 letters


@dataclass
class NamesResult:
    losses: list[float]  # every step's training loss (mean cross-entropy per token)
    held_out_loss: float  # mean cross-entropy per token on the held-out names
    bigram_loss: float  # the bigram model's, on the same held-out names
    samples: list[str]
    new_samples: int  # how many samples are not training names
    training_names: int
    held_out_names: int
    files: list[Path] = field(default_factory=list)


def run(
    steps: int = DEFAULT_STEPS,
    batch: int = DEFAULT_BATCH,
    data: str | Path | None = None,
    seed: int = 0,
    out: Path = common.DEFAULT_OUT,
) -> NamesResult:
    say = common.say
    names = load_names(data, max_letters=MAX_LETTERS)
    train, held_out = split_names(names, seed)
    model = GPT(seed=seed)
    source = "the 1990 US Census first names" if data is None else str(data)
    say(
        f"Names: {len(names):,} from {source}: {len(train):,} to train on, "
        f"{len(held_out):,} held out"
    )
    say(
        f"Model: {model}, {len(model.parameters()):,} parameters, every one a Value "
        "(microgpt's settings)"
    )
    schedule = "microgpt's published schedule" if batch == 1 else "microgpt takes 1: --batch 1"
    say(
        f"Training: {steps:,} steps of {batch} name{'s' * (batch > 1)} ({schedule}), Adam "
        f"(lr {LEARNING_RATE} falling linearly to 0, betas {BETAS[0]} and {BETAS[1]}), "
        "under jit\n"
    )

    # every batch is padded to the longest name, so all of them share one shape: jit captures
    # the loss once and replays it for every batch, training and held-out alike
    positions = max(len(name) for name in names) + 1

    @jit
    def loss_of(tokens: list, targets: list) -> Value:
        return model.loss(tokens, targets)

    adam = optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=BETAS, eps=EPS)
    losses, report = [], max(1, steps // 10)
    for step in common.progress(range(steps), "names, training steps"):
        chosen = [train[(step * batch + i) % len(train)] for i in range(batch)]
        loss = loss_of(*one_hot_batch(chosen, positions))
        adam.zero_grad()
        loss.backward()
        adam.lr = LEARNING_RATE * (1 - step / steps)  # microgpt's linear decay
        adam.step()
        losses.append(loss.data)
        if step == 0:
            say(f"step {1:5d}/{steps}  loss {loss.data:.4f}")
        elif (step + 1) % report == 0:
            recent = statistics.fmean(losses[-report:])
            say(
                f"step {step + 1:5d}/{steps}  loss {loss.data:.4f}  "
                f"(mean over the last {report} steps: {recent:.4f})"
            )

    held_out_loss = _mean_loss(loss_of, held_out, batch, positions)
    bigram_loss = Bigram(train).loss(held_out)
    say(f"\nheld-out loss {held_out_loss:.3f} (bigram {bigram_loss:.3f})")
    gap = bigram_loss - held_out_loss
    say(
        f"On the {len(held_out):,} names it never saw, the GPT's mean cross-entropy per token is "
        f"{abs(gap):.3f} nats {'below' if gap >= 0 else 'above'} that of the bigram model "
        f"(which counts letter pairs in the training names); guessing uniformly among the 27 "
        f"tokens gives {math.log(27):.3f}."
    )

    rng = random.Random(seed)
    samples = [decode(model.generate(BOS, rng, TEMPERATURE)) for _ in range(SAMPLES)]
    known = set(train)
    new = sum(name not in known for name in samples)
    say(
        f"\n{SAMPLES} names sampled at temperature {TEMPERATURE}, {new} of them not in the "
        "training set (* marks a training name):"
    )
    for row in range(0, SAMPLES, 5):
        shown = "".join(f"{name + '*' * (name in known):<16}" for name in samples[row : row + 5])
        say(f"  {shown}".rstrip())

    files: list[Path] = []
    figure = _loss_figure(losses, held_out_loss, bigram_loss, batch)
    common.save(figure, out, "names_loss.png", files)
    example = next((name for name in held_out if 5 <= len(name) <= 8), held_out[0])
    common.save(_attention_figure(model, example), out, "names_attention.png", files)
    return NamesResult(
        losses, held_out_loss, bigram_loss, samples, new, len(train), len(held_out), files
    )


def _mean_loss(
    loss_of: Callable[[list, list], Value], names: list[str], batch: int, positions: int
) -> float:
    """The mean cross-entropy per token over ``names``, ``batch`` names at a time: each batch
    gives its own mean, weighted here by its number of tokens (a name of n letters has n + 1).
    The last batch is filled up with empty rows, which count for nothing."""
    total, tokens = 0.0, 0
    for start in range(0, len(names), batch):
        chosen = names[start : start + batch]
        n = sum(len(name) + 1 for name in chosen)
        total += loss_of(*one_hot_batch(chosen, positions, size=batch)).data * n
        tokens += n
    return total / tokens


def _loss_figure(losses: list[float], held_out: float, bigram: float, batch: int) -> Figure:
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    steps = np.arange(1, len(losses) + 1)
    axes.plot(steps, losses, lw=0.6, color="tab:blue", alpha=0.45, label="training loss, per step")
    window = max(1, len(losses) // 20)
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axes.plot(steps[window - 1 :], smooth, color="navy", lw=2, label=f"mean of {window} steps")
    axes.axhline(
        math.log(27), color="gray", ls=":", label=f"guessing uniformly, {math.log(27):.2f}"
    )
    axes.axhline(bigram, color="tab:orange", ls="--", label=f"bigram, held out: {bigram:.3f}")
    axes.axhline(held_out, color="tab:green", lw=2, label=f"GPT, held out: {held_out:.3f}")
    axes.set_xlabel(f"training step ({batch} name{'s' * (batch > 1)} each)")
    axes.set_ylabel("cross-entropy per token (nats)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right")
    axes.set_title("A GPT of scalar Values learns first names")
    return figure


def _attention_figure(model: GPT, name: str) -> Figure:
    """Each head's attention weights over ``name``: row t is what position t reads; the
    positions after t (grey) are out of its reach."""
    tokens = one_hot_batch([name], len(name) + 1)[0][0]
    weights = model.attention(tokens)[0]  # the first layer
    labels = ["BOS", *name]
    future = np.triu(np.ones((len(labels), len(labels)), dtype=bool), k=1)
    colors = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    figure = Figure(figsize=(3.2 * len(weights) + 1, 4.2), layout="constrained")
    grid = list(np.atleast_1d(figure.subplots(1, len(weights))))
    for h, (axes, w) in enumerate(zip(grid, weights)):
        shown: np.ma.MaskedArray = np.ma.masked_array(np.array(w), mask=future)
        shading = axes.imshow(shown, cmap=colors, vmin=0.0, vmax=1.0)
        axes.set_xticks(range(len(labels)), labels, fontsize=9)
        predicting = [f"{a} → {b}" for a, b in zip(labels, [*name, "end"])]
        axes.set_yticks(range(len(labels)), predicting, fontsize=9)
        axes.set_xlabel("position read")
        axes.set_title(f"head {h + 1}")
    grid[0].set_ylabel("position predicting (token → next)")
    figure.colorbar(shading, ax=grid, label="attention weight", shrink=0.8)
    figure.suptitle(
        f"What each attention head reads while predicting the letters of {name!r} "
        "(grey: later positions, out of reach)"
    )
    return figure


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser(
        "names",
        __doc__.splitlines()[0],
        DEFAULT_STEPS,
        unit="steps",
        seed_help="random seed of the initial weights, the 90/10 split and the samples",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=DEFAULT_BATCH,
        help=f"names per training step (default {DEFAULT_BATCH}; microgpt's schedule: "
        "--steps 1000 --batch 1)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="a text file of names, one per line (default: the census names of the names package)",
    )
    args = parser.parse_args(argv)
    try:  # the names, read and checked before anything is written or trained
        split_names(load_names(args.data, max_letters=MAX_LETTERS), args.seed)
    except (OSError, ValueError) as error:
        parser.error(f"argument --data: {error}")
    except ImportError as error:  # no names package
        parser.error(str(error))
    make_folder(parser, args.out, "--out")
    return common.timed(lambda: run(args.steps, args.batch, args.data, args.seed, args.out))


if __name__ == "__main__":
    sys.exit(main())
