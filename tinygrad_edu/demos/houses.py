"""House prices: three dense layers with no activation, trained with MSE.

The data follow a known linear law, y = 600·size + 5·bedrooms + 15·age +
12·distance + noise; features and prices are standardized, and a network of three dense layers
without activations learns them by gradient descent for 125 epochs: 500 houses, 4 → 4 → 4 → 1,
learning rate 0.02. The data are linear on purpose: the point is to watch the gradient flow
back through three layers, and to see why three linear layers are one linear map.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tinygrad_edu import MLP, Value, jit, losses, optim
from tinygrad_edu.reference import ReferenceMLP

from . import common

DEFAULT_EPOCHS = 125
LEARNING_RATE = 0.02
HOUSES = 500
DATA_SEED = 42  # the houses are the same whatever --seed draws the initial weights
FEATURES = ["size (sq ft)", "bedrooms", "age (years)", "distance (km)"]
LAW = np.array([600.0, 5.0, 15.0, 12.0])  # price = LAW · features + noise
NOISE = 30_000.0  # standard deviation of the noise, in the price's units


@dataclass
class HousesResult:
    losses: list[float]  # before each epoch's step
    max_collapse_difference: float  # |network - one linear map| over every house
    effective_weights: list[float]  # W3 W2 W1, standardized units
    least_squares_weights: list[float]  # the best single linear map
    files: list[Path] = field(default_factory=list)


def houses(n: int = HOUSES, seed: int = DATA_SEED) -> tuple[np.ndarray, np.ndarray]:
    """n houses as (features (n, 4), prices (n,)), in their natural units."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.uniform(500.0, 3500.0, n),
            rng.integers(1, 6, n).astype(float),
            rng.uniform(0.0, 60.0, n),
            rng.uniform(0.5, 30.0, n),
        ]
    )
    return X, X @ LAW + rng.normal(0.0, NOISE, n)


def run(
    epochs: int = DEFAULT_EPOCHS, seed: int = 0, out: Path = common.DEFAULT_OUT
) -> HousesResult:
    say = common.say
    X_raw, y_raw = houses()
    X = (X_raw - X_raw.mean(axis=0)) / X_raw.std(axis=0)
    y = (y_raw - y_raw.mean()) / y_raw.std()
    say("House prices: y = 600·size + 5·bedrooms + 15·age + 12·distance + noise")
    say(f"{HOUSES} houses, noise σ = {NOISE:,.0f}; features and prices standardized (z-scores)")
    model = MLP(4, [4, 4, 1], activation="linear", output_activation="linear", seed=seed)
    say(
        f"Network 4 → 4 → 4 → 1, three dense layers with no activation; MSE; gradient "
        f"descent, lr {LEARNING_RATE}, full batch, {epochs} epochs\n"
    )

    history = _train(model, X, y, epochs)
    say("  epoch    loss")
    for epoch in range(0, epochs, 20):
        say(f"  {epoch:5d}  {history[epoch]:.4f}")
    predictions = np.array([model(x)[0].data for x in X.tolist()])
    final_loss = float(np.mean((predictions - y) ** 2))
    say(f"\nLoss after training: {final_loss:.4f}")
    say(f"Prediction: {_numbers(predictions[:6])} ...")
    say(f"Target    : {_numbers(y[:6])} ...")

    say("\nWhy three layers are one: with no activation between them,")
    say("  ŷ = ((X W1ᵀ + b1) W2ᵀ + b2) W3ᵀ + b3 = X (W3 W2 W1)ᵀ + (W3 (W2 b1 + b2) + b3),")
    say("one linear map: depth without non-linearity adds no power, only more steps for the")
    say("gradient to flow through, which is what the three layers are here to show.")
    reference = ReferenceMLP.from_mlp(model)
    W1, W2, W3 = reference.W
    b1, b2, b3 = reference.b
    W_effective = (W3 @ W2 @ W1).ravel()
    b_effective = float((W3 @ (W2 @ b1 + b2) + b3)[0])
    collapse = float(np.max(np.abs(X @ W_effective + b_effective - predictions)))
    least_squares = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    law = LAW * X_raw.std(axis=0) / y_raw.std()  # the law's coefficients, standardized
    say(f"  the network's outputs equal X W_effᵀ + b_eff to {collapse:.1e}")
    say(f"  {'standardized weights':28} {'  '.join(f'{f:>13}' for f in FEATURES)}   bias")
    for name, weights, bias in [
        ("network W_eff = W3 W2 W1", W_effective, b_effective),
        ("least squares (best linear)", least_squares[:4], least_squares[4]),
        ("the law that made the data", law, 0.0),
    ]:
        say(f"  {name:28} {'  '.join(f'{w:>+13.4f}' for w in weights)}  {bias:+.4f}")

    files: list[Path] = []
    best = float(np.mean((np.column_stack([X, np.ones(len(X))]) @ least_squares - y) ** 2))
    common.save(_loss_figure(history, best), out, "houses_loss.png", files)
    common.save(_prediction_figure(predictions, y), out, "houses_predictions.png", files)
    return HousesResult(history, collapse, W_effective.tolist(), least_squares[:4].tolist(), files)


def _train(model: MLP, X: np.ndarray, y: np.ndarray, epochs: int) -> list[float]:
    @jit  # the full batch every epoch: one capture, then replays (docs/jit.md)
    def loss_of(inputs: list[list[float]], targets: list[float]) -> Value:
        return losses.mse([model(x)[0] for x in inputs], targets)

    inputs, targets = X.tolist(), y.tolist()
    sgd = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    history = []
    for _ in common.progress(range(epochs), "houses, tinygrad_edu"):
        loss = loss_of(inputs, targets)
        history.append(loss.data)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return history


def _loss_figure(history: list[float], best: float) -> Figure:
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.semilogy(range(len(history)), history, lw=2, label="the network")
    axes.axhline(
        best, color="gray", ls="--", label=f"least squares: {best:.4f}, the best linear fit"
    )
    axes.legend()
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean squared error (log scale)")
    axes.set_title("House prices: training loss, 4 → 4 → 4 → 1 with no activations")
    axes.grid(True, which="both", alpha=0.3)
    return figure


def _prediction_figure(predictions: np.ndarray, targets: np.ndarray) -> Figure:
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    axes = figure.subplots()
    axes.scatter(targets, predictions, s=12, alpha=0.6, label="a house")
    low, high = targets.min(), targets.max()
    axes.plot([low, high], [low, high], color="black", lw=1, label="prediction = target")
    axes.set_xlabel("target price (standardized)")
    axes.set_ylabel("predicted price (standardized)")
    axes.set_title("House prices: predictions against targets")
    axes.set_aspect("equal")
    axes.legend()
    axes.grid(True, alpha=0.3)
    return figure


def _numbers(xs: np.ndarray) -> str:
    return "[" + " ".join(f"{v:+.4f}" for v in xs) + "]"


def main(argv: Sequence[str] | None = None) -> int:
    return common.main(argv, "houses", __doc__.splitlines()[0], DEFAULT_EPOCHS, run)


if __name__ == "__main__":
    sys.exit(main())
