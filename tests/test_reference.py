"""The numpy reference: hand-derived backprop that must agree with the engine's autograd."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_edu import MLP, losses, optim
from tinygrad_edu.reference import LOSSES, ReferenceMLP
from tinygrad_edu.testing import kink_free

ENGINE_LOSSES = {
    "mse": losses.mse,
    "bce": losses.binary_cross_entropy,
    "bce_with_logits": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
    "hinge": losses.hinge,
}
HIDDEN = ["relu", "tanh", "sigmoid", "linear"]


def engine_loss(model, X, Y, loss):
    return ENGINE_LOSSES[loss]([model(x.tolist()) for x in X], Y.tolist())


@st.composite
def problems(draw):
    """A random MLP, a loss that fits its output layer, and a batch with targets."""
    loss = draw(st.sampled_from(list(LOSSES)))
    output_activation = LOSSES[loss] or draw(st.sampled_from(HIDDEN))
    nin = draw(st.integers(1, 4))
    nouts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    if loss == "cross_entropy":
        nouts[-1] = max(nouts[-1], 2)
    model = MLP(
        nin,
        nouts,
        activation=draw(st.sampled_from(HIDDEN)),
        output_activation=output_activation,
        seed=draw(st.integers(0, 2**32 - 1)),
    )
    m = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.uniform(-2.0, 2.0, size=(m, nin))
    if loss == "cross_entropy":
        Y = rng.integers(0, nouts[-1], size=m)
    elif loss == "mse":
        Y = rng.normal(size=(m, nouts[-1]))
    elif loss == "hinge":
        Y = rng.choice([-1.0, 1.0], size=(m, nouts[-1]))
    else:
        Y = rng.uniform(0.0, 1.0, size=(m, nouts[-1]))
    return model, X, Y, loss


@given(problems())
def test_hand_derived_gradients_equal_the_engines_to_1e_10(problem):
    model, X, Y, loss = problem
    reference = ReferenceMLP.from_mlp(model)  # before the engine's graph exists
    value = engine_loss(model, X, Y, loss)
    assume(kink_free(value))  # a ReLU input near 0 could round to the other side in numpy
    value.backward()
    grads = reference.gradients(X, Y, loss)
    assert grads.loss == pytest.approx(value.data, rel=1e-12, abs=1e-15)
    engine = np.array([p.grad for p in model.parameters()])
    # atol: a gradient such as ŷ - y with ŷ ≈ 1 is a difference of nearly equal numbers, known
    # only to about 1e-16 absolute by either method, however small it is
    np.testing.assert_allclose(grads.flat(), engine, rtol=1e-10, atol=1e-14)


@given(problems())
def test_the_forward_pass_equals_the_engines(problem):
    model, X, _, _ = problem
    outputs = np.array([[v.data for v in model(x.tolist())] for x in X])
    # atol: an output near 0 is a sum of terms that nearly cancel, known only to about 1e-16
    # absolute either way (hypothesis found -1.3e-5 differing by 1.8e-17)
    reference = ReferenceMLP.from_mlp(model).forward(X)
    np.testing.assert_allclose(reference, outputs, rtol=1e-12, atol=1e-15)


def test_from_mlp_copies_weights_in_pytorch_layout_and_mlp_order():
    model = MLP(3, [4, 2], seed=0)
    reference = ReferenceMLP.from_mlp(model)
    assert [W.shape for W in reference.W] == [(4, 3), (2, 4)]
    assert [b.shape for b in reference.b] == [(4,), (2,)]
    assert reference.W[1][1, 2] == model.layers[1].neurons[1].w[2].data
    np.testing.assert_array_equal(reference.parameters(), [p.data for p in model.parameters()])
    model.layers[0].neurons[0].w[0].data = 123.0
    assert reference.W[0][0, 0] != 123.0  # a copy, not a view of the model


def test_the_seeds_simplification_dz2_equals_prediction_minus_target():
    """Seed 002: for one sample with sigmoid + BCE, db of the output layer is a2 - y."""
    reference = ReferenceMLP([[[1.0, -2.0]]], [[0.5]], output_activation="sigmoid")
    X, Y = np.array([[0.3, 0.1]]), np.array([[1.0]])
    a2 = 1.0 / (1.0 + np.exp(-(0.3 - 0.2 + 0.5)))
    grads = reference.gradients(X, Y, "bce")
    assert grads.db[0][0] == pytest.approx(a2 - 1.0, rel=1e-15)
    np.testing.assert_allclose(grads.dW[0], (a2 - 1.0) * X, rtol=1e-15)


def test_the_two_local_derivatives_of_a_linear_layer():
    """Seed 003: with MSE on Z = XW + b, dW = X.T @ 2(ŷ - y)/N (here W stored (nout, nin))."""
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    Y = np.array([[1.0], [0.0], [2.0]])
    reference = ReferenceMLP([[[0.2, -0.4]]], [[0.1]], output_activation="linear")
    error = X @ reference.W[0].T + reference.b[0] - Y
    grads = reference.gradients(X, Y, "mse")
    np.testing.assert_allclose(grads.dW[0], (X.T @ (2 * error / error.size)).T, rtol=1e-14)
    np.testing.assert_allclose(grads.db[0], (2 * error / error.size).sum(axis=0), rtol=1e-14)
    assert grads.loss == pytest.approx(np.mean(error**2), rel=1e-14)


def test_training_steps_match_sgd_on_the_engine():
    X = np.random.default_rng(1).normal(size=(8, 2))
    Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    model = MLP(2, [5, 1], activation="tanh", output_activation="sigmoid", seed=3)
    reference = ReferenceMLP.from_mlp(model)
    sgd = optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        loss = losses.binary_cross_entropy([model(x.tolist())[0] for x in X], Y.ravel().tolist())
        assert reference.train_step(X, Y, "bce", lr=0.5) == pytest.approx(loss.data, rel=1e-12)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    np.testing.assert_allclose(
        reference.parameters(), [p.data for p in model.parameters()], rtol=1e-11
    )


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ReferenceMLP([[[1.0]]], [[0.0]], activation="swish"), "unknown activation"),
        (lambda: ReferenceMLP([[[1.0]]], [], output_activation="linear"), "one bias vector"),
        (lambda: ReferenceMLP([[1.0]], [[0.0]]), r"\(nout, nin\)"),
        (
            lambda: ReferenceMLP([np.ones((3, 2)), np.ones((1, 2))], [np.ones(3), np.ones(1)]),
            "layer 1 takes 2 inputs but layer 0 gives 3",
        ),
    ],
)
def test_bad_shapes_and_names_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_loss_that_does_not_fit_the_output_layer_is_refused():
    reference = ReferenceMLP.from_mlp(MLP(2, [3, 2], seed=0))  # linear output
    X = np.zeros((1, 2))
    with pytest.raises(ValueError, match="bce is written for a sigmoid output layer"):
        reference.gradients(X, np.zeros((1, 2)), "bce")
    with pytest.raises(ValueError, match="unknown loss 'huber'"):
        reference.gradients(X, np.zeros((1, 2)), "huber")
    with pytest.raises(ValueError, match="hinge needs labels -1 or \\+1"):
        reference.gradients(X, np.zeros((1, 2)), "hinge")
    with pytest.raises(ValueError, match="class indices must be in 0..1"):
        reference.gradients(X, np.array([2]), "cross_entropy")
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        reference.forward(np.zeros((1, 3)))


def test_an_l2_penalty_matches_the_engines_hinge_plus_l2_step():
    """micrograd's demo loss: mean hinge + α Σ p² (benchmarks' A2 step), gradients included."""
    X = np.random.default_rng(2).normal(size=(6, 2))
    Y = np.where(X[:, :1] > 0, 1.0, -1.0)
    model = MLP(2, [4, 1], seed=5)
    reference = ReferenceMLP.from_mlp(model)
    params = model.parameters()
    loss = losses.hinge([model(x.tolist())[0] for x in X], Y.ravel().tolist()) + 1e-2 * losses.l2(
        params
    )
    loss.backward()
    grads = reference.gradients(X, Y, "hinge", l2=1e-2)
    assert grads.loss == pytest.approx(loss.data, rel=1e-12)
    np.testing.assert_allclose(grads.flat(), [p.grad for p in params], rtol=1e-10, atol=1e-14)
