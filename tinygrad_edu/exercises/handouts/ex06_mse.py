"""Exercise 6: the gradient of the mean squared error.

The idea
    A regression network predicts numbers y_hat_i for targets y_i; the mean squared error
    L = (1/N) sum_i (y_hat_i - y_i)^2 scores how far off it is. The gradient dL/dy_hat is
    where backpropagation starts: the first gradient that flows back into the network.

Derive
    Show that dL/dy_hat_i = 2 (y_hat_i - y_i) / N, then write it in numpy.

Hint
    Only the i-th term of the sum depends on y_hat_i. Do not lose the 2 from the square, nor
    the 1/N from the mean: N is the number of predictions.

Check:  tinygrad-edu exercises check <this folder> 6
"""

import numpy as np


def mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    """L = (1/N) sum_i (y_hat_i - y_i)^2, given (the forward pass)."""
    return float(np.mean((y_hat - y) ** 2))


def mse_grad(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dy_hat, an array shaped like y_hat (shape (N,))."""
    raise NotImplementedError("exercise 6: dL/dy_hat of the mean squared error")
