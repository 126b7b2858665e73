"""The hypothesis strategies and helpers users get in tinygrad_edu.testing."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import MLP, GradcheckError, Value, gradcheck, op
from tinygrad_edu.ops import MUL, OPS, POW, POW_CONST, TANH
from tinygrad_edu.testing import (
    RandomExpression,
    Step,
    assert_gradients_match,
    expressions,
    kink_free,
    mlps,
    simplest_failure,
    values,
)


@settings(max_examples=200)
@given(expressions())
def test_expressions_build_graphs_that_evaluate_within_bounds(expr):
    out = expr([Value(x) for x in expr.inputs])
    assert isinstance(out, Value) and abs(out.data) <= 100.0
    assert len(expr.steps) >= 1


@settings(max_examples=200)
@given(expressions())
def test_every_step_of_an_expression_reaches_its_output(expr):
    """No dead code in the program a failure shows: each step's result is an operand of a
    later step, but the last, which is the output."""
    n = len(expr.inputs)
    operands = {i for step in expr.steps for i in step.operands if isinstance(i, int)}
    assert set(range(n, n + len(expr.steps) - 1)) <= operands, expr


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
    steps = (
        Step(MUL, (0, 1)),
        Step(TANH, (2,)),
        Step(MUL, (1.5, 3)),
        Step(POW_CONST, (4,), (2.0,)),
    )
    expr = RandomExpression((0.5, 2.0), (*steps, Step(POW, (2.0, 5))))
    assert repr(expr).splitlines()[1:] == [
        "    x0, x1 = 0.5, 2.0",
        "    t2 = x0 * x1",
        "    t3 = tanh(t2)",
        "    t4 = 1.5 * t3",
        "    t5 = t4 ** 2.0",
        "    t6 = 2.0 ** t5",
        "    return t6",
    ]
    assert expr([Value(0.5), Value(2.0)]).data == pytest.approx(
        2.0 ** (1.5 * 0.7615941559557649) ** 2
    )


def test_every_op_in_the_table_is_drawn():
    seen = set()

    @settings(max_examples=300, database=None)
    @given(expressions())
    def collect(expr):
        seen.update(step.row for step in expr.steps)

    collect()
    assert seen == set(OPS)


@given(values())
def test_values_are_finite_leaves(v):
    assert v.op == "" and -1e3 <= v.data <= 1e3


@given(mlps(max_inputs=3, max_layers=2, max_width=3))
def test_mlps_are_small_models(model):
    assert isinstance(model, MLP) and 1 <= len(model.layers) <= 2


def test_kink_free_spots_a_relu_at_its_kink():
    assert not kink_free((Value(0.001) * 1).relu())
    assert kink_free((Value(0.5) * 1).relu() + Value(-0.2).abs())


@op
def square_missing_its_2(x):
    """x^2 with the factor 2 forgotten: wrong everywhere but at 0"""
    return x * x, (x,)


@op
def huber_without_sign(x):
    """Huber loss (delta 1) whose derivative forgets the sign of x beyond 1: wrong for x < -1"""
    return (0.5 * x * x, (x,)) if abs(x) <= 1 else (abs(x) - 0.5, (1.0,))


def test_assert_gradients_match_passes_a_right_derivative():
    assert_gradients_match(lambda vs: (vs[0] * vs[1]).tanh() + vs[1].exp(), 2)


def test_assert_gradients_match_reports_the_simplest_failing_point():
    with pytest.raises(GradcheckError) as info:
        assert_gradients_match(lambda vs: square_missing_its_2(vs[0]))
    message = str(info.value)
    assert message.startswith("gradients do not match at [1.0]")  # shrunk: 0 passes, 1 fails
    assert "<-- FAIL" in message


def test_assert_gradients_match_finds_a_bug_that_hides_on_one_side():
    assert gradcheck(lambda vs: huber_without_sign(vs[0]), [0.5])
    assert gradcheck(lambda vs: huber_without_sign(vs[0]), [2.0])
    with pytest.raises(GradcheckError, match=r"at \[-2\.0\]"):
        assert_gradients_match(lambda vs: huber_without_sign(vs[0]))


def test_assert_gradients_match_takes_a_strategy_of_numbers_or_values():
    assert_gradients_match(lambda vs: vs[0] / vs[1], st.tuples(values(-3, 3), values(1, 3)))
    assert_gradients_match(lambda vs: vs[0].log(), st.floats(0.1, 10))
    with pytest.raises(GradcheckError, match=r"at \[1\.0, 1\.0\]"):
        assert_gradients_match(
            lambda vs: square_missing_its_2(vs[0]) * vs[1],
            st.lists(st.floats(1, 3), min_size=2, max_size=2),
        )


def test_assert_gradients_match_skips_points_at_a_kink():
    # at x = 0 the central difference of relu is 1/2, which is no derivative of relu
    assert not gradcheck(lambda vs: vs[0].relu(), [0.0], raise_exception=False)
    assert_gradients_match(lambda vs: vs[0].relu() * 2 + abs(vs[0]))


def test_assert_gradients_match_reports_an_error_of_f_at_its_simplest_point():
    with pytest.raises(GradcheckError, match=r"f raised ValueError at \[0\.0\].*log needs x > 0"):
        assert_gradients_match(lambda vs: vs[0].log())


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"inputs": "x"}, TypeError, ["inputs", "str"]),
        ({"inputs": 0}, ValueError, ["inputs", "at least 1"]),
        ({"max_examples": 0}, ValueError, ["max_examples"]),
        ({"inputs": st.just("x")}, TypeError, ["draw numbers", "str"]),
    ],
)
def test_assert_gradients_match_misuse_gets_a_clear_error(kwargs, error, words):
    with pytest.raises(error) as info:
        assert_gradients_match(lambda vs: vs[0], **kwargs)
    for word in words:
        assert word in str(info.value)


def test_simplest_failure_shrinks_to_the_simplest_example_and_its_error():
    def check(xs):
        if sum(xs) > 10:
            raise ValueError(f"too big: {xs}")

    example, error = simplest_failure(check, st.lists(st.integers(0, 100)))
    assert example == [11] and isinstance(error, ValueError) and "[11]" in str(error)
    assert simplest_failure(lambda x: None, st.integers()) is None


USER_CODE = """
from hypothesis import strategies as st
from tinygrad_edu import Value
from tinygrad_edu.testing import assert_gradients_match

def f(xs: list[Value]) -> Value:
    return xs[0] * xs[1]

assert_gradients_match(f, 2)
assert_gradients_match(f, st.lists(st.floats(-2, 2), min_size=2, max_size=2))
assert_gradients_match(lambda xs: xs[0].tanh(), st.floats(-2, 2))
"""


def test_a_users_type_checker_accepts_the_documented_uses(tmp_path, monkeypatch):
    # Point once said numbers.Real, which mypy does not count a float as: st.floats() was refused
    mypy_api = pytest.importorskip("mypy.api")
    (tmp_path / "user.py").write_text(USER_CODE)
    monkeypatch.setenv("MYPYPATH", str(Path(__file__).resolve().parents[1]))
    cache = ["--cache-dir", str(tmp_path / "cache"), "--follow-imports=silent"]
    out, err, status = mypy_api.run([str(tmp_path / "user.py"), *cache])
    assert status == 0, out + err
    assert (Path(__file__).resolve().parents[1] / "tinygrad_edu" / "py.typed").is_file()
