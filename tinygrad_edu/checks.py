"""Checks and error text: what every number entering a graph must be, and what to say when it
is not, or when an op would give NaN or infinity. Not needed to learn.

``engine.apply`` hands its operands here (``numbers_of``) and evaluates a row here
(``evaluated``), so that an error names the op and its operands (``log(-1.0): log needs x > 0``)
before any node is made; ``grad()`` checks its arguments here.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

from .ops import DOT, CustomOp, Op, formula

_INF = math.inf


# --- numbers entering a graph --------------------------------------------------------------


def real_float(x: object, what: str) -> float:
    """x as a float (5 as 5.0, a numpy number as its float), or a TypeError naming ``what`` if
    x is not a real number, or an OverflowError if it is too large for a float."""
    if type(x) is float:
        return x
    if not isinstance(x, Real):
        raise TypeError(
            f"{what} must be a real number (int, float or numpy scalar), "
            f"got {type(x).__name__}: {x!r:.60}"
        )
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(f"{what} is too large for a float: {x!r:.60}") from None


def finite_float(x: object, what: str) -> float:
    """x as a float, or a TypeError/ValueError/OverflowError saying what ``what`` must be."""
    if type(x) is not float:
        x = real_float(x, what)
    if not -_INF < x < _INF:
        raise ValueError(f"{what} must be finite, got {x!r}")
    return x


def positive_int(n: object, name: str) -> int:
    """n as an int >= 1 (a size, a count), or a TypeError/ValueError naming ``name``."""
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"{name} must be a positive int, got {type(n).__name__}: {n!r:.60}")
    if n < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {n!r}")
    return int(n)


def checked_label(label: object) -> str:
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}: {label!r}")
    return label


def constant(x: object, op: str) -> float:
    """A plain-number operand as a finite float, or an error naming the op."""
    if type(x) is float and -_INF < x < _INF:  # the common case, before the slower checks
        return x
    if not isinstance(x, Real):
        raise TypeError(
            f"unsupported operand for {op}: {type(x).__name__} {x!r:.60} (use a number or a Value)"
        )
    return finite_float(x, f"a constant operand of {op}")


def numbers_of(row: Op, args: Sequence[Any], is_value: Sequence[bool]) -> list[float]:
    """The numbers the row computes with: each Value's data, each constant and setting checked."""
    if not isinstance(row, Op):
        raise TypeError(
            "apply takes a row of the op table first (tinygrad_edu.ops: ops.MUL, ops.TANH, ...), "
            f"got {type(row).__name__}: {row!r:.60}"
        )
    if row.arity is not None and len(args) != row.arity + len(row.settings):
        settings = f" then {len(row.settings)} setting(s) ({', '.join(row.settings)})"
        raise TypeError(
            f"{row.name} takes {row.arity} operand(s){settings if row.settings else ''}, "
            f"got {len(args)} argument(s)"
        )
    if row.arity is None and len(args) % row.parts:
        raise ValueError(f"Value.{row.name} takes {row.parts} lists of equal length")
    arity, name = (len(args), f"Value.{row.name}") if row.arity is None else (row.arity, row.name)
    numbers = [a.data if value else constant(a, name) for a, value in zip(args[:arity], is_value)]
    for setting_name, setting in zip(row.settings, args[arity:]):
        numbers.append(finite_float(setting, f"{name}'s {setting_name}"))
    return numbers


def operand_list(operands: object, where: str) -> list:
    """``operands`` as a list, or a TypeError if it is not a sequence of them (``sum(3)``)."""
    if isinstance(operands, (str, bytes)) or not isinstance(operands, Iterable):
        raise TypeError(
            f"{where} takes a list of numbers or Values, got {type(operands).__name__} {operands!r}"
        )
    return list(operands)


def equal_length_lists(ws: object, xs: object, where: str) -> list:
    """ws followed by xs, two lists of equal length, or an error saying what is wrong."""
    ws, xs = operand_list(ws, where), operand_list(xs, where)
    if len(ws) != len(xs):
        raise ValueError(
            f"{where} needs two sequences of equal length, got {len(ws)} and {len(xs)}"
        )
    return ws + xs


# --- evaluating a row, with errors that say what went wrong -----------------------------------


def evaluated(
    row: Op, numbers: list[float], is_value: Sequence[bool]
) -> tuple[float, tuple[float, ...]]:
    """The row's value and local derivatives at numbers, finite floats (the derivatives by the
    operands that are Values: one by a constant is never used), or an error naming the op and
    its operands: ArithmeticError and ValueError keep their type, a result that is not a real
    number is a ValueError, one too large for a float an OverflowError."""
    if isinstance(row, CustomOp):  # one function gives both; its errors are the user's own
        try:
            out, local_grads = row.evaluate(*numbers)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{_call_text(row, numbers)}: {error}") from None
        return _real(row, numbers, out, ""), _local_grads(row, numbers, local_grads, is_value)
    needs = f": {row.name} needs {row.domain}" if row.domain else ""
    n = len(numbers) // 2  # a dot product's ws and xs: numbers[:n], numbers[n:]
    try:
        out = row.forward(*numbers)
    except ZeroDivisionError as error:
        semicolon = needs.replace(":", ";", 1)
        raise ZeroDivisionError(f"{_call_text(row, numbers)}: {error}{semicolon}") from None
    except (OverflowError, ValueError) as error:
        if row is DOT:  # a product beyond the float range (inf - inf in fsum: a ValueError)
            raise dot_overflow(numbers[:n], numbers[n:]) from None
        if isinstance(error, OverflowError):
            raise OverflowError(f"{_call_text(row, numbers)} overflows a float") from None
        raise ValueError(f"{_call_text(row, numbers)}{needs or f': {error}'}") from None
    if row is DOT and not -_INF < out < _INF:
        raise dot_overflow(numbers[:n], numbers[n:])
    out = _real(row, numbers, out, needs)
    try:
        local_grads = row.derivatives(*numbers, out)
    except OverflowError:
        raise OverflowError(
            f"the derivative of {_call_text(row, numbers)} overflows a float"
        ) from None
    except ZeroDivisionError:
        raise ValueError(
            f"the derivative of {_call_text(row, numbers)} is infinite{needs}"
        ) from None
    except ValueError:
        raise ValueError(
            f"the derivative of {_call_text(row, numbers)} is not defined{needs}"
        ) from None
    return out, _local_grads(row, numbers, local_grads, is_value)


def _real(row: Op, numbers: list[float], x: object, needs: str) -> float:
    """An op's value as a finite float, or an error saying why it is not one."""
    if type(x) is float and -_INF < x < _INF:
        return x
    if isinstance(x, complex):
        raise ValueError(f"{_call_text(row, numbers)} is not a real number{needs}")
    if isinstance(x, float) and abs(x) == _INF:
        raise OverflowError(f"{_call_text(row, numbers)} overflows a float")
    return finite_float(x, f"the value of {_call_text(row, numbers)}")


def _local_grads(
    row: Op, numbers: list[float], local_grads: object, is_value: Sequence[bool]
) -> tuple:
    arity = len(numbers) if row.arity is None else row.arity
    if isinstance(local_grads, (str, bytes)) or not isinstance(local_grads, Sequence):
        raise TypeError(
            f"{row.name} must give its local derivatives as a sequence, one per operand"
        )
    if len(local_grads) != arity:
        raise ValueError(
            f"{row.name} returned {len(local_grads)} local derivatives for {arity} operand(s)"
        )
    checked = list(local_grads)
    for i, value in enumerate(is_value[:arity]):
        d = checked[i]
        if value and not (type(d) is float and -_INF < d < _INF):
            what = f"the derivative of {_call_text(row, numbers)} by operand {i}"
            checked[i] = finite_float(d, what)
    return tuple(checked)


def _call_text(row: Op, numbers: Sequence[float]) -> str:
    """How a call reads in a message: ``1.0 / 0.0``, ``(-8.0) ** 0.5``, ``log(-1.0)``."""
    if row.arity is None:
        return f"Value.{row.name} of {len(numbers)} numbers"
    return formula(row, numbers[: row.arity], numbers[row.arity :])


def dot_overflow(ws: Sequence[float], xs: Sequence[float]) -> OverflowError:
    """The error for Σ w_i x_i beyond the float range, naming the first product that is."""
    where = "the sum of its products is"
    for i, (w, x) in enumerate(zip(ws, xs)):
        if not -_INF < w * x < _INF:
            where = f"ws[{i}] * xs[{i}] = {w!r} * {x!r} is"
            break
    return OverflowError(
        f"Value.dot of {len(ws)} pairs overflows a float: {where} beyond the float range "
        f"(about ±{sys.float_info.max:.1e})"
    )


# --- grad()'s arguments ----------------------------------------------------------------------


def grad_inputs(output: object, inputs: object, value_type: type) -> list:
    """grad's inputs as a list of Values, after checking the output is one Value."""
    if not isinstance(output, value_type):
        kind = "a list: call grad on each output" if isinstance(output, (list, tuple)) else ""
        raise TypeError(
            f"grad differentiates one Value (a scalar output), got {type(output).__name__}"
            f"{' ' + kind if kind else f': {output!r:.60}'}"
        )
    if isinstance(inputs, value_type):
        inputs = [inputs]
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError(f"grad's inputs must be a list of Values, got {type(inputs).__name__}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError("grad needs at least one input to differentiate by, got an empty list")
    for i, x in enumerate(inputs):
        if not isinstance(x, value_type):
            raise TypeError(
                f"grad's inputs[{i}] must be a Value, got {type(x).__name__}: {x!r:.60}"
            )
    return inputs


def grad_value(x: Any, derivative: Any, used: bool, allow_unused: bool, value_type: type) -> Any:
    """The derivative by x as a Value, or an error when x is no part of the output's graph."""
    if not used and not allow_unused:
        name = f" {x.label!r}" if x.label else ""
        raise ValueError(
            f"grad: the output does not depend on the input{name} {x!r}, so its derivative "
            "is not defined; pass allow_unused=True to get 0 for it (as PyTorch's "
            "allow_unused)"
        )
    return derivative if isinstance(derivative, value_type) else value_type(derivative + 0.0)
