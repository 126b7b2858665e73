"""Reference solution to exercise 10: the supplied huber forgot the sign of x beyond delta."""

import math

from tinygrad_edu import op


@op
def huber_fixed(x: float, delta: float = 1.0) -> tuple[float, tuple[float]]:
    if abs(x) <= delta:
        return 0.5 * x * x, (x,)
    return delta * (abs(x) - 0.5 * delta), (math.copysign(delta, x),)
