"""Exercise 9: write your own op, swish, and gradcheck it.

The idea
    The engine's ops are each a forward value and its local derivatives, side by side, and
    you can add your own the same way with the @op decorator (README, "Custom operations"):

        @op
        def cube(x):
            return x ** 3, (3 * x ** 2,)     # (value, (d value / dx,))

    The function receives plain floats; @op turns it into an operation on Values, which
    records a node named after it (cube(Value(2.0)).op == "cube") and chains your local
    derivative in backward(), like the built-in ops.

    swish(x) = x sigmoid(x) (also called SiLU) is a smooth cousin of ReLU used in modern
    networks: close to 0 for very negative x, close to x for large x, smooth in between.

Derive
    d swish(x)/dx, then write swish as an @op that returns (value, (derivative,)).

Hint
    The product rule, and your answer to exercise 2. Then check it yourself before the
    checker does, at a point or at many points that hypothesis draws:

        from tinygrad_edu import gradcheck
        from tinygrad_edu.testing import assert_gradients_match
        gradcheck(lambda v: swish(v[0]), [0.5])
        assert_gradients_match(lambda v: swish(v[0]))

Check:  tinygrad-edu exercises check <this folder> 9
"""

import math

from tinygrad_edu import op


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), given, written so that e^-x cannot overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@op
def swish(x: float) -> tuple[float, tuple[float]]:
    """swish(x) = x sigmoid(x): return (the value, (d swish/dx,))."""
    raise NotImplementedError("exercise 9: swish as a custom op")
