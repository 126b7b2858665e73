"""A Value: what it holds, how it prints, how ops record the graph, and what it refuses."""

import math
from fractions import Fraction

import numpy as np
import pytest

from tinygrad_edu import Value


@pytest.mark.parametrize(
    "data, expected",
    [(3, 3.0), (2.5, 2.5), (np.float32(0.5), 0.5), (np.int64(-7), -7.0), (Fraction(1, 4), 0.25)],
)
def test_any_real_number_is_stored_as_a_float(data, expected):
    v = Value(data)
    assert v.data == expected and type(v.data) is float


def test_a_new_value_is_a_leaf_with_zero_grad():
    v = Value(2.0, label="x")
    assert (v.grad, v.label, v.op, v.children, v.local_grads) == (0.0, "x", "", (), ())
    assert type(v.grad) is float


def test_repr_shows_data_grad_and_label_or_op_when_set():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0, label="x")) == "Value(data=2.0, grad=0.0, label='x')"
    assert repr(Value(2.0) * Value(3.0)) == "Value(data=6.0, grad=0.0, op='*')"


def test_item_gives_the_plain_float_like_pytorch():
    assert Value(1.5).item() == 1.5


def test_children_are_in_operand_order_and_reuse_appears_twice():
    a, b = Value(2.0), Value(3.0)
    assert (a - b).children == (a, b)
    assert (b - a).children == (b, a)
    twice = a + a
    assert len(twice.children) == 2 and twice.children[0] is a and twice.children[1] is a


def test_each_op_stores_its_local_derivatives_next_to_its_children():
    a, b = Value(2.0), Value(5.0)
    assert (a * b).local_grads == (5.0, 2.0)  # d(ab)/da = b, d(ab)/db = a
    assert (a / b).local_grads == pytest.approx((1 / 5.0, -2.0 / 25.0))
    assert a.tanh().local_grads == pytest.approx((1 - math.tanh(2.0) ** 2,))


def test_a_plain_number_is_a_constant_not_a_node():
    a = Value(2.0)
    for node, local in [(a * 3, 3.0), (3 * a, 3.0), (a + 1, 1.0), (1 + a, 1.0), (5 - a, -1.0)]:
        assert node.children == (a,) and node.local_grads == (local,)
    assert (a**3).children == (a,) and (a**3).op == "**3"


def test_ops_are_named_for_graphs():
    a, b = Value(2.0), Value(3.0)
    named = {
        "+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a**b, "neg": -a,
        "exp": a.exp(), "log": a.log(), "tanh": a.tanh(), "sigmoid": a.sigmoid(),
        "relu": a.relu(), "leaky_relu": a.leaky_relu(), "sqrt": a.sqrt(), "abs": abs(a),
        "sum": Value.sum([a, b]), "dot": Value.dot([a], [b]),
    }  # fmt: skip
    assert {name: v.op for name, v in named.items()} == {name: name for name in named}


def test_sum_and_dot_are_one_node_not_a_chain():
    xs = [Value(float(i)) for i in range(5)]
    ws = [Value(0.5) for _ in range(5)]
    total = Value.sum(xs)
    assert total.data == 10.0 and total.children == tuple(xs)
    d = Value.dot(ws, xs)
    assert d.data == 5.0 and d.children == tuple(ws) + tuple(xs)
    assert d.local_grads == tuple(x.data for x in xs) + tuple(w.data for w in ws)


def test_sum_is_exactly_rounded():
    assert Value.sum([1e16, Value(1.0), -1e16]).data == 1.0  # naive left-to-right gives 0.0


@pytest.mark.parametrize("bad", ["3", None, 1j, [1], (1.0,), {"a": 1}, np.array([1.0, 2.0])])
def test_non_real_data_is_a_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_a_value_is_not_silently_unwrapped():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_data_is_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


def test_a_huge_int_is_refused_rather_than_rounded_to_inf():
    with pytest.raises(OverflowError, match="too large"):
        Value(10**400)


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)
    y = Value(1.0) * 2.0
    assert y.label == ""  # an op's node has none until given one
    with pytest.raises(TypeError, match="label"):
        y.label = 3  # type: ignore[assignment]
    y.label = "y"
    assert y.label == "y"


def test_a_node_keeps_its_row_and_args_operands_first_then_settings():
    from tinygrad_edu import ops

    x = Value(0.5)
    assert (x.row, x.args) == (None, ())
    times_two, leaky = x * 2, x.leaky_relu(0.1)
    assert (times_two.row, times_two.args) == (ops.MUL, (x, 2.0))
    assert (leaky.row, leaky.args) == (ops.LEAKY_RELU, (x, 0.1))
    square = x * x
    assert (square.row, square.args) == (ops.MUL, (x, x))
    assert square.args is square.children  # the same tuple: nothing kept twice
    assert times_two.args is times_two.args  # kept, not made anew at each read


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Value(-1.0).log(), ValueError, ["log", "-1.0"]),
        (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
        (lambda: Value(-8.0) ** 0.5, ValueError, ["-8.0", "0.5"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["0.0", "-1"]),
        (lambda: Value(0.0) ** 0.5, ValueError, ["derivative", "infinite"]),
        (lambda: Value(-4.0).sqrt(), ValueError, ["sqrt", "-4.0"]),
        (lambda: Value(0.0).sqrt(), ValueError, ["sqrt", "infinite"]),
        (lambda: Value(1.0) / 0, ZeroDivisionError, ["division by zero", "1.0"]),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, ["division by zero"]),
        (lambda: Value(1000.0).exp(), OverflowError, ["exp", "1000.0"]),
        (lambda: Value(1e308) * 10, OverflowError, ["1e+308", "10.0"]),
        (lambda: Value(1e308) + Value(1e308), OverflowError, ["+", "overflows"]),
        (lambda: Value(1e200) ** 2, OverflowError, ["1e+200", "2"]),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, ["positive base", "-2.0"]),
        (lambda: (-2) ** Value(0.5), ValueError, ["positive base"]),
        (lambda: Value(1.0) / 1e-310, OverflowError, ["/", "overflows"]),
        (lambda: Value.sum([1e308, Value(1e308)]), OverflowError, ["sum", "overflows"]),
        (lambda: Value.dot([Value(1e200)], [1e200]), OverflowError, ["dot", "overflows"]),
        (lambda: Value(1.0) + math.nan, ValueError, ["finite", "nan"]),
        (lambda: Value(1.0) * "2", TypeError, ["*", "str"]),
        (lambda: Value(1.0) + [1.0], TypeError, ["+", "list"]),
        (lambda: Value.dot([Value(1.0)], [1.0, 2.0]), ValueError, ["1", "2"]),
        (lambda: Value(1.0).leaky_relu("a"), TypeError, ["slope", "str"]),
    ],
)
def test_an_op_that_would_give_nan_or_inf_raises_naming_op_and_operand(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_stable_functions_never_overflow():
    for x in (-1000.0, -50.0, 50.0, 1000.0):
        s, t = Value(x).sigmoid(), Value(x).tanh()
        assert 0.0 <= s.data <= 1.0 and -1.0 <= t.data <= 1.0
        assert math.isfinite(s.local_grads[0]) and math.isfinite(t.local_grads[0])


def test_numpy_scalars_on_the_left_defer_to_value():
    a = Value(2.0)
    out = np.float64(3.0) * a
    assert isinstance(out, Value) and out.data == 6.0 and out.children == (a,)
