"""state_dict and load_state_dict: PyTorch's layout, exact copies, and all-or-nothing loads."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Layer, Module, Neuron, Value, optim
from tinygrad_edu.testing import mlps


def bits(model):
    """The parameters' data as raw bytes: equal only if every float is bit-identical."""
    return np.array([p.data for p in model.parameters()]).tobytes()


def test_an_mlp_gives_each_layer_as_a_weight_matrix_and_a_bias_vector():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [state[k].shape for k in state] == [(3, 2), (3,), (1, 3), (1,)]
    assert all(a.dtype == np.float64 for a in state.values())
    neurons = model.layers[0].neurons
    assert state["layers.0.weight"][2, 1] == neurons[2].w[1].data  # row = neuron, column = input
    assert state["layers.1.bias"][0] == model.layers[1].neurons[0].b.data


def test_a_layer_and_a_neuron_are_laid_out_like_torch_linear():
    layer = Layer(4, 2, rng=0)
    assert {k: v.shape for k, v in layer.state_dict().items()} == {"weight": (2, 4), "bias": (2,)}
    neuron = Neuron(3, rng=0)
    state = neuron.state_dict()
    assert {k: v.shape for k, v in state.items()} == {"weight": (1, 3), "bias": (1,)}
    assert state["weight"].tolist() == [[w.data for w in neuron.w]]


def test_a_users_module_gives_its_values_by_name_and_nests_its_modules():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.shifts = [Value(1.0), Value(-1.0)]
            self.inner = Neuron(1, activation="linear", rng=0)
            self._cache = Value(9.0)  # private: not state

    state = Affine().state_dict()
    assert list(state) == ["scale", "shifts.0", "shifts.1", "inner.weight", "inner.bias"]
    assert state["scale"].shape == () and state["scale"] == 2.0


@given(mlps())
def test_layout_names_the_states_arrays_and_shapes_in_order_without_building_anything(model):
    state = model.state_dict()
    assert MLP.layout(model.nin, model.nouts) == {k: a.shape for k, a in state.items()}
    assert list(MLP.layout(model.nin, model.nouts)) == list(state)  # the order too
    for layer in model.layers:
        assert Layer.layout(layer.nin, layer.nout) == {
            k: a.shape for k, a in layer.state_dict().items()
        }
        first = layer.neurons[0]
        assert Neuron.layout(first.nin) == {k: a.shape for k, a in first.state_dict().items()}


@given(mlps())
def test_a_layers_arrays_in_parameter_order_are_its_parameters(model):
    flat = [
        x
        for layer in model.layers
        for x in Layer.in_parameter_order(**layer.state_dict()).tolist()
    ]
    assert flat == [p.data for p in model.parameters()]


@given(mlps())
def test_the_settings_build_the_same_architecture_again(model):
    for module in (model, model.layers[-1], model.layers[0].neurons[0]):
        settings = {name: getattr(module, name) for name in type(module).SETTINGS}
        again = type(module)(**settings)
        assert repr(again) == repr(module)
        assert {k: a.shape for k, a in again.state_dict().items()} == {
            k: a.shape for k, a in module.state_dict().items()
        }


@given(mlps())
def test_every_parameter_is_in_the_state_exactly_once(model):
    values = np.concatenate([a.ravel() for a in model.state_dict().values()])
    assert sorted(values.tolist()) == sorted(p.data for p in model.parameters())


def test_the_state_is_a_copy():
    model = MLP(2, [2], seed=0)
    before = bits(model)
    model.state_dict()["layers.0.weight"][:] = 5.0
    assert bits(model) == before


@given(source=mlps(), seed=st.integers(0, 2**32 - 1))
def test_loading_a_state_copies_every_float_exactly(source, seed):
    sizes = [len(layer.neurons) for layer in source.layers]
    target = MLP(len(source.layers[0].neurons[0].w), sizes, seed=seed)
    target.load_state_dict(source.state_dict())
    assert bits(target) == bits(source)


def test_loading_keeps_the_values_so_an_optimizer_still_holds_them():
    model = MLP(2, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = 1.0
    model.load_state_dict(MLP(2, [2, 1], seed=1).state_dict())
    loaded = [p.data for p in model.parameters()]
    assert all(p.grad == 1.0 for p in model.parameters())  # gradients are left alone
    opt.step()
    assert [p.data for p in model.parameters()] == [x - 0.1 for x in loaded]


def test_lists_ints_and_float32_arrays_are_accepted():
    model = MLP(2, [1], seed=0)
    model.load_state_dict({"layers.0.weight": [[1, 2]], "layers.0.bias": np.float32([0.5])})
    assert [p.data for p in model.parameters()] == [1.0, 2.0, 0.5]


def test_non_strict_loading_reports_missing_and_unexpected_keys():
    model = MLP(2, [2, 1], seed=0)
    old_second_layer = model.state_dict()["layers.1.weight"]
    result = model.load_state_dict(
        {"layers.0.weight": np.ones((2, 2)), "layers.0.bias": [1.0, 1.0], "extra": 3.0},
        strict=False,
    )
    assert result.missing_keys == ["layers.1.weight", "layers.1.bias"]
    assert result.unexpected_keys == ["extra"]
    assert model.state_dict()["layers.0.weight"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert np.array_equal(model.state_dict()["layers.1.weight"], old_second_layer)


@pytest.mark.parametrize("bad", [np.nan, np.inf, "shape"])
def test_a_bad_last_entry_changes_nothing_not_even_the_entries_before_it(bad):
    model = MLP(2, [3, 1], seed=0)
    before = bits(model)
    state = MLP(2, [3, 1], seed=1).state_dict()
    state["layers.1.bias"] = np.zeros((1, 1)) if bad == "shape" else np.array([bad])
    with pytest.raises(ValueError, match="layers.1.bias"):
        model.load_state_dict(state)
    assert bits(model) == before
