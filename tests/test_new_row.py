"""Adding an op is one row: a row put in the table in one place is at once an op everywhere.

The row below, softplus(x) = ln(1 + e^x) with d/dx = 1 - e^-out (= sigmoid(x)), exists only
in this test: it is added to the op table (``ops.OPS``) and nowhere else, then used eagerly,
in gradients of gradients, in the backprop steps and their page, in a drawing, under jit and
in the expression parser.
"""

import math

import pytest

from tinygrad_edu import Value, apply, backprop_steps, draw_graph, grad, jit, ops
from tinygrad_edu.expression import parse_expression
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.testing import expressions
from tinygrad_edu.viz import backprop_page

SOFTPLUS = ops.Op(
    "softplus",
    lambda x: ops.log(1 + ops.exp(x)),  # plain arithmetic: floats, Values and arrays alike
    lambda x, out: (1 - ops.exp(-out),),
    rule=("1 - exp(-out)",),
    smooth=lambda x: abs(x) < 10,
)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.fixture(autouse=True)
def softplus_in_the_table(monkeypatch):
    monkeypatch.setattr(ops, "OPS", (*ops.OPS, SOFTPLUS))  # the one place


def test_eagerly_it_makes_a_node_with_its_value_and_local_derivative():
    x = Value(0.3, label="x")
    y = apply(SOFTPLUS, x * 2)
    assert y.op == "softplus" and y.row is SOFTPLUS
    assert y.data == pytest.approx(softplus(0.6), rel=1e-15)
    y.backward()
    assert x.grad == pytest.approx(2 * sigmoid(0.6), rel=1e-14)
    assert gradcheck(lambda v: apply(SOFTPLUS, v[0] * v[1]), [0.3, -1.7])


def test_its_rule_applied_to_values_gives_second_derivatives():
    x = Value(0.3)
    (dy_dx,) = grad(apply(SOFTPLUS, x), [x], create_graph=True)
    (d2y_dx2,) = grad(dy_dx, [x])
    assert dy_dx.data == pytest.approx(sigmoid(0.3), rel=1e-14)
    assert d2y_dx2.data == pytest.approx(sigmoid(0.3) * (1 - sigmoid(0.3)), rel=1e-12)


def test_the_steps_and_the_page_show_its_formula_and_its_rule_with_the_numbers_in():
    x = Value(0.3, label="x")
    y = apply(SOFTPLUS, x)
    y.label = "y"
    steps = backprop_steps(y)
    step = steps.forward[-1]
    assert steps.forward_text(step) == "y = softplus(x) = softplus(0.3) = 0.854355"
    assert steps.local_text(step, 0) == "dy/dx = 1 - exp(-y) = 1 - exp(-0.85435524) = 0.574443"
    assert step.local_grads[0] == pytest.approx(sigmoid(0.3), rel=1e-14)
    html = backprop_page(y)
    assert "softplus(x)" in html and "1 - exp(-y)" in html


def test_a_drawing_names_it():
    x = Value(0.3, label="x")
    y = apply(SOFTPLUS, x)
    source = draw_graph(y).source
    assert "softplus" in source and "0.8544" in source


def test_jit_replays_it_with_the_eager_numbers():
    def f(v):
        return apply(SOFTPLUS, v[0] * v[1]) + v[0]

    jf = jit(f)
    for point in ([0.3, -1.7], [2.0, 0.5], [-1.0, -3.0]):
        a, b = Value(point[0]), Value(point[1])
        out = jf([a, b])
        out.backward()
        ea, eb = Value(point[0]), Value(point[1])
        expected = f([ea, eb])
        expected.backward()
        assert out.data == pytest.approx(expected.data, rel=1e-12)
        assert (a.grad, b.grad) == pytest.approx((ea.grad, eb.grad), rel=1e-12)


def test_the_expression_parser_knows_it_by_name():
    y = parse_expression("softplus(x * w) + 1").evaluate({"x": 0.5, "w": 0.6})
    assert y.data == pytest.approx(softplus(0.3) + 1, rel=1e-15)
    assert any(child.op == "softplus" for child in y.children)


def test_the_random_graphs_of_the_strategies_draw_it_and_its_gradients_check():
    from hypothesis import find, given, settings

    @settings(max_examples=30, deadline=None)
    @given(expressions(ops=["softplus", "*", "+"], max_inputs=2, max_steps=4))
    def check(expr):
        assert gradcheck(expr, expr.inputs)

    check()
    # a graph that uses the row: hypothesis finds one (or raises NoSuchExample)
    find(
        expressions(ops=["softplus"], max_inputs=1, max_steps=2),
        lambda expr: any(step.row is SOFTPLUS for step in expr.steps),
        settings=settings(deadline=None),
    )


def test_without_the_row_the_parser_names_the_functions_it_knows(monkeypatch):
    monkeypatch.setattr(ops, "OPS", tuple(row for row in ops.OPS if row is not SOFTPLUS))
    with pytest.raises(Exception, match="unknown function; use exp, log"):
        parse_expression("softplus(x)")
