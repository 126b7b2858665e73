"""Gradient checking: central differences, and what a failed check tells you."""

import math

import pytest

from tinygrad_edu import (
    MLP,
    GradcheckError,
    Value,
    gradcheck,
    gradcheck_module,
    losses,
    numerical_grad,
    op,
)


def test_numerical_grad_is_a_central_difference_accurate_to_eps_squared():
    grads = numerical_grad(lambda vs: vs[0] ** 3 * vs[1], [2.0, 5.0])
    assert grads == pytest.approx([3 * 4.0 * 5.0, 8.0], rel=1e-9)


def test_numerical_grad_uses_the_given_eps():
    # for x^3 the central difference is exactly 3x^2 + eps^2
    (coarse,) = numerical_grad(lambda vs: vs[0] ** 3, [1.0], eps=0.1)
    assert coarse == pytest.approx(3.0 + 0.01, rel=1e-12)


def test_gradcheck_passes_a_correct_function():
    assert gradcheck(lambda vs: (vs[0] * vs[1]).tanh() + vs[0].exp(), [0.3, -1.2]) is True


@op
def wrong_square(x):
    """x^2 with the factor 2 forgotten in its derivative"""
    return x * x, (x,)


def test_gradcheck_catches_a_wrong_derivative_and_says_where():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda vs: vs[0] * 2 + wrong_square(vs[1]), [1.0, 3.0])
    message = str(info.value)
    assert "1 of 2 derivatives disagree" in message
    failed = [line for line in message.splitlines() if "FAIL" in line]
    assert len(failed) == 1
    cells = failed[0].split()
    assert cells[:4] == ["1", "3", "3", "6"]  # input 1, at 3.0: analytic 3, numeric 6


def test_gradcheck_can_return_false_instead_of_raising():
    assert gradcheck(lambda vs: wrong_square(vs[0]), [3.0], raise_exception=False) is False


def test_gradcheck_error_is_an_assertion_error_for_pytest():
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_module_checks_every_parameter_and_restores_the_model():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = float(i)  # grads from an earlier backward must survive the check
    before = [(p.data, p.grad) for p in model.parameters()]
    assert gradcheck_module(model, lambda m: losses.mse(m([0.5, -1.0]), [0.3]))
    assert [(p.data, p.grad) for p in model.parameters()] == before


def test_gradcheck_module_names_the_failing_parameter():
    model = MLP(1, [1], activation="linear", seed=0)
    with pytest.raises(GradcheckError, match=r"layers\.0\.neurons\.0\.w\.0.*FAIL"):
        gradcheck_module(model, lambda m: wrong_square(m([2.0])[0]))


def test_gradcheck_module_restores_the_model_when_the_loss_raises():
    model = MLP(1, [1], seed=0)
    before = [p.data for p in model.parameters()]

    def exploding_loss(m):
        if m.parameters()[0].data != before[0]:
            raise RuntimeError("boom")
        return m([1.0])[0]

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck_module(model, exploding_loss)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: gradcheck(lambda vs: [vs[0]], [1.0]), TypeError, ["single Value", "list"]),
        (lambda: gradcheck(lambda vs: 3.0, [1.0]), TypeError, ["single Value", "float"]),
        (lambda: numerical_grad(lambda vs: vs, [1.0]), TypeError, ["single Value"]),
        (lambda: gradcheck(lambda vs: vs[0], 1.0), TypeError, ["list of numbers"]),
        (lambda: gradcheck(lambda vs: vs[0], ["a"]), TypeError, ["inputs[0]", "str"]),
        (lambda: gradcheck(lambda vs: vs[0], [math.inf]), ValueError, ["inputs[0]", "finite"]),
        (lambda: gradcheck(lambda vs: vs[0], [1.0], eps=0), ValueError, ["eps", "positive"]),
        (lambda: gradcheck(lambda vs: vs[0], [1.0], atol=-1), ValueError, ["atol"]),
        (lambda: gradcheck_module([Value(1.0)], lambda m: m), TypeError, ["Module", "list"]),
    ],
)
def test_misuse_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_inputs_may_be_values_whose_data_is_used():
    assert numerical_grad(lambda vs: vs[0] * vs[0], [Value(3.0)]) == pytest.approx([6.0])
