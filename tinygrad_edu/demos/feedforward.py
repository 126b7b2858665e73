"""Feed-forward and backpropagation: 3 → 4 ReLU → 2 softmax, cross-entropy.

The input [0.5, 0.2, 0.8] goes through W1 (4×3) + b1 and a ReLU, then
W2 (2×4) + b2 and a softmax; the true class is 0. The demo shows the "key insight" of the
backward pass, dL/dz2 = ŷ − y for softmax with cross-entropy, read off the engine's graph, and
that the numpy reference (hand-derived dW1, db1, dW2, db2) gives the engine's gradients. Then
both take the same gradient-descent steps, and still agree.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_edu import MLP, losses, optim
from tinygrad_edu.reference import ReferenceMLP

from . import common
from .common import numbers

DEFAULT_EPOCHS = 10
INPUTS = [0.5, 0.2, 0.8]
TRUE_CLASS = 0
LEARNING_RATE = 0.5


@dataclass
class FeedforwardResult:
    output_error: list[float]  # the engine's dL/dz2 at the first step
    prediction_minus_truth: list[float]  # ŷ − y at the first step
    max_gradient_difference: float  # engine vs reference, every parameter, every step
    losses: list[float]  # the engine's, before each step
    reference_losses: list[float]
    files: list[Path] = field(default_factory=list)


def run(
    epochs: int = DEFAULT_EPOCHS, seed: int = 0, out: Path = common.DEFAULT_OUT
) -> FeedforwardResult:
    say = common.say
    model = MLP(3, [4, 2], activation="relu", output_activation="linear", seed=seed)
    reference = ReferenceMLP.from_mlp(model)
    X, Y = np.array([INPUTS]), np.array([TRUE_CLASS])
    y = np.eye(2)[TRUE_CLASS]

    say(f"Input x = {INPUTS}, true class {TRUE_CLASS} (one-hot y = {y.tolist()})")
    say(
        "Network: z1 = W1 x + b1 (W1 4×3), a1 = ReLU(z1), z2 = W2 a1 + b2 (W2 2×4), ŷ = softmax(z2)"
    )
    say("\nFeed-forward")
    z1 = reference.W[0] @ np.array(INPUTS) + reference.b[0]
    a1 = model.layers[0](INPUTS)
    z2 = model.layers[1](a1)
    probs = losses.softmax(z2)
    loss = losses.cross_entropy(z2, TRUE_CLASS)
    say(f"  z1 = W1 x + b1  = {numbers(z1)}")
    say(f"  a1 = ReLU(z1)   = {numbers([a.data for a in a1])}")
    say(f"  z2 = W2 a1 + b2 = {numbers([z.data for z in z2])}")
    say(f"  ŷ = softmax(z2) = {numbers([p.data for p in probs])}")
    say(f"  L = -Σ y log ŷ  = {loss.data:.6f}")

    loss.backward()
    output_error = [z.grad for z in z2]
    prediction_minus_truth = [p.data - t for p, t in zip(probs, y)]
    say("\nBackpropagation: the key insight, for softmax with cross-entropy")
    say(f"  dL/dz2 from the engine's graph = {numbers(output_error)}")
    say(f"  ŷ − y                          = {numbers(prediction_minus_truth)}")

    say("\nEvery gradient, autograd against the hand-derived formulas of the reference")
    grads = reference.gradients(X, Y, "cross_entropy")
    engine = _engine_gradients(model)
    worst = 0.0
    for name, mine, theirs in zip(
        ["dW1", "db1", "dW2", "db2"],
        engine,
        [grads.dW[0], grads.db[0], grads.dW[1], grads.db[1]],
    ):
        difference = float(np.max(np.abs(mine - theirs)))
        worst = max(worst, difference)
        shape = "×".join(map(str, mine.shape))
        say(f"  {name} ({shape}), engine | reference, max |difference| {difference:.1e}")
        for row, reference_row in zip(np.atleast_2d(mine), np.atleast_2d(theirs)):
            say(f"    {numbers(row)} | {numbers(reference_row)}")
    if np.any(z1 <= 0.0):
        say("  (a hidden neuron with z1 ≤ 0 gets no gradient: the ReLU mask z1 > 0 is 0 there)")

    say(f"\n{epochs} steps of gradient descent (lr {LEARNING_RATE}), engine and reference")
    sgd = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    history, reference_history = [], []
    for step in range(epochs):
        logits = model(INPUTS)
        loss = losses.cross_entropy(logits, TRUE_CLASS)
        sgd.zero_grad()
        loss.backward()
        grads = reference.gradients(X, Y, "cross_entropy")
        worst = max(worst, float(np.max(np.abs(grads.flat() - _flat(model)))))
        history.append(loss.data)
        reference_history.append(reference.train_step(X, Y, "cross_entropy", LEARNING_RATE))
        p0 = losses.softmax(logits)[TRUE_CLASS].data
        say(
            f"  step {step + 1:3d}   loss {loss.data:.6f} (reference {reference_history[-1]:.6f})"
            f"   P(class {TRUE_CLASS}) = {p0:.4f}"
        )
        sgd.step()
    say(f"\nAutograd and the hand-derived gradients agree to {worst:.1e} throughout.")
    return FeedforwardResult(
        output_error, prediction_minus_truth, worst, history, reference_history, []
    )


def _engine_gradients(model: MLP) -> list[np.ndarray]:
    """dW1, db1, dW2, db2 read from the engine's parameters, in the reference's layout."""
    matrices = []
    for layer in model.layers:
        matrices.append(np.array([[w.grad for w in n.w] for n in layer.neurons]))
        matrices.append(np.array([n.b.grad for n in layer.neurons]))
    return matrices


def _flat(model: MLP) -> np.ndarray:
    return np.array([p.grad for p in model.parameters()])


def main(argv: Sequence[str] | None = None) -> int:
    return common.main(argv, "feedforward", __doc__.splitlines()[0], DEFAULT_EPOCHS, run)


if __name__ == "__main__":
    sys.exit(main())
