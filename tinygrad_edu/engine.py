"""The Value: a scalar that remembers how it was computed, and backpropagation through it.

Every op on Values makes a new Value, a node of a computation graph, which keeps

- ``children``: the Values it was computed from, in operand order, and
- ``local_grads``: d(node)/d(child) for each child, worked out while the numbers are at hand,

from the op's row in the op table (``ops.py``: each op's forward rule beside its local
derivatives). ``backward()`` then walks the graph from the output back to the inputs and
applies the chain rule to each edge:  ``child.grad += local_grad * node.grad``.
``grad(output, inputs, create_graph=True)`` sums the same products into a table instead, with
the rules applied to Values, so that a gradient is itself a graph to differentiate again.

A Value always holds a finite float: an op whose result or local derivative would be NaN or
infinite raises (ValueError, ZeroDivisionError or OverflowError, naming the op and its operands)
before any node is made. Those checks and the fast paths for the common shapes of op live in
``plumbing.py``; each place that hands over to it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from . import ops, plumbing

Number = Union[int, float]
Operand = Union["Value", int, float]


class Value:
    """A scalar in a computation graph: ``data``, ``grad`` and how it was made.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x          # y = x^2 + 3x
    >>> y.backward()               # dy/dx = 2x + 3
    >>> x.grad
    7.0

    Besides ``children`` and ``local_grads``, a node keeps ``fn``, the op table's row that made
    it (None for a leaf), and ``args``, every operand in order (numbers too) then the op's
    settings: all that a picture, a second derivative or a replay needs.
    """

    __slots__ = ("data", "grad", "label", "children", "local_grads", "fn", "args")
    __array_ufunc__ = None  # a numpy scalar on the left of an operator defers to Value

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = plumbing.finite_float(data, "Value data")  # checks: plumbing.finite_float
        self.grad = 0.0
        self.label = plumbing.checked_label(label)
        self.children: tuple[Value, ...] = ()
        self.local_grads: tuple[float, ...] = ()
        self.fn: ops.Op | None = None
        self.args: tuple = ()

    @property
    def op(self) -> str:
        """The op's name as a graph shows it: "+", "tanh", "**2" ("" for a leaf)."""
        row = self.fn
        if row is None:
            return ""
        if row.symbol is not None and row.settings:  # x ** 2: the exponent is part of the op
            return f"{row.symbol}{self.args[1]:g}"
        return row.name

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self.fn else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def item(self) -> float:
        """The plain float, as ``torch.Tensor.item()`` gives it."""
        return self.data

    # Each op applies its row of the table. For one or two operands, `unary` and `binary` make
    # the very node that apply() makes, only faster (plumbing.fast_paths).
    # fmt: off
    def __add__(self, other: Operand) -> Value: return binary(ops.ADD, self, other)
    def __radd__(self, other: Number) -> Value: return binary(ops.ADD, other, self)
    def __sub__(self, other: Operand) -> Value: return binary(ops.SUB, self, other)
    def __rsub__(self, other: Number) -> Value: return binary(ops.SUB, other, self)
    def __mul__(self, other: Operand) -> Value: return binary(ops.MUL, self, other)
    def __rmul__(self, other: Number) -> Value: return binary(ops.MUL, other, self)
    def __truediv__(self, other: Operand) -> Value: return binary(ops.DIV, self, other)
    def __rtruediv__(self, other: Number) -> Value: return binary(ops.DIV, other, self)
    def __pow__(self, other: Operand) -> Value:
        return binary(ops.POW if isinstance(other, Value) else ops.POWER, self, other)
    def __rpow__(self, other: Number) -> Value: return binary(ops.POW, other, self)
    def __neg__(self) -> Value: return unary(ops.NEG, self)
    def __pos__(self) -> Value: return self
    def exp(self) -> Value: return unary(ops.EXP, self)
    def log(self) -> Value: return unary(ops.LOG, self)
    def tanh(self) -> Value: return unary(ops.TANH, self)
    def sigmoid(self) -> Value: return unary(ops.SIGMOID, self)
    def relu(self) -> Value: return unary(ops.RELU, self)
    def leaky_relu(self, slope: float = 0.01) -> Value: return binary(ops.LEAKY_RELU, self, slope)
    def sqrt(self) -> Value: return unary(ops.SQRT, self)
    def abs(self) -> Value: return unary(ops.ABS, self)
    __abs__ = abs
    # fmt: on

    @staticmethod
    def sum(values: Sequence[Operand]) -> Value:
        """Σ v_i as ONE node (a neuron is one node, not a chain);  d/dv_i = 1"""
        return apply(ops.SUM, *plumbing.operand_list(values, "Value.sum"))

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand]) -> Value:
        """Σ w_i x_i as ONE node;  d/dw_i = x_i, d/dx_i = w_i"""
        return dot(ops.DOT, ws, xs)  # apply(ops.DOT, *ws, *xs) after checks, faster: plumbing

    # Comparisons compare the data, so `if loss < 0.01:` and sorted(values) work; `==` stays
    # identity, so that Values can be kept in sets and dicts.
    # fmt: off
    def __lt__(self, other: Operand) -> bool: return self.data < _number(other)
    def __le__(self, other: Operand) -> bool: return self.data <= _number(other)
    def __gt__(self, other: Operand) -> bool: return self.data > _number(other)
    def __ge__(self, other: Operand) -> bool: return self.data >= _number(other)
    # fmt: on

    def backward(self) -> None:
        """Fill in d(self)/d(node) as ``node.grad`` for every node of this graph.

        As in PyTorch, the interior nodes' grads are reset and recomputed on each call, and the
        leaves' (inputs, parameters) ACCUMULATE: a training loop calls ``zero_grad()`` before
        each ``backward()``.
        """
        with plumbing.cyclic_gc_paused():  # speed only: a graph has no cycles to collect
            order = interior_nodes_children_first(self)
            for node in order:
                node.grad = 0.0
            self.grad += 1.0
            with plumbing.gradients_checked(self, order, "backward()"):  # overflow: an error
                for node in reversed(order):  # each node before its children: grad complete
                    if node.grad:  # a zero gradient passes nothing on
                        for child, local_grad in zip(node.children, node.local_grads):
                            child.grad += local_grad * node.grad


def _number(x: Operand) -> float:
    return x.data if isinstance(x, Value) else x


def apply(fn: ops.Op, *args: Operand) -> Value:
    """The node ``fn(*args)``: the operands' numbers in, the value and local derivatives out.

    A plain number among the operands is a constant: it shapes the result but is no child
    (``x * 2`` has the one child x). With no Value among the operands the result is a leaf.
    """
    is_value = [isinstance(a, Value) for a in args]
    numbers = plumbing.numbers_of(fn, args, is_value)  # checks: plumbing.numbers_of
    out, local_grads = plumbing.evaluated(fn, numbers, is_value)  # errors named: plumbing
    kept = [(a, d) for a, d, v in zip(args, local_grads, is_value) if v]
    node = Value(out)
    if kept:
        node.children, node.local_grads = tuple(a for a, _ in kept), tuple(d for _, d in kept)
        node.fn = fn
        node.args = tuple(a if v else n for a, n, v in zip(args, numbers, is_value))
    return node


unary, binary, dot = plumbing.fast_paths(Value, apply)


def interior_nodes_children_first(root: Value) -> list[Value]:
    """The non-leaf nodes of root's graph in topological order: each after its children.

    A depth-first search with its own stack (a million-deep graph needs no recursion) that
    explores a node's children last to first; a node waits under a ``None`` marker until its
    children are placed. Leaves are left out: they pass nothing on.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[Value | None] = [root] if root.children else []
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


def grad(
    output: Value, inputs: Sequence[Value], create_graph: bool = False, allow_unused: bool = False
) -> list[Value]:
    """d output / d input for each of ``inputs``, leaving every ``.grad`` untouched.

    backward()'s chain rule, summed into a table instead of into the grads. With
    ``create_graph=True`` the local derivatives are recomputed as Values (each row's rule
    applied to Values), so each result is a Value whose graph reaches the inputs: it can be
    differentiated again, to any order. An input that the output does not depend on is an
    error, as in PyTorch, unless ``allow_unused=True``, which gives it the derivative 0.
    """
    inputs = plumbing.grad_inputs(output, inputs, Value)  # checks: plumbing.grad_inputs
    order = interior_nodes_children_first(output)
    grads: dict[Value, Operand] = {output: 1.0}
    with plumbing.gradients_checked(output, order, "grad()", grads):  # overflow: an error
        for node in reversed(order):
            upstream = grads.get(node, 0.0)
            if not isinstance(upstream, Value) and not upstream:
                continue  # a zero gradient passes nothing on
            if create_graph:
                local_grads = plumbing.local_grads_as_values(node, Value)
            else:
                local_grads = node.local_grads
            for child, local_grad in zip(node.children, local_grads):
                term = plumbing.product(local_grad, upstream)  # local_grad * upstream, no "* 1"
                grads[child] = grads[child] + term if child in grads else term
    used = {output, *(child for node in order for child in node.children)}
    return [
        plumbing.grad_value(x, grads.get(x, 0.0), x in used, allow_unused, Value) for x in inputs
    ]
