"""Exercise 8: backpropagation by hand through a whole 2-layer network, in numpy.

The idea
    This is what loss.backward() does, written out once by hand. The network classifies
    samples into two classes:

        Z1 = X W1 + b1        X: (m, n_in) samples;  W1: (n_in, h);  b1: (h,)
        A1 = relu(Z1)         the hidden layer, (m, h)
        Z2 = A1 W2 + b2       W2: (h, 1);  b2: (1,);  Z2: (m, 1)
        A2 = sigmoid(Z2)      the probability of class 1 for each sample
        L  = -(1/m) sum [Y ln A2 + (1 - Y) ln(1 - A2)]   (binary cross-entropy, Y in {0, 1})

    The checker builds the same network out of Values and compares your four gradients with
    the engine's backward() and with finite differences.

Derive
    dL/dW1, dL/db1, dL/dW2 and dL/db2, going backwards one step at a time.

Hint
    You have done every piece already. Sigmoid and binary cross-entropy together simplify
    like softmax and cross-entropy (exercise 5): dL/dZ2 = (A2 - Y) / m, the 1/m because the
    loss is a mean. Each dense layer is exercise 7 (dW = X^T dZ, db = dZ summed over rows,
    and dX = dZ W^T passes the gradient down). Between them, ReLU (exercise 4) lets the
    gradient through only where Z1 > 0. (The checker keeps every Z1 away from 0, so the
    kink does not matter here.)

Check:  tinygrad-edu exercises check <this folder> 8
"""

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def forward(
    X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> dict[str, np.ndarray]:
    """The forward pass, given: every intermediate result, which the backward pass reuses."""
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2 + b2
    A2 = sigmoid(Z2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def loss(
    X: np.ndarray, Y: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> float:
    """The mean binary cross-entropy L, given."""
    A2 = forward(X, W1, b1, W2, b2)["A2"]
    return float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))


def backward(
    X: np.ndarray, Y: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> dict[str, np.ndarray]:
    """{"W1": dL/dW1, "b1": dL/db1, "W2": dL/dW2, "b2": dL/db2}, each shaped like its parameter.

    Start from  cache = forward(X, W1, b1, W2, b2).
    """
    raise NotImplementedError("exercise 8: backpropagation through the whole network")
