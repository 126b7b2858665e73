"""Custom operations with @op: the README's examples, made and checked like built-in ops."""

import math

import pytest
from hypothesis import strategies as st

from tinygrad_edu import GradcheckError, Value, gradcheck, op
from tinygrad_edu.testing import assert_gradients_match


@op
def softplus(x):
    """softplus(x) = ln(1 + e^x);  d/dx = sigmoid(x)"""
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


@op
def gelu(x):
    """GELU(x) = x Φ(x), Φ the standard normal CDF;  d/dx = Φ(x) + x φ(x)"""
    cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
    pdf = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return x * cdf, (cdf + x * pdf,)


@op
def hypot(a, b):
    """√(a² + b²);  d/da = a / h, d/db = b / h"""
    h = math.hypot(a, b)
    return h, (a / h, b / h)


@op
def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise;  d/dx = 1 or alpha e^x"""
    return (x, (1.0,)) if x > 0 else (alpha * math.expm1(x), (alpha * math.exp(x),))


def test_a_custom_op_is_a_node_named_after_its_function():
    x = Value(0.5, label="x")
    y = gelu(softplus(x))
    assert y.op == "gelu" and y.children[0].op == "softplus" and y.children[0].children == (x,)
    assert "op='gelu'" in repr(y)
    s = math.log1p(math.exp(0.5))
    assert y.data == pytest.approx(s * 0.5 * (1 + math.erf(s / math.sqrt(2))), rel=1e-15)


def test_custom_ops_chain_their_local_derivatives_in_backward():
    x = Value(0.5)
    y = gelu(softplus(x))
    y.backward()
    s = math.log1p(math.exp(0.5))
    dgelu = 0.5 * (1 + math.erf(s / math.sqrt(2))) + s * math.exp(-s * s / 2) / math.sqrt(
        2 * math.pi
    )
    assert x.grad == pytest.approx(dgelu / (1 + math.exp(-0.5)), rel=1e-12)


def test_the_readme_ops_pass_gradcheck_at_many_points():
    assert gradcheck(lambda v: gelu(softplus(v[0])), [0.5])
    assert_gradients_match(lambda v: softplus(v[0]))
    assert_gradients_match(lambda v: gelu(v[0]) * v[1], 2)
    assert_gradients_match(lambda v: elu(v[0]))  # smooth at 0 when alpha = 1


def test_a_custom_op_with_a_kink_is_checked_away_from_it():
    # kink_free knows only the built-in kinks: for elu with alpha != 1, draw around x = 0
    with pytest.raises(GradcheckError, match=r"at \[0\.0\]"):
        assert_gradients_match(lambda v: elu(v[0], alpha=0.5))
    away = st.floats(-3, -0.01) | st.floats(0.01, 3)
    assert_gradients_match(lambda v: elu(v[0], alpha=0.5), away)


def test_an_op_of_two_operands_has_a_derivative_for_each():
    a, b = Value(3.0), Value(4.0)
    h = hypot(a, b)
    assert h.data == 5.0 and h.local_grads == (0.6, 0.8)
    off_the_origin = st.tuples(st.floats(0.5, 3), st.floats(-3, 3))
    assert_gradients_match(lambda v: hypot(v[0], v[1]) * v[0], off_the_origin)


def test_numbers_are_constants_and_settings_are_not_operands():
    h = hypot(Value(3.0), 4.0)
    assert len(h.children) == 1 and h.local_grads == (0.6,)
    assert elu(Value(-1.0), alpha=0.5).data == pytest.approx(0.5 * math.expm1(-1.0))
    assert elu(Value(-1.0), 0.5).data == elu(Value(-1.0), alpha=0.5).data


def test_an_error_inside_an_op_names_the_op_and_its_operands():
    with pytest.raises(ZeroDivisionError, match=r"hypot\(0\.0, 0\.0\)"):
        hypot(Value(0.0), Value(0.0))
    with pytest.raises(OverflowError, match="softplus"):
        softplus(Value(1000.0))


def test_an_op_with_the_wrong_number_of_derivatives_is_refused():
    @op
    def half_hypot(a, b):
        return math.hypot(a, b), (1.0,)

    with pytest.raises(ValueError, match="half_hypot returned 1 local derivatives for 2"):
        half_hypot(Value(3.0), Value(4.0))


def test_a_custom_op_is_a_row_like_the_built_in_ones():
    for name in ("exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "sqrt", "abs"):
        node = getattr(Value, name)(Value(0.5))
        assert node.op == name and node.row.name == name and node.args[0] is node.children[0]
    y = hypot(Value(3.0), 4.0)
    assert y.row.name == "hypot" and y.row.arity == 2 and y.args[1] == 4.0
    assert elu(Value(1.0), alpha=0.5).row.settings == ("alpha",)
