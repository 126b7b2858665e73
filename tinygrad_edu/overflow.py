"""Gradients too large for a float: ``backward()`` and ``grad()`` raise an error that names
the op and the nodes where the chain rule left the float range. Not needed to learn.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

_INF = math.inf


@contextlib.contextmanager
def gradients_checked(
    root: Any, order: Sequence[Any], who: str, grads: dict | None = None
) -> Iterator[None]:
    """Raise OverflowError, naming the op and the nodes, if the chain rule inside overflowed.

    Every Value is finite, and so is every local derivative, but their products along a path
    can exceed the largest float (about 1.8e308): ``a = Value(1e-300); a * 1e300 * 1e300`` has
    the derivative 1e600 by a. ``backward()`` (``grads`` None: the ``.grad`` of order's nodes
    and their children) or ``grad()`` (its table, ``grads``) runs inside; an OverflowError that
    a Value op raises inside (``grad(create_graph=True)``) gets the same explanation.

    Why a flag: checking every gradient afterwards is a pass over every edge of the graph,
    which made backward() 15-55% slower in our benchmarks. The processor already keeps a
    sticky "overflow" flag that any float operation sets (C99's fenv.h); so the pass runs only
    where that flag cannot be read (``_overflow_flag``), and otherwise only when the flag says
    something overflowed.
    """
    flag = _overflow_flag()
    if flag is not None:
        flag.clear()
    try:
        yield
    except OverflowError as error:
        found = gradient_overflow(root, order, who)
        raise (found or error) from None
    overflowed = flag.raised() if flag is not None else not _finite_gradients(order, grads)
    if overflowed:
        found = gradient_overflow(root, order, who)
        if found is not None:
            raise found


def _finite_gradients(order: Sequence[Any], grads: dict | None) -> bool:
    if grads is not None:
        total = sum(g for g in grads.values() if type(g) is float)
    else:  # every gradient of the pass is some node's child's (the root's is 1)
        total = sum(map(_grad_of, itertools.chain.from_iterable(map(_children_of, order))))
    return -_INF < total < _INF  # an inf or a NaN anywhere makes the sum one (or overflows it)


_grad_of, _children_of = operator.attrgetter("grad"), operator.attrgetter("children")


def gradient_overflow(root: Any, order: Sequence[Any], who: str) -> OverflowError | None:
    """The error for a chain rule from root (order: its interior nodes, each after its
    children) that left the float range, or None if it stays finite.

    The chain rule is followed again in floats, in backward()'s order, up to the first
    gradient that is not finite: a product local derivative x gradient, or the sum it joins.
    If none is, backward()'s overflow came from adding to a leaf's earlier gradient (leaves
    accumulate; grad() starts from nothing).
    """
    table: dict[Any, float] = {root: 1.0}
    for node in reversed(order):
        g = table.get(node, 0.0)
        if not g:
            continue
        for i, (child, local) in enumerate(zip(node.children, node.local_grads)):
            term = local * g
            total = table.get(child, 0.0) + term
            if not -_INF < total < _INF:
                joined = "" if total == term else f", added to the {table[child]!r} already there,"
                return OverflowError(
                    f"{who}: the gradient of {_node_text(child)} overflows a float at "
                    f"{_node_text(node)}: that node's gradient ({g!r}) times its local "
                    f"derivative by operand {i} ({local!r}){joined} gives {total!r}. {_RESCALE}"
                )
            table[child] = total
    for node in order if who == "backward()" else ():
        for child in node.children:
            if not child.children and not -_INF < child.grad < _INF:
                return OverflowError(
                    f"{who}: the gradient of {_node_text(child)} overflows a float when this "
                    f"pass adds its {table.get(child, 0.0)!r} to the gradient the leaf had "
                    "accumulated: call zero_grad() between backward() calls"
                )
    return None


_RESCALE = "Rescale the inputs or the weights so that the gradients stay below 1.8e308"


def _node_text(v: Any) -> str:
    label = f", label {v.label!r}" if v.label else ""
    if not v.children:
        return f"the leaf (data {v.data!r}{label})"
    return f"the `{v.op}` node (data {v.data!r}{label})"


class _Flag:
    """The processor's sticky floating-point overflow flag, through C's fenv.h functions."""

    def __init__(self, clear: Callable[[int], int], test: Callable[[int], int], bit: int) -> None:
        self._clear, self._test, self._bit = clear, test, bit

    def clear(self) -> None:
        self._clear(self._bit)

    def raised(self) -> bool:
        return bool(self._test(self._bit))


@functools.lru_cache(maxsize=None)
def _overflow_flag() -> _Flag | None:
    """The overflow flag, if this platform lets Python read it, else None.

    Its bit is FE_OVERFLOW of the processor's fenv.h; the flag is trusted only after it is
    seen to rise on a Python float overflow and to stay down on an ordinary product."""
    import ctypes
    import ctypes.util
    import platform
    import sys

    bits = {"x86_64": 0x08, "amd64": 0x08, "i386": 0x08, "i686": 0x08, "aarch64": 0x04,
            "arm64": 0x04}  # fmt: skip
    bit = bits.get(platform.machine().lower())
    if bit is None or sys.platform == "win32":
        return None
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        clear, test = libm.feclearexcept, libm.fetestexcept
    except (OSError, AttributeError):
        return None
    clear.argtypes, test.argtypes = [ctypes.c_int], [ctypes.c_int]
    flag = _Flag(clear, test, bit)
    largest = sys.float_info.max
    flag.clear()
    overflows = largest * 2.0 == _INF and flag.raised()
    flag.clear()
    quiet = largest * 0.5 < _INF and not flag.raised()
    return flag if overflows and quiet else None
