"""PyTorch as an oracle: the same graphs, networks, losses and optimizer steps in float64
give the same values and gradients, to 1e-12 relative.

Both follow the same conventions (relu and abs have derivative 0 at 0, leaky_relu's slope
there, binary cross-entropy's logs clamped at -100), so no draw has to avoid a kink. What is
left is rounding: the engine sums exactly (math.fsum) where PyTorch rounds as it goes, and libm
and PyTorch's kernels may differ in the last bit of tanh or exp. A derivative such as
1 - tanh(x)^2 = 1.1e-5 (at x = 7.4) is computed by both from a tanh that is 1 - 1e-5, so it is
only known to about 1e-16 absolute: quantities smaller than 1 are therefore held to 1e-12
absolute, larger ones to 1e-12 relative.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import MLP, Value, losses, optim, to_torch
from tinygrad_edu.testing import OPS, expressions, mlps

torch = pytest.importorskip(
    "torch",
    reason="no PyTorch: tasks.py installs its pinned CPU build on Python 3.11 only",
)
F = torch.nn.functional

RTOL = 1e-12


def assert_close(ours, theirs, what):
    """|ours - theirs| <= RTOL * max(|ours|, |theirs|, 1), elementwise, or fail naming `what`."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, what
    scale = np.maximum(np.maximum(np.abs(ours), np.abs(theirs)), 1.0)
    relative_error = np.abs(ours - theirs) / scale
    worst = int(np.argmax(relative_error))
    assert relative_error.flat[worst] <= RTOL, (
        f"{what}: ours {ours.flat[worst]!r} vs torch {theirs.flat[worst]!r} "
        f"(error {relative_error.flat[worst]:.3g} of max(|x|, 1))"
    )


# --- random expression DAGs ------------------------------------------------------------------

# the torch equivalent of each op in tinygrad_edu.testing.OPS, on 0-d float64 tensors
TORCH_OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
    "+c": lambda a, c: a + c,
    "*c": lambda a, c: c * a,
    "c-": lambda a, c: c - a,
    "c/": lambda a, c: c / a,
    "2**": lambda a: 2.0**a,
    "neg": lambda a: -a,
    "**2": lambda a: a**2,
    "**3": lambda a: a**3,
    "**-1": lambda a: a**-1,
    "**0.5": lambda a: a**0.5,
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "leaky_relu": lambda a: F.leaky_relu(a, 0.01),
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sum": lambda a, b, c: torch.stack([a, b, c]).sum(),
    "dot": lambda a, b, c, d: torch.dot(torch.stack([a, b]), torch.stack([c, d])),
}


def test_every_op_the_strategies_draw_has_a_torch_equivalent():
    assert set(TORCH_OPS) == set(OPS)


def run_in_torch(expr):
    """expr's output and input gradients, computed by PyTorch in float64."""
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]
    registers = list(xs)
    for step in expr.steps:
        args = [registers[i] for i in step.operands]
        if step.constant is not None:
            args.append(step.constant)
        registers.append(TORCH_OPS[step.op](*args))
    out = registers[-1]
    out.backward()
    return out.item(), [0.0 if x.grad is None else x.grad.item() for x in xs]


@given(expressions())
def test_random_expression_dags_match_pytorch(expr):
    xs = [Value(x) for x in expr.inputs]
    out = expr(xs)
    out.backward()
    torch_out, torch_grads = run_in_torch(expr)
    assert_close(out.data, torch_out, f"value of\n{expr}")
    assert_close([x.grad for x in xs], torch_grads, f"gradients of\n{expr}")


# --- networks and losses ---------------------------------------------------------------------

# name: (our loss on a batch of outputs, torch's on an (N, nout) tensor, a target for one output)
LOSSES = {
    "mse": (losses.mse, F.mse_loss, st.floats(-2, 2)),
    "binary_cross_entropy": (
        lambda out, y: losses.binary_cross_entropy([[o.sigmoid() for o in row] for row in out], y),
        lambda out, y: F.binary_cross_entropy(torch.sigmoid(out), y),
        st.floats(0, 1),
    ),
    "binary_cross_entropy_with_logits": (
        losses.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        st.floats(0, 1),
    ),
    "hinge": (losses.hinge, lambda out, y: F.relu(1 - y * out).mean(), st.sampled_from([-1, 1])),
}


def torch_parameter_grads(net):
    """net's gradients in the order of model.parameters(): each row's weights, then its bias."""
    return np.concatenate(
        [np.concatenate([m.weight.grad.numpy(), m.bias.grad.numpy()[:, None]], axis=1).ravel()
         for m in net if isinstance(m, torch.nn.Linear)]
    )  # fmt: skip


def batch_for(model, data, target):
    nin = len(model.layers[0].neurons[0].w)
    nout = len(model.layers[-1].neurons)
    rows = st.lists(st.floats(-3, 3), min_size=nin, max_size=nin)
    x = data.draw(st.lists(rows, min_size=1, max_size=4), label="x")
    y = data.draw(
        st.lists(st.lists(target, min_size=nout, max_size=nout), min_size=len(x), max_size=len(x)),
        label="y",
    )
    return x, y


@pytest.mark.parametrize("name", LOSSES)
@given(model=mlps(), data=st.data())
def test_mlps_with_each_loss_match_pytorch(name, model, data):
    ours, theirs, target = LOSSES[name]
    x, y = batch_for(model, data, target)
    net = to_torch(model)
    loss = ours([model(row) for row in x], y)
    loss.backward()
    torch_loss = theirs(
        net(torch.tensor(x, dtype=torch.float64)), torch.tensor(y, dtype=torch.float64)
    )
    torch_loss.backward()
    assert_close(loss.data, torch_loss.item(), f"{name} loss")
    assert_close(
        [p.grad for p in model.parameters()], torch_parameter_grads(net), f"{name} gradients"
    )


@given(model=mlps(), data=st.data())
def test_mlps_with_cross_entropy_match_pytorch(model, data):
    x, _ = batch_for(model, data, st.just(0.0))
    nout = len(model.layers[-1].neurons)
    t = data.draw(st.lists(st.integers(0, nout - 1), min_size=len(x), max_size=len(x)), label="t")
    net = to_torch(model)
    loss = losses.cross_entropy([model(row) for row in x], t)
    loss.backward()
    torch_loss = F.cross_entropy(net(torch.tensor(x, dtype=torch.float64)), torch.tensor(t))
    torch_loss.backward()
    assert_close(loss.data, torch_loss.item(), "cross_entropy loss")
    assert_close(
        [p.grad for p in model.parameters()], torch_parameter_grads(net), "cross_entropy gradients"
    )


# --- optimizer steps -------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": (
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: torch.optim.SGD(ps, lr=0.1),
    ),
    "SGD with momentum and weight decay": (
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    "Adam": (
        lambda ps: optim.Adam(ps, lr=0.01),
        lambda ps: torch.optim.Adam(ps, lr=0.01),
    ),
    "Adam with weight decay": (
        lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_take_pytorchs_steps(name):
    make_ours, make_theirs = OPTIMIZERS[name]
    model = MLP(2, [8, 8, 1], activation="tanh", seed=3)
    net = to_torch(model)
    ours, theirs = make_ours(model.parameters()), make_theirs(net.parameters())
    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(-2, 2, (8, 2)), np.sin(3 * rng.uniform(-1, 1, (8, 1)))
    for _ in range(20):
        loss = losses.mse([model(x) for x in xs.tolist()], ys.tolist())
        ours.zero_grad()
        loss.backward()
        ours.step()
        torch_loss = F.mse_loss(net(torch.from_numpy(xs)), torch.from_numpy(ys))
        theirs.zero_grad()
        torch_loss.backward()
        theirs.step()
        assert_close(loss.data, torch_loss.item(), f"{name} loss")
    torch_weights = [
        np.concatenate([m.weight.detach().numpy(), m.bias.detach().numpy()[:, None]], axis=1)
        for m in net
        if isinstance(m, torch.nn.Linear)
    ]
    assert_close(
        [p.data for p in model.parameters()],
        np.concatenate([w.ravel() for w in torch_weights]),
        f"{name} weights after 20 steps",
    )
    assert math.isfinite(loss.data)
