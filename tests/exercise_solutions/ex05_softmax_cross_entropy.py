"""Reference solution to exercise 5."""

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def softmax_cross_entropy_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return softmax(z) - y
