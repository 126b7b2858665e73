"""Exercise 5: softmax + cross-entropy, and why its gradient is so simple.

The idea
    A classifier's last layer gives one score z_i per class (the logits). Softmax turns them
    into probabilities, y_hat_i = e^(z_i) / sum_j e^(z_j), and the cross-entropy loss
    L = -sum_i y_i ln y_hat_i measures how little probability went to the true class (y is
    one-hot: 1 for the true class, 0 for the others). Through the softmax, every logit
    affects every probability; yet the gradient of the pair is just

        dL/dz = y_hat - y,

    "prediction minus truth". That elegance is why the two are always used together.

Derive
    Show that dL/dz_i = y_hat_i - y_i, then write it in numpy.

Hint
    Do not differentiate the softmax on its own. Write ln y_hat_i = z_i - ln sum_j e^(z_j),
    so that L = -sum_i y_i z_i + (sum_i y_i) ln sum_j e^(z_j), and use sum_i y_i = 1.
    d/dz_k ln sum_j e^(z_j) is a softmax again.

Check:  tinygrad-edu exercises check <this folder> 5
"""

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    """y_hat = softmax(z), given. Subtracting max(z) changes nothing but avoids overflow."""
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    """L = -sum_i y_i ln softmax(z)_i, given (the forward pass)."""
    return float(-np.sum(y * np.log(softmax(z))))


def softmax_cross_entropy_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dz for the logits z (shape (K,)) and the one-hot target y (shape (K,))."""
    raise NotImplementedError("exercise 5: dL/dz of cross-entropy after softmax")
