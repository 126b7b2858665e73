"""Every op: its forward value against math, and its derivative against finite differences.

Draws stay inside each op's domain and away from kinks and poles by construction (shifted
ranges, filters), never by loosening the tolerance.
"""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_edu import Value, gradcheck, numerical_grad


def reals(low=-5.0, high=5.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


away_from_zero = reals().filter(lambda x: abs(x) > 0.05)
positive = reals(0.05, 5.0)

# name: (the op on Values, the same function on floats, a strategy for each operand)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, reals()),
    "exp": (Value.exp, math.exp, reals()),
    "log": (Value.log, math.log, positive),
    "tanh": (Value.tanh, math.tanh, reals()),
    "sigmoid": (Value.sigmoid, lambda x: 1 / (1 + math.exp(-x)), reals()),
    "relu": (Value.relu, lambda x: max(x, 0.0), away_from_zero),
    "leaky_relu": (Value.leaky_relu, lambda x: x if x > 0 else 0.01 * x, away_from_zero),
    "leaky_relu(0.3)": (
        lambda v: v.leaky_relu(0.3),
        lambda x: x if x > 0 else 0.3 * x,
        away_from_zero,
    ),
    "sqrt": (Value.sqrt, math.sqrt, positive),
    "abs": (abs, abs, away_from_zero),
    "x ** 2": (lambda v: v**2, lambda x: x**2, reals()),
    "x ** 3": (lambda v: v**3, lambda x: x**3, reals()),
    "x ** -2": (lambda v: v**-2, lambda x: x**-2, reals(0.3, 5.0)),
    "x ** 0.5": (lambda v: v**0.5, lambda x: x**0.5, positive),
    "x ** 0": (lambda v: v**0, lambda x: 1.0, reals()),
    "3 - x": (lambda v: 3 - v, lambda x: 3 - x, reals()),
    "3 / x": (lambda v: 3 / v, lambda x: 3 / x, reals(0.3, 5.0)),
    "2 ** x": (lambda v: 2**v, lambda x: 2**x, reals()),
    "x * 1.5 + 2": (lambda v: v * 1.5 + 2, lambda x: x * 1.5 + 2, reals()),
}

BINARY = {
    "+": (lambda a, b: a + b, reals(), reals()),
    "-": (lambda a, b: a - b, reals(), reals()),
    "*": (lambda a, b: a * b, reals(), reals()),
    "/": (lambda a, b: a / b, reals(), away_from_zero.filter(lambda b: abs(b) > 0.3)),
    "**": (lambda a, b: a**b, reals(0.1, 3.0), reals(-3.0, 3.0)),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_value_and_derivative(name, data):
    on_values, on_floats, strategy = UNARY[name]
    x = data.draw(strategy, label="x")
    out = on_values(Value(x))
    assert out.data == pytest.approx(on_floats(x), rel=1e-12, abs=1e-300)
    assert gradcheck(lambda vs: on_values(vs[0]), [x], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_derivatives_by_each_operand(name, data):
    fn, left, right = BINARY[name]
    a, b = data.draw(left, label="a"), data.draw(right, label="b")
    assume(abs(fn(a, b)) < 1e6)
    assert gradcheck(lambda vs: fn(vs[0], vs[1]), [a, b], atol=1e-6, rtol=1e-5)


@given(st.lists(reals(), min_size=1, max_size=6))
def test_sum_derivative_is_one_for_each_term(xs):
    assert numerical_grad(lambda vs: Value.sum(vs), xs) == pytest.approx([1.0] * len(xs))
    assert gradcheck(lambda vs: Value.sum(vs) * Value.sum(vs), xs, atol=1e-6, rtol=1e-5)


@given(st.integers(1, 5).flatmap(lambda n: st.lists(reals(), min_size=2 * n, max_size=2 * n)))
def test_dot_derivatives_are_the_other_factor(xs):
    n = len(xs) // 2

    def f(vs):
        return Value.dot(vs[:n], vs[n:])

    assert f([Value(x) for x in xs]).data == pytest.approx(
        math.fsum(a * b for a, b in zip(xs[:n], xs[n:])), abs=1e-12
    )
    assert gradcheck(f, xs, atol=1e-6, rtol=1e-5)


def test_dot_and_sum_accept_numbers_as_constants():
    w = Value(2.0)
    d = Value.dot([w, 3.0], [4.0, 5.0])
    assert d.data == 23.0 and d.children == (w,) and d.local_grads == (4.0,)
    s = Value.sum([w, 1.0, 2.0])
    assert s.data == 5.0 and s.children == (w,)


def test_all_constant_operands_give_a_constant_leaf():
    assert Value.sum([1.0, 2.0]).op == "" and Value.sum([]).data == 0.0
    assert Value.dot([], []).data == 0.0


def test_kinks_take_pytorchs_subgradient_zero():
    assert Value(0.0).relu().local_grads == (0.0,)
    assert Value(0.0).abs().local_grads == (0.0,)
    assert Value(0.0).leaky_relu(0.2).local_grads == (0.2,)


def test_power_with_exponent_zero_or_one_at_zero_base():
    assert (Value(0.0) ** 0).data == 1.0 and (Value(0.0) ** 0).local_grads == (0.0,)
    assert (Value(0.0) ** 1).local_grads == (1.0,)
    assert (Value(0.0) ** 2).local_grads == (0.0,)


def test_unary_plus_is_the_value_itself_not_a_new_node():
    v = Value(3.0)
    assert +v is v


def test_negative_base_with_integer_exponent_is_fine():
    v = Value(-2.0)
    out = v**3
    out.backward()
    assert out.data == -8.0 and v.grad == 12.0
