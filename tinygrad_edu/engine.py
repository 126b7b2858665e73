"""The Value: a scalar that remembers how it was computed, and backpropagation through it.

Every op on Values makes a new Value, a node of a computation graph that keeps its
``children`` (the Values it was computed from, in operand order) and its ``local_grads``
(d node / d child for each, worked out while the numbers are at hand) by the op's row in the
op table (``ops.py``: each op's forward rule beside its local derivatives). ``backward()`` walks
the graph from the output back to the inputs and applies the chain rule to each edge:
``child.grad += local_grad * node.grad``. ``grad(output, inputs, create_graph=True)`` sums the
same products into a table, with the rules applied to Values: a gradient is itself a graph.

Every node is made by ``apply(row, *args)`` and built by ``new_node``: one door, one constructor.
A Value always holds a finite float: an op whose result or local derivative would not be one
raises an error naming the op and its operands before any node is made (``checks.py``); the
doors that make apply fast are in ``fast_paths.py``, a gradient's overflow in ``overflow.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Union

from . import checks, fast_paths, ops, overflow

Number = Union[int, float]
Operand = Union["Value", int, float]


class Value:
    """A scalar in a computation graph: ``data``, ``grad`` and how it was made.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x          # y = x^2 + 3x
    >>> y.backward()               # dy/dx = 2x + 3
    >>> x.grad
    7.0

    Besides ``children`` and ``local_grads``, a node keeps ``row``, the op table's row that made
    it (None for a leaf), and ``args``, its operands in order (numbers too) then the op's
    settings: what a picture, a second derivative or a replay needs.
    """

    # row and args in one slot (the row alone when the args are the children, else (row, args))
    # and _label unset on an op's node: 80 bytes, not 96, less for the garbage collector to visit
    __slots__ = ("_data", "grad", "_label", "children", "local_grads", "_recipe")
    __array_ufunc__ = None  # a numpy scalar on the left of an operator defers to Value

    def __init__(self, data: Number, label: str = "") -> None:
        self._data = checks.finite_float(data, "Value data")
        self.grad = 0.0
        self.label = label
        self.children: tuple[Value, ...] = ()
        self.local_grads: tuple[float, ...] = ()
        self._recipe: ops.Op | tuple | None = None  # a leaf's

    @property
    def data(self) -> float:
        """The node's number, always a float: ``x.data = 5`` stores 5.0; ``x.data = "5"`` fails."""
        return self._data

    @data.setter
    def data(self, x: Number) -> None:
        self._data = x if type(x) is float else checks.real_float(x, "Value data")

    @property
    def label(self) -> str:
        """The node's name in pictures, "" if it has none (an op's node leaves it unset)."""
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, label: str) -> None:
        self._label = checks.checked_label(label)

    @property
    def row(self) -> ops.Op | None:
        """The op table's row that made this node (None for a leaf)."""
        return r[0] if isinstance(r := self._recipe, tuple) else r

    @property
    def args(self) -> tuple:
        """The op's operands in order (numbers too), then its settings."""
        return r[1] if isinstance(r := self._recipe, tuple) else self.children

    @property
    def op(self) -> str:
        """The op's name as a graph shows it: "+", "tanh", "**2" ("" for a leaf)."""
        row = self.row
        if row is not None and row.symbol is not None and row.settings:  # x ** 2: the exponent
            return f"{row.symbol}{self.args[1]:g}"
        return "" if row is None else row.name

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self.row else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def item(self) -> float:
        """The plain float, as ``torch.Tensor.item()`` gives it."""
        return self.data

    # Each op applies its row of the table (and runs as its row's door: DOORS, below).
    # fmt: off
    def __add__(self, other: Operand) -> Value: return apply(ops.ADD, self, other)
    def __radd__(self, other: Number) -> Value: return apply(ops.ADD, other, self)
    def __sub__(self, other: Operand) -> Value: return apply(ops.SUB, self, other)
    def __rsub__(self, other: Number) -> Value: return apply(ops.SUB, other, self)
    def __mul__(self, other: Operand) -> Value: return apply(ops.MUL, self, other)
    def __rmul__(self, other: Number) -> Value: return apply(ops.MUL, other, self)
    def __truediv__(self, other: Operand) -> Value: return apply(ops.DIV, self, other)
    def __rtruediv__(self, other: Number) -> Value: return apply(ops.DIV, other, self)
    def __pow__(self, other: Operand) -> Value:
        return apply(ops.POW if isinstance(other, Value) else ops.POW_CONST, self, other)
    def __rpow__(self, other: Number) -> Value: return apply(ops.POW, other, self)
    def __neg__(self) -> Value: return apply(ops.NEG, self)
    def __pos__(self) -> Value: return self
    def exp(self) -> Value: return apply(ops.EXP, self)
    def log(self) -> Value: return apply(ops.LOG, self)
    def tanh(self) -> Value: return apply(ops.TANH, self)
    def sigmoid(self) -> Value: return apply(ops.SIGMOID, self)
    def relu(self) -> Value: return apply(ops.RELU, self)
    def leaky_relu(self, slope: float = 0.01) -> Value: return apply(ops.LEAKY_RELU, self, slope)
    def sqrt(self) -> Value: return apply(ops.SQRT, self)
    def abs(self) -> Value: return apply(ops.ABS, self)
    __abs__ = abs
    # comparisons compare the data (`if loss < 0.01:`); `==` stays identity (Values in sets)
    def __lt__(self, other: Operand) -> bool: return self.data < _number(other)
    def __le__(self, other: Operand) -> bool: return self.data <= _number(other)
    def __gt__(self, other: Operand) -> bool: return self.data > _number(other)
    def __ge__(self, other: Operand) -> bool: return self.data >= _number(other)
    # fmt: on

    @staticmethod
    def sum(values: Sequence[Operand]) -> Value:
        """Σ v_i as ONE node (a neuron is one node, not a chain);  d/dv_i = 1"""
        return apply(ops.SUM, *checks.operand_list(values, "Value.sum"))

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand]) -> Value:
        """Σ w_i x_i as ONE node;  d/dw_i = x_i, d/dx_i = w_i"""
        if type(ws) is list and type(xs) is list and len(ws) == len(xs):  # a neuron's: straight
            return DOORS[ops.DOT][2 * len(ws)]((*ws, *xs))  # to DOT's door for 2n operands
        return apply(ops.DOT, *checks.equal_length_lists(ws, xs, "Value.dot"))

    def backward(self) -> None:
        """Fill in d(self)/d(node) as ``node.grad`` for every node of this graph. As in PyTorch,
        the interior nodes' grads are reset on each call, and the leaves' (inputs, parameters)
        ACCUMULATE: a training loop calls ``zero_grad()`` before each ``backward()``."""
        with fast_paths.cyclic_gc_paused():  # speed only: a graph has no cycles to collect
            order = interior_nodes_zeroed(self)
            self.grad += 1.0
            with overflow.gradients_checked(self, order, "backward()"):  # overflow: an error
                for node in reversed(order):  # each node before its children: grad complete
                    grad = node.grad
                    if not grad:
                        continue  # a zero gradient passes nothing on
                    # child.grad += local_grad * grad, each edge; 2 and 1 children written out
                    children = node.children
                    if len(children) == 2:
                        a, b = children
                        d_a, d_b = node.local_grads
                        a.grad += d_a * grad
                        b.grad += d_b * grad
                    elif len(children) == 1:
                        children[0].grad += node.local_grads[0] * grad
                    else:
                        for child, local_grad in zip(children, node.local_grads):
                            child.grad += local_grad * grad


def _number(x: Operand) -> float:
    return x.data if isinstance(x, Value) else x


def apply(row: ops.Op, *args: Operand) -> Value:
    """The node ``row(*args)`` by that row of the op table: the operands' numbers in, the value
    and local derivatives out. Every op's node is made here (Value's operators and methods, sum,
    dot, ``@op``'s ops) and built by ``new_node``; jit's replays hand out views of their numbers
    instead (``jit/call.py``). A plain number among the operands is a constant, no child
    (``x * 2`` has the one child x); with no Value among the operands the result is a leaf."""
    door = DOORS.get(row)  # the same node, made faster: the row's door (fast_paths.py)
    if door is None or row.arity is not None and len(args) != row.arity + len(row.settings):
        return build(row, args)  # (which names a wrong count of operands)
    return door(*args) if row.arity is not None else door(args)  # sum, dot: args in a tuple


def build(row: ops.Op, args: tuple) -> Value:
    """apply's plain path, where every door hands over what it cannot be sure of: each
    operand's number, the row's value and local derivatives (checked, or an error naming the
    op), and the node, whose children are the operands that are Values."""
    is_value = [isinstance(a, Value) for a in args]
    numbers = checks.numbers_of(row, args, is_value)  # each a finite float, or an error
    out, local_grads = checks.evaluated(row, numbers, is_value)  # or an error naming the op
    kept = [(a, d) for a, d in zip(args, local_grads) if isinstance(a, Value)]
    if not kept:
        return Value(out)
    children, kept_grads = tuple(a for a, _ in kept), tuple(d for _, d in kept)
    args = tuple(a if v else n for a, n, v in zip(args, numbers, is_value))  # constants: floats
    return new_node(out, children, kept_grads, row, args)


def new_node(data: float, children: tuple, local_grads: tuple, row: ops.Op, args: tuple) -> Value:
    """The one constructor of an interior node, its numbers already checked finite."""
    node = _new_value(Value)
    node._data = data
    node.grad = 0.0
    node.children = children
    node.local_grads = local_grads
    node._recipe = row if args is children or args == children else (row, args)
    return node


_new_value = object.__new__
# each row's door (fast_paths.py), which makes the same node faster; Value's operators above
# become their rows' doors, one call sooner, and x.data reads the slot in C
DOORS = fast_paths.install(Value, new_node, build)


def interior_nodes_children_first(*roots: Value, stop: Collection[Value] = ()) -> list[Value]:
    """The non-leaf nodes of the roots' graph in topological order: each after its children.

    A depth-first search with its own stack (a million-deep graph needs no recursion) exploring
    a node's children last to first; a node waits under a ``None`` marker until its children are
    placed. Leaves are left out (they pass nothing on), and so are the nodes of ``stop`` (jit's:
    Values computed before the call) and what lies below them."""
    order: list[Value] = []
    visited: set[Value] = {*stop}
    stack: list[Value | None] = [r for r in reversed(roots) if r.children and r not in visited]
    while stack:
        node = stack.pop()
        if node is None:  # the node under the marker has all its children in order
            order.append(stack.pop())  # type: ignore[arg-type]  # under a marker: a node
        elif node not in visited:
            visited.add(node)
            stack.append(node)
            stack.append(None)
            for child in node.children:
                if child.children and child not in visited:
                    stack.append(child)
    return order


def interior_nodes_zeroed(root: Value) -> list[Value]:
    """``interior_nodes_children_first(root)`` for backward(): each grad reset when found to a new
    float ``zero``, whose identity marks it found (a set misses the cache: a third slower)."""
    zero = float(0)
    order: list[Value] = []
    stack: list[Value | None] = [root] if root.children else []
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())  # type: ignore[arg-type]  # under a marker: a node
        elif node.grad is not zero:
            node.grad = zero
            stack.append(node)
            stack.append(None)
            for child in node.children:
                if child.children and child.grad is not zero:
                    stack.append(child)
    return order


def grad(
    output: Value, inputs: Sequence[Value], create_graph: bool = False, allow_unused: bool = False
) -> list[Value]:
    """d output / d input for each of ``inputs``, leaving every ``.grad`` untouched.

    backward()'s chain rule, summed into a table instead of into the grads. With
    ``create_graph=True`` the local derivatives are the rows' rules applied to Values, so each
    result is a Value whose graph reaches the inputs, to differentiate again. An input that the
    output does not depend on is an error, as in PyTorch, unless ``allow_unused=True`` (then 0).
    """
    inputs = checks.grad_inputs(output, inputs, Value)
    order = interior_nodes_children_first(output)
    grads: dict[Value, Operand] = {output: 1.0}
    with overflow.gradients_checked(output, order, "grad()", grads):  # overflow: an error
        for node in reversed(order):
            upstream = grads.get(node, 0.0)
            if not isinstance(upstream, Value) and not upstream:
                continue  # a zero gradient passes nothing on
            local_grads = local_grads_as_values(node) if create_graph else node.local_grads
            for child, local_grad in zip(node.children, local_grads):
                term = product(local_grad, upstream)
                grads[child] = grads[child] + term if child in grads else term
    used = {output, *(child for node in order for child in node.children)}
    return [checks.grad_value(x, grads.get(x, 0.0), x in used, allow_unused, Value) for x in inputs]


def local_grads_as_values(node: Value) -> tuple:
    """node's local derivatives as Values, for gradients of gradients: its row's rule applied to
    its operands, settings and the node itself as ``out``, one derivative kept per child (a node
    of jit's replays, a subclass, has plain Values among its children)."""
    args = node.args
    assert node.row is not None  # an interior node: made by an op
    local_grads = node.row.derivatives(*args, node)
    operands = args[: node.row.operand_count(len(args))]
    return tuple(d for a, d in zip(operands, local_grads) if isinstance(a, Value))


def product(local_grad: Operand, upstream: Operand) -> Operand:
    """local_grad * upstream, but without a new node when either is exactly 1.0 (x * 1 = x)."""
    if type(local_grad) is float and local_grad == 1.0:
        return upstream
    if type(upstream) is float and upstream == 1.0:
        return local_grad
    return local_grad * upstream
