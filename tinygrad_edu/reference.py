"""A small MLP in numpy, with its backward pass derived and written out by hand.

This module is two things at once.

An oracle: it computes the same loss and gradients as the engine by a completely independent
route (whole-batch matrix formulas, no graph, no chain rule applied by a machine), so a test can
demand that the two agree to 1e-10, and a demo can train both from the same weights and compare
their loss curves.

A lesson: it is what autograd saves you from writing. Every activation needs its derivative,
every loss its gradient, every layer its backward formula, each derived on paper and coded by
hand, and all of it rewritten whenever the architecture changes. With ``Value`` you write only
the forward pass.

Shapes are PyTorch's: layer l has weights ``W[l]`` of shape (nout, nin) and biases ``b[l]`` of
shape (nout,); a batch ``X`` is (m, nin), one sample per row. For m samples, with the loss the
batch mean L = (1/m) Σ_i ℓ_i, the formulas are

    forward    Z = A_prev @ W.T + b,   A = f(Z)
    output     dZ = ŷ - y                     (sigmoid + BCE, softmax + cross-entropy)
               dZ = 2 (ŷ - y) / nout ⊙ f'(Z)  (MSE: 2(ŷ - y)/N, with N = m·nout)
               dZ = -y [1 - y z > 0] / nout   (hinge, micrograd's demo loss, labels ±1)
    backward   dW = dZ.T @ A_prev / m,  db = Σ_rows dZ / m,  dA_prev = dZ @ W
               dZ_prev = dA_prev ⊙ f'(Z_prev)  (ReLU: the mask Z_prev > 0)

With weights stored (nin, nout) instead, dW = X.T @ dZ / m: the same matrix, transposed.
The two local derivatives every dense layer needs are the A_prev in dW (dZ/dW = A_prev) and
the W in dA_prev (dZ/dA_prev = W).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .nn import ACTIVATIONS, MLP, Layer
from .ops import sigmoid

# the loss, and the output activation it needs (None: any); the fused pairs are why
# dZ2 = A2 - Y holds without ever forming dL/dA2
LOSSES: dict[str, str | None] = {
    "mse": None,
    "bce": "sigmoid",
    "bce_with_logits": "linear",
    "cross_entropy": "linear",
    "hinge": "linear",
}


@dataclass
class Gradients:
    """The loss of one batch and dL/dW, dL/db for every layer (same shapes as the weights)."""

    loss: float
    dW: list[np.ndarray]
    db: list[np.ndarray]

    def flat(self) -> np.ndarray:
        """All gradients in the order of ``MLP.parameters()``, to compare with the engine's."""
        return _in_mlp_order(self.dW, self.db)


class ReferenceMLP:
    """A fully connected network: hidden layers use ``activation``, the last one
    ``output_activation`` (relu, tanh, sigmoid or linear), as in ``MLP``.

    ``weights[l]`` is (nout, nin) and ``biases[l]`` is (nout,); both are copied.
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        activation: str = "relu",
        output_activation: str = "linear",
    ) -> None:
        for name in (activation, output_activation):
            if name not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
                )
        if len(weights) != len(biases) or not weights:
            raise ValueError(
                f"need one bias vector per weight matrix (at least one layer), "
                f"got {len(weights)} weight matrices and {len(biases)} bias vectors"
            )
        self.W = [np.array(W, dtype=float) for W in weights]
        self.b = [np.array(b, dtype=float) for b in biases]
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            if W.ndim != 2 or b.shape != (W.shape[0],):
                raise ValueError(
                    f"layer {layer}: weights must be (nout, nin) and biases (nout,), "
                    f"got {W.shape} and {b.shape}"
                )
            if layer and W.shape[1] != self.W[layer - 1].shape[0]:
                raise ValueError(
                    f"layer {layer} takes {W.shape[1]} inputs but layer {layer - 1} gives "
                    f"{self.W[layer - 1].shape[0]}"
                )
        self.activations = [activation] * (len(self.W) - 1) + [output_activation]

    @classmethod
    def from_mlp(cls, model: MLP) -> ReferenceMLP:
        """A reference network holding a copy of ``model``'s current weights."""
        if not isinstance(model, MLP):
            raise TypeError(f"from_mlp needs an MLP, got {type(model).__name__}")
        states = [layer.state_dict() for layer in model.layers]  # laid out as Layer.layout says
        weights = [state["weight"] for state in states]
        biases = [state["bias"] for state in states]
        return cls(weights, biases, model.activation, model.output_activation)

    def parameters(self) -> np.ndarray:
        """All weights and biases in the order of ``MLP.parameters()``."""
        return _in_mlp_order(self.W, self.b)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs for a batch X (m, nin): an (m, nout) array."""
        return self._forward(self._batch(X))[1][-1]

    def gradients(self, X: np.ndarray, Y: np.ndarray, loss: str, l2: float = 0.0) -> Gradients:
        """The batch loss and its gradients, by the hand-derived backward pass.

        ``Y``: for ``mse``, ``bce``, ``bce_with_logits`` and ``hinge`` (labels ±1) an (m, nout)
        array of targets; for ``cross_entropy`` m class indices. ``l2``: the weight α of a
        penalty α Σ p² over every weight and bias (``α * losses.l2(model.parameters())``), which
        adds 2α W to dW and 2α b to db.
        """
        X = self._batch(X)
        self._check_loss(loss)
        Y = self._targets(Y, loss, len(X))
        Zs, As = self._forward(X)
        m = len(X)
        dZ = _output_error(loss, Zs[-1], As[-1], Y, self.activations[-1])
        dW: list[np.ndarray] = [np.empty(0)] * len(self.W)
        db: list[np.ndarray] = [np.empty(0)] * len(self.W)
        for layer in reversed(range(len(self.W))):
            A_prev = As[layer]  # the layer's input: X for the first layer
            dW[layer] = dZ.T @ A_prev / m
            db[layer] = dZ.sum(axis=0) / m
            if layer:
                dA_prev = dZ @ self.W[layer]
                dZ = dA_prev * _derivative(self.activations[layer - 1], Zs[layer - 1], A_prev)
        value = _loss_value(loss, Zs[-1], As[-1], Y)
        if l2:
            value += l2 * float(sum(np.sum(W * W) + np.sum(b * b) for W, b in zip(self.W, self.b)))
            dW = [dW_l + 2.0 * l2 * W for dW_l, W in zip(dW, self.W)]
            db = [db_l + 2.0 * l2 * b for db_l, b in zip(db, self.b)]
        return Gradients(value, dW, db)

    def train_step(
        self, X: np.ndarray, Y: np.ndarray, loss: str, lr: float, l2: float = 0.0
    ) -> float:
        """One step of plain gradient descent, W -= lr dW and b -= lr db.

        Returns the loss before the step.
        """
        grads = self.gradients(X, Y, loss, l2)
        for W, b, dW, db in zip(self.W, self.b, grads.dW, grads.db):
            W -= lr * dW
            b -= lr * db
        return grads.loss

    def _forward(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Zs[l] is layer l's pre-activation; As[0] = X and As[l + 1] = f(Zs[l])."""
        Zs, As = [], [X]
        for W, b, activation in zip(self.W, self.b, self.activations):
            Z = As[-1] @ W.T + b
            Zs.append(Z)
            As.append(_activate(activation, Z))
        return Zs, As

    def _batch(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        nin = self.W[0].shape[1]
        if X.ndim != 2 or X.shape[1] != nin:
            raise ValueError(f"X must be a batch of shape (m, {nin}), got shape {X.shape}")
        return X

    def _check_loss(self, loss: str) -> None:
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        needed = LOSSES[loss]
        if needed is not None and self.activations[-1] != needed:
            raise ValueError(
                f"the reference's {loss} is written for a {needed} output layer "
                f"(its gradient is fused with it), but this network's output is "
                f"{self.activations[-1]}"
            )

    def _targets(self, Y: np.ndarray, loss: str, m: int) -> np.ndarray:
        nout = self.W[-1].shape[0]
        if loss == "cross_entropy":
            Y = np.asarray(Y)
            if Y.shape != (m,) or not np.issubdtype(Y.dtype, np.integer):
                raise ValueError(f"cross_entropy needs {m} integer class indices, got {Y!r:.80}")
            if Y.min() < 0 or Y.max() >= nout:
                raise ValueError(f"class indices must be in 0..{nout - 1}, got {Y!r:.80}")
            return Y
        Y = np.asarray(Y, dtype=float)
        if Y.shape != (m, nout):
            raise ValueError(f"{loss} needs targets of shape ({m}, {nout}), got {Y.shape}")
        if loss == "hinge" and not np.all(np.abs(Y) == 1.0):
            raise ValueError(f"hinge needs labels -1 or +1, got {Y!r:.80}")
        return Y


def _activate(name: str, Z: np.ndarray) -> np.ndarray:
    """f(Z), elementwise: the forward rule of the activation's row of the op table."""
    row = ACTIVATIONS[name]
    return row.forward(Z) if row else Z


def _derivative(name: str, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    """f'(Z), elementwise: the local-derivative rule of the activation's row of the op table,
    written with the output A where that is simpler (tanh: 1 - A^2; relu: 0 at the kink)."""
    row = ACTIVATIONS[name]
    return row.derivatives(Z, A)[0] if row else np.ones_like(Z)


def _output_error(loss: str, Z: np.ndarray, A: np.ndarray, Y: np.ndarray, act: str) -> np.ndarray:
    """dℓ_i/dZ for each sample's loss ℓ_i at the output layer (the 1/m comes in dW and db)."""
    nout = Z.shape[1]
    if loss == "mse":  # ℓ = Σ_k (a_k - y_k)^2 / nout
        return 2.0 * (A - Y) / nout * _derivative(act, Z, A)
    if loss == "bce":  # dℓ/da = (a - y) / (a (1 - a)) meets σ' = a (1 - a): dZ = A - Y
        return (A - Y) / nout
    if loss == "bce_with_logits":
        return (sigmoid(Z) - Y) / nout
    if loss == "hinge":  # ℓ = Σ_k max(0, 1 - y_k z_k) / nout; 0 at the kink, as relu's
        return -Y * (1.0 - Y * Z > 0) / nout
    return _softmax(Z) - np.eye(nout)[Y]  # cross_entropy: ŷ - y, y one-hot


def _loss_value(loss: str, Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> float:
    if loss == "mse":
        return float(np.mean((A - Y) ** 2))
    if loss == "bce":  # logs clamped at -100, as the engine and PyTorch do
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(A), -100.0)
            log_not_p = np.maximum(np.log1p(-A), -100.0)
        return float(-np.mean(Y * log_p + (1.0 - Y) * log_not_p))
    if loss == "bce_with_logits":  # max(z, 0) - z y + ln(1 + e^-|z|)
        return float(np.mean(np.maximum(Z, 0.0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))))
    if loss == "hinge":
        return float(np.mean(np.maximum(0.0, 1.0 - Y * Z)))
    log_probs = Z - _log_sum_exp(Z)[:, None]
    return float(-np.mean(log_probs[np.arange(len(Y)), Y]))


def _log_sum_exp(Z: np.ndarray) -> np.ndarray:
    shift = Z.max(axis=1)
    return shift + np.log(np.exp(Z - shift[:, None]).sum(axis=1))


def _softmax(Z: np.ndarray) -> np.ndarray:
    return np.exp(Z - _log_sum_exp(Z)[:, None])


def _in_mlp_order(Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray]) -> np.ndarray:
    """Flatten as MLP.parameters() does: layer by layer, each in Layer.parameters()' order."""
    return np.concatenate([Layer.in_parameter_order(W, b) for W, b in zip(Ws, bs)])
