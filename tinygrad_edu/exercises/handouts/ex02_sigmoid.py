"""Exercise 2: the derivative of the sigmoid.

The idea
    sigmoid(x) = 1 / (1 + e^-x) squashes any number into (0, 1), so a binary classifier's
    last neuron uses it to say "how sure am I that this is a 1". Backpropagation through it
    multiplies the gradient arriving from above by its local derivative, d sigmoid(x)/dx.

Derive
    d sigmoid(x)/dx, and write it using only sigmoid(x) itself: no new exponential. That is
    why a network can keep the forward pass's output and reuse it in the backward pass; and
    it never overflows (e^1000 is too large for a float; the checker tries x = -1000 too).

Hint
    Write sigmoid(x) = (1 + e^-x)^-1 and use the chain rule. Then notice that
    e^-x / (1 + e^-x) = 1 - 1 / (1 + e^-x).

Check:  tinygrad-edu exercises check <this folder> 2
"""

import math


def sigmoid(x: float) -> float:
    """sigmoid(x) = 1 / (1 + e^-x), given (the forward pass), written so that no e^-x is
    taken for x < 0, where it could overflow a float (beyond x = -709.78)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_derivative(x: float) -> float:
    """d sigmoid(x)/dx at x."""
    raise NotImplementedError("exercise 2: d sigmoid(x)/dx")
