"""The op table's columns: how each op is written, whether its operands commute, and the text
of its local-derivative rule, which must say what the row computes."""

import math
import operator
import re

import pytest

from tinygrad_edu import Value, op
from tinygrad_edu.ops import (
    ADD,
    DIV,
    DOT,
    LEAKY_RELU,
    MUL,
    NEG,
    OPS,
    POW,
    POW_CONST,
    SUB,
    SUM,
    TANH,
    formula,
    rule_with,
)


def test_formula_writes_each_kind_of_op_as_a_learner_reads_it():
    assert formula(MUL, ["x", "w"]) == "x * w"
    assert formula(ADD, ["x * w", "b"]) == "(x * w) + b"  # a compound operand stays one term
    assert formula(MUL, [2.0, -3.0]) == "2.0 * (-3.0)"
    assert formula(NEG, ["x"]) == "-x" and formula(NEG, [-3.0]) == "-(-3.0)"
    assert formula(POW_CONST, ["x"], [2.0]) == "x ** 2.0"  # the exponent, a setting, as an operand
    assert formula(POW_CONST, [-8.0], [0.5]) == "(-8.0) ** 0.5"
    assert formula(TANH, ["x * w"]) == "tanh(x * w)"  # a call's argument needs no parentheses
    assert formula(LEAKY_RELU, ["x"], [0.2]) == "leaky_relu(x, slope=0.2)"
    assert formula(SUM, ["a", "b", "c"]) == "a + b + c"
    assert formula(SUM, ["a"]) == "sum(a)"  # not "+a"
    assert formula(DOT, ["w1", "w2", "x1", "x2"]) == "w1 * x1 + w2 * x2"
    assert formula(DIV, [1.0, 0.0], number=lambda x: f"{x:.2f}") == "1.00 / 0.00"


def test_commutative_ops_are_the_ones_whose_operands_can_be_swapped():
    assert {row.name for row in OPS if row.commutative} == {"+", "*", "sum"}
    for row in OPS:
        if row.commutative and row.arity == 2:
            assert row.forward(2.0, 3.0) == row.forward(3.0, 2.0)
    assert SUB.forward(2.0, 3.0) != SUB.forward(3.0, 2.0) and not SUB.commutative


def test_each_fixed_arity_row_has_one_rule_text_per_operand_and_n_ary_rows_one_per_part():
    for row in OPS:
        assert len(row.rule) == (row.arity or row.parts), row
        assert all(isinstance(text, str) and text for text in row.rule), row


# the rule texts as Python: ² is a square, sign(x) the sign
def _as_python(text: str) -> str:
    return re.sub(r"(\([^()]*\)|[\w.]+)²", r"(\1) ** 2", text).replace("sign(", "_sign(")


NAMESPACE = {"log": math.log, "_sign": lambda x: (x > 0) - (x < 0)}
POINTS = [(0.7, -1.3), (2.5, 0.4), (-0.8, 1.9), (1.5, -0.5)]


@pytest.mark.parametrize("row", [row for row in OPS if row.arity is not None], ids=repr)
def test_a_rule_text_computes_the_rows_own_local_derivative(row):
    """Put the numbers into each rule text, evaluate it, and compare with the row's rule: a
    text that says the wrong thing (a sign, a factor, the wrong operand) fails here."""
    for a, b in POINTS:
        if row is POW:
            a = abs(a)  # a positive base
        numbers = [a, b][: row.arity]
        settings = [2.0 if row is POW_CONST else 0.1][: len(row.settings)]
        if row.domain and row is not POW_CONST and a <= 0:
            numbers = [abs(x) for x in numbers]
        out = row.forward(*numbers, *settings)
        expected = row.derivatives(*numbers, *settings, out)
        values = dict(zip(row.variables, [*numbers, *settings, out]))
        for k in range(row.arity):
            text = rule_with(row, k, values)
            assert math.isclose(eval(_as_python(text), NAMESPACE), expected[k], abs_tol=1e-12), (
                row,
                k,
                text,
            )


def test_the_n_ary_rules_name_the_other_factor():
    assert rule_with(SUM, 0, {}) == "1"
    assert rule_with(DOT, 0, {"x_i": "x1"}) == "x1" and rule_with(DOT, 1, {"w_i": 0.5}) == "0.5"


def test_rule_with_puts_numbers_in_whole_names_only_and_brackets_negative_ones():
    assert rule_with(TANH, 0, {"out": 0.7071}) == "1 - 0.7071²"
    assert rule_with(TANH, 0, {"out": -0.5}) == "1 - (-0.5)²"
    assert rule_with(POW, 1, {"a": 2.0, "b": 3.0, "out": 8.0}) == "8.0 * log(2.0)"  # not "log"'s


def test_an_op_of_ones_own_may_give_its_rule_text():
    @op(rule=("sigmoid(x)",))
    def softplus(x):
        return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)

    y = softplus(Value(0.5))
    assert y.row.rule == ("sigmoid(x)",) and y.row.variables == ("x", "out")
    assert rule_with(y.row, 0, {"x": 0.5}) == "sigmoid(0.5)"

    @op
    def cube(x):
        return x**3, (3 * x**2,)

    assert cube(Value(2.0)).row.rule == ()  # none given: the page shows the number alone
    assert rule_with(cube(Value(2.0)).row, 0, {"x": 2.0}) == ""


@pytest.mark.parametrize("rule", ["sigmoid(x)", ("a", "b"), (1,)])
def test_a_rule_text_of_the_wrong_shape_is_refused_naming_the_shape(rule):
    with pytest.raises(TypeError, match=r"one per operand \(1 for softplus\)"):

        @op(rule=rule)
        def softplus(x):
            return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


def test_value_op_names_the_exponent_with_the_symbol():
    x = Value(3.0)
    assert (x**2).op == "**2" and (x + 1).op == "+" and x.op == "" and (-x).op == "neg"
    assert operator.pow(x, Value(2.0)).op == "**"
