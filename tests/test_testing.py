"""The hypothesis strategies users get in tinygrad_edu.testing."""

import pytest
from hypothesis import given, settings

from tinygrad_edu import MLP, Value
from tinygrad_edu.testing import OPS, Expression, Step, expressions, kink_free, mlps, values


@settings(max_examples=200)
@given(expressions())
def test_expressions_build_graphs_that_evaluate_within_bounds(expr):
    out = expr([Value(x) for x in expr.inputs])
    assert isinstance(out, Value) and abs(out.data) <= 100.0
    assert len(expr.steps) >= 1


def test_expressions_reuse_nodes():
    found = []

    @settings(max_examples=200, database=None)
    @given(expressions())
    def collect(expr):
        used = [i for step in expr.steps for i in step.operands]
        found.append(len(used) != len(set(used)))

    collect()
    assert any(found)  # some graph used a node twice


@given(expressions(ops=["tanh", "*"]))
def test_expressions_use_only_the_chosen_ops(expr):
    assert {step.op for step in expr.steps} <= {"tanh", "*"}


def test_unknown_ops_are_refused():
    with pytest.raises(ValueError, match="gelu"):
        expressions(ops=["gelu"])


def test_an_expression_reads_as_a_program():
    expr = Expression((0.5, 2.0), (Step("*", (0, 1)), Step("tanh", (2,)), Step("+c", (3,), 1.5)))
    assert repr(expr).splitlines()[1:] == [
        "    x0, x1 = 0.5, 2.0",
        "    t2 = x0 * x1",
        "    t3 = tanh(t2)",
        "    t4 = t3 + 1.5",
        "    return t4",
    ]
    assert expr([Value(0.5), Value(2.0)]).data == pytest.approx(1.5 + 0.7615941559557649)


def test_every_op_in_the_table_has_an_arity_its_text_uses():
    for name, spec in OPS.items():
        assert spec.text.count("{") - spec.text.count("{c}") == spec.arity, name


@given(values())
def test_values_are_finite_leaves(v):
    assert v.op == "" and -1e3 <= v.data <= 1e3


@given(mlps(max_inputs=3, max_layers=2, max_width=3))
def test_mlps_are_small_models(model):
    assert isinstance(model, MLP) and 1 <= len(model.layers) <= 2


def test_kink_free_spots_a_relu_at_its_kink():
    assert not kink_free((Value(0.001) * 1).relu())
    assert kink_free((Value(0.5) * 1).relu() + Value(-0.2).abs())
