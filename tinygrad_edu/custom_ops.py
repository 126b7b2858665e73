"""Your own ops: ``@op`` turns a function of floats into an op on Values, a row of its own.

The built-in ops are the rows of the op table (``ops.py``), applied by ``engine.apply``; an op
made with ``@op`` is a row too, and is applied the same way, so it records nodes, chains its
local derivatives in ``backward()`` and is drawn, stepped through and replayed by ``jit`` like
any other. ``custom_op`` below checks its signature; ``checks.evaluated`` its results.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from .engine import apply
from .ops import CustomOp


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
    return custom_op(fn, derivatives, vectorized, rule)


def custom_op(
    fn: Callable,
    value_derivatives: Callable | None,
    vectorized: Callable | bool | None = None,
    rule: Sequence[str] | None = None,
) -> Callable:
    """``fn(*floats) -> (value, local_grads)`` as a function on Values, with a row of its own.

    fn's positional parameters without defaults are the operands; the others are settings.
    ``vectorized``: the same rule for numpy arrays, or True when fn itself is one. ``rule``:
    the text of each local derivative, one per operand, in fn's parameter names and ``out``."""
    if not callable(fn):
        raise TypeError(f"@op decorates a function, got {type(fn).__name__}: {fn!r:.60}")
    if not (vectorized is None or isinstance(vectorized, bool) or callable(vectorized)):
        raise TypeError(
            "@op's vectorized must be a function of numpy arrays, True (fn itself takes "
            f"arrays) or None, got {type(vectorized).__name__}: {vectorized!r:.60}"
        )
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    variable = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    operands = [p for p in parameters if p.default is p.empty and p.kind in positional]
    settings = [p.name for p in parameters if p not in operands and p.kind not in variable]
    if rule is not None and (
        isinstance(rule, str)
        or not isinstance(rule, Sequence)
        or len(rule) != len(operands)
        or not all(isinstance(text, str) for text in rule)
    ):
        raise TypeError(
            f"@op's rule must be a tuple of texts, one per operand ({len(operands)} for "
            f"{fn.__name__}), such as rule=('sigmoid(x)',); got {rule!r:.60}"
        )
    arity = len(operands)
    row = CustomOp(fn, arity, tuple(settings), value_derivatives,
                   fn if vectorized is True else vectorized or None, tuple(rule or ()))  # fmt: skip

    @functools.wraps(fn)
    def applied(*args: Any, **kwargs: Any) -> Any:
        if len(args) < arity:
            raise TypeError(f"{row.name} takes {arity} operand(s), got {len(args)}")
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{row.name}: {error}") from None
        bound.apply_defaults()
        return apply(row, *args[:arity], *(bound.arguments[name] for name in settings))

    return applied
