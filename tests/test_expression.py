"""Expressions as text (`tanh(x*w + b)`): parsed safely, evaluated to Values, errors that point."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value, gradcheck
from tinygrad_edu.expression import (
    LABEL_LENGTH,
    MAX_LENGTH,
    ExpressionError,
    functions,
    parse_expression,
)


def test_a_neuron_as_text_gives_the_same_value_and_gradients_as_built_by_hand():
    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    b = Value(6.8813735870195432, label="b")
    e = parse_expression("tanh(x*w + b)")
    assert e.variables == ("x", "w", "b")
    o = e.evaluate({"x": x, "w": w, "b": b})
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert (x.grad, w.grad, b.grad) == pytest.approx((-1.5, 1.0, 0.5), rel=1e-9)


def test_every_value_is_labelled_with_the_text_it_stands_for():
    o = parse_expression("relu(a*b) ** 2").evaluate({"a": 2.0, "b": 1.5})
    assert o.label == "relu(a * b) ** 2" and o.op == "**2" and o.data == 9.0
    relu = o.children[0]
    assert relu.label == "relu(a * b)" and relu.children[0].label == "a * b"
    assert [leaf.label for leaf in relu.children[0].children] == ["a", "b"]


def test_a_variable_used_twice_is_one_leaf_and_numbers_are_constants():
    o = parse_expression("x * x + 2 * x").evaluate({"x": 3.0})
    o.backward()
    x = o.children[0].children[0]
    assert o.children[0].children == (x, x) and o.children[1].children == (x,)
    assert x.grad == 2 * 3.0 + 2


@pytest.mark.parametrize("name", sorted(functions()))
def test_each_function_is_the_values_own(name):
    y = parse_expression(f"{name}(x)").evaluate({"x": 0.7})
    assert y.op == name and y.data == getattr(Value(0.7), name)().data


@pytest.mark.parametrize(
    "text", ["log(x)/y", "x ** y - -x / +y", "sigmoid(x) * exp(-y) + sqrt(abs(x))", "2 ** x"]
)
def test_gradients_agree_with_finite_differences(text):
    e = parse_expression(text)
    point = [1.3, 0.6][: len(e.variables)]
    assert gradcheck(lambda vs: e.evaluate(dict(zip(e.variables, vs))), point)


# a smooth grammar, with the same function on floats to check the Values against
_LEAVES = st.sampled_from([("x", lambda x, y: x), ("y", lambda x, y: y), ("0.5", lambda x, y: 0.5)])


def _combine(children):
    unary = st.tuples(st.sampled_from(["tanh", "sigmoid", "-"]), children).map(
        lambda t: (f"{t[0]}({t[1][0]})", _unary(t[0], t[1][1]))
    )
    binary = st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", _binary(t[1], t[0][1], t[2][1]))
    )
    return unary | binary


def _unary(name, f):
    math_f = {"tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "-": lambda v: -v}
    return lambda x, y: math_f[name](f(x, y))


def _binary(op, f, g):
    math_op = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}[op]
    return lambda x, y: math_op(f(x, y), g(x, y))


@given(st.recursive(_LEAVES, _combine, max_leaves=12), st.floats(-2, 2), st.floats(-2, 2))
def test_random_expressions_evaluate_as_the_same_math_on_floats(text_and_f, x, y):
    text, f = text_and_f
    try:
        e = parse_expression(text)
    except ExpressionError as error:
        assert "no variables" in str(error)  # only "0.5"-style texts have none
        return
    assert e.evaluate({"x": x, "y": y}).data == pytest.approx(f(x, y), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "text, column, part, says",
    [
        ("foo(x)", 1, "foo(x)", "unknown function"),
        ("x + foo(y)", 5, "foo(y)", "unknown function"),
        ("x // y", 1, "x // y", "the operator //"),
        ("x ^ 2", 1, "x ^ 2", "for powers write **"),
        ("x $ y", 3, "$", "invalid syntax"),
        ("x +", 4, "", "invalid syntax"),
        ("tanh(x, y)", 1, "tanh(x, y)", "takes one argument"),
        ("tanh(x=1)", 1, "tanh(x=1)", "takes one argument"),
        ("tanh + x", 1, "tanh", "tanh is a function"),
        ("x.real", 1, "x.real", "attribute"),
        ("x[0]", 1, "x[0]", "indexing"),
        ("'a' * x", 1, "'a'", "not a number"),
        ("True * x", 1, "True", "not a number"),
        ("x if y else 1", 1, "x if y else 1", "if/else"),
        ("x < y", 1, "x < y", "comparison"),
        ("lambda: x", 1, "lambda: x", "lambda"),
        ("__import__('os').system('ls')", 1, "__import__('os').system('ls')", "unknown function"),
        ("é * foo(x)", 5, "foo(x)", "unknown function"),  # columns count characters
        ("   x $ y", 6, "$", "invalid syntax"),
        ("2x + 1", 1, "2x", "write 2*x for 2 times x"),  # a product as algebra writes it
        ("x + 3.5w", 5, "3.5w", "write 3.5*w for 3.5 times w"),
        ("1e3x", 1, "1e3x", "write 1e3*x"),  # the number at its longest, exponent and all
        ("2(x + 1)", 1, "2(x + 1)", "write * between them for a product"),
        ("(x + 1)(x - 1)", 1, "(x + 1)(x - 1)", "write * between them"),
        ("2 + 3", 1, "", "no variables"),
        ("", 1, "", "empty"),
        ("x\n+ y", 2, "", "unexpected character '\\n'"),
        ("x" * (MAX_LENGTH + 1), MAX_LENGTH + 1, "", "longer than"),
    ],
)
def test_bad_expressions_name_the_problem_and_point_at_it(text, column, part, says):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    error = info.value
    assert (error.column, error.part) == (column, part)
    assert says in str(error) and "\n" not in str(error)


@pytest.mark.parametrize(
    "text, values, column, part, says",
    [
        ("log(x)/y", {"x": -1.0, "y": 1.0}, 1, "log(x)", "log needs x > 0"),
        ("x + log(x)/y", {"x": 2.0, "y": 0.0}, 5, "log(x)/y", "division by zero"),
        ("x * 10**400", {"x": 1.0}, 5, "10**400", "overflows a float"),
        ("x + (-8)**0.5", {"x": 1.0}, 5, "(-8)**0.5", "not a finite real number"),
        ("x * w", {"x": 1.0}, 5, "w", "w has no value"),
        ("x * 1e400", {"x": 1.0}, 5, "1e400", "not a finite float"),
    ],
)
def test_math_errors_point_at_the_part_that_failed(text, values, column, part, says):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text).evaluate(values)
    assert (info.value.column, info.value.part) == (column, part)
    assert says in str(info.value)


_JUNK_ALPHABET = "xyw.()+-*/%^<>=!,;:[]{}'\"_ 0123456789eE\\#@~&|" + "éλ\t\n\0"
_WORDS = st.sampled_from(["tanh", "log", "exp", "x", "**", "(", ")", "1e999", "lambda", "import"])


@given(
    st.text()
    | st.text(alphabet=_JUNK_ALPHABET, max_size=40)
    | st.lists(_WORDS | st.text(_JUNK_ALPHABET, max_size=3), max_size=12).map("".join),
    st.floats(-1e300, 1e300),
)
def test_junk_never_raises_anything_but_an_expression_error(text, value):
    try:
        e = parse_expression(text)
        result = e.evaluate({name: value for name in e.variables})
    except ExpressionError as error:
        assert "\n" not in str(error) and error.column >= 1
    else:
        assert isinstance(result, Value) and math.isfinite(result.data)


def test_long_interior_texts_are_left_to_the_automatic_names():
    text = " + ".join(["x"] * 20)
    result = parse_expression(text).evaluate({"x": 0.5})
    assert result.label == text  # the result: the whole expression
    labels = []
    node = result.children[0]
    while node.children:
        labels.append(node.label)
        node = node.children[0]
    assert all(len(label) <= LABEL_LENGTH for label in labels)
    assert labels[-3:] == ["x + x + x + x", "x + x + x", "x + x"] and "" in labels
