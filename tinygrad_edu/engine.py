"""The Value: a scalar that remembers how it was computed.

Every operation on Values returns a new Value, a node of a computation graph, which stores

- ``children``: the operands it was computed from, in operand order, and
- ``local_grads``: the local derivative d(node)/d(child) for each child, computed in the
  forward pass, while the numbers are at hand.

``backward()`` then visits the nodes from the output back to the inputs and applies the chain
rule, the only place it appears in the library::

    child.grad += local_grad * node.grad

Every op, built in or written by a user with :func:`op`, is made the same way: a forward value
and its local derivatives, side by side, handed to ``_node``. Nodes hold no closures, so a graph
has no reference cycles and is freed as soon as its output goes out of scope.

Policy on NaN and infinity: a Value always holds a finite float. Constructing one from NaN or
±inf raises ValueError; an op whose result or local derivative would not be finite raises
ValueError, ZeroDivisionError or OverflowError naming the op and its operands, before any node
is made.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from numbers import Real
from operator import mul
from typing import Union

Number = Union[int, float]
Operand = Union["Value", int, float]

_INF = math.inf

# Local derivatives that are the same for every node of an op (+, -, neg) are these shared
# tuples: a node then allocates one object fewer, which the garbage collector need not track.
_ONE, _MINUS_ONE, _ONE_ONE, _ONE_MINUS_ONE = (1.0,), (-1.0,), (1.0, 1.0), (1.0, -1.0)


def op(fn: Callable[..., tuple[float, Sequence[float]]]) -> Callable[..., Value]:
    """Turn ``fn(*floats) -> (value, local_grads)`` into a differentiable op on Values.

    The positional parameters without defaults are the operands; any others (``slope=0.01``)
    are plain-number settings. The op is named after ``fn`` in graphs and error messages::

        @op
        def softplus(x):
            '''softplus(x) = ln(1 + e^x);  d/dx = sigmoid(x)'''
            return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)

        y = softplus(Value(0.5))
        y.backward()

    Errors raised by ``fn`` are re-raised naming the op and its operands; a result or local
    derivative that is not finite raises instead of making a node.
    """
    name = fn.__name__
    parameters = inspect.signature(fn).parameters.values()
    arity = sum(
        1
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )

    def apply(*args: Operand, **settings: object) -> Value:
        if len(args) < arity:
            raise TypeError(f"{name} takes {arity} operand(s), got {len(args)}")
        operands = args[:arity]
        data = [_data(a, name) for a in operands]
        try:
            result = fn(*data, *args[arity:], **settings)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{_call_text(name, data)}: {error}") from None
        value, local_grads = _checked_op_result(name, data, result)
        return _node_or_constant(value, name, operands, local_grads)

    def apply_unary(x: Operand) -> Value:
        # apply for the common case, one operand and no settings (relu, tanh, exp...), without
        # the generality (argument packing, a settings dict, a loop) that costs half its time
        if not isinstance(x, Value):
            return apply(x)
        try:
            result = fn(x.data)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{_call_text(name, [x.data])}: {error}") from None
        if type(result) is tuple and len(result) == 2:
            value, local_grads = result
            if (
                type(value) is float
                and -_INF < value < _INF
                and type(local_grads) is tuple
                and len(local_grads) == 1
                and type(local_grads[0]) is float
                and -_INF < local_grads[0] < _INF
            ):
                return _node(value, name, (x,), local_grads)
        value, local_grads = _checked_op_result(name, [x.data], result)
        return _node(value, name, (x,), local_grads)

    return functools.wraps(fn)(apply_unary if arity == len(parameters) == 1 else apply)


class Value:
    """A scalar in a computation graph: ``data``, ``grad`` and how it was made.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x          # y = x^2 + 3x
    >>> y.backward()               # dy/dx = 2x + 3
    >>> x.grad
    7.0
    """

    __slots__ = ("data", "grad", "label", "op", "children", "local_grads")
    # numpy scalars on the left of an operator defer to Value instead of making object arrays
    __array_ufunc__ = None

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}: {label!r}")
        self.data = _finite_float(data, "Value data")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self.children: tuple[Value, ...] = ()
        self.local_grads: tuple[float, ...] = ()

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def item(self) -> float:
        """The plain float, as ``torch.Tensor.item()`` gives it."""
        return self.data

    # --- arithmetic: the hot path of every network, so written out rather than via @op ---
    # A plain number operand is a constant: it shapes the value and the local derivatives
    # but is not a node of the graph (as in PyTorch), so `x * 2` has the one child x.

    def __add__(self, other: Operand) -> Value:
        """a + b;  d/da = 1, d/db = 1"""
        if isinstance(other, Value):
            out = self.data + other.data
            children, local_grads = (self, other), _ONE_ONE
        else:
            out = self.data + _constant(other, "+")
            children, local_grads = (self,), _ONE
        if not -_INF < out < _INF:
            raise _overflow(self, "+", other)
        return _node(out, "+", children, local_grads)

    def __mul__(self, other: Operand) -> Value:
        """a * b;  d/da = b, d/db = a"""
        a = self.data
        if isinstance(other, Value):
            b = other.data
            children, local_grads = (self, other), (b, a)
        else:
            b = _constant(other, "*")
            children, local_grads = (self,), (b,)
        out = a * b
        if not -_INF < out < _INF:
            raise _overflow(self, "*", other)
        return _node(out, "*", children, local_grads)

    def __sub__(self, other: Operand) -> Value:
        """a - b;  d/da = 1, d/db = -1"""
        if isinstance(other, Value):
            out = self.data - other.data
            children, local_grads = (self, other), _ONE_MINUS_ONE
        else:
            out = self.data - _constant(other, "-")
            children, local_grads = (self,), _ONE
        if not -_INF < out < _INF:
            raise _overflow(self, "-", other)
        return _node(out, "-", children, local_grads)

    def __truediv__(self, other: Operand) -> Value:
        """a / b;  d/da = 1/b, d/db = -a/b^2"""
        return _quotient(self, other)

    def __pow__(self, exponent: Operand) -> Value:
        """a ** c for a number c:  d/da = c a^(c-1), drawn as the op ``**c``.

        a ** b for a Value b:  d/da = b a^(b-1),  d/db = a^b ln a, so the base must be > 0.
        """
        if isinstance(exponent, Value):
            return _power(self, exponent)
        c = _constant(exponent, "**")
        a = self.data
        if a < 0.0 and not c.is_integer():
            raise ValueError(
                f"({a!r}) ** {c!r} is not a real number: a negative base needs an integer exponent"
            )
        try:
            out = a**c
        except ZeroDivisionError:
            raise ZeroDivisionError(f"{a!r} ** {c!r} divides by zero") from None
        except OverflowError:
            raise OverflowError(f"{a!r} ** {c!r} overflows a float") from None
        try:
            local = c * a ** (c - 1.0) if c != 0.0 else 0.0
        except (ZeroDivisionError, OverflowError):
            raise ValueError(f"the derivative of x ** {c!r} is infinite at x = {a!r}") from None
        if not -_INF < local < _INF:
            raise OverflowError(f"the derivative of x ** {c!r} at x = {a!r} overflows a float")
        return _node(out, f"**{c:g}", (self,), (local,))

    def __neg__(self) -> Value:
        """-a;  d/da = -1"""
        return _node(-self.data, "neg", (self,), _MINUS_ONE)

    def __pos__(self) -> Value:
        """+a is a itself: no op, no node."""
        return self

    # number (op) Value: the same ops with the constant on the left
    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Number) -> Value:
        out = _constant(other, "-") - self.data
        if not -_INF < out < _INF:
            raise _overflow(other, "-", self)
        return _node(out, "-", (self,), _MINUS_ONE)

    def __rtruediv__(self, other: Number) -> Value:
        return _quotient(other, self)

    def __rpow__(self, base: Number) -> Value:
        return _power(base, self)

    # --- functions: a value and its local derivative, made by @op like a user's op ---------

    @op
    def exp(x: float) -> tuple[float, tuple[float]]:
        """e^x;  d/dx e^x = e^x"""
        try:
            e = math.exp(x)
        except OverflowError:
            raise OverflowError("e^x overflows a float") from None
        return e, (e,)

    @op
    def log(x: float) -> tuple[float, tuple[float]]:
        """ln x for x > 0;  d/dx ln x = 1/x"""
        if x <= 0.0:
            raise ValueError("log needs x > 0")
        return math.log(x), (1.0 / x,)

    @op
    def tanh(x: float) -> tuple[float, tuple[float]]:
        """tanh x;  d/dx tanh x = 1 - tanh(x)^2"""
        t = math.tanh(x)
        return t, (1.0 - t * t,)

    @op
    def sigmoid(x: float) -> tuple[float, tuple[float]]:
        """σ(x) = 1 / (1 + e^-x);  d/dx σ(x) = σ(x) (1 - σ(x))"""
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # the same value, written so that e^-x cannot overflow
            e = math.exp(x)
            s = e / (1.0 + e)
        return s, (s * (1.0 - s),)

    @op
    def relu(x: float) -> tuple[float, tuple[float]]:
        """max(x, 0);  d/dx = 1 if x > 0 else 0 (0 at the kink, as in PyTorch)"""
        return (x, (1.0,)) if x > 0.0 else (0.0, (0.0,))

    @op
    def leaky_relu(x: float, slope: float = 0.01) -> tuple[float, tuple[float]]:
        """x if x > 0 else slope x;  d/dx = 1 if x > 0 else slope"""
        slope = _finite_float(slope, "leaky_relu's slope")
        return (x, (1.0,)) if x > 0.0 else (slope * x, (slope,))

    @op
    def sqrt(x: float) -> tuple[float, tuple[float]]:
        """√x;  d/dx √x = 1 / (2√x), which is infinite at 0, so x must be > 0"""
        if x <= 0.0:
            raise ValueError("sqrt needs x > 0 (its derivative is infinite at 0)")
        r = math.sqrt(x)
        return r, (0.5 / r,)

    @op
    def abs(x: float) -> tuple[float, tuple[float]]:
        """|x|;  d/dx |x| = sign(x) (0 at the kink, as in PyTorch)"""
        return (x, (1.0,)) if x > 0.0 else (-x, (-1.0,)) if x < 0.0 else (0.0, (0.0,))

    __abs__ = abs

    # --- n-ary nodes: one node for a whole sum, so a neuron is one node, not a chain -------

    @staticmethod
    def sum(values: Sequence[Operand]) -> Value:
        """Σ v_i as ONE node;  d/dv_i = 1"""
        values = _operand_list(values, "Value.sum")
        data = [_data(v, "Value.sum") for v in values]
        out = _exact_sum(data)
        if not -_INF < out < _INF:
            raise OverflowError(f"Value.sum of {len(values)} values overflows a float")
        return _node_or_constant(out, "sum", values, [1.0] * len(values))

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand]) -> Value:
        """Σ w_i x_i as ONE node;  d/dw_i = x_i, d/dx_i = w_i"""
        ws, xs = _operand_list(ws, "Value.dot"), _operand_list(xs, "Value.dot")
        if len(ws) != len(xs):
            raise ValueError(
                f"Value.dot needs two sequences of equal length, got {len(ws)} and {len(xs)}"
            )
        w_data = [_data(w, "Value.dot") for w in ws]
        x_data = [_data(x, "Value.dot") for x in xs]
        out = _exact_sum(map(mul, w_data, x_data))
        if not -_INF < out < _INF:
            raise OverflowError(f"Value.dot of {len(ws)} pairs overflows a float")
        return _node_or_constant(out, "dot", ws + xs, x_data + w_data)

    # --- backpropagation -------------------------------------------------------------------

    def backward(self) -> None:
        """Fill in d(self)/d(node) as ``node.grad`` for every node of this graph.

        Seeds ``self.grad`` with 1, then walks the nodes in reverse topological order (each
        node before its children) and applies the chain rule once per edge.

        Semantics, as in PyTorch: every interior node of this graph gets its gradient reset and
        recomputed on each call; leaf nodes (inputs, parameters, constants) ACCUMULATE, so a
        training loop calls ``zero_grad()`` before each ``backward()``.
        """
        with cyclic_gc_paused():
            order = _interior_nodes_children_first(self)
            for node in order:
                node.grad = 0.0
            self.grad += 1.0
            for node in reversed(order):
                grad = node.grad
                if not grad:  # a zero gradient adds nothing below this node
                    continue
                children = node.children
                # one- and two-child nodes, most of a graph, are written out: for them, setting
                # up zip costs more than the work itself
                if len(children) == 1:
                    children[0].grad += node.local_grads[0] * grad
                elif len(children) == 2:
                    a, b = children
                    d_a, d_b = node.local_grads
                    a.grad += d_a * grad
                    b.grad += d_b * grad
                else:
                    for child, local_grad in zip(children, node.local_grads):
                        child.grad += local_grad * grad


# --- building nodes ------------------------------------------------------------------------

_new_value = object.__new__


def _node(data: float, op: str, children: tuple[Value, ...], local_grads: Sequence[float]) -> Value:
    """A new interior node; the caller has checked that data and local_grads are finite."""
    node = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op = op
    node.children = children
    node.local_grads = local_grads
    return node


def _node_or_constant(
    data: float, op: str, operands: Sequence[Operand], local_grads: Sequence[float]
) -> Value:
    """The node of an op on some Values and some constants: only the Values become children.

    With no Value among the operands the result is itself a constant, a leaf.
    """
    kept = [(v, g) for v, g in zip(operands, local_grads) if isinstance(v, Value)]
    if not kept:
        return Value(data)
    children, kept_grads = zip(*kept)
    return _node(data, op, children, kept_grads)


def _binary(op: str, a: Operand, b: Operand, out: float, d_a: float, d_b: float) -> Value:
    """The node for ``a op b = out`` with local derivatives d_a and d_b.

    One of a and b is a Value; the other may be a number, a constant that is no child.
    """
    if not (-_INF < out < _INF and -_INF < d_a < _INF and -_INF < d_b < _INF):
        raise _overflow(a, op, b)
    if isinstance(a, Value):
        if isinstance(b, Value):
            return _node(out, op, (a, b), (d_a, d_b))
        return _node(out, op, (a,), (d_a,))
    return _node(out, op, (b,), (d_b,))


def _overflow(a: Operand, op: str, b: Operand) -> OverflowError:
    return OverflowError(f"{_data(a, op)!r} {op} {_data(b, op)!r} overflows a float")


def _quotient(a: Operand, b: Operand) -> Value:
    """a / b;  d/da = 1/b, d/db = -a/b^2"""
    a_data, b_data = _data(a, "/"), _data(b, "/")
    if b_data == 0.0:
        raise ZeroDivisionError(f"division by zero in {a_data!r} / {b_data!r}")
    out, d_a = a_data / b_data, 1.0 / b_data
    return _binary("/", a, b, out, d_a, -out * d_a)  # -a/b^2 without squaring b to 0


def _power(base: Operand, exponent: Operand) -> Value:
    """a ** b with a Value exponent;  d/da = b a^(b-1),  d/db = a^b ln a  (a > 0)"""
    a, b = _data(base, "**"), _data(exponent, "**")
    if a <= 0.0:
        raise ValueError(
            f"a Value exponent needs a positive base, got {a!r} ** {b!r}: "
            "d/db a^b = a^b ln a is only defined for a > 0"
        )
    try:
        out = a**b
        return _binary("**", base, exponent, out, b * a ** (b - 1.0), out * math.log(a))
    except OverflowError:
        raise OverflowError(f"{a!r} ** {b!r} or its derivative overflows a float") from None


def _data(x: Operand, op: str) -> float:
    """The number x stands for: a Value's data, or x itself as a finite float."""
    if isinstance(x, Value):
        return x.data
    return _constant(x, op)


def _constant(x: object, op: str) -> float:
    """A plain-number operand as a finite float, or an error naming the op."""
    if type(x) is float and -_INF < x < _INF:  # the common case, before the slower checks
        return x
    if not isinstance(x, Real):
        raise TypeError(
            f"unsupported operand for {op}: {type(x).__name__} {x!r:.60} (use a number or a Value)"
        )
    return _finite_float(x, f"a constant operand of {op}")


def _finite_float(x: object, what: str) -> float:
    """x as a float, or a TypeError/ValueError saying what `what` must be."""
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


def _checked_op_result(
    name: str, data: Sequence[float], result: object
) -> tuple[float, tuple[float, ...]]:
    """An @op function's (value, local_grads) as floats, or an error naming what is wrong."""
    if not (isinstance(result, Sequence) and not isinstance(result, str) and len(result) == 2):
        raise TypeError(
            f"{name} must return a pair (value, local_grads), got {type(result).__name__} "
            f"{result!r}: write return value, (d_dx,) with one derivative per operand"
        )
    value, local_grads = result
    if (
        type(value) is float
        and -_INF < value < _INF
        and type(local_grads) is tuple
        and len(local_grads) == len(data)
        and all(type(g) is float and -_INF < g < _INF for g in local_grads)
    ):
        return value, local_grads  # the usual case, before the messages are written
    call = _call_text(name, data)
    value = _finite_float(value, f"the value of {call}")
    if isinstance(local_grads, (str, bytes)) or not isinstance(local_grads, Sequence):
        raise TypeError(f"{name} must return (value, local_grads), a sequence of derivatives")
    if len(local_grads) != len(data):
        raise ValueError(
            f"{name} returned {len(local_grads)} local derivatives for {len(data)} operand(s)"
        )
    return value, tuple(
        _finite_float(g, f"the derivative of {call} by operand {i}")
        for i, g in enumerate(local_grads)
    )


def _operand_list(operands: object, where: str) -> list:
    """``operands`` as a list, or a TypeError if it is not a sequence of them (``sum(3)``)."""
    if isinstance(operands, (str, bytes)) or not isinstance(operands, Iterable):
        raise TypeError(
            f"{where} takes a list of numbers or Values, got {type(operands).__name__} {operands!r}"
        )
    return list(operands)


def _exact_sum(terms: Iterable[float]) -> float:
    """The correctly rounded sum (math.fsum), or inf where it overflows."""
    try:
        return math.fsum(terms)
    except OverflowError:
        return _INF


def _call_text(name: str, data: Sequence[float]) -> str:
    return f"{name}({', '.join(map(repr, data))})"


def _dot(ws: list[Value], xs: list[Value], x_data: list[float]) -> Value:
    """Value.dot's node for two lists of Values of equal length (a neuron's fast path).

    ``x_data`` holds the xs' data: a layer reads it once for all its neurons.
    """
    w_data = [w.data for w in ws]
    out = _exact_sum(map(mul, w_data, x_data))
    if not -_INF < out < _INF:
        raise OverflowError(f"Value.dot of {len(ws)} pairs overflows a float")
    return _node(out, "dot", (*ws, *xs), (*x_data, *w_data))


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, restoring its state on every exit path.

    A speed trick for backward(), which allocates only acyclic objects (lists, a set, floats):
    there is nothing for the cyclic collector to find, yet each allocation can trigger
    a scan of every tracked object alive, and a big graph makes those scans cost about a third
    of backward's time. The same holds for a training loop (the demos use it): a step builds
    tens of thousands of Values with no cycles among them, freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _interior_nodes_children_first(root: Value) -> list[Value]:
    """The non-leaf nodes of root's graph in topological order (children first).

    A depth-first search that explores a node's children last to first, with its own stack,
    so a graph a million nodes deep needs no recursion. Leaves are left out: they pass nothing
    on and keep their accumulated grads. (The order fixes the order in which backward() adds
    up a node's gradient contributions, so it fixes the last bits of the result: keep it.)

    A node whose children are being explored waits on the stack under a ``None`` marker,
    rather than in a (node, flag) pair: one tuple fewer per node.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    stack = [root] if root.children else []
    while stack:
        node = stack.pop()
        if node is None:  # the node under the marker has all its children in order
            order.append(stack.pop())
        elif node not in visited:
            visited.add(node)
            stack.append(node)
            stack.append(None)
            for child in node.children:
                if child.children and child not in visited:
                    stack.append(child)
    return order
