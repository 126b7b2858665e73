"""One neuron: y = f(w·x + b), and the cycle Forward → Loss → Backward → Optimize.

A sigmoid neuron with three inputs is taught to answer 1.0 for the input [0.5, 0.2, 0.8].
Each step prints the numbers of the four stages, and checks the engine's gradients against the
chain rule written out by hand: dL/dw_i = 2 (y - t) · y (1 - y) · x_i. The first step's graph,
with every data and grad, is drawn to ``neuron_graph.png``, and its backprop, step by step, to
the page ``neuron_backprop.html`` (open it in a browser).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tinygrad_edu import Neuron, Value, losses, optim, render
from tinygrad_edu.graphviz_program import RendererNotFoundError

from . import common
from .common import numbers

DEFAULT_EPOCHS = 5
INPUTS = [0.5, 0.2, 0.8]
TARGET = 1.0
LEARNING_RATE = 2.0  # large, so that a few steps visibly move a sigmoid neuron


@dataclass
class NeuronResult:
    losses: list[float]  # before each step
    predictions: list[float]  # y before each step
    max_gradient_difference: float  # engine vs the chain rule by hand, over every step
    files: list[Path] = field(default_factory=list)


def run(
    epochs: int = DEFAULT_EPOCHS, seed: int = 0, out: Path = common.DEFAULT_OUT
) -> NeuronResult:
    say = common.say
    neuron = Neuron(len(INPUTS), activation="sigmoid", rng=seed)
    for i, wi in enumerate(neuron.w, start=1):  # named as the formulas name them, like x1..x3
        wi.label = f"w{i}"
    neuron.b.label = "b"
    sgd = optim.SGD(neuron.parameters(), lr=LEARNING_RATE)
    x, t = INPUTS, TARGET
    say(f"A neuron y = sigmoid(w·x + b) with input x = {x} and target t = {t}")
    say(f"Loss: squared error L = (y - t)^2; optimizer: w ← w - {LEARNING_RATE:g} · dL/dw")
    history, predictions, worst = [], [], 0.0
    files: list[Path] = []
    for step in range(1, epochs + 1):
        say(f"\nStep {step}")
        w, b = [wi.data for wi in neuron.w], neuron.b.data
        y = neuron([Value(xi, label=f"x{i}") for i, xi in enumerate(x, start=1)])
        y.label = "y"
        z = sum(wi * xi for wi, xi in zip(w, x)) + b
        terms = " + ".join(f"{_signed(wi)}·{xi}" for wi, xi in zip(w, x))
        say(f"  1. Forward   z = w·x + b = {terms} + {_signed(b)} = {z:.4f}")
        say(f"               y = sigmoid(z) = {y.data:.4f}")
        loss = losses.mse(y, t)
        loss.label = "L"
        say(f"  2. Loss      L = (y - t)^2 = ({y.data:.4f} - {t})^2 = {loss.data:.6f}")
        sgd.zero_grad()
        loss.backward()
        dz = 2 * (y.data - t) * y.data * (1 - y.data)  # dL/dy · dy/dz
        by_hand = [dz * xi for xi in x] + [dz]
        engine = [wi.grad for wi in neuron.w] + [neuron.b.grad]
        worst = max(worst, *(abs(e - h) for e, h in zip(engine, by_hand)))
        say(f"  3. Backward  dL/dz = 2 (y - t) · y (1 - y) = {dz:.6f}")
        say(f"               engine:  dL/dw = {numbers(engine[:-1])}  dL/db = {engine[-1]:+.6f}")
        say(f"               by hand: dL/dw = {numbers(by_hand[:-1])}  dL/db = {by_hand[-1]:+.6f}")
        if step == 1:
            files += _draw(loss, neuron, out)
        sgd.step()
        say(f"  4. Optimize  w = {numbers([wi.data for wi in neuron.w])}  b = {neuron.b.data:+.6f}")
        history.append(loss.data)
        predictions.append(y.data)
    final = neuron(x).data
    say(f"\nAfter {epochs} steps: y = {final:.4f} (target {t}), loss {(final - t) ** 2:.6f}")
    agreement = "exactly" if worst == 0.0 else f"to {worst:.1e}"
    say(f"The engine's gradients equal the hand-derived ones {agreement} at every step.")
    return NeuronResult(history, predictions, worst, files)


def _draw(loss: Value, neuron: Neuron, out: Path) -> list[Path]:
    """The graph of the first step's loss, gradients filled in, and its step-through page;
    [] (and why) with no renderer."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        picture = render(loss, out / "neuron_graph.png", params=neuron)
        page = render(loss, out / "neuron_backprop.html", params=neuron)
    except RendererNotFoundError as error:
        common.say(f"               (graph not drawn: {error})")
        return []
    common.say(f"               the graph of this step, with every grad: {picture}")
    common.say(f"               its backprop step by step, in a browser: {page}")
    return [picture, page]


def _signed(v: float) -> str:
    return f"{v:.4f}" if v >= 0 else f"({v:.4f})"


def main(argv: Sequence[str] | None = None) -> int:
    return common.main(argv, "neuron", __doc__.splitlines()[0], DEFAULT_EPOCHS, run)


if __name__ == "__main__":
    sys.exit(main())
