"""Exercise 2: the derivative of the sigmoid.

The idea
    sigmoid(x) = 1 / (1 + e^-x) squashes any number into (0, 1), so a binary classifier's
    last neuron uses it to say "how sure am I that this is a 1". Backpropagation through it
    multiplies the gradient arriving from above by its local derivative, d sigmoid(x)/dx.

Derive
    d sigmoid(x)/dx, and write it using only sigmoid(x) itself: no new exponential. That is
    why a network can keep the forward pass's output and reuse it in the backward pass.

Hint
    Write sigmoid(x) = (1 + e^-x)^-1 and use the chain rule. Then notice that
    e^-x / (1 + e^-x) = 1 - 1 / (1 + e^-x).

Check:  tinygrad-edu exercises check <this folder> 2
"""

import math


def sigmoid(x: float) -> float:
    """sigmoid(x) = 1 / (1 + e^-x), given (the forward pass)."""
    return 1.0 / (1.0 + math.exp(-x))


def sigmoid_derivative(x: float) -> float:
    """d sigmoid(x)/dx at x."""
    raise NotImplementedError("exercise 2: d sigmoid(x)/dx")
