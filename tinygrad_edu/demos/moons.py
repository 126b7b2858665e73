"""Two moons: a 2 → 10 ReLU → 1 sigmoid network learns a curved boundary.

The setup: scikit-learn's two moons (1,000 samples, noise 0.2, random_state 42),
an 80/20 split, binary cross-entropy, plain gradient descent on the full batch for 1,000
epochs at learning rate 1.0. With the more cautious 0.1, the loss is still falling after
1,000 epochs and test accuracy stops near 92% (``--lr 0.1`` shows it).
The numpy reference network, hand-written backprop, is trained from the same initial weights
alongside, and the two loss curves are compared.

The initial weights are drawn by ``MLP(..., seed=SEED)``: ``--seed`` changes them.

Training and predictions run under ``jit``: the first epoch's graph is captured, and the other
999 epochs replay it, vectorized (docs/jit.md): 60-odd seconds become a few.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

from tinygrad_edu import MLP, Value, jit, losses, optim
from tinygrad_edu._argtypes import positive_float
from tinygrad_edu.reference import ReferenceMLP

from . import common

DEFAULT_EPOCHS = 1000
LEARNING_RATE = 1.0  # reaches >= 95% test accuracy in 1,000 epochs; SLOW_LEARNING_RATE does not
SLOW_LEARNING_RATE = 0.1
HIDDEN = 10
TEST_POINTS = [(0.0, 0.0), (1.0, 1.0), (-1.0, 0.5), (0.5, -0.5)]  # four points to classify
GRID_STEP = 0.02  # of the decision-boundary plots; 0.01 would cost 4x the time
CLASS_COLORS = ListedColormap(["#d7301f", "#2b8cbe"])


@dataclass
class MoonsResult:
    losses: list[float]  # the engine's training loss before each epoch's step
    reference_losses: list[float]  # the numpy reference's, from the same initial weights
    max_relative_difference: float  # of the two loss curves
    train_accuracy: float
    test_accuracy: float
    test_point_probabilities: list[float]  # P(class 1) at TEST_POINTS
    files: list[Path] = field(default_factory=list)


def run(
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    out: Path = common.DEFAULT_OUT,
    lr: float = LEARNING_RATE,
) -> MoonsResult:
    say = common.say
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    say(f"Two moons: {len(X_train)} training and {len(X_test)} test samples, 2 features")

    model = MLP(2, [HIDDEN, 1], activation="relu", output_activation="sigmoid", seed=seed)
    reference = ReferenceMLP.from_mlp(model)  # the same initial weights, before any step
    say(f"Network 2 → {HIDDEN} ReLU → 1 sigmoid, {len(model.parameters())} parameters")
    say(f"Binary cross-entropy, gradient descent, learning rate {lr:g}, full batch")
    if lr != SLOW_LEARNING_RATE:
        say(
            f"(a more cautious {SLOW_LEARNING_RATE:g} is still learning after 1,000 epochs, "
            f"near 92% test accuracy: --lr {SLOW_LEARNING_RATE:g} shows it)"
        )
    say()

    # the model's P(class 1) for a list of points, compiled: one capture per number of points
    predict = jit(lambda points: [model(x)[0] for x in points])
    engine_losses = _train(model, predict, X_train, y_train, epochs, lr)
    Y_train = y_train.reshape(-1, 1).astype(float)
    reference_losses = [
        reference.train_step(X_train, Y_train, "bce", lr)
        for _ in common.progress(range(epochs), "moons, numpy reference")
    ]
    engine, ref = np.array(engine_losses), np.array(reference_losses)
    max_difference = float(np.max(np.abs(engine - ref) / ref))
    say(
        f"\nThe numpy reference, trained from the same initial weights, ends at loss "
        f"{ref[-1]:.6f};\nthe two loss curves agree to a relative {max_difference:.1e} "
        f"at worst over {epochs} epochs."
    )

    train_accuracy = _accuracy(predict, X_train, y_train)
    test_accuracy = _accuracy(predict, X_test, y_test)
    say(f"\nTraining accuracy: {train_accuracy:.4f} ({100 * train_accuracy:.2f}%)")
    say(f"Test accuracy:     {test_accuracy:.4f} ({100 * test_accuracy:.2f}%)")

    say("\nFour points to classify:")
    probabilities = _probabilities(predict, np.array(TEST_POINTS))
    for point, p in zip(TEST_POINTS, probabilities):
        say(f"  Point {list(point)}: predicted class {int(p > 0.5)}, P(class 1) = {p:.4f}")

    files: list[Path] = []
    common.save(_loss_figure(engine, ref, lr), out, "moons_loss.png", files)
    grid = _probability_grid(predict, X)
    for part, what, X_part, y_part, accuracy in [
        ("train", "training data", X_train, y_train, train_accuracy),
        ("test", "test data", X_test, y_test, test_accuracy),
    ]:
        figure = _boundary_figure(grid, X_part, y_part, what, accuracy)
        common.save(figure, out, f"moons_boundary_{part}.png", files)
    return MoonsResult(
        engine_losses,
        reference_losses,
        max_difference,
        train_accuracy,
        test_accuracy,
        probabilities,
        files,
    )


def _train(
    model: MLP, predict: Callable, X: np.ndarray, y: np.ndarray, epochs: int, lr: float
) -> list[float]:
    """Full-batch gradient descent on the engine; the loss before each step."""

    @jit
    def loss_of(inputs: list[list[float]], labels: list[int]) -> Value:
        return losses.binary_cross_entropy([model(x)[0] for x in inputs], labels)

    inputs, labels = X.tolist(), y.tolist()  # ints, the labels: part of jit's structure
    sgd = optim.SGD(model.parameters(), lr=lr)
    history = []
    for epoch in common.progress(range(epochs), "moons, tinygrad_edu"):
        loss = loss_of(inputs, labels)
        history.append(loss.data)
        if (epoch + 1) % 100 == 0 or epoch + 1 == epochs:
            accuracy = _accuracy(predict, X, y)
            common.say(
                f"Epoch {epoch + 1}/{epochs} - Loss: {loss.data:.4f} - Accuracy: {accuracy:.4f}"
            )
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return history


def _probabilities(predict: Callable, X: np.ndarray) -> list[float]:
    return [p.data for p in predict(X.tolist())]


def _accuracy(predict: Callable, X: np.ndarray, y: np.ndarray) -> float:
    predicted = np.array(_probabilities(predict, X)) > 0.5
    return float(np.mean(predicted == y))


@dataclass
class _Grid:
    xs: np.ndarray
    ys: np.ndarray
    probabilities: np.ndarray  # (len(ys), len(xs)): the model's P(class 1)


def _probability_grid(predict: Callable, X: np.ndarray) -> _Grid:
    """The trained engine's P(class 1) on a grid covering the data with a 0.5 margin."""
    xs = np.arange(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, GRID_STEP)
    ys = np.arange(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, GRID_STEP)
    rows = [
        _probabilities(predict, np.column_stack([xs, np.full_like(xs, y)]))
        for y in common.progress(ys, "moons, decision boundary")
    ]
    return _Grid(xs, ys, np.array(rows))


def _loss_figure(engine: np.ndarray, reference: np.ndarray, lr: float) -> Figure:
    figure = Figure(figsize=(8, 6.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    epochs = np.arange(1, len(engine) + 1)
    top.plot(epochs, engine, lw=2.5, label="tinygrad_edu (autograd)")
    top.plot(
        epochs, reference, "--", lw=1.5, color="black", label="numpy reference (hand backprop)"
    )
    top.set_yscale("log")
    top.set_ylabel("binary cross-entropy (log scale)")
    top.set_title(f"Two moons: training loss, 2 → 10 ReLU → 1 sigmoid, lr {lr:g}, full batch")
    top.legend()
    top.grid(True, which="both", alpha=0.3)
    difference = np.abs(engine - reference) / reference
    differ = difference > 0  # a log scale cannot show the epochs where they are identical
    bottom.semilogy(epochs[differ], difference[differ], ".", ms=3, color="tab:purple")
    bottom.set_ylim(1e-17, 1e-9)
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("relative difference")
    bottom.set_title(
        f"|autograd − reference| / reference (identical at {np.sum(~differ)} of {len(engine)} "
        "epochs): equal to rounding"
    )
    bottom.grid(True, which="both", alpha=0.3)
    return figure


def _boundary_figure(
    grid: _Grid, X: np.ndarray, y: np.ndarray, what: str, accuracy: float
) -> Figure:
    figure = Figure(figsize=(8, 6), layout="constrained")
    axes = figure.subplots()
    shading = axes.contourf(
        grid.xs, grid.ys, grid.probabilities, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6
    )
    axes.contour(grid.xs, grid.ys, grid.probabilities, levels=[0.5], colors="black", linewidths=2)
    for label, marker in [(0, "o"), (1, "s")]:
        chosen = y == label
        axes.scatter(
            X[chosen, 0],
            X[chosen, 1],
            c=[CLASS_COLORS(label)],
            marker=marker,
            edgecolors="black",
            linewidths=0.6,
            s=28,
            label=f"class {label}",
        )
    axes.set_xlabel("feature 1")
    axes.set_ylabel("feature 2")
    axes.set_title(
        f"Decision boundary (P = 0.5, black) on the {what}: accuracy {100 * accuracy:.1f}%"
    )
    axes.legend(loc="upper right")
    figure.colorbar(shading, ax=axes, label="P(class 1)")
    return figure


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.parser("moons", __doc__.splitlines()[0], DEFAULT_EPOCHS)
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=LEARNING_RATE,
        help=f"learning rate (default {LEARNING_RATE:g}; {SLOW_LEARNING_RATE:g} learns too slowly "
        "to finish in 1,000 epochs)",
    )
    args = common.parse(parser, argv)
    return common.timed(lambda: run(args.epochs, args.seed, args.out, args.lr))


if __name__ == "__main__":
    sys.exit(main())
