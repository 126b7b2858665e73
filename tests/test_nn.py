"""Neurons, layers and MLPs: structure, initialization, calls, and their gradients."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Layer, Module, Neuron, Value, gradcheck_module, losses
from tinygrad_edu.testing import kink_free, mlps


def test_a_neuron_computes_act_of_w_dot_x_plus_b():
    n = Neuron(3, activation="tanh", rng=0)
    n.w = [Value(0.5), Value(-1.0), Value(2.0)]
    n.b = Value(0.25)
    y = n([1.0, 2.0, 3.0])
    assert y.data == pytest.approx(math.tanh(0.5 - 2.0 + 6.0 + 0.25), rel=1e-15)
    assert y.op == "tanh"
    z = y.children[0]
    assert z.op == "+" and z.children[0].op == "dot" and z.children[1] is n.b


@pytest.mark.parametrize("activation, op", [("relu", "relu"), ("sigmoid", "sigmoid")])
def test_the_activation_is_the_last_node(activation, op):
    assert Neuron(2, activation=activation, rng=0)([1.0, 1.0]).op == op


def test_a_linear_neuron_has_no_activation_node():
    assert Neuron(2, activation="linear", rng=0)([1.0, 1.0]).op == "+"


def test_layer_and_mlp_calls_always_return_lists():
    assert len(Layer(2, 3, rng=0)([1.0, 2.0])) == 3
    out = MLP(2, [4, 1], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_inputs_may_be_numbers_or_values_and_values_get_gradients():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    x = [Value(0.5), 2.0]
    model(x)[0].backward()
    assert x[0].grad != 0.0


def test_parameters_count_and_dotted_names():
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert len(model.parameters()) == 2 * 3 + 3 + 3 * 1 + 1
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert names[-1] == "layers.1.neurons.0.b"
    assert [p for _, p in model.named_parameters()] == model.parameters()


def test_a_users_own_module_finds_its_parameters():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.inner = Neuron(1, activation="linear", rng=0)
            self._cache = Value(9.0)  # private: not a parameter

    names = [name for name, _ in Affine().named_parameters()]
    assert names == ["scale", "inner.w.0", "inner.b"]


def test_zero_grad_clears_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 1.0])[0].backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_seed_zero_gives_these_weights_on_every_run_and_machine():
    model = MLP(2, [3, 1], seed=0)
    assert [round(p.data, 12) for p in model.parameters()] == [
        0.125730221093, -0.132104863291, 0.0,
        0.640422650443, 0.104900117153, 0.0,
        -0.535669373161, 0.361595054909, 0.0,
        0.922067274579, 0.669687371361, -0.497615957399, 0.0,
    ]  # fmt: skip
    again = MLP(2, [3, 1], seed=0)
    assert [p.data for p in again.parameters()] == [p.data for p in model.parameters()]
    assert [p.data for p in MLP(2, [3, 1], seed=1).parameters()] != [
        p.data for p in model.parameters()
    ]


def test_he_init_for_relu_and_glorot_for_the_others():
    def weight_std(layer):
        return np.std([w.data for n in layer.neurons for w in n.w])

    assert weight_std(Layer(1000, 100, "relu", rng=0)) == pytest.approx(math.sqrt(2 / 1000), 0.03)
    for activation in ("tanh", "sigmoid", "linear"):
        layer = Layer(1000, 100, activation, rng=0)
        assert weight_std(layer) == pytest.approx(math.sqrt(2 / 1100), rel=0.03)
    assert all(n.b.data == 0.0 for n in Layer(10, 5, rng=0).neurons)


def test_a_generator_can_be_shared_between_modules():
    rng = np.random.default_rng(7)
    a, b = Neuron(3, rng=rng), Neuron(3, rng=rng)
    assert [w.data for w in a.w] != [w.data for w in b.w]


def test_repr_says_what_the_model_is():
    assert repr(MLP(2, [16, 1], seed=0)) == (
        "MLP(2, [16, 1], activation='relu', output_activation='linear')"
    )
    assert repr(Neuron(3, "tanh", rng=0)) == "Neuron(3, activation='tanh')"


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: MLP(0, [1]), ValueError, ["nin", "0"]),
        (lambda: MLP(2, []), ValueError, ["nouts", "non-empty"]),
        (lambda: MLP(2, [3, 0]), ValueError, ["nouts", "0"]),
        (lambda: MLP(2, 3), ValueError, ["nouts"]),
        (lambda: MLP(2.5, [1]), TypeError, ["nin", "float"]),
        (lambda: MLP(2, [1], activation="gelu"), ValueError, ["gelu", "relu, tanh"]),
        (lambda: MLP(2, [1], output_activation="softmax"), ValueError, ["softmax"]),
        (lambda: Neuron(-1), ValueError, ["nin", "-1"]),
        (lambda: Layer(2, 0), ValueError, ["nout", "0"]),
        (lambda: MLP(2, [1], seed=0)([1.0]), ValueError, ["2", "1"]),
        (lambda: MLP(2, [1], seed=0)([1.0, 2.0, 3.0]), ValueError, ["2", "3"]),
        (lambda: Layer(3, 2, rng=0)([1.0]), ValueError, ["3", "1"]),
        (lambda: Neuron(2, rng=0)(1.0), TypeError, ["sequence"]),
        (lambda: MLP(2, [1], seed=0)([1.0, "x"]), TypeError, ["str"]),
    ],
)
def test_bad_arguments_say_what_is_allowed(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


@given(model=mlps(), data=st.data())
def test_mlp_parameter_gradients_agree_with_finite_differences(model, data):
    nin = len(model.layers[0].neurons[0].w)
    nout = len(model.layers[-1].neurons)
    x = data.draw(st.lists(st.floats(-2, 2), min_size=nin, max_size=nin), label="x")
    y = data.draw(st.lists(st.floats(-1, 1), min_size=nout, max_size=nout), label="y")
    assume(kink_free(losses.mse(model(x), y)))
    assert gradcheck_module(model, lambda m: losses.mse(m(x), y), atol=1e-5, rtol=1e-4)
