"""Your own ops: ``@op`` turns a function of floats into an op on Values, a row of its own.

The built-in ops are the rows of the op table (``ops.py``), applied by ``engine.apply``; an op
made with ``@op`` is a row too, and is applied the same way, so it records nodes, chains its
local derivatives in ``backward()`` and is drawn, stepped through and replayed by ``jit`` like
any other. Its checks (signature, results) are in ``plumbing.custom_op``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import plumbing
from .engine import apply


def op(
    fn: Callable | None = None,
    *,
    derivatives: Callable | None = None,
    vectorized: Callable | bool | None = None,
    rule: Sequence[str] | None = None,
) -> Callable:
    """Make ``fn(*floats) -> (value, local_grads)`` an op on Values, with a row of its own::

        @op
        def softplus(x):
            '''softplus(x) = ln(1 + e^x);  d/dx = sigmoid(x)'''
            return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)

    The positional parameters without defaults are the operands; the others are plain-number
    settings. ``derivatives(*operands, *settings, out)`` gives the local derivatives written
    with Value ops (``@op(derivatives=lambda x, out: (x.sigmoid(),))``), so that
    ``grad(..., create_graph=True)`` can differentiate through the op again.

    ``vectorized`` is the same rule for numpy arrays, which ``jit`` uses to replay all the
    nodes of the op at once: one array per operand in (settings by keyword, an array each),
    ``(values, local_grads)`` out, as arrays. ``vectorized=True`` says that ``fn`` itself works
    on arrays (it uses plain arithmetic only). Without one, jit replays the op node by node.

    ``rule`` is the text of each local derivative, one per operand, in fn's parameter names
    and ``out`` (``rule=("sigmoid(x)",)``): the step-through page shows it, then the same with
    the numbers in. Without it, the page shows the derivative's number only.
    """
    if fn is None:
        return lambda f: op(f, derivatives=derivatives, vectorized=vectorized, rule=rule)
    # signature and result checks: plumbing
    return plumbing.custom_op(fn, derivatives, apply, vectorized, rule)
