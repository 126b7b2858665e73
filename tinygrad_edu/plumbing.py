"""The engine's plumbing: input checks, error messages, and fast paths. Not needed to learn.

``engine.py`` holds the algorithm; this module holds what makes it safe and quick:

- checks that every number entering a graph is a finite float, with messages that name the op
  and its operands when an op would produce NaN or infinity;
- ``fast_paths``: ops of one or two operands build the very node ``engine.apply`` builds, but
  without its generality (tests/test_exactness.py pins them bit for bit to ``apply``);
- ``custom_op``, which turns a user's function into a row of the op table;
- the checks and small steps of ``grad()``;
- ``cyclic_gc_paused``, a speed trick for code that makes many acyclic objects.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import itertools
import math
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from numbers import Integral, Real
from typing import Any

from .ops import DOT, Op, formula

_INF = math.inf


# --- numbers entering a graph --------------------------------------------------------------


def finite_float(x: object, what: str) -> float:
    """x as a float, or a TypeError/ValueError/OverflowError saying what ``what`` must be."""
    if type(x) is not float:
        if not isinstance(x, Real):
            raise TypeError(
                f"{what} must be a real number (int, float or numpy scalar), "
                f"got {type(x).__name__}: {x!r:.60}"
            )
        try:
            x = float(x)
        except OverflowError:
            raise OverflowError(f"{what} is too large for a float: {x!r:.60}") from None
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


def numbers_of(fn: Op, args: Sequence[Any], is_value: Sequence[bool]) -> list[float]:
    """The numbers fn computes with: each Value's data, each constant and setting checked."""
    arity, name = (len(args), f"Value.{fn.name}") if fn.arity is None else (fn.arity, fn.name)
    numbers = [a.data if value else constant(a, name) for a, value in zip(args[:arity], is_value)]
    for setting_name, setting in zip(fn.settings, args[arity:]):
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
    fn: Op, numbers: list[float], is_value: Sequence[bool]
) -> tuple[float, tuple[float, ...]]:
    """fn's value and local derivatives at numbers, finite floats (the derivatives by the
    operands that are Values: one by a constant is never used), or an error naming the op and
    its operands: ArithmeticError and ValueError keep their type, a result that is not a real
    number is a ValueError, one too large for a float an OverflowError."""
    if isinstance(fn, CustomOp):  # one function gives both; its errors are the user's own
        try:
            out, local_grads = fn.evaluate(*numbers)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{_call_text(fn, numbers)}: {error}") from None
        return _real(fn, numbers, out, ""), _local_grads(fn, numbers, local_grads, is_value)
    needs = f": {fn.name} needs {fn.domain}" if fn.domain else ""
    n = len(numbers) // 2  # a dot product's ws and xs: numbers[:n], numbers[n:]
    try:
        out = fn.forward(*numbers)
    except ZeroDivisionError as error:
        semicolon = needs.replace(":", ";", 1)
        raise ZeroDivisionError(f"{_call_text(fn, numbers)}: {error}{semicolon}") from None
    except (OverflowError, ValueError) as error:
        if fn is DOT:  # a product beyond the float range (inf - inf in fsum: a ValueError)
            raise dot_overflow(numbers[:n], numbers[n:]) from None
        if isinstance(error, OverflowError):
            raise OverflowError(f"{_call_text(fn, numbers)} overflows a float") from None
        raise ValueError(f"{_call_text(fn, numbers)}{needs or f': {error}'}") from None
    if fn is DOT and not -_INF < out < _INF:
        raise dot_overflow(numbers[:n], numbers[n:])
    out = _real(fn, numbers, out, needs)
    try:
        local_grads = fn.derivatives(*numbers, out)
    except OverflowError:
        raise OverflowError(
            f"the derivative of {_call_text(fn, numbers)} overflows a float"
        ) from None
    except ZeroDivisionError:
        raise ValueError(
            f"the derivative of {_call_text(fn, numbers)} is infinite{needs}"
        ) from None
    except ValueError:
        raise ValueError(
            f"the derivative of {_call_text(fn, numbers)} is not defined{needs}"
        ) from None
    return out, _local_grads(fn, numbers, local_grads, is_value)


def _real(fn: Op, numbers: list[float], x: object, needs: str) -> float:
    """An op's value as a finite float, or an error saying why it is not one."""
    if type(x) is float and -_INF < x < _INF:
        return x
    if isinstance(x, complex):
        raise ValueError(f"{_call_text(fn, numbers)} is not a real number{needs}")
    if isinstance(x, float) and abs(x) == _INF:
        raise OverflowError(f"{_call_text(fn, numbers)} overflows a float")
    return finite_float(x, f"the value of {_call_text(fn, numbers)}")


def _local_grads(
    fn: Op, numbers: list[float], local_grads: object, is_value: Sequence[bool]
) -> tuple:
    arity = len(numbers) if fn.arity is None else fn.arity
    if isinstance(local_grads, (str, bytes)) or not isinstance(local_grads, Sequence):
        raise TypeError(f"{fn.name} must give its local derivatives as a sequence, one per operand")
    if len(local_grads) != arity:
        raise ValueError(
            f"{fn.name} returned {len(local_grads)} local derivatives for {arity} operand(s)"
        )
    checked = list(local_grads)
    for i, value in enumerate(is_value[:arity]):
        d = checked[i]
        if value and not (type(d) is float and -_INF < d < _INF):
            what = f"the derivative of {_call_text(fn, numbers)} by operand {i}"
            checked[i] = finite_float(d, what)
    return tuple(checked)


def _call_text(fn: Op, numbers: Sequence[float]) -> str:
    """How a call reads in a message: ``1.0 / 0.0``, ``(-8.0) ** 0.5``, ``log(-1.0)``."""
    if fn.arity is None:
        return f"Value.{fn.name} of {len(numbers)} numbers"
    return formula(fn, numbers[: fn.arity], numbers[fn.arity :])


# --- fast paths: the nodes of apply(), without its generality -----------------------------

_data_of = operator.attrgetter("data")


def fast_paths(
    value_type: type, apply: Callable[..., Any]
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """``unary(fn, x)``, ``binary(fn, a, b)`` and ``dot(DOT, ws, xs)``: ``apply(fn, ...)`` for
    one or two operands, and for a dot product of Values (each neuron's).

    When the operands are Values or finite floats and the results come out as finite floats,
    the node is built right here: one call of each rule, no lists, no checks of what cannot be
    wrong. Anything else (a bad operand, an error to explain) goes to apply(). Each branch
    writes out the building of its node: a shared helper would cost a call per op, about a
    sixth of an op's time.
    """
    new = object.__new__

    def unary(fn: Op, x: Any) -> Any:
        if type(x) is value_type:
            try:
                number = x.data
                out = fn.forward(number)
                local_grads = fn.derivatives(number, out)
                if -_INF < out < _INF and -_INF < local_grads[0] < _INF:
                    made = new(value_type)
                    made.data, made.grad, made.label, made.fn = out, 0.0, "", fn
                    made.children = made.args = (x,)
                    made.local_grads = local_grads
                    return made
            except (ArithmeticError, ValueError, TypeError):
                pass  # apply() says what went wrong
        return apply(fn, x)

    def binary(fn: Op, a: Any, b: Any) -> Any:
        try:
            if type(a) is value_type:
                if type(b) is value_type:
                    x, y = a.data, b.data
                    out = fn.forward(x, y)
                    local_grads = fn.derivatives(x, y, out)
                    d_a, d_b = local_grads
                    if -_INF < out < _INF and -_INF < d_a < _INF and -_INF < d_b < _INF:
                        made = new(value_type)
                        made.data, made.grad, made.label, made.fn = out, 0.0, "", fn
                        made.children = made.args = (a, b)
                        made.local_grads = local_grads
                        return made
                elif type(b) is float or type(b) is int:
                    b = float(b)  # a constant is stored as the float it stands for
                    out = fn.forward(a.data, b)
                    local = fn.derivatives(a.data, b, out)[0]
                    if -_INF < out < _INF and -_INF < local < _INF and -_INF < b < _INF:
                        made = new(value_type)
                        made.data, made.grad, made.label, made.fn = out, 0.0, "", fn
                        made.children, made.local_grads, made.args = (a,), (local,), (a, b)
                        return made
            elif type(b) is value_type and (type(a) is float or type(a) is int):
                a = float(a)
                out = fn.forward(a, b.data)
                local = fn.derivatives(a, b.data, out)[1]
                if -_INF < out < _INF and -_INF < local < _INF and -_INF < a < _INF:
                    made = new(value_type)
                    made.data, made.grad, made.label, made.fn = out, 0.0, "", fn
                    made.children, made.local_grads, made.args = (b,), (local,), (a, b)
                    return made
        except (ArithmeticError, ValueError, TypeError):
            pass  # apply() says what went wrong
        return apply(fn, a, b)

    values_only = {value_type}

    def dot(fn: Op, ws: Any, xs: Any) -> Any:
        if type(ws) is list and type(xs) is list and len(ws) == len(xs):
            if set(map(type, ws)) == values_only == set(map(type, xs)):
                return dot_of_values(ws, xs, list(map(_data_of, xs)))
        return apply(fn, *equal_length_lists(ws, xs, "Value.dot"))

    return unary, binary, dot


def dot_of_values(ws: list, xs: list, x_data: list[float]) -> Any:
    """``Value.dot(ws, xs)`` for two lists of Values of equal length, x_data their xs' data.

    DOT's rules written out (tests/test_exactness.py pins them to the row's): a neuron's dot
    product is most of a network's forward pass, and a layer reads its inputs' data once for
    all its neurons.
    """
    w_data = list(map(_data_of, ws))
    try:
        out = math.fsum(map(operator.mul, w_data, x_data))
    except (OverflowError, ValueError):  # ValueError: products of both signs beyond the range
        out = _INF
    if not -_INF < out < _INF:  # (the derivatives are the operands' data: finite)
        raise dot_overflow(w_data, x_data)
    made = object.__new__(type(ws[0]))
    made.data, made.grad, made.label, made.fn = out, 0.0, "", DOT
    made.children = made.args = (*ws, *xs)
    made.local_grads = (*x_data, *w_data)
    return made


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


# --- ops that users make with @op ----------------------------------------------------------


class CustomOp(Op):
    """The row of an op made with ``@op``: its function gives the value and the local
    derivatives together; ``value_derivatives`` (optional) gives the derivatives in Values;
    ``vectorized`` (optional) gives both for numpy arrays, for jit."""

    __slots__ = ("function", "vectorized")

    def __init__(self, fn: Callable, arity: int, settings: tuple[str, ...],
                 value_derivatives: Callable | None, vectorized: Callable | None = None,
                 rule: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.function, self.vectorized = fn, vectorized
        super().__init__(fn.__name__, self._value, value_derivatives or self._no_rule, arity,
                         settings, rule=rule)  # fmt: skip

    @property
    def variables(self) -> tuple[str, ...]:
        """The names a rule text may use: fn's operands and settings, then ``out``."""
        parameters = inspect.signature(self.function).parameters
        return (*list(parameters)[: self.arity], *self.settings, "out")

    def evaluate(self, *numbers: float) -> tuple[float, Any]:
        result = self.function(*numbers[: self.arity], **self._settings(numbers))
        if isinstance(result, (str, bytes)) or not isinstance(result, Sequence) or len(result) != 2:
            raise TypeError(
                f"{self.name} must return a pair (value, local_grads), got "
                f"{type(result).__name__} {result!r:.60}: write return value, (d_dx,) with one "
                "derivative per operand"
            )
        return result[0], result[1]

    def _value(self, *numbers: float) -> float:
        return self.evaluate(*numbers)[0]

    def _settings(self, numbers: Sequence[float]) -> dict[str, float]:
        return dict(zip(self.settings, numbers[self.arity :]))

    def _no_rule(self, *args: object) -> tuple:
        raise NotImplementedError(
            f"create_graph=True differentiates through {self.name}, an @op with no rule for "
            f"its derivatives in Values: give one, as in @op(derivatives=lambda x, out: "
            f"(...,)), written with Value ops (x.exp(), x * x, ...), so that its derivatives "
            "can be differentiated again"
        )


def custom_op(
    fn: Callable,
    value_derivatives: Callable | None,
    apply: Callable,
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
    row = CustomOp(fn, len(operands), tuple(settings), value_derivatives,
                   fn if vectorized is True else vectorized or None, tuple(rule or ()))  # fmt: skip

    @functools.wraps(fn)
    def applied(*args: Any, **kwargs: Any) -> Any:
        if len(args) < row.arity:
            raise TypeError(f"{row.name} takes {row.arity} operand(s), got {len(args)}")
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{row.name}: {error}") from None
        bound.apply_defaults()
        return apply(row, *args[: row.arity], *(bound.arguments[name] for name in settings))

    return applied


# --- grad() ----------------------------------------------------------------------------------


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


def local_grads_as_values(node: Any, value_type: type) -> tuple:
    """node's local derivatives as Values: its row's rule applied to its operands (Values and
    constants), its settings and the node itself, keeping one derivative per child.

    ``value_type`` is Value itself, not ``type(node)``: a node of a subclass (jit's replayed
    results) has plain Values among its children."""
    args = node.args
    arity = len(args) if node.fn.arity is None else node.fn.arity
    local_grads = node.fn.derivatives(*args, node)
    return tuple(d for a, d in zip(args[:arity], local_grads) if isinstance(a, value_type))


def product(local_grad: Any, upstream: Any) -> Any:
    """local_grad * upstream, but without a new node when either is exactly 1.0 (x * 1 = x)."""
    if type(local_grad) is float and local_grad == 1.0:
        return upstream
    if type(upstream) is float and upstream == 1.0:
        return local_grad
    return local_grad * upstream


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


# --- gradients too large for a float ----------------------------------------------------------


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


# --- speed ------------------------------------------------------------------------------------


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
