"""Exercise 10: find the bug.

The idea
    A wrong derivative does not crash anything. The network still trains, only worse, or for
    some inputs in the wrong direction, and nothing tells you. Gradient checking does.

    A colleague wrote `huber` below: the Huber loss of a residual x, quadratic near 0 and
    linear further out, so that outliers pull less than they would on a squared error:

        huber(x) = x^2 / 2                 for |x| <= delta,
                   delta (|x| - delta / 2)  otherwise.

    Its value is right. Its derivative is wrong, somewhere but not everywhere.

Find it
    1. gradcheck(lambda v: huber(v[0]), [0.5]) passes. So does [2.0]. Try other points.
    2. Let hypothesis search instead: assert_gradients_match(lambda v: huber(v[0])) reports
       the simplest x where the derivative is wrong.
    3. Derive d huber(x)/dx on each piece yourself, and compare with the code at that x.
    4. Write the corrected op as huber_fixed below (leave huber as it is, to compare).

        from tinygrad_edu import gradcheck
        from tinygrad_edu.testing import assert_gradients_match

Hint
    Look at what each branch does with the sign of x. The two pieces meet smoothly at
    |x| = delta: the value and the slope agree there, so that is not where the bug is.

Check:  tinygrad-edu exercises check <this folder> 10
"""

from tinygrad_edu import op


@op
def huber(x: float, delta: float = 1.0) -> tuple[float, tuple[float]]:
    """The Huber loss of x, as supplied: its derivative has a bug. Do not fix it here."""
    if abs(x) <= delta:
        return 0.5 * x * x, (x,)
    return delta * (abs(x) - 0.5 * delta), (delta,)


@op
def huber_fixed(x: float, delta: float = 1.0) -> tuple[float, tuple[float]]:
    """The Huber loss of x with the right derivative: return (value, (d huber/dx,))."""
    raise NotImplementedError("exercise 10: huber with its derivative fixed")
