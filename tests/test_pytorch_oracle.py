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

from tinygrad_edu import MLP, Value, hessian, losses, optim, to_torch
from tinygrad_edu.ops import OPS
from tinygrad_edu.testing import expressions, mlps

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

# the torch equivalent of each op of the op table, on 0-d float64 tensors (operands first,
# then the op's settings: x ** c and a ** b are both "**")
TORCH_OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
    "neg": lambda a: -a,
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "leaky_relu": lambda a, slope: F.leaky_relu(a, slope),
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sum": lambda *xs: torch.stack(list(xs)).sum(),
    "dot": lambda *wx: torch.dot(torch.stack(wx[: len(wx) // 2]), torch.stack(wx[len(wx) // 2 :])),
}


def as_tensor(x):
    return x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64)


def test_every_op_of_the_table_has_a_torch_equivalent():
    assert set(TORCH_OPS) == {fn.name for fn in OPS}


def torch_graph(expr, xs):
    """expr's steps applied to torch tensors xs; returns every register."""
    registers = list(xs)
    for step in expr.steps:
        args = [registers[i] if isinstance(i, int) else i for i in step.operands]
        if step.row.arity is None:  # sum and dot stack their operands: tensors, all of them
            args = [as_tensor(a) for a in args]
        registers.append(TORCH_OPS[step.op](*args, *step.settings))
    return registers


def run_in_torch(expr):
    """expr's output and input gradients, computed by PyTorch in float64."""
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]
    out = torch_graph(expr, xs)[-1]
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


# --- second derivatives: grad(..., create_graph=True) twice, against torch.autograd.grad ---

HESSIAN_RTOL = 1e-10


def torch_hessian(f, point):
    """d²f/dx_i dx_j by PyTorch: torch.autograd.grad with create_graph=True, twice."""
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = f(xs)
    first = torch.autograd.grad(out, xs, create_graph=True, allow_unused=True)
    rows = []
    for g in first:
        if g is None or not g.requires_grad:  # a constant first derivative: its row is 0
            rows.append([0.0] * len(xs))
            continue
        second = torch.autograd.grad(g, xs, retain_graph=True, allow_unused=True)
        rows.append([0.0 if s is None else s.item() for s in second])
    return rows


def assert_hessians_close(ours, theirs, what):
    scale = max(1.0, *(abs(h) for row in theirs for h in row))
    for i, (row, torch_row) in enumerate(zip(ours, theirs)):
        for j, (h, t) in enumerate(zip(row, torch_row)):
            assert abs(h - t) <= HESSIAN_RTOL * max(abs(h), abs(t), scale * 1e-3, 1.0), (
                f"{what}: d2/dx{i}dx{j} ours {h!r} vs torch {t!r}"
            )


@given(expressions(max_inputs=3, max_steps=10))
def test_second_derivatives_of_random_dags_match_pytorch(expr):
    ours = hessian(expr, expr.inputs)
    theirs = torch_hessian(lambda xs: torch_graph(expr, xs)[-1], expr.inputs)
    assert_hessians_close(ours, theirs, f"Hessian of\n{expr}")


LOSSES_BY_NAME = {
    "mse": (losses.mse, F.mse_loss, "tanh", "linear"),
    "bce_with_logits": (
        losses.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        "sigmoid",
        "linear",
    ),
    "bce": (losses.binary_cross_entropy, F.binary_cross_entropy, "tanh", "sigmoid"),
}


@pytest.mark.parametrize("loss_name", sorted(LOSSES_BY_NAME) + ["cross_entropy", "hinge"])
def test_second_derivatives_of_mlp_losses_match_pytorch(loss_name):
    # the Hessian of a batch loss with respect to every parameter of a 2-3-2 network
    model = MLP(2, [3, 2], activation="tanh", seed=4)
    rng = np.random.default_rng(4)
    batch = rng.uniform(-1.5, 1.5, size=(3, 2))
    if loss_name == "cross_entropy":
        targets = [0, 1, 1]
        ours_loss = lambda outs: losses.cross_entropy(outs, targets)  # noqa: E731
        torch_loss = lambda out: F.cross_entropy(out, torch.tensor(targets))  # noqa: E731
    elif loss_name == "hinge":
        model = MLP(2, [3, 1], activation="tanh", seed=4)
        labels = [1.0, -1.0, 1.0]
        ours_loss = lambda outs: losses.hinge([o[0] for o in outs], labels)  # noqa: E731
        torch_loss = lambda out: torch.relu(  # noqa: E731
            1 - torch.tensor(labels, dtype=torch.float64) * out[:, 0]
        ).mean()
    else:
        ours_fn, torch_fn, hidden, output = LOSSES_BY_NAME[loss_name]
        model = MLP(2, [3, 2], activation=hidden, output_activation=output, seed=4)
        targets = rng.uniform(0.1, 0.9, size=(3, 2)).tolist()
        ours_loss = lambda outs: ours_fn(outs, targets)  # noqa: E731
        torch_loss = lambda out: torch_fn(out, torch.tensor(targets, dtype=torch.float64))  # noqa: E731
    point = [p.data for p in model.parameters()]

    def ours(values):
        use_as_parameters(model, values)
        return ours_loss([model(x) for x in batch.tolist()])

    def theirs(tensors):
        net = to_torch(model)
        out = torch.func.functional_call(
            net, unflatten(net, torch.stack(tensors)), (torch.tensor(batch),)
        )
        return torch_loss(out)

    assert_hessians_close(hessian(ours, point), torch_hessian(theirs, point), loss_name)


def use_as_parameters(model, values):
    """Make ``values`` (in the order of model.parameters()) the model's parameters, so that
    the Hessian is taken with respect to them."""
    it = iter(values)
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.w = [next(it) for _ in neuron.w]
            neuron.b = next(it)


def unflatten(net, flat):
    """torch parameters for net from a flat vector in the order of MLP.parameters(): each
    neuron's weights then its bias, layer by layer."""
    params, start = {}, 0
    for name, module in net.named_children():
        if isinstance(module, torch.nn.Linear):
            nout, nin = module.weight.shape
            block = flat[start : start + nout * (nin + 1)].reshape(nout, nin + 1)
            params[f"{name}.weight"], params[f"{name}.bias"] = block[:, :nin], block[:, nin]
            start += nout * (nin + 1)
    return params
