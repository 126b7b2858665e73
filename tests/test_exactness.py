"""The engine's speed tricks change no result: bit for bit what the textbook algorithm gives.

backward() is checked against the straightforward version written out below (the engine's
own algorithm before any speed work), on the same graphs; the doors behind apply()
(fast_paths.py) against apply()'s plain path, the textbook way to apply a row of the op table,
and against plain float arithmetic. "Bit for bit" is compared with
float.hex, so even the sign of a zero counts.
"""

import inspect
import math
import random
import re
from fractions import Fraction
from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Value, engine, fast_paths, losses
from tinygrad_edu.engine import apply
from tinygrad_edu.ops import (
    ABS,
    ADD,
    DIV,
    DOT,
    EXP,
    LEAKY_RELU,
    LOG,
    MUL,
    NEG,
    OPS,
    POW,
    POW_CONST,
    RELU,
    SIGMOID,
    SQRT,
    SUB,
    SUM,
    TANH,
    Op,
)
from tinygrad_edu.testing import expressions


def straightforward_backward(root: Value) -> None:
    """Topological order by depth-first search (a visited set, (node, done) pairs on a stack,
    children pushed in operand order), interior grads reset, then the chain rule once per
    edge, node by node in reverse order; a node whose gradient is 0 passes nothing on."""
    order, visited, stack = [], set(), [(root, False)] if root.children else []
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node.children if child.children)
    for node in order:
        node.grad = 0.0
    root.grad += 1.0
    for node in reversed(order):
        if node.grad:
            for child, local_grad in zip(node.children, node.local_grads):
                child.grad += local_grad * node.grad


def every_node(root: Value) -> list[Value]:
    nodes, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            nodes.append(node)
            stack.extend(node.children)
    return nodes


def assert_backward_is_bit_identical(root: Value, calls: int = 2) -> None:
    """Run both versions from the same leaf grads (twice: leaves accumulate) and compare
    every node's grad bit for bit."""
    nodes = every_node(root)
    start = [node.grad for node in nodes]
    grads = {}
    for version, backward in (("engine", Value.backward), ("reference", straightforward_backward)):
        for node, grad in zip(nodes, start):
            node.grad = grad
        for _ in range(calls):
            backward(root)
        grads[version] = [node.grad.hex() for node in nodes]
    assert grads["engine"] == grads["reference"]


def two_moons_batch(n: int, seed: int) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        t = rng.uniform(0, math.pi)
        upper = i % 2 == 0
        x = math.cos(t) if upper else 1 - math.cos(t)
        y = math.sin(t) if upper else 0.5 - math.sin(t)
        points.append([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)])
        labels.append(-1.0 if upper else 1.0)
    return points, labels


def test_an_mlp_training_loss_gets_the_reference_gradients_bit_for_bit():
    # micrograd's demo: ReLU MLP, hinge + L2; weights are shared by every sample's graph, so
    # each gets ~40 contributions whose order of summation shows in the last bits
    model = MLP(2, [16, 16, 1], seed=3)
    points, labels = two_moons_batch(40, seed=3)
    loss = losses.hinge([model(x)[0] for x in points], labels) + 1e-4 * losses.l2(
        model.parameters()
    )
    assert_backward_is_bit_identical(loss)


def test_a_softmax_classifier_gets_the_reference_gradients_bit_for_bit():
    model = MLP(3, [8, 4], activation="tanh", seed=1)
    rng = random.Random(1)
    batch = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(12)]
    targets = [rng.randrange(4) for _ in range(12)]
    loss = losses.cross_entropy([model(x) for x in batch], targets)
    assert_backward_is_bit_identical(loss)


def test_a_deep_chain_with_reuse_gets_the_reference_gradients_bit_for_bit():
    x = Value(0.3)
    y = x
    for i in range(3000):
        y = (y * x + 0.5).tanh() if i % 3 else y * y - x
    assert_backward_is_bit_identical(y)


@given(expressions(max_inputs=4, max_steps=24))
def test_random_dags_get_the_reference_gradients_bit_for_bit(expr):
    out = expr([Value(x) for x in expr.inputs])
    assert_backward_is_bit_identical(out)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_arithmetic_is_plain_float_arithmetic_with_its_derivatives(a, b):
    x, y = Value(a), Value(b)
    expected = {
        x + y: (a + b, (1.0, 1.0)),
        x - y: (a - b, (1.0, -1.0)),
        x * y: (a * b, (b, a)),
        x + b: (a + b, (1.0,)),
        b + x: (b + a, (1.0,)),
        x - b: (a - b, (1.0,)),
        b - x: (b - a, (-1.0,)),
        x * b: (a * b, (b,)),
        b * x: (b * a, (b,)),
        -x: (-a, (-1.0,)),
    }
    for node, (data, local_grads) in expected.items():
        assert node.data.hex() == data.hex()
        assert [g.hex() for g in node.local_grads] == [g.hex() for g in local_grads]


def test_an_mlp_forward_is_the_plain_float_computation():
    # each neuron: the exactly rounded w . x (math.fsum), then + b, then the activation
    model = MLP(2, [16, 16, 1], seed=5)
    for x in two_moons_batch(10, seed=5)[0]:
        expected = x
        for i, layer in enumerate(model.layers):
            sums = [
                math.fsum(w.data * xi for w, xi in zip(n.w, expected)) + n.b.data
                for n in layer.neurons
            ]
            expected = sums if i == len(model.layers) - 1 else [s if s > 0.0 else 0.0 for s in sums]
        assert [v.data.hex() for v in model(x)] == [e.hex() for e in expected]


# --- the fast paths build the very node apply() builds --------------------------------------


def plain_apply(fn, *args) -> Value:
    """apply() without its doors: the plain path alone."""
    return engine.build(fn, args)


def test_every_row_of_the_table_has_a_door_and_the_operators_are_theirs():
    # without them, the tests below would compare the plain path with itself
    assert set(engine.DOORS) == set(OPS)
    for name, row in fast_paths.OPERATORS.items():
        method = getattr(Value, name)
        reflected = " (reflected)" * name.startswith("__r")
        assert method.__name__ == f"door of {row.name}{reflected} (Value's method)"
        assert method.__wrapped__.__qualname__.startswith("Value.")  # the meaning, kept


def test_each_operator_is_what_its_definition_says():
    # the door that replaced Value.__sub__ makes what the definition (apply(SUB, self, other))
    # makes, operands in the same order: a mapping to the wrong row or order fails here
    x, y = Value(0.75), Value(1.5)
    for name in fast_paths.OPERATORS:
        method = getattr(Value, name)
        args = (x,) if name in ("__neg__", "__abs__") or not name.startswith("__") else (x, y)
        assert node_bits(method(*args)) == node_bits(method.__wrapped__(*args)), name
        if len(args) == 2:
            assert node_bits(method(x, 2.5)) == node_bits(method.__wrapped__(x, 2.5)), name


def node_bits(node: Value) -> tuple:
    args = tuple(a if isinstance(a, Value) else a.hex() for a in node.args)
    return (
        node.data.hex(),
        tuple(g.hex() for g in node.local_grads),
        node.children,
        args,
        node.row,
    )


operand = st.floats(-50, 50, allow_nan=False) | st.integers(-5, 5)


def assert_each_is_the_plain_paths_node(cases: list) -> None:
    """Each case ``(row, operands, fast)``: ``fast()`` makes the node the plain path makes of
    the operands, bit for bit, or raises the plain path's error, word for word."""
    for fn, args, fast in cases:
        try:
            expected = node_bits(plain_apply(fn, *args))
        except (ArithmeticError, ValueError) as error:
            with pytest.raises(type(error), match=re.escape(str(error))):
                fast()
            continue
        assert node_bits(fast()) == expected, fn.name


@given(operand, operand, st.booleans(), st.booleans())
def test_every_two_operand_op_is_the_node_apply_makes(a, b, a_is_value, b_is_value):
    x = Value(a) if a_is_value or not b_is_value else a
    y = Value(b) if b_is_value or not a_is_value else b
    # (a Value ** a number is x ** c, the row POW_CONST: tested below)
    rows = (ADD, SUB, MUL, DIV) + (POW,) * isinstance(y, Value)
    assert_each_is_the_plain_paths_node([(fn, (x, y), partial(fn.operator, x, y)) for fn in rows])


@given(st.floats(-50, 50, allow_nan=False), st.sampled_from([-2, -0.5, 0, 1, 2.5, 3]))
def test_every_one_operand_op_and_setting_is_the_node_apply_makes(a, setting):
    x = Value(a)
    cases = [(fn, (x,), getattr(x, fn.name)) for fn in (EXP, LOG, TANH, SIGMOID, RELU, SQRT, ABS)]
    cases += [(NEG, (x,), x.__neg__), (POW_CONST, (x, setting), lambda: x**setting)]
    cases += [(LEAKY_RELU, (x, setting), lambda: x.leaky_relu(setting))]
    assert_each_is_the_plain_paths_node(cases)


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=20))
def test_a_dot_of_values_is_the_node_apply_makes(numbers):
    ws = [Value(x) for x in numbers]
    xs = [Value(x / 3) for x in reversed(numbers)]
    expected = node_bits(plain_apply(DOT, *ws, *xs))
    assert node_bits(Value.dot(ws, xs)) == expected
    assert node_bits(apply(DOT, *ws, *xs)) == expected


@pytest.mark.parametrize("pairs", [1, 16, fast_paths.UNROLLED // 2, fast_paths.UNROLLED])
def test_a_dot_of_every_size_is_the_correctly_rounded_sum_of_its_products(pairs):
    # a door written out (up to UNROLLED operands) and the loop beyond: the plain path's node,
    # whose value is the exact sum of the rounded products, rounded once
    rng = random.Random(pairs)
    ws = [Value(rng.uniform(-1e3, 1e3) * 10 ** rng.randint(-8, 8)) for _ in range(pairs)]
    xs = [Value(rng.uniform(-1e3, 1e3)) for _ in range(pairs)]
    expected = plain_apply(DOT, *ws, *xs)
    exact = sum(Fraction(w.data * x.data) for w, x in zip(ws, xs))
    assert expected.data == float(exact)
    assert node_bits(Value.dot(ws, xs)) == node_bits(expected)
    assert node_bits(Value.sum(ws)) == node_bits(plain_apply(SUM, *ws))


def test_terms_that_cancel_or_overflow_are_the_plain_paths_too():
    big, one = Value(1e16), Value(1.0)
    assert Value.dot([big, one, big], [one, one, Value(-1.0)]).data == 1.0  # not 0.0
    assert Value.sum([big, one, Value(-1e16)]).data == 1.0
    huge, top = Value(1e200), Value(1.7e308)  # a product, a sum beyond the largest float
    cases = [(DOT, (huge, one, huge, one), lambda: Value.dot([huge, one], [huge, one]))]
    cases += [(SUM, (top, top), lambda: Value.sum([top, top]))]
    assert_each_is_the_plain_paths_node(cases)
    with pytest.raises(OverflowError, match="sum"):
        Value.sum([top, top])


def test_a_row_of_any_number_of_operands_is_written_from_its_term():
    # the door of a new n-ary row computes its own term, traced, and matches the plain path
    squares = Op("sumsq", lambda x: x * x, lambda *xs_out: tuple(2.0 * x for x in xs_out[:-1]),
                 arity=None, symbol="+")  # fmt: skip
    text = fast_paths.n_ary_source(squares, 3)
    assert "out = fsum(((n0 * n0), (n1 * n1), (n2 * n2), ))" in text
    xs = (Value(0.5), Value(-3.0), Value(1e-9))
    assert node_bits(door_of(squares)(xs)) == node_bits(engine.build(squares, xs))
    assert squares.forward(0.5, -3.0, 1e-9) == math.fsum([0.25, 9.0, 1e-18])
    # a term a stand-in cannot follow is called, through the row's forward
    exps = Op("sumexp", math.exp, lambda *xs_out: xs_out[:-1], arity=None)
    assert "out = forward(n0, n1)" in fast_paths.n_ary_source(exps, 2)
    assert node_bits(door_of(exps)(xs[:2])) == node_bits(engine.build(exps, xs[:2]))


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=20))
def test_a_sum_of_values_is_the_node_apply_makes(numbers):
    xs = [Value(x) for x in numbers]
    expected = node_bits(plain_apply(SUM, *xs))
    assert node_bits(Value.sum(xs)) == expected
    mixed = [*xs, 2.5]  # a constant among them: the plain path, the same node
    assert node_bits(Value.sum(mixed)) == node_bits(plain_apply(SUM, *mixed))


@pytest.mark.parametrize(
    "assigned",
    [2**53 + 1, True, np.float32(0.1), np.float64(-2.5), Fraction(1, 3)],
    ids=["int beyond 2**53", "bool", "numpy float32", "numpy float64", "Fraction"],
)
def test_a_number_assigned_to_data_is_a_float_so_every_door_is_the_plain_path(assigned):
    # x.data = ... once stored what it was given, and the doors computed with it as it was:
    # int * int stayed an exact int (2**53 + 1 where the plain path rounds to 2**53), a numpy
    # float32 kept the graph computing in float32, -x of an int was an int
    x, y = Value(1.0), Value(3.0)
    x.data = y.data = assigned
    assert type(x.data) is float and x.data == float(assigned)
    cases = [(fn, (x, y), partial(fn.operator, x, y)) for fn in (ADD, SUB, MUL, DIV, POW)]
    cases += [(fn, (x,), getattr(x, fn.name)) for fn in (EXP, TANH, RELU, ABS)]
    cases += [(NEG, (x,), x.__neg__), (POW_CONST, (x, 2), lambda: x**2)]
    cases += [(DOT, (x, y, y, x), lambda: Value.dot([x, y], [y, x]))]
    assert_each_is_the_plain_paths_node(cases)


class Tagged(Value):
    """A subclass that adds a slot, as jit's Replayed does, and keeps Value's data."""

    __slots__ = ("tag",)


class ClaimsValue:
    """Not a Value, but says Value is its class (as a mock made with spec=Value does), and has
    a ``_data`` that is not its ``data``."""

    def __init__(self, data: float) -> None:
        self.data, self._data, self.grad = data, -data, 0.0

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return Value


def test_a_subclass_or_an_object_that_claims_value_gets_the_plain_paths_node():
    # a door reads the slot of an operand whose type is Value (self, in a method, unasked);
    # a subclass keeps data the slot, and an object whose __class__ says Value (which isinstance
    # believes) goes to the plain path, which reads its data
    x = Value(1.5)
    for other in (Tagged(0.25), ClaimsValue(0.25)):
        cases = [(fn, (x, other), partial(fn.operator, x, other)) for fn in (ADD, MUL, DIV)]
        cases += [(DOT, (x, other, other, x), lambda o=other: Value.dot([x, o], [o, x]))]
        cases += [(SUM, (other, x), lambda o=other: Value.sum([o, x]))]
        if isinstance(other, Tagged):  # its methods are Value's doors
            cases += [(fn, (other, x), partial(fn.operator, other, x)) for fn in (SUB, MUL)]
            cases += [(TANH, (other,), other.tanh), (NEG, (other,), other.__neg__)]
        assert_each_is_the_plain_paths_node(cases)
        assert (x * other).data == 1.5 * 0.25 and Value.dot([other], [x]).data == 0.25 * 1.5


def test_a_subclass_may_not_redefine_data_which_the_doors_read_from_its_slot():
    # were data to mean something else in a subclass, x.tanh()'s door (which reads the slot)
    # and apply's plain path (which reads data) would give two numbers
    with pytest.raises(TypeError, match="Doubled redefines Value.data, which must stay the number"):

        class Doubled(Value):
            __slots__ = ()

            @property
            def data(self) -> float:  # type: ignore[override]
                return 2 * self._data

    with pytest.raises(TypeError, match="redefines Value.data"):
        type("Grandchild", (Tagged,), {"__slots__": ("data",)})
    assert Tagged(2.0).data == 2.0 and not hasattr(Tagged(2.0), "tag")


def test_the_doors_leave_what_they_cannot_build_to_the_plain_path():
    x = Value(0.5)
    assert node_bits(apply(SUM)) == node_bits(plain_apply(SUM))  # an empty sum: a leaf, 0.0
    assert not apply(SUM).children and apply(SUM).row is None
    with pytest.raises(ValueError, match="dot takes 2 lists of equal length"):
        apply(DOT, x, x, x)
    with pytest.raises(TypeError, match=r"\* takes 2 operand\(s\), got 1"):
        apply(MUL, x)
    with pytest.raises(TypeError, match="apply takes a row of the op table first"):
        apply("tanh", x)


# --- a door is written from its row's rules by tracing them --------------------------------


def door_of(row):
    return fast_paths.door(row, engine.new_node, Value, engine.build)


def test_a_rule_that_compares_with_equals_is_written_down_not_frozen():
    # without Traced.__eq__, x == 0.0 on a stand-in is False once for all: a door would give
    # the derivative 0.0 at 0.0, where the rule gives 1.0
    spike = Op("spike", lambda x: x * 2.0, lambda x, out: ((x == 0.0) * 1.0 + 2.0,))
    assert "(n0 == (0.0))" in fast_paths.source(spike)
    for x in (Value(0.0), Value(1.5), Value(-2.0)):
        assert node_bits(door_of(spike)(x)) == node_bits(engine.build(spike, (x,)))


def test_a_derivative_that_is_a_step_is_a_tuple_written_into_the_door():
    # relu's (x > 0) * 1.0 has two values: its door holds both tuples and hands a node the one
    # the rule computes (shared, not made anew), down to the sign of a zero: False * -2.0 is -0.0
    down = Op("down", lambda x: x * 1.0, lambda x, out: ((x > 0.0) * -2.0,))
    notch = Op("notch", lambda x: x * 1.0, lambda x, out: ((x > 1.0) * 3.0 - (x < -1.0) * 0.5,))
    assert "((-2.0, ) if (n0 > (0.0)) else (-0.0, ))" in fast_paths.source(down)
    for row in (down, notch, RELU, ABS):
        for a in (-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0):
            x = Value(a)
            assert node_bits(door_of(row)(x)) == node_bits(engine.build(row, (x,))), (row, a)
    assert Value(3.0).relu().local_grads is Value(4.0).relu().local_grads
    # two operands, each derivative a step: with a constant, the node keeps it in args
    both = Op(
        "both", lambda a, b: a + b, lambda a, b, out: ((a > 0.0) * 1.0, (b > 0.0) * 1.0), arity=2
    )
    for a, b in ((Value(1.5), 2.0), (-2.0, Value(0.5)), (Value(-1.0), Value(3.0))):
        assert node_bits(door_of(both)(a, b)) == node_bits(engine.build(both, (a, b))), (a, b)


def test_a_rule_that_asks_the_type_of_a_number_is_called_as_it_is():
    # a stand-in is not a float: the branch it would take is not the branch a float takes
    def shaped(x):
        return x * 3.0 if isinstance(x, float) else x * 5.0

    row = Op("shaped", shaped, lambda x, out: (3.0 if isinstance(x, float) else 5.0,))
    text = fast_paths.source(row)
    assert "out = forward(n0)" in text and "derivatives(n0, out)" in text
    node = door_of(row)(Value(2.0))
    assert (node.data, node.local_grads) == (6.0, (3.0,))


def test_a_rule_that_branches_on_a_number_is_called_as_it_is():
    assert "derivatives(n0, n1, out)" in fast_paths.source(POW_CONST)  # c * x ** (c - 1) if c
    x = Value(3.0)
    assert node_bits(x**0) == node_bits(engine.build(POW_CONST, (x, 0.0)))


def test_a_learner_who_reads_an_operator_finds_its_definition():
    # the door that runs x * y is generated; its source and signature are the definition's
    assert "return apply(ops.MUL, self, other)" in inspect.getsource(Value.__mul__)
    assert list(inspect.signature(Value.__mul__).parameters) == ["self", "other"]
    assert "door written from the row's rules" in Value.__mul__.__doc__


def test_a_row_cannot_be_changed_under_its_door():
    # a learner re-running a cell that edits a rule would leave x * y on the old one: refused
    x, y = Value(1.5), Value(2.0)
    with pytest.raises(AttributeError, match="row '\\*' is fixed once made"):
        MUL.derivatives = lambda a, b, out: (a, b)
    assert (x * y).local_grads == (2.0, 1.5)


def test_data_is_read_from_slot_and_still_set_through_its_check():
    # Value.data's getter is operator.attrgetter("_data") (fast_paths.read_from_slot): the number
    # a node holds, the same as the definition's; the setter and the docstring are the same
    x = Value(2.5)
    getter = type(Value).__getattribute__(Value, "__dict__")["data"].fget
    assert getter(x) is x._data and x.data == 2.5 and "always a float" in Value.data.__doc__
    x.data = 5
    assert type(x.data) is float and x.data == 5.0
    x.data = np.float32(0.5)
    assert type(x.data) is float
    with pytest.raises(TypeError, match="Value data must be a real number"):
        x.data = "5"
    assert x.data == 0.5  # nothing changed
