"""Handwritten digits: 64 → 32 ReLU → 10, softmax cross-entropy, Adam on mini-batches.

Real handwriting: scikit-learn's ``load_digits``, 1,797 images of 8×8 pixels (shipped inside
scikit-learn, no download), split 80/20. The pixels (0 to 16) are scaled to [0, 1]; the network
is trained on shuffled mini-batches of 32 with Adam, then judged on the test images it never saw:
its accuracy, a confusion matrix, and a grid of its answers.

The training step runs under ``jit`` (docs/jit.md): a batch's images and its labels as one-hot
rows are numbers, the graph's inputs, so every batch of 32 replays one capture (the labels as
ints would be part of the structure, a capture per batch).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from tinygrad_edu import MLP, Value, jit, losses, optim

from . import common

DEFAULT_EPOCHS = 10
BATCH_SIZE = 32
LEARNING_RATE = 0.01
HIDDEN = 32


@dataclass
class DigitsResult:
    losses: list[float]  # every mini-batch's
    epoch_losses: list[float]  # the mean over each epoch's batches
    test_accuracies: list[float]  # after each epoch
    test_accuracy: float
    confusion: np.ndarray  # confusion[true, predicted], test images
    files: list[Path] = field(default_factory=list)


def run(
    epochs: int = DEFAULT_EPOCHS, seed: int = 0, out: Path = common.DEFAULT_OUT
) -> DigitsResult:
    say = common.say
    digits = load_digits()
    X = digits.data / 16.0
    X_train, X_test, y_train, y_test, _, images_test = train_test_split(
        X, digits.target, digits.images, test_size=0.2, random_state=42, stratify=digits.target
    )
    say(f"Handwritten digits: {len(X_train)} training and {len(X_test)} test images, 8×8 pixels")
    model = MLP(64, [HIDDEN, 10], activation="relu", output_activation="linear", seed=seed)
    say(f"Network 64 → {HIDDEN} ReLU → 10, {len(model.parameters()):,} parameters")
    say(
        f"Softmax cross-entropy, Adam (lr {LEARNING_RATE}), mini-batches of {BATCH_SIZE}, "
        f"{epochs} epochs\n"
    )

    @jit
    def loss_of(images: list[list[float]], one_hot: list[list[float]]) -> Value:
        """Softmax cross-entropy, the mean over the batch of -Σ_k y_k log softmax(z)_k."""
        terms = [-Value.dot(y, losses.log_softmax(model(x))) for x, y in zip(images, one_hot)]
        return Value.sum(terms) / len(terms)

    adam = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    shuffle = np.random.default_rng(seed)
    inputs, one_hot = X_train.tolist(), np.eye(10)[y_train].tolist()
    predict = jit(lambda images: [z for x in images for z in model(x)])  # the logits, flat
    batch_losses, epoch_losses, accuracies = [], [], []
    for epoch in common.progress(range(1, epochs + 1), "digits, epochs"):
        order = shuffle.permutation(len(inputs))
        starts = range(0, len(order), BATCH_SIZE)
        for start in common.progress(starts, f"epoch {epoch}, mini-batches"):
            batch = order[start : start + BATCH_SIZE]
            loss = loss_of([inputs[i] for i in batch], [one_hot[i] for i in batch])
            batch_losses.append(loss.data)
            adam.zero_grad()
            loss.backward()
            adam.step()
        epoch_losses.append(float(np.mean(batch_losses[-len(starts) :])))
        predicted = _predict(predict, X_test)
        accuracies.append(float(np.mean(predicted == y_test)))
        say(
            f"Epoch {epoch:2d}/{epochs}  mean training loss {epoch_losses[-1]:.4f}  "
            f"test accuracy {accuracies[-1]:.4f}"
        )

    confusion = confusion_matrix(y_test, predicted, labels=range(10))
    say(f"\nTest accuracy: {accuracies[-1]:.4f} ({100 * accuracies[-1]:.2f}%)")
    say(f"{int(np.sum(predicted != y_test))} of {len(y_test)} test images misread")
    files: list[Path] = []
    figure = _loss_figure(batch_losses, epoch_losses, accuracies, len(starts))
    common.save(figure, out, "digits_loss.png", files)
    common.save(_confusion_figure(confusion), out, "digits_confusion.png", files)
    common.save(_samples_figure(images_test, y_test, predicted), out, "digits_samples.png", files)
    return DigitsResult(batch_losses, epoch_losses, accuracies, accuracies[-1], confusion, files)


def _predict(predict: Callable, X: np.ndarray) -> np.ndarray:
    """The class with the largest logit, for each image."""
    logits = np.array([z.data for z in predict(X.tolist())]).reshape(len(X), 10)
    return np.argmax(logits, axis=1)


def _loss_figure(
    batch_losses: list[float], epoch_losses: list[float], accuracies: list[float], batches: int
) -> Figure:
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    epochs = range(1, len(epoch_losses) + 1)
    steps = np.arange(1, len(batch_losses) + 1) / batches
    axes.semilogy(steps, batch_losses, lw=0.6, color="tab:blue", alpha=0.6, label="loss, per batch")
    middles = np.arange(len(epoch_losses)) + 0.5  # an epoch's mean belongs to its middle
    axes.semilogy(middles, epoch_losses, "s-", color="navy", lw=2, label="loss, epoch mean")
    axes.set_xlabel("epoch")
    axes.set_ylabel("training cross-entropy (log scale)", color="navy")
    axes.grid(True, which="both", alpha=0.3)
    right = axes.twinx()
    right.plot(epochs, accuracies, "o-", color="tab:orange", lw=2, label="test accuracy")
    right.set_ylabel("test accuracy", color="tab:orange")
    right.set_ylim(min(0.8, min(accuracies)), 1.0)
    lines = axes.get_lines() + right.get_lines()
    axes.legend(handles=lines, loc="lower left")  # labelled with the lines' own labels
    axes.set_title("Handwritten digits: training loss and test accuracy")
    return figure


def _confusion_figure(confusion: np.ndarray) -> Figure:
    figure = Figure(figsize=(6.5, 5.5), layout="constrained")
    axes = figure.subplots()
    shading = axes.imshow(confusion, cmap="Blues")
    for true, row in enumerate(confusion):
        for predicted, count in enumerate(row):
            if count:
                dark = count > confusion.max() / 2
                axes.text(
                    predicted,
                    true,
                    str(count),
                    ha="center",
                    va="center",
                    color="white" if dark else ("black" if true == predicted else "tab:red"),
                )
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    accuracy = np.trace(confusion) / confusion.sum()
    axes.set_title(f"Confusion matrix, {confusion.sum()} test images ({100 * accuracy:.1f}% right)")
    figure.colorbar(shading, ax=axes, label="images")
    return figure


def _samples_figure(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> Figure:
    """The first 24 test images, then (last row) the first 8 the network misread."""
    wrong = np.flatnonzero(predicted != truth)[:8]
    shown = list(range(24)) + list(wrong)
    figure = Figure(figsize=(9, 5.6), layout="constrained")
    grid = figure.subplots(4, 8)
    for axes in grid.ravel():
        axes.axis("off")
    for axes, i in zip(grid.ravel(), shown):
        axes.imshow(images[i], cmap="gray_r", interpolation="nearest")
        right = predicted[i] == truth[i]
        axes.set_title(
            f"{predicted[i]}" if right else f"{predicted[i]} (is {truth[i]})",
            color="black" if right else "tab:red",
            fontsize=10,
        )
    figure.suptitle(
        "The network's answers on test images (rows 1-3: the first 24; row 4: misread, in red)"
    )
    return figure


def main(argv: Sequence[str] | None = None) -> int:
    return common.main(argv, "digits", __doc__.splitlines()[0], DEFAULT_EPOCHS, run)


if __name__ == "__main__":
    sys.exit(main())
