"""Regenerate the example pictures of docs/rendering.md and docs/demos.md.

    .venv/bin/python docs/make_examples.py     # docs/neuron.svg, docs/mlp_loss.svg (instant)
                                               # and docs/moons_loss.png (the moons demo, ~1 min)

All are drawn by tinygrad_edu itself, so they show exactly what users get.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tinygrad_edu import MLP, Value, losses, render

DOCS = Path(__file__).resolve().parent


def neuron() -> Value:
    """micrograd's neuron, o = tanh(x1 w1 + x2 w2 + b), after backward()."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def mlp_loss() -> tuple[Value, MLP]:
    """L = mse(MLP(x), y) for a 2-3-1 tanh network on one sample, after backward()."""
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    x = [Value(1.0, label="x1"), Value(-0.5, label="x2")]
    loss = losses.mse(model(x), [1.0])
    loss.label = "L"
    loss.backward()
    return loss, model


def moons_loss(out: Path) -> Path:
    """The moons demo's loss curves (engine and numpy reference), from its default run."""
    from tinygrad_edu.demos import moons

    with tempfile.TemporaryDirectory() as folder:
        result = moons.run(out=Path(folder))
        (curve,) = [path for path in result.files if path.name == "moons_loss.png"]
        return Path(shutil.copy(curve, out / curve.name))


def graphs(out: Path = DOCS) -> list[Path]:
    """The two graph pictures of docs/rendering.md."""
    loss, model = mlp_loss()
    return [
        render(neuron(), out / "neuron.svg"),
        render(loss, out / "mlp_loss.svg", params=model, rankdir="TB"),
    ]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS
    for path in [*graphs(out), moons_loss(out)]:
        print(f"wrote {path}")
