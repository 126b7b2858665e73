"""Exercise 3: the derivative of tanh.

The idea
    tanh(x) = (e^x - e^-x) / (e^x + e^-x) squashes any number into (-1, 1), centred on 0;
    micrograd's neurons use it. Like the sigmoid, its derivative can be written with its own
    output, which the forward pass has already computed.

Derive
    d tanh(x)/dx, written using tanh(x) itself.

Hint
    tanh = sinh / cosh, where sinh' = cosh and cosh' = sinh. Use the quotient rule, then
    divide through by cosh^2 (and remember cosh^2 - sinh^2 = 1).

Check:  tinygrad-edu exercises check <this folder> 3
"""

import math


def tanh(x: float) -> float:
    """tanh(x), given (the forward pass)."""
    return math.tanh(x)


def tanh_derivative(x: float) -> float:
    """d tanh(x)/dx at x."""
    raise NotImplementedError("exercise 3: d tanh(x)/dx")
