"""Reference solution to exercise 8, the backward pass of seed 002."""

import numpy as np


def backward(X, Y, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0.0)
    A2 = 1.0 / (1.0 + np.exp(-(A1 @ W2 + b2)))
    dZ2 = (A2 - Y) / len(X)
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
