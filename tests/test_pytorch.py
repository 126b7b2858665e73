"""The hand-off to PyTorch: to_torch builds the same network with the same weights, and
from_torch brings one back, bit for bit."""

import numpy as np
import pytest
from hypothesis import given

from tinygrad_edu import MLP, from_torch, to_torch
from tinygrad_edu.testing import mlps

torch = pytest.importorskip(
    "torch",
    reason="no PyTorch: tasks.py installs its pinned CPU build on Python 3.11 only",
)
nn = torch.nn


def test_to_torch_builds_linear_layers_and_activations_in_float64():
    net = to_torch(MLP(3, [4, 4, 2], activation="tanh", output_activation="sigmoid", seed=0))
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear, nn.Sigmoid]
    assert [(m.in_features, m.out_features) for m in net[::2]] == [(3, 4), (4, 4), (4, 2)]
    assert all(p.dtype == torch.float64 for p in net.parameters())


def test_a_linear_activation_adds_no_module():
    net = to_torch(MLP(2, [3, 1], activation="relu", output_activation="linear", seed=0))
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear]


@given(mlps())
def test_to_torch_copies_the_state_dict_exactly(model):
    state = model.state_dict()
    linears = [m for m in to_torch(model) if isinstance(m, nn.Linear)]
    for i, linear in enumerate(linears):
        assert np.array_equal(linear.weight.detach().numpy(), state[f"layers.{i}.weight"])
        assert np.array_equal(linear.bias.detach().numpy(), state[f"layers.{i}.bias"])


@given(mlps())
def test_from_torch_of_to_torch_gives_the_same_model_bit_for_bit(model):
    back = from_torch(to_torch(model))
    if len(model.layers) == 1:  # a one-layer net has no hidden activation to carry over
        back.activation = model.activation
    assert repr(back) == repr(model)
    ours = np.array([p.data for p in model.parameters()])
    theirs = np.array([p.data for p in back.parameters()])
    assert ours.tobytes() == theirs.tobytes()  # bit-exact, signed zeros included


def test_the_torch_network_computes_what_the_model_computes():
    model = MLP(3, [5, 2], activation="sigmoid", output_activation="tanh", seed=1)
    x = [0.3, -1.7, 2.2]
    expected = torch.tensor([v.data for v in model(x)], dtype=torch.float64)
    assert torch.allclose(to_torch(model)(torch.tensor(x, dtype=torch.float64)), expected)


def test_the_torch_network_is_independent_of_the_model():
    model = MLP(2, [1], seed=0)
    net = to_torch(model)
    with torch.no_grad():
        net[0].weight.fill_(7.0)
    assert all(p.data != 7.0 for p in model.parameters())


def test_from_torch_takes_a_float32_network_exactly():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))  # float32, as torch makes
    model = from_torch(net)
    assert repr(model) == "MLP(2, [3, 1], activation='relu', output_activation='linear')"
    assert np.array_equal(
        model.state_dict()["layers.0.weight"], net[0].weight.detach().double().numpy()
    )


def test_from_torch_skips_identity_and_gives_a_missing_bias_zeros():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Identity(), nn.Tanh(), nn.Linear(2, 1))
    model = from_torch(net.double())
    assert model.activation == "tanh" and model.output_activation == "linear"
    assert model.state_dict()["layers.0.bias"].tolist() == [0.0, 0.0]
    x = torch.tensor([0.5, -2.0], dtype=torch.float64)
    assert [v.data for v in model(x.tolist())] == pytest.approx(net(x).tolist(), rel=1e-15)


def test_a_trained_model_continues_training_in_torch():
    """The hand-off a learner makes: train here, move to PyTorch, keep going."""
    model = MLP(1, [8, 1], activation="tanh", seed=0)
    net = to_torch(model)
    xs = torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]
    ys = xs**2
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    first = torch.nn.functional.mse_loss(net(xs), ys).item()
    for _ in range(100):
        loss = torch.nn.functional.mse_loss(net(xs), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 10
