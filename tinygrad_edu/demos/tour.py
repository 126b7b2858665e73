"""The tour's second half: every demo in turn, with short runs, then where the pictures are."""

from __future__ import annotations

from pathlib import Path

from . import DEMOS, load

# short enough for the whole tour to take well under a minute; each demo's own default
# (tinygrad-edu demo NAME) is its full run. Epochs, or training steps for names.
TOUR_EPOCHS = {
    "neuron": 3,
    "feedforward": 3,
    "moons": 200,
    "houses": 125,
    "digits": 2,
    "names": 150,
}


def run(out: Path, seed: int = 0) -> list[Path]:
    """Run every demo with TOUR_EPOCHS into ``out``; the files written, in order."""
    files: list[Path] = []
    for number, (name, epochs) in enumerate(TOUR_EPOCHS.items(), start=1):
        title = f"4.{number}  {name}: {DEMOS[name]}"
        print(f"\n{title}\n{'-' * len(title)}")
        files += load(name).run(epochs, seed=seed, out=out).files  # epochs or steps: first
    print(
        "\nThe pictures (plots, and the neuron's computation graph) and the neuron's "
        f"step-through page are in {out.resolve()}:"
    )
    for path in files:
        print(f"  {path.name}")
    print(
        "Open neuron_backprop.html in a browser to watch backprop step by step: the values, "
        "then the chain rule filling in every grad (keys: → next, ← back)."
    )
    print("Each demo runs in full with: tinygrad-edu demo NAME (NAME: " + ", ".join(DEMOS) + ")")
    return files
