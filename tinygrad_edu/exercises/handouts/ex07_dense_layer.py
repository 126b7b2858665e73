"""Exercise 7: a dense layer's backward pass, in numpy.

The idea
    A dense layer computes Z = X W + b for a batch: X has one sample per row (shape (N, n_in)),
    W is (n_in, n_out), b is (n_out,) and is added to every row. It needs only two local
    derivatives (and a trivial third):

        dZ/dW = X,    dZ/dX = W,    dZ/db = 1.

    The layer above hands it dZ = dL/dZ (shape (N, n_out)); the chain rule turns the local
    derivatives into the gradients of its parameters, and into dL/dX, which it passes on to the
    layer below. Every layer of every network does exactly this.

Derive
    dL/dX, dL/dW and dL/db as arrays, from X, W and dZ.

Hint
    Write one entry and read it as a matrix product: Z[n, j] = sum_k X[n, k] W[k, j] + b[j],
    so dL/dW[k, j] = sum_n X[n, k] dZ[n, j]. A gradient always has the shape of what it is
    the gradient of; let the shapes tell you where the transposes go. b is added to every
    row, so its gradient sums dZ over the rows (the batch), not over the columns.

Check:  tinygrad-edu exercises check <this folder> 7
(The checker takes L = sum(dZ * Z), the loss whose dL/dZ is exactly the dZ it hands you.)
"""

import numpy as np


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z = X W + b, given (the forward pass)."""
    return X @ W + b


def dense_backward(
    X: np.ndarray, W: np.ndarray, b: np.ndarray, dZ: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dX, dL/dW, dL/db), shaped like X, W and b, given dZ = dL/dZ from above."""
    raise NotImplementedError("exercise 7: the gradients of a dense layer")
