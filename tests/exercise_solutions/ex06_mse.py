"""Reference solution to exercise 6."""

import numpy as np


def mse_grad(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 2.0 * (y_hat - y) / y_hat.size
