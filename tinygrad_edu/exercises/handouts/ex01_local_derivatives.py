"""Exercise 1: the local derivatives of +, * and /.

The idea
    Backpropagation needs to know only one thing about each operation: its local derivatives,
    how its output moves when one input moves and the others stay put. For c = a op b, the
    chain rule then hands each input its share of the blame:

        dL/da = dL/dc * dc/da,    dL/db = dL/dc * dc/db.

    Everything the engine does, every network it trains, is built from such pairs.

Derive
    dc/da and dc/db for c = a + b, for c = a * b and for c = a / b.

Hint
    Hold the other input fixed and it is a constant. For the quotient, write a / b = a * b^-1
    and use d/db b^n = n b^(n-1).

Each function returns the pair (dc/da, dc/db) at the point (a, b).
Check:  tinygrad-edu exercises check <this folder> 1
"""


def add_derivatives(a: float, b: float) -> tuple[float, float]:
    """(dc/da, dc/db) for c = a + b."""
    raise NotImplementedError("exercise 1: the local derivatives of a + b")


def mul_derivatives(a: float, b: float) -> tuple[float, float]:
    """(dc/da, dc/db) for c = a * b."""
    raise NotImplementedError("exercise 1: the local derivatives of a * b")


def div_derivatives(a: float, b: float) -> tuple[float, float]:
    """(dc/da, dc/db) for c = a / b (b is never 0 here)."""
    raise NotImplementedError("exercise 1: the local derivatives of a / b")
