"""Six small networks, built and trained with tinygrad_edu: ``tinygrad-edu demo NAME``.

Each demo is a module with ``run(epochs, seed, out) -> result`` (the numbers, and the files it
wrote; ``names`` counts training steps instead of epochs) and ``main(argv)`` (the command
line: ``--epochs`` or ``--steps``, ``--seed``, ``--out``). They need
the ``demos`` extra (scikit-learn, matplotlib, tqdm): ``pip install 'tinygrad-edu[demos]'``.
This module imports none of them, so it loads without the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> what it shows
DEMOS: dict[str, str] = {
    "neuron": "one neuron y = f(w·x + b): forward, loss, backward, optimize",
    "feedforward": "3 → 4 ReLU → 2 softmax: dL/dz2 = ŷ − y, autograd = hand backprop",
    "moons": "two moons, 2 → 10 ReLU → 1 sigmoid, and the numpy reference alongside",
    "houses": "house prices, 3 linear layers that collapse to one linear map",
    "digits": "handwritten digits 8×8, 64 → 32 ReLU → 10, mini-batches, Adam",
    "names": "a GPT of scalar Values (microgpt's) learns first names and makes up new ones",
}

EXTRA_HINT = "the demos need the demos extra: pip install 'tinygrad-edu[demos]'"


def load(name: str) -> ModuleType:
    """The demo module ``name``: a ValueError for an unknown name, an ImportError naming the
    missing extra when scikit-learn, matplotlib or tqdm is not installed."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; choose one of {', '.join(DEMOS)}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("sklearn", "matplotlib", "tqdm"):
            raise ImportError(f"{EXTRA_HINT} ({error})") from error
        raise
