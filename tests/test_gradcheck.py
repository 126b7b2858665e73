"""Gradient checking: central differences, and what a failed check tells you."""

import math

import pytest

from tinygrad_edu import (
    MLP,
    GradcheckError,
    Value,
    gradcheck,
    gradcheck_module,
    gradgradcheck,
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


def test_the_step_is_relative_to_the_point_past_1_so_large_inputs_check():
    # a fixed step of 1e-6 vanishes next to 1e154 (1e154 + 1e-6 == 1e154): the difference was 0
    (slope,) = numerical_grad(lambda vs: vs[0] * vs[0], [1e154])
    assert slope == pytest.approx(2e154, rel=1e-9)
    assert gradcheck(lambda vs: vs[0] * vs[0], [1e154]) is True
    assert gradcheck(lambda vs: (vs[0] * 1e-150).tanh() + vs[1] ** 3, [-3e150, 1e5]) is True
    # at |x| <= 1 the step is eps itself: for x^3 the difference is exactly 3x^2 + step^2
    (small,) = numerical_grad(lambda vs: vs[0] ** 3, [0.5], eps=0.1)
    assert small == pytest.approx(3 * 0.25 + 0.01, rel=1e-12)
    (large,) = numerical_grad(lambda vs: vs[0] ** 3, [4.0], eps=0.1)  # a step of 0.4
    assert large == pytest.approx(3 * 16.0 + 0.16, rel=1e-12)


def test_a_point_too_near_the_edge_of_fs_domain_is_named_as_given():
    for check in (gradcheck, numerical_grad, gradgradcheck):
        with pytest.raises(ValueError) as info:
            check(lambda vs: vs[1] * vs[0].log(), [1e-7, 2.0])
        message = str(info.value)
        assert message.startswith("cannot check the derivative at inputs[0] = 1e-07:")
        assert "a step of 1e-06" in message and "log needs x > 0" in message
        assert "smaller eps" in message and "\n" not in message
    assert gradcheck(lambda vs: vs[0].log(), [1e-7], eps=1e-9) is True  # as it suggests


def test_a_point_on_a_kink_or_within_a_step_of_one_is_said_to_be():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda vs: vs[0].relu() + vs[1].abs(), [0.0, 0.5])
    message = str(info.value)
    assert "inputs[0] = 0.0 puts the input of relu on its kink, at 0.0" in message
    assert "inputs[1]" not in message.split("\n", 3)[-1]  # 0.5 is away from abs's kink
    with pytest.raises(GradcheckError, match=r"relu at -5e-07, within a step \(1e-06\)"):
        gradcheck(lambda vs: (vs[0] - 5e-7).relu(), [0.0])
    with pytest.raises(GradcheckError, match="leaky_relu on its kink"):
        gradcheck(lambda vs: (vs[0] * 2).leaky_relu(0.1), [0.0])
    # a wrong derivative away from any kink says nothing of kinks
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda vs: wrong_square(vs[0].relu()), [3.0])
    assert "kink" not in str(info.value)
