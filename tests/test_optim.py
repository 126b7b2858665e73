"""Optimizers: PyTorch's update rules step by step, and training a convex loss to its minimum."""

import math

import pytest

from tinygrad_edu import MLP, Value, losses, optim


def quadratic(params, center=(3.0, -2.0)):
    """A convex bowl with its minimum at `center`."""
    return Value.sum([(p - c) ** 2 for p, c in zip(params, center)])


def test_sgd_step_is_p_minus_lr_times_grad():
    p = Value(1.0)
    p.grad = 0.5
    optim.SGD([p], lr=0.1).step()
    assert p.data == 1.0 - 0.1 * 0.5


def test_sgd_momentum_and_weight_decay_follow_pytorch():
    p = Value(1.0)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    p.grad = 0.5
    opt.step()  # g = 0.5 + 0.01 * 1.0 = 0.51, v = g, p = 1 - 0.1 * 0.51
    assert p.data == pytest.approx(1.0 - 0.051, rel=1e-15)
    p.grad = 0.2
    opt.step()  # g = 0.2 + 0.01 * 0.949, v = 0.9 * 0.51 + g
    g = 0.2 + 0.01 * 0.949
    assert p.data == pytest.approx(0.949 - 0.1 * (0.9 * 0.51 + g), rel=1e-15)


def test_adam_first_steps_match_the_formula():
    p = Value(1.0)
    opt = optim.Adam([p], lr=0.1)
    m = v = 0.0
    x = 1.0
    for t, g in enumerate([0.5, -0.3, 0.2], start=1):
        p.grad = g
        opt.step()
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        x -= 0.1 / (1 - 0.9**t) * m / (math.sqrt(v) / math.sqrt(1 - 0.999**t) + 1e-8)
        assert p.data == pytest.approx(x, rel=1e-14)
    assert opt.t == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: optim.Adam(ps, lr=0.1),
    ],
)
def test_optimizers_find_the_minimum_of_a_convex_loss(make):
    params = [Value(0.0), Value(0.0)]
    opt = make(params)
    first = quadratic(params).data
    for _ in range(300):
        loss = quadratic(params)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert quadratic(params).data < 1e-6 * first
    assert [p.data for p in params] == pytest.approx([3.0, -2.0], abs=1e-3)


def test_zero_grad_clears_the_grads():
    params = [Value(1.0), Value(2.0)]
    losses.l2(params).backward()
    opt = optim.SGD(params, lr=0.1)
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: optim.SGD([Value(1.0)], lr=-0.1), ValueError, ["lr", "-0.1", ">= 0"]),
        (lambda: optim.SGD([Value(1.0)], lr="0.1"), TypeError, ["lr", "str"]),
        (lambda: optim.SGD([Value(1.0)], lr=math.nan), ValueError, ["lr", "nan"]),
        (lambda: optim.SGD([Value(1.0)], lr=0.1, momentum=1.5), ValueError, ["momentum"]),
        (lambda: optim.SGD([Value(1.0)], lr=0.1, weight_decay=-1), ValueError, ["weight_decay"]),
        (lambda: optim.SGD([], lr=0.1), ValueError, ["empty"]),
        (lambda: optim.SGD([1.0], lr=0.1), TypeError, ["parameter 0", "float"]),
        (lambda: optim.SGD(Value(1.0), lr=0.1), TypeError, ["list of Values"]),
        (lambda: optim.Adam([Value(1.0)], betas=(0.9, 1.0)), ValueError, ["betas[1]"]),
        (lambda: optim.Adam([Value(1.0)], betas=0.9), ValueError, ["betas", "pair"]),
        (lambda: optim.Adam([Value(1.0)], eps=0.0), ValueError, ["eps"]),
        (lambda: optim.Adam([Value(1.0)], lr=-1e-3), ValueError, ["lr"]),
    ],
)
def test_bad_hyperparameters_say_what_is_allowed(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_a_repeated_parameter_is_refused():
    p = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)


def test_a_passed_model_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="list of Values"):
        optim.SGD(MLP(1, [1], seed=0), lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, 0.1, momentum=0.5), optim.Adam])
def test_a_non_finite_gradient_changes_nothing(make):
    params = [Value(1.0), Value(2.0)]
    opt = make(params)
    params[0].grad, params[1].grad = 0.1, math.nan
    state_before = dict(vars(opt))
    with pytest.raises(ValueError, match="parameter 1"):
        opt.step()
    assert [p.data for p in params] == [1.0, 2.0]
    assert {k: v for k, v in vars(opt).items() if k != "params"} == {
        k: v for k, v in state_before.items() if k != "params"
    }


def test_a_step_that_would_overflow_changes_nothing():
    params = [Value(1.0), Value(1e308)]
    params[0].grad, params[1].grad = 1.0, -1e308
    opt = optim.SGD(params, lr=10.0)
    with pytest.raises(OverflowError, match="parameter 1"):
        opt.step()
    assert [p.data for p in params] == [1.0, 1e308]
