"""Losses: their values against the textbook formulas, their gradients, their stability."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Value, gradcheck, gradcheck_module, losses
from tinygrad_edu.testing import kink_free

finite = st.floats(-8, 8, allow_nan=False)


def values(xs):
    return [Value(x) for x in xs]


def grads_of(loss_fn, xs):
    vs = values(xs)
    loss = loss_fn(vs)
    loss.backward()
    return loss.data, [v.grad for v in vs]


def test_mse_value_and_gradient_two_times_error_over_n():
    preds, targets = [2.5, 0.0, 2.0], [3.0, -0.5, 2.0]
    loss, grads = grads_of(lambda vs: losses.mse(vs, targets), preds)
    assert loss == pytest.approx((0.25 + 0.25 + 0.0) / 3, rel=1e-15)
    assert grads == pytest.approx([2 * (p - t) / 3 for p, t in zip(preds, targets)], rel=1e-15)


def test_mse_of_a_batch_of_vectors_is_the_mean_over_every_element():
    preds, targets = [[1.0, 2.0], [3.0, 4.0]], [[0.0, 2.0], [3.0, 6.0]]
    assert losses.mse(preds, targets).data == pytest.approx((1 + 0 + 0 + 4) / 4)
    assert losses.mse(Value(3.0), 1.0).data == 4.0


def test_numpy_numbers_count_as_the_floats_they_hold():
    # float32 arithmetic would round (p - y)**2 to float32's 24 bits
    p, y = np.float32(0.1), np.float32(0.3)
    assert losses.mse([p], [y]).data == (float(p) - float(y)) ** 2
    assert losses.mse([p], [y]).data != float((p - y) ** 2)


def test_binary_cross_entropy_against_the_formula():
    p, y = [0.9, 0.2, 0.6], [1.0, 0.0, 1.0]
    expected = -np.mean([t * math.log(q) + (1 - t) * math.log(1 - q) for q, t in zip(p, y)])
    loss, grads = grads_of(lambda vs: losses.binary_cross_entropy(vs, y), p)
    assert loss == pytest.approx(expected, rel=1e-14)
    assert grads == pytest.approx([(q - t) / (q * (1 - q)) / 3 for q, t in zip(p, y)], rel=1e-14)


def test_binary_cross_entropy_of_a_saturated_probability_is_large_but_finite():
    loss = losses.binary_cross_entropy([Value(0.0), Value(1.0)], [1.0, 0.0])
    assert loss.data == pytest.approx(100.0)  # ln clamped at -100, as in PyTorch
    loss.backward()


def test_bce_with_logits_equals_bce_of_sigmoid_and_its_gradient_is_sigmoid_minus_y():
    z, y = [2.0, -1.0, 0.0], [1.0, 0.0, 0.3]
    with_logits, grads = grads_of(lambda vs: losses.binary_cross_entropy_with_logits(vs, y), z)
    probs = [1 / (1 + math.exp(-v)) for v in z]
    assert with_logits == pytest.approx(losses.binary_cross_entropy(probs, y).data, rel=1e-14)
    assert grads == pytest.approx([(p - t) / 3 for p, t in zip(probs, y)], rel=1e-14)


def test_softmax_sums_to_one_and_log_softmax_is_its_log():
    z = [1.0, 2.0, 3.0]
    probs = [p.data for p in losses.softmax(z)]
    expected = np.exp(z) / np.exp(z).sum()
    assert probs == pytest.approx(expected.tolist(), rel=1e-14) and sum(probs) == pytest.approx(1)
    assert [v.data for v in losses.log_softmax(z)] == pytest.approx(np.log(expected).tolist())


def test_cross_entropy_gradient_is_prediction_minus_one_hot():
    # seeds 001/002: for softmax + cross-entropy, dL/dz = ŷ - y
    z = [0.5, -1.0, 2.0, 0.1]
    loss, grads = grads_of(lambda vs: losses.cross_entropy(vs, 2), z)
    y_hat = np.exp(z) / np.exp(z).sum()
    assert loss == pytest.approx(-math.log(y_hat[2]), rel=1e-14)
    assert grads == pytest.approx((y_hat - np.eye(4)[2]).tolist(), abs=1e-15)


def test_cross_entropy_of_a_batch_is_the_mean():
    batch, targets = [[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]], [1, 0, 0]
    each = [losses.cross_entropy(z, t).data for z, t in zip(batch, targets)]
    assert losses.cross_entropy(batch, targets).data == pytest.approx(np.mean(each), rel=1e-15)


def test_hinge_is_micrograds_max_margin_loss():
    scores, labels = [2.0, 0.5, -0.3], [1, 1, -1]
    loss, grads = grads_of(lambda vs: losses.hinge(vs, labels), scores)
    assert loss == pytest.approx((0.0 + 0.5 + 0.7) / 3)
    assert grads == pytest.approx([0.0, -1 / 3, 1 / 3])


def test_l2_is_the_sum_of_squares_with_gradient_2p():
    ps = values([1.0, -2.0, 3.0])
    penalty = losses.l2(ps)
    penalty.backward()
    assert penalty.data == 14.0 and [p.grad for p in ps] == [2.0, -4.0, 6.0]
    assert penalty.op == "dot"  # one node, not a chain of squares


@pytest.mark.parametrize("big", [1000.0, -1000.0, 1e6])
def test_every_loss_is_finite_for_huge_logits(big):
    logits = [Value(big), Value(-big), Value(0.0)]
    results = [
        losses.cross_entropy(logits, 1),
        losses.binary_cross_entropy_with_logits(logits, [0.0, 1.0, 1.0]),
        losses.binary_cross_entropy([v.sigmoid() for v in logits], [0.0, 1.0, 1.0]),
        losses.log_softmax(logits)[1],
        losses.softmax(logits)[0],
    ]
    for loss in results:
        loss.backward()
        assert math.isfinite(loss.data)
        assert all(math.isfinite(v.grad) for v in logits)


@given(st.lists(finite, min_size=2, max_size=5), st.data())
def test_cross_entropy_gradients_agree_with_finite_differences(z, data):
    target = data.draw(st.integers(0, len(z) - 1), label="target")
    assert gradcheck(lambda vs: losses.cross_entropy(vs, target), z)


@given(st.lists(st.tuples(finite, st.floats(0, 1)), min_size=1, max_size=4))
def test_bce_with_logits_gradients_agree_with_finite_differences(pairs):
    z, y = [p[0] for p in pairs], [p[1] for p in pairs]
    assert gradcheck(lambda vs: losses.binary_cross_entropy_with_logits(vs, y), z)


@given(st.lists(st.tuples(st.floats(0.02, 0.98), st.floats(0, 1)), min_size=1, max_size=4))
def test_bce_gradients_agree_with_finite_differences(pairs):
    p, y = [q[0] for q in pairs], [q[1] for q in pairs]
    assert gradcheck(lambda vs: losses.binary_cross_entropy(vs, y), p, rtol=1e-4)


@given(st.lists(finite, min_size=1, max_size=5))
def test_softmax_and_log_softmax_gradients_agree_with_finite_differences(z):
    assert gradcheck(lambda vs: losses.softmax(vs)[0] * 3 + losses.softmax(vs)[-1], z)
    assert gradcheck(lambda vs: Value.sum(losses.log_softmax(vs)[::2]), z)


LOSSES_ON_ONE_OUTPUT = {
    "mse": lambda out, y: losses.mse(out, [y]),
    "bce": lambda out, y: losses.binary_cross_entropy([out[0].sigmoid()], [y]),
    "bce_with_logits": lambda out, y: losses.binary_cross_entropy_with_logits(out, [y]),
    "hinge": lambda out, y: losses.hinge(out, [1.0 if y > 0.5 else -1.0]),
}


@pytest.mark.parametrize("name", LOSSES_ON_ONE_OUTPUT)
@given(x=st.lists(st.floats(-2, 2), min_size=3, max_size=3), y=st.floats(0, 1))
def test_every_loss_backpropagates_correctly_through_an_mlp(name, x, y):
    model = MLP(3, [4, 1], activation="tanh", seed=0)
    loss_fn = LOSSES_ON_ONE_OUTPUT[name]
    if name == "hinge":  # keep the hinge's margin off its kink
        assume(kink_free(loss_fn(model(x), y)))
    assert gradcheck_module(model, lambda m: loss_fn(m(x), y))


@given(x=st.lists(st.floats(-2, 2), min_size=3, max_size=3), t=st.integers(0, 2))
def test_cross_entropy_backpropagates_correctly_through_an_mlp(x, t):
    model = MLP(3, [5, 3], activation="relu", seed=1)
    assume(kink_free(losses.cross_entropy(model(x), t)))
    assert gradcheck_module(model, lambda m: losses.cross_entropy(m(x), t))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: losses.mse([1.0, 2.0], [1.0]), ValueError, ["2 preds", "1 targets"]),
        (lambda: losses.mse([], []), ValueError, ["empty"]),
        (lambda: losses.mse("ab", [1.0]), TypeError, ["str"]),
        (lambda: losses.binary_cross_entropy([0.5], [2.0]), ValueError, ["2.0", "[0, 1]"]),
        (lambda: losses.binary_cross_entropy([1.5], [1.0]), ValueError, ["1.5", "probability"]),
        (lambda: losses.binary_cross_entropy([0.5], [Value(1.0)]), TypeError, ["plain numbers"]),
        (lambda: losses.hinge([0.5, 0.1], [1, 0]), ValueError, ["0.0", "-1 or +1"]),
        (lambda: losses.cross_entropy([1.0, 2.0], 2), ValueError, ["2", "out of range"]),
        (lambda: losses.cross_entropy([1.0, 2.0], -1), ValueError, ["-1", "out of range"]),
        (lambda: losses.cross_entropy([1.0, 2.0], 1.0), TypeError, ["int", "float"]),
        (lambda: losses.cross_entropy([[1.0, 2.0]], [0, 1]), ValueError, ["1 samples", "2"]),
        (lambda: losses.cross_entropy([[1.0, 2.0]], 0), TypeError, ["list of target"]),
        (lambda: losses.softmax([]), ValueError, ["at least one"]),
        (lambda: losses.softmax([[1.0], [2.0]]), ValueError, ["one sample"]),
        # a set has a length but no order (nor a first item to look at)
        (lambda: losses.cross_entropy({1.0, 2.0}, 0), TypeError, ["logits must be", "set"]),
        (lambda: losses.softmax({1.0, 2.0}), TypeError, ["logits must be", "set"]),
        # a dict's [0] is a key (a KeyError where it has none), not a first sample
        (lambda: losses.cross_entropy({"a": 1.0}, 0), TypeError, ["logits must be", "dict"]),
        (lambda: losses.softmax({1: 2.0}), TypeError, ["logits must be", "dict"]),
    ],
)
def test_bad_inputs_name_the_problem(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)
