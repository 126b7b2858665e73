"""grad(output, inputs, create_graph): derivatives as Values, and derivatives of derivatives.

The same chain rule as backward(), summed into a table instead of the grads. With
create_graph=True each op's rule for its local derivatives is applied to Values, so a
derivative is a graph of its own that reaches the inputs, and can be differentiated again.
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import GradcheckError, Value, backprop_steps, grad, gradgradcheck, hessian, op
from tinygrad_edu.testing import expressions


@given(expressions(max_inputs=4, max_steps=16))
def test_first_derivatives_are_backwards_bit_for_bit_and_touch_no_grad(expr):
    xs = [Value(x) for x in expr.inputs]
    out = expr(xs)
    nodes = backprop_steps(out).values  # every Value of the graph
    before = [(node.grad, node.data) for node in nodes]
    derivatives = grad(out, xs, allow_unused=True)
    assert [(node.grad, node.data) for node in nodes] == before
    out.backward()
    assert [d.data.hex() for d in derivatives] == [x.grad.hex() for x in xs]


@pytest.mark.parametrize("x", [-2.5, -1.0, 0.0, 0.5, 3.0])
def test_the_derivatives_of_x_cubed_are_exact_up_to_the_fourth(x):
    v = Value(x)
    f = v**3
    d1 = grad(f, [v], create_graph=True)[0]
    d2 = grad(d1, [v], create_graph=True)[0]
    d3 = grad(d2, [v], create_graph=True)[0]
    d4 = grad(d3, [v], create_graph=True, allow_unused=True)[0]
    assert (d1.data, d2.data, d3.data, d4.data) == (3 * x * x, 6 * x, 6.0, 0.0)


def test_a_derivative_is_a_graph_that_backward_can_differentiate():
    x, y = Value(0.7, label="x"), Value(-1.3, label="y")
    f = (x * y).tanh() + x.exp() * y
    df_dx = grad(f, [x], create_graph=True)[0]
    assert x.grad == 0.0 and y.grad == 0.0  # grad() leaves every .grad alone
    df_dx.backward()  # backward keeps its float semantics, on the derivative's graph
    t = math.tanh(0.7 * -1.3)
    d2_dx2 = -2 * t * (1 - t * t) * 1.3**2 + math.exp(0.7) * -1.3
    d2_dxdy = (1 - t * t) + 0.7 * -1.3 * -2 * t * (1 - t * t) + math.exp(0.7)
    assert x.grad == pytest.approx(d2_dx2, rel=1e-13)
    assert y.grad == pytest.approx(d2_dxdy, rel=1e-13)


def test_the_hessian_is_symmetric_and_exact_for_a_polynomial():
    h = hessian(lambda v: v[0] ** 3 * v[1] + v[0] * v[1] ** 2, [2.0, -1.0])
    # f = x^3 y + x y^2:  f_xx = 6xy, f_xy = 3x^2 + 2y, f_yy = 2x
    assert h == [[-12.0, 10.0], [10.0, 4.0]]


def test_kinks_have_second_derivative_zero_as_in_pytorch():
    for make in (Value.relu, Value.abs, lambda v: v.leaky_relu(0.1)):
        for x in (-1.5, 0.0, 2.0):
            v = Value(x)
            d1 = grad(make(v) * 3.0, [v], create_graph=True)[0]
            assert grad(d1, [v], allow_unused=True)[0].data == 0.0


def smooth_function(v):
    x, y = v
    return (x / y).tanh() * y.log() + x.sigmoid() ** 2 + (x * y).exp() - y.sqrt() * x ** Value(0.5)


@given(st.floats(0.1, 2), st.floats(0.2, 2))
def test_gradgradcheck_passes_for_the_built_in_ops(a, b):
    assert gradgradcheck(smooth_function, [a, b])


@op(derivatives=lambda x, out: (x.exp(),))  # wrong: d/dx softplus(x) is sigmoid(x)
def softplus_wrong(x):
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


@op(derivatives=lambda x, out: (x.sigmoid(),))
def softplus(x):
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


@op
def softplus_without_rule(x):
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


def test_gradgradcheck_catches_a_wrong_rule_in_a_user_op():
    assert gradgradcheck(lambda v: softplus(v[0] * v[1]), [0.3, -0.8])
    with pytest.raises(GradcheckError, match="gradgradcheck failed"):
        gradgradcheck(lambda v: softplus_wrong(v[0]), [0.3])
    assert not gradgradcheck(lambda v: softplus_wrong(v[0]), [0.3], raise_exception=False)


def test_a_user_op_without_a_rule_says_how_to_add_one():
    x = Value(0.3)
    grad(softplus_without_rule(x), [x])  # first derivatives need no rule
    with pytest.raises(NotImplementedError, match=r"softplus_without_rule.*@op\(derivatives="):
        grad(softplus_without_rule(x), [x], create_graph=True)


def test_an_input_the_output_does_not_depend_on_is_an_error_unless_allowed():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    with pytest.raises(ValueError, match="does not depend on the input 'y'.*allow_unused=True"):
        grad(x * 3.0, [x, y])
    assert [d.data for d in grad(x * 3.0, [x, y], allow_unused=True)] == [3.0, 0.0]
    assert grad(x, [x])[0].data == 1.0  # d x / d x
    dead = (x * -1.0).relu()  # used, but only through a zero derivative: 0, not an error
    assert grad(dead, [x])[0].data == 0.0


def test_an_interior_node_can_be_an_input():
    x = Value(0.5)
    h = x * x
    out = h.tanh()
    assert grad(out, [h])[0].data == pytest.approx(1 - math.tanh(0.25) ** 2)


@pytest.mark.parametrize(
    "output, inputs, error, words",
    [
        (2.0, [Value(1.0)], TypeError, ("one Value", "float")),
        ([Value(1.0)], [Value(1.0)], TypeError, ("list", "call grad on each")),
        (Value(1.0), [], ValueError, ("at least one input",)),
        (Value(1.0), [1.0], TypeError, ("inputs[0]", "float")),
        (Value(1.0), 3, TypeError, ("list of Values", "int")),
    ],
)
def test_bad_arguments_get_a_clear_error(output, inputs, error, words):
    with pytest.raises(error) as info:
        grad(output, inputs)
    for word in words:
        assert word in str(info.value)
