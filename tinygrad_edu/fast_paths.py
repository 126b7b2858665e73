"""The engine's speed: node builders behind ``engine.apply``, and a pause of the cyclic GC.
Not needed to learn.

``apply(row, *args)`` is the one door through which every node is made. For most rows it first
tries a *shortcut*, chosen once per row when the engine is loaded (by the row's shape: one
operand, two, one and a setting, any number), which makes the very node apply's plain path
makes, through the same constructor (``engine.new_node``), but without its generality: one call
of each rule, no lists, no checks of what cannot be wrong. When a shortcut cannot be sure (an
operand that is not a Value or a finite number, a result or a derivative that is not finite) it
returns None, and apply's plain path builds the node or says what went wrong.
tests/test_exactness.py pins the shortcuts bit for bit to the plain path.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from .ops import Op

_INF = math.inf
Shortcut = Callable[[tuple], Any]


class Node(Protocol):
    """What a shortcut reads of a Value (engine's Value, passed in: this module sits below)."""

    data: float


def shortcuts(
    rows: Iterable[Op], new_node: Callable[..., Any], value_type: type[Node]
) -> dict[Op, Shortcut]:
    """For each row that has one, ``shortcut(args) -> node or None``: apply's node, faster."""
    made = {}
    for row in rows:
        if row.arity is None:
            made[row] = _n_ary(row, new_node, value_type)
        elif row.arity == 1 and not row.settings:
            made[row] = _unary(row, new_node, value_type)
        elif row.arity == 2 and not row.settings or row.arity == 1 and len(row.settings) == 1:
            made[row] = _binary(row, new_node, value_type)  # x ** c: an operand and a setting
    return made


def _unary(row: Op, new_node: Callable[..., Any], value_type: type[Node]) -> Shortcut:
    forward, derivatives = row.forward, row.derivatives

    def unary(args: tuple) -> Any:
        try:
            (x,) = args
            if type(x) is value_type:
                number = x.data
                out = forward(number)
                local_grads = derivatives(number, out)
                if -_INF < out < _INF and -_INF < local_grads[0] < _INF:
                    return new_node(out, args, local_grads, row, args)
        except (ArithmeticError, ValueError, TypeError):
            pass  # apply's plain path says what went wrong
        return None

    return unary


def _binary(row: Op, new_node: Callable[..., Any], value_type: type[Node]) -> Shortcut:
    forward, derivatives = row.forward, row.derivatives
    with_setting = row.arity == 1  # x ** c: b is a setting, never a child

    def binary(args: tuple) -> Any:
        try:
            a, b = args
            if type(a) is value_type:
                if type(b) is value_type and not with_setting:
                    x, y = a.data, b.data
                    out = forward(x, y)
                    local_grads = derivatives(x, y, out)
                    d_a, d_b = local_grads
                    if -_INF < out < _INF and -_INF < d_a < _INF and -_INF < d_b < _INF:
                        return new_node(out, args, local_grads, row, args)
                elif type(b) is float or type(b) is int:
                    if type(b) is int:  # a constant is stored as the float it stands for
                        b = float(b)
                        args = (a, b)
                    out = forward(a.data, b)
                    local = derivatives(a.data, b, out)[0]
                    if -_INF < out < _INF and -_INF < local < _INF and -_INF < b < _INF:
                        return new_node(out, (a,), (local,), row, args)
            elif (
                type(b) is value_type and not with_setting and (type(a) is float or type(a) is int)
            ):
                if type(a) is int:
                    a = float(a)
                    args = (a, b)
                out = forward(a, b.data)
                local = derivatives(a, b.data, out)[1]
                if -_INF < out < _INF and -_INF < local < _INF and -_INF < a < _INF:
                    return new_node(out, (b,), (local,), row, args)
        except (ArithmeticError, ValueError, TypeError):
            pass  # apply's plain path says what went wrong
        return None

    return binary


def _n_ary(row: Op, new_node: Callable[..., Any], value_type: type[Node]) -> Shortcut:
    """For a row of any number of operands (sum, dot), when every operand is a Value."""
    forward, derivatives, parts = row.forward, row.derivatives, row.parts

    def n_ary(args: tuple) -> Any:
        data = [a.data for a in args if type(a) is value_type]
        if len(data) != len(args) or not data or len(data) % parts:
            return None  # a constant among the operands, none at all, or lists of unequal length
        try:
            out = forward(*data)
            local_grads = derivatives(*data, out)
        except (ArithmeticError, ValueError, TypeError):
            return None  # apply's plain path says what went wrong
        # a sum is finite when every term is (or overflows: then the plain path decides)
        if -_INF < out < _INF and -_INF < sum(local_grads) < _INF:
            return new_node(out, args, local_grads, row, args)
        return None

    return n_ary


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, restoring its state on every exit path.

    A speed trick for code that allocates many objects but no reference cycles, such as
    backward() or a training loop: the cyclic collector has nothing to find there, yet each
    burst of allocations makes it rescan every tracked object alive, about a third of
    backward's time on a big graph. Objects are still freed by reference counting, as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
