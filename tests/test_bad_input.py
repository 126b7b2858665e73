"""Bad input across the whole public API: a table of mistakes a learner makes.

Each row builds the objects involved, misuses them, and expects an exception of the right type
whose message names the problem; and every object involved (a Value, a model, an optimizer's
state, a random generator, a file, a directory) is exactly as it was before. The other test
modules check single cases of their own area; this is the one place that checks all of the API
for "nothing changed".
"""

import copy
import hashlib
import inspect
import io
import json
import math
import random
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu import (
    GPT,
    MLP,
    Bigram,
    GradcheckError,
    Layer,
    ModelFileError,
    Module,
    Neuron,
    Value,
    backprop_steps,
    decode,
    draw_graph,
    encode,
    from_torch,
    grad,
    gradcheck,
    gradcheck_module,
    gradgradcheck,
    hessian,
    jit,
    load,
    load_names,
    losses,
    numerical_grad,
    one_hot_batch,
    op,
    optim,
    reference,
    render,
    save,
    show_backprop,
    split_names,
    to_torch,
)
from tinygrad_edu.cli import main
from tinygrad_edu.optim import Optimizer
from tinygrad_edu.steps import GraphTooLargeError


@op
def no_value_rule(x):
    """x^2, with its derivative as a float only (no rule in Values)"""
    return x * x, (2 * x,)


@dataclass(frozen=True)
class Bad:
    """One misuse: ``make(tmp_path)`` builds the objects involved, ``misuse(them)`` must raise
    ``error`` with every one of ``words`` in its message (or, for the CLI, on stderr)."""

    make: Callable[[Path], Any]
    misuse: Callable[[Any], object]
    error: type
    words: tuple


def snapshot(x: Any) -> Any:
    """Everything observable about x, as plain data to compare with ==."""
    if isinstance(x, Value):
        return ("Value", x.data.hex(), repr(x.grad), x.label, x.op, x.local_grads, len(x.children))
    if isinstance(x, Module):
        return (repr(x), [(name, snapshot(p)) for name, p in x.named_parameters()])
    if isinstance(x, Optimizer):
        state = {k: copy.deepcopy(v) for k, v in vars(x).items() if k != "params"}
        return ("optimizer", snapshot(x.params), state)
    if isinstance(x, np.random.Generator):
        return x.bit_generator.state
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, Path):  # a directory, or a file and the directory around it
        directory = x if x.is_dir() else x.parent
        return {f.name: f.read_bytes() if f.is_file() else "dir" for f in directory.iterdir()}
    if isinstance(x, (list, tuple)):
        return tuple(snapshot(item) for item in x)
    if isinstance(x, dict):
        return {k: snapshot(v) for k, v in x.items()}
    if type(x).__module__.startswith("torch"):  # a torch module: its tensors' bytes
        return {k: v.detach().numpy().tobytes() for k, v in x.state_dict().items()}
    return x


# --- the objects the rows misuse -----------------------------------------------------------------


def values(*xs):
    vs = [Value(x) for x in xs]
    for i, v in enumerate(vs):
        v.grad = 0.25 * (i + 1)  # grads from an earlier backward(), which must survive
    return vs


def model(seed=0, nouts=(3, 1)):
    m = MLP(2, list(nouts), activation="tanh", seed=seed)
    m([0.5, -1.0])[0].backward()  # nonzero grads, which must survive too
    return m


class Empty(Module):
    """A module with no parameters at all."""


class Affine(Module):
    def __init__(self):
        self.scale = Value(2.0)


def trained_adam():
    m = model()
    opt = optim.Adam(m.parameters(), lr=0.01)
    opt.step()
    m.parameters()[2].grad = math.inf
    return opt


def trained_sgd():
    p = Value(1e308)
    opt = optim.SGD([p], lr=10.0, momentum=0.5)
    p.grad = 1.0
    opt.step()
    p.grad = -1e308
    return opt


def saved(tmp_path, edit=lambda text: text, name="m.json"):
    """A file holding model(seed=1), edited; and model(seed=0) to load it into."""
    path = tmp_path / name
    save(model(seed=1), path)
    path.write_bytes(edit(path.read_bytes()))
    return path, model(seed=0)


def json_edit(change):
    def edit(data):
        document = json.loads(data)
        change(document)
        return json.dumps(document).encode()

    return edit


def forged(change):
    """An edit of the file's document by its author: the sha256 is recomputed to match."""

    def forge(document):
        change(document)
        canonical = json.dumps(
            {k: document[k] for k in ("architecture", "state_dict")},
            sort_keys=True,
            separators=(",", ":"),
        )
        document["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()

    return json_edit(forge)


def set_first_weight(value):
    """A change of the file's first weight, for forged()."""
    return lambda d: d["state_dict"]["layers.0.weight"][0].__setitem__(0, value)


def with_a_file(tmp_path):
    """tmp_path, holding a file named afile."""
    (tmp_path / "afile").write_text("")
    return tmp_path


def chain(length):
    """x * 1.0 * 1.0 ...: a graph of length + 1 values."""
    y = Value(0.5, label="x")
    for _ in range(length):
        y = y * 1.0
    return y


def set_weight(value):
    """An edit of the file's first weight that leaves its checksum as it was."""
    return json_edit(lambda d: d["state_dict"]["layers.0.weight"][0].__setitem__(0, value))


def with_nan_weight(tmp_path):
    path, m = saved(tmp_path)
    m.parameters()[1].data = math.nan  # only by hand: no operation makes a non-finite Value
    return path, m


def torch_net(modules):
    """A torch.nn.Sequential of modules(torch.nn), or a skip when torch is not installed."""
    torch = pytest.importorskip(
        "torch",
        reason="no PyTorch: tasks.py installs its pinned CPU build on Python 3.11 only",
    )
    return torch.nn.Sequential(*modules(torch.nn))


def net_with_nan():
    net = torch_net(lambda nn: [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)])
    net[2].weight.data[0, 1] = math.nan
    return net


def names_file(tmp, text):
    """A file of names (one per line) holding ``text``."""
    path = tmp / "names.txt"
    path.write_text(text)
    return path


def small_gpt():
    return GPT(vocab_size=5, n_embd=4, n_head=2, block_size=3, seed=0)


def cli(argv, words):
    """The command line given ``argv``: argparse's usage error, exit status 2, naming ``words``."""
    return Bad(lambda tmp: tmp, lambda _: main(argv), SystemExit, words)


def graph_root():
    """tanh(3x) after backward(): a small graph to draw."""
    y = (Value(2.0, label="x") * 3).tanh()
    y.backward()
    return y


@contextmanager
def torch_missing():
    with mock.patch.dict(sys.modules, {"torch": None}):  # `import torch` now raises ImportError
        yield


def without_torch(f):
    def call(x):
        with torch_missing():
            return f(x)

    return call


@op
def nan_op(x):
    return math.nan, (1.0,)


@op
def bare_float(x):
    return 2 * x  # forgot the local derivatives


@op
def two_derivatives(x):
    return x, (1.0, 1.0)


@op
def binary(a, b):
    return a * b, (b, a)


def captured_step():
    """A model and a jitted loss of it, already captured (for a batch of two points)."""
    m = model()
    step = jit(lambda points: losses.mse([m(x)[0] for x in points], [0.0, 1.0]))
    step([[0.5, -1.0], [1.0, 2.0]])
    return m, step


def captured_log():
    """A parameter w and a jitted log(x * w), captured at x = 1."""
    w = values(2.0)[0]
    step = jit(lambda x: (x * w).log())
    step(1.0)
    return w, step


def state_with(**changes):
    """Another model's state (so that loading any of it would show), with some entries changed."""
    state = model(seed=1).state_dict()
    for key, value in changes.items():
        state[key.replace("__", ".")] = value
    return state


# --- the table -----------------------------------------------------------------------------------

TABLE = {
    # Value construction
    "Value of a Decimal": Bad(
        lambda _: Decimal("1.5"), Value, TypeError, ("Value data", "Decimal")
    ),
    "Value of a 0-d numpy array": Bad(
        lambda _: np.array(2.0), Value, TypeError, ("real number", "ndarray")
    ),
    "Value data set to a text": Bad(
        lambda _: values(2.0),
        lambda v: setattr(v[0], "data", "3"),
        TypeError,
        ("Value data", "str"),
    ),
    "Value data set beyond the float range": Bad(
        lambda _: values(2.0),
        lambda v: setattr(v[0], "data", 10**400),
        OverflowError,
        ("Value data", "too large for a float"),
    ),
    "Value with a bytes label": Bad(
        lambda _: b"x", lambda b: Value(1.0, label=b), TypeError, ("label", "bytes")
    ),
    # ops and their domains
    "log of a negative number": Bad(
        lambda _: values(-2.0), lambda v: v[0].log(), ValueError, ("log", "-2.0", "x > 0")
    ),
    "negative base to a fractional power": Bad(
        lambda _: values(-8.0), lambda v: v[0] ** (1 / 3), ValueError, ("-8.0", "integer exponent")
    ),
    "division by a Value holding 0": Bad(
        lambda _: values(3.0, 0.0),
        lambda v: v[0] / v[1],
        ZeroDivisionError,
        ("division by zero", "3.0", "0.0"),
    ),
    "exp beyond the float range": Bad(
        lambda _: values(710.0), lambda v: v[0].exp(), OverflowError, ("exp", "710.0", "overflow")
    ),
    "Value ** Value beyond the float range": Bad(
        lambda _: values(10.0, 400.0),
        lambda v: v[0] ** v[1],
        OverflowError,
        ("10.0", "400.0", "overflows"),
    ),
    "adding infinity": Bad(
        lambda _: values(2.0), lambda v: v[0] + math.inf, ValueError, ("finite", "inf")
    ),
    "multiplying by None": Bad(
        lambda _: values(2.0), lambda v: v[0] * None, TypeError, ("*", "NoneType")
    ),
    "Value.sum with a string in it": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: Value.sum([*v, "a"]),
        TypeError,
        ("Value.sum", "str"),
    ),
    "Value.sum of a single number": Bad(
        lambda _: None, lambda _: Value.sum(3), TypeError, ("Value.sum", "a list", "int 3")
    ),
    "a user's op that returns a bare float": Bad(
        lambda _: values(1.0),
        lambda v: bare_float(v[0]),
        TypeError,
        ("bare_float must return a pair (value, local_grads)", "float 2.0"),
    ),
    "apply given an op's name instead of its row": Bad(
        lambda _: values(1.0),
        lambda v: tinygrad_edu.apply("tanh", v[0]),
        TypeError,
        ("apply takes a row of the op table", "ops.TANH", "str", "'tanh'"),
    ),
    "apply of a two-operand row to one operand": Bad(
        lambda _: values(1.0),
        lambda v: tinygrad_edu.apply(tinygrad_edu.ops.MUL, v[0]),
        TypeError,
        ("* takes 2 operand(s)", "got 1"),
    ),
    "apply of x ** c without its exponent": Bad(
        lambda _: values(1.0),
        lambda v: tinygrad_edu.apply(tinygrad_edu.ops.POW_CONST, v[0]),
        TypeError,
        ("1 setting(s) (exponent)", "got 1"),
    ),
    "Value.dot of unequal lengths": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: Value.dot(v, v[:1]),
        ValueError,
        ("equal length", "2", "1"),
    ),
    "Value.dot whose products overflow with both signs": Bad(
        lambda _: None,
        lambda _: Value.dot([1e200, -1e200], [1e200, 1e200]),
        OverflowError,
        ("Value.dot of 2 pairs overflows a float", "ws[0] * xs[0] = 1e+200 * 1e+200"),
    ),
    "Value.dot of Values whose products overflow": Bad(
        lambda _: values(1e200, -1e200, 1e200, 1e200),
        lambda v: Value.dot(v[:2], v[2:]),
        OverflowError,
        ("Value.dot of 2 pairs overflows a float", "1e+200 * 1e+200", "float range"),
    ),
    "leaky_relu with a NaN slope": Bad(
        lambda _: values(-1.0),
        lambda v: v[0].leaky_relu(slope=math.nan),
        ValueError,
        ("slope", "nan"),
    ),
    "a user's op that returns NaN": Bad(
        lambda _: values(1.0), lambda v: nan_op(v[0]), ValueError, ("nan_op(1.0)", "finite")
    ),
    "a user's op with too many derivatives": Bad(
        lambda _: values(1.0),
        lambda v: two_derivatives(v[0]),
        ValueError,
        ("two_derivatives", "2 local derivatives", "1 operand"),
    ),
    "a binary op given one operand": Bad(
        lambda _: values(1.0), lambda v: binary(v[0]), TypeError, ("binary", "2 operand", "got 1")
    ),
    # nn constructors and calls
    "Neuron with an unknown activation": Bad(
        lambda _: np.random.default_rng(0),
        lambda rng: Neuron(3, activation="swish", rng=rng),
        ValueError,
        ("swish", "relu, tanh, sigmoid, linear"),
    ),
    "Layer with a float size": Bad(
        lambda _: np.random.default_rng(0),
        lambda rng: Layer(2, 3.0, rng=rng),
        TypeError,
        ("nout", "float", "3.0"),
    ),
    "MLP with a negative layer size": Bad(
        lambda _: np.random.default_rng(0),
        lambda rng: MLP(2, [4, -1], seed=rng),
        ValueError,
        ("nouts", "-1"),
    ),
    "MLP with a negative seed": Bad(
        lambda _: None, lambda _: MLP(2, [1], seed=-1), ValueError, ("seed", "-1")
    ),
    "Neuron with a string rng": Bad(
        lambda _: None, lambda _: Neuron(2, rng="abc"), TypeError, ("rng", "str", "abc")
    ),
    "a NaN input to an MLP": Bad(
        lambda _: model(),
        lambda m: m([1.0, math.nan]),
        ValueError,
        ("MLP input 1", "finite", "nan"),
    ),
    "a dict as an MLP's input": Bad(
        lambda _: model(), lambda m: m({0: 1.0, 1: 2.0}), TypeError, ("sequence", "dict")
    ),
    "a set as an MLP's input": Bad(
        lambda _: model(), lambda m: m({1.0, 2.0}), TypeError, ("sequence", "set")
    ),
    "a batch as a 2-d array to an MLP": Bad(
        lambda _: model(), lambda m: m(np.ones((1, 2))), ValueError, ("2 inputs", "got 1")
    ),
    # losses
    "mse of batches of different sizes": Bad(
        lambda _: values(1.0, 2.0, 3.0),
        lambda v: losses.mse([v[:2], v[2:]], [[1.0, 2.0], [3.0, 4.0]]),
        ValueError,
        ("3 preds", "4 targets"),
    ),
    "mse with a NaN target": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: losses.mse(v, [1.0, math.nan]),
        ValueError,
        ("mse", "targets[1]", "nan"),
    ),
    "mse of a dict": Bad(
        lambda _: values(1.0),
        lambda v: losses.mse({0: v[0]}, [1.0]),
        TypeError,
        ("mse", "dict"),
    ),
    "bce with logits and a label of -1": Bad(
        lambda _: values(0.5, -0.5),
        lambda v: losses.binary_cross_entropy_with_logits(v, [1.0, -1.0]),
        ValueError,
        ("target[1]", "-1.0", "[0, 1]"),
    ),
    "bce of a negative probability": Bad(
        lambda _: values(-0.2),
        lambda v: losses.binary_cross_entropy(v, [1.0]),
        ValueError,
        ("probs[0]", "-0.2", "probability"),
    ),
    "hinge with a label of 0.5": Bad(
        lambda _: values(0.3, -0.3),
        lambda v: losses.hinge(v, [1, 0.5]),
        ValueError,
        ("0.5", "-1 or +1"),
    ),
    "cross_entropy with a bool target": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: losses.cross_entropy(v, True),
        TypeError,
        ("target_index", "bool"),
    ),
    "cross_entropy with a target out of range in a batch": Bad(
        lambda _: values(1.0, 2.0, 3.0),
        lambda v: losses.cross_entropy([v, v], [0, 5]),
        ValueError,
        ("5", "out of range", "0 to 2"),
    ),
    "softmax of an infinite logit": Bad(
        lambda _: values(1.0),
        lambda v: losses.softmax([v[0], math.inf]),
        ValueError,
        ("softmax", "logits[1]", "inf"),
    ),
    "log_softmax of a batch": Bad(
        lambda _: [values(1.0, 2.0), values(0.5, 0.1)],
        losses.log_softmax,
        ValueError,
        ("log_softmax", "one sample", "a batch"),
    ),
    "l2 of a model instead of its parameters": Bad(
        lambda _: model(), losses.l2, TypeError, ("l2", "model.parameters()", "MLP")
    ),
    "l2 of plain numbers": Bad(
        lambda _: [1.0, 2.0], losses.l2, TypeError, ("parameter 0", "float", "not a Value")
    ),
    # optimizers
    "SGD with negative momentum": Bad(
        lambda _: values(1.0),
        lambda v: optim.SGD(v, lr=0.1, momentum=-0.5),
        ValueError,
        ("momentum", "-0.5"),
    ),
    "SGD with infinite weight decay": Bad(
        lambda _: values(1.0),
        lambda v: optim.SGD(v, lr=0.1, weight_decay=math.inf),
        ValueError,
        ("weight_decay", "inf"),
    ),
    "Adam with one beta": Bad(
        lambda _: values(1.0),
        lambda v: optim.Adam(v, betas=(0.9,)),
        ValueError,
        ("betas", "pair"),
    ),
    "Adam with lr=True": Bad(
        lambda _: values(1.0), lambda v: optim.Adam(v, lr=True), TypeError, ("lr", "bool")
    ),
    "Adam over a module without parameters": Bad(
        lambda _: Empty(),
        lambda m: optim.Adam(m.parameters()),
        ValueError,
        ("at least one parameter",),
    ),
    "SGD given named_parameters()": Bad(
        lambda _: model(),
        lambda m: optim.SGD(m.named_parameters(), lr=0.1),
        TypeError,
        ("parameter 0", "tuple"),
    ),
    "Adam step with an infinite gradient": Bad(
        lambda _: trained_adam(),
        lambda opt: opt.step(),
        ValueError,
        ("parameter 2", "inf", "nothing changed"),
    ),
    "SGD step that would overflow": Bad(
        lambda _: trained_sgd(),
        lambda opt: opt.step(),
        OverflowError,
        ("parameter 0", "non-finite", "learning rate"),
    ),
    # gradient checking
    "gradcheck of a function returning a list": Bad(
        lambda _: [1.0, 2.0],
        lambda xs: gradcheck(losses.softmax, xs),
        TypeError,
        ("single Value", "list"),
    ),
    "numerical_grad of a function returning a numpy float": Bad(
        lambda _: [1.0],
        lambda xs: numerical_grad(lambda vs: np.float64(1.0), xs),
        TypeError,
        ("single Value", "float64"),
    ),
    "gradcheck with a bool input": Bad(
        lambda _: [1.0, True],
        lambda xs: gradcheck(lambda vs: vs[0] * vs[1], xs),
        TypeError,
        ("inputs[1]", "bool"),
    ),
    "gradcheck with no inputs": Bad(
        lambda _: [],
        lambda xs: gradcheck(lambda vs: Value(1.0), xs),
        ValueError,
        ("at least one input",),
    ),
    "gradcheck of something not callable": Bad(
        lambda _: [1.0], lambda xs: gradcheck(3, xs), TypeError, ("f must be a function", "int")
    ),
    "gradcheck with a NaN rtol": Bad(
        lambda _: [1.0],
        lambda xs: gradcheck(lambda vs: vs[0], xs, rtol=math.nan),
        ValueError,
        ("rtol", "nan"),
    ),
    "gradcheck within a step of log's domain": Bad(
        lambda _: [1e-300],
        lambda xs: gradcheck(lambda vs: vs[0].log(), xs),
        ValueError,
        ("inputs[0] = 1e-300", "a step of 1e-06", "log needs x > 0", "smaller eps"),
    ),
    "gradcheck on relu's kink": Bad(
        lambda _: [0.0, 1.0],
        lambda xs: gradcheck(lambda vs: vs[0].relu() * vs[1], xs),
        GradcheckError,
        ("inputs[0] = 0.0", "kink", "relu", "away from the kink"),
    ),
    "grad of a list of outputs": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: grad(v, v),
        TypeError,
        ("one Value", "list", "call grad on each"),
    ),
    "grad by an input the output does not use": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: grad(v[0] * 3.0, v),
        ValueError,
        ("does not depend", "allow_unused=True"),
    ),
    "grad with create_graph through an @op with no rule in Values": Bad(
        lambda _: values(0.5),
        lambda v: grad(no_value_rule(v[0]), v, create_graph=True),
        NotImplementedError,
        ("no_value_rule", "@op(derivatives="),
    ),
    "hessian of a function returning a list": Bad(
        lambda _: [1.0, 2.0],
        lambda xs: hessian(losses.softmax, xs),
        TypeError,
        ("single Value", "list"),
    ),
    "gradgradcheck with a negative eps": Bad(
        lambda _: [1.0],
        lambda xs: gradgradcheck(lambda vs: vs[0] ** 3, xs, eps=-1e-6),
        ValueError,
        ("eps", "positive"),
    ),
    "backprop_steps of a number": Bad(
        lambda _: None, lambda _: backprop_steps(2.0), TypeError, ("backprop_steps", "float")
    ),
    "backprop_steps of a graph past the limit": Bad(
        lambda _: chain(10_000),
        backprop_steps,
        GraphTooLargeError,
        ("more than 10,000 values", "max_values=10000", "max_values=None"),
    ),
    "backprop_steps with max_values=0": Bad(
        lambda _: values(1.0),
        lambda v: backprop_steps(v[0] * 2, max_values=0),
        ValueError,
        ("max_values", "positive", "0"),
    ),
    "show_backprop with a tiny height": Bad(
        lambda _: values(1.0),
        lambda v: show_backprop(v[0].tanh(), height=10),
        ValueError,
        ("height", "10"),
    ),
    "@op on something not a function": Bad(
        lambda _: None, lambda _: op(3), TypeError, ("@op decorates a function", "int")
    ),
    "gradcheck_module with a loss_fn returning a list": Bad(
        lambda _: model(),
        lambda m: gradcheck_module(m, lambda net: net([1.0, 2.0])),
        TypeError,
        ("loss_fn", "single Value", "list"),
    ),
    "gradcheck_module of a module without parameters": Bad(
        lambda _: Empty(),
        lambda m: gradcheck_module(m, lambda net: Value(1.0)),
        ValueError,
        ("no parameters",),
    ),
    # load_state_dict
    "load_state_dict with a missing key": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict({k: v for k, v in m.state_dict().items() if "1.b" not in k}),
        ValueError,
        ("missing keys", "layers.1.bias"),
    ),
    "load_state_dict with an unexpected key": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict({**m.state_dict(), "layers.2.weight": np.ones((1, 1))}),
        ValueError,
        ("unexpected keys", "layers.2.weight"),
    ),
    "load_state_dict with a transposed weight": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict(state_with(layers__0__weight=np.ones((2, 3)))),
        ValueError,
        ("layers.0.weight", "(2, 3)", "(3, 2)", "transposed"),
    ),
    "load_state_dict with a NaN bias": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict(state_with(layers__0__bias=[0.0, math.nan, 0.0])),
        ValueError,
        ("layers.0.bias[1]", "nan", "not finite"),
    ),
    "load_state_dict with strings for weights": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict(state_with(layers__1__weight=[["a", "b", "c"]])),
        TypeError,
        ("layers.1.weight", "real numbers"),
    ),
    "load_state_dict with ragged rows": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict(state_with(layers__0__weight=[[1.0, 2.0], [3.0], [4.0]])),
        TypeError,
        ("layers.0.weight", "not an array of numbers"),
    ),
    "load_state_dict of a list": Bad(
        lambda _: model(),
        lambda m: m.load_state_dict(list(m.state_dict().values())),
        TypeError,
        ("mapping", "list"),
    ),
    # model files
    "load of a truncated file": Bad(
        lambda tmp: saved(tmp, lambda data: data[: len(data) // 2]),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("m.json", "truncated"),
    ),
    "load of a file from a newer version": Bad(
        lambda tmp: saved(tmp, json_edit(lambda d: d.update(version=2))),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("version 2", "reads version 1", "newer"),
    ),
    "load of a file whose version is a string": Bad(
        lambda tmp: saved(tmp, json_edit(lambda d: d.update(version="1"))),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("version '1'", "reads version 1"),
    ),
    "load of a file with a changed digit": Bad(
        lambda tmp: saved(tmp, set_weight(0.125)),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("corrupted", "sha256"),
    ),
    "load of a JSON file that is no model": Bad(
        lambda tmp: saved(tmp, lambda data: b"[1, 2, 3]"),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("not a tinygrad_edu model file",),
    ),
    "load of a binary file": Bad(
        lambda tmp: saved(tmp, lambda data: b"\x89PNG\r\n\x1a\n\xff\xfe"),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("not a tinygrad_edu model file", "UTF-8"),
    ),
    "load of a file holding NaN": Bad(
        lambda tmp: saved(tmp, set_weight(math.nan)),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("NaN", "finite"),
    ),
    "load of a file holding an integer beyond the float range": Bad(
        lambda tmp: saved(tmp, forged(set_first_weight(10**400))),
        lambda case: load(case[0], into=case[1]),
        ModelFileError,
        ("corrupted", "layers.0.weight", "integer beyond the float range"),
    ),
    "load of a forged file claiming 100,000,000 neurons": Bad(
        lambda tmp: saved(tmp, forged(lambda d: d["architecture"].update(nouts=[100_000_000, 1]))),
        lambda case: load(case[0]),  # before any check, this built the network for 77 s
        ModelFileError,
        ("m.json", "do not fit the architecture", "(100000000, 2)", "holds (3, 2)"),
    ),
    "load of a file of 100,000 nested brackets": Bad(
        lambda tmp: saved(tmp, lambda data: b"[" * 100_000 + b"]" * 100_000),
        lambda case: load(case[0]),  # json's RecursionError, once
        ModelFileError,
        ("m.json", "nests too deeply"),
    ),
    "load of a file holding 1e999": Bad(
        lambda tmp: saved(tmp, lambda data: data.replace(b'bias": [', b'bias": [1e999, ', 1)),
        lambda case: load(case[0], into=case[1]),  # json reads it as inf, a bare ValueError
        ModelFileError,
        ("m.json", "beyond the float range"),
    ),
    "load of a file that does not exist": Bad(
        lambda tmp: (tmp / "missing.json", model()),
        lambda case: load(case[0], into=case[1]),
        FileNotFoundError,
        ("missing.json",),
    ),
    "load into a model of another architecture": Bad(
        lambda tmp: (saved(tmp)[0], model(nouts=(4, 1))),
        lambda case: load(case[0], into=case[1]),
        ValueError,
        ("MLP(nin=2, nouts=[3, 1]", "cannot be loaded into", "MLP(2, [4, 1]"),
    ),
    "load of a custom module's file without into": Bad(
        lambda tmp: save(Affine(), tmp / "affine.json") or tmp / "affine.json",
        load,
        ValueError,
        ("custom Module", "into=module"),
    ),
    "load into a list": Bad(
        lambda tmp: saved(tmp),
        lambda case: load(case[0], into=case[1].parameters()),
        TypeError,
        ("into", "list"),
    ),
    "save into a directory that does not exist": Bad(
        lambda tmp: (tmp, model()),
        lambda case: save(case[1], case[0] / "no" / "m.json"),
        FileNotFoundError,
        ("does not exist",),
    ),
    "save onto a directory": Bad(
        lambda tmp: (tmp, model()),
        lambda case: save(case[1], case[0]),
        IsADirectoryError,
        ("is a directory",),
    ),
    "save of a model with a NaN weight over a good file": Bad(
        with_nan_weight,
        lambda case: save(case[1], case[0]),
        ValueError,
        ("cannot save", "layers.0.weight[0, 1]", "nan"),
    ),
    "save with the arguments swapped": Bad(
        lambda tmp: saved(tmp),
        lambda case: save(case[0], case[1]),
        TypeError,
        ("swapped",),
    ),
    "save to a path that is an int": Bad(
        lambda tmp: (tmp, model()), lambda case: save(case[1], 3), TypeError, ("path", "int")
    ),
    # the numpy reference network
    "ReferenceMLP of layers whose sizes do not chain": Bad(
        lambda _: ([np.ones((3, 2)), np.ones((1, 4))], [np.zeros(3), np.zeros(1)]),
        lambda wb: reference.ReferenceMLP(*wb),
        ValueError,
        ("layer 1 takes 4 inputs", "layer 0 gives 3"),
    ),
    # PyTorch interop
    "to_torch without torch installed": Bad(
        lambda _: model(),
        without_torch(to_torch),
        ImportError,
        ("to_torch needs PyTorch", "pip install", "tinygrad-edu[torch]"),
    ),
    "from_torch without torch installed": Bad(
        lambda _: None,
        without_torch(from_torch),
        ImportError,
        ("from_torch needs PyTorch", "tinygrad-edu[torch]"),
    ),
    "to_torch of a Layer": Bad(
        lambda _: Layer(2, 2, rng=0), to_torch, TypeError, ("to_torch takes an MLP", "Layer")
    ),
    "from_torch of layers whose sizes do not chain": Bad(
        lambda _: torch_net(lambda nn: [nn.Linear(2, 3), nn.Linear(4, 1)]),
        from_torch,
        ValueError,
        ("module 1", "Linear(4", "3 outputs"),
    ),
    "from_torch of a net with Dropout": Bad(
        lambda _: torch_net(lambda nn: [nn.Linear(2, 3), nn.Dropout()]),
        from_torch,
        ValueError,
        ("module 1", "Dropout", "cannot express"),
    ),
    "from_torch of two different hidden activations": Bad(
        lambda _: torch_net(
            lambda nn: [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)]
        ),
        from_torch,
        ValueError,
        ("different activations", "relu, tanh"),
    ),
    "from_torch of a net with a NaN weight": Bad(
        lambda _: net_with_nan(),
        from_torch,
        ValueError,
        ("module 2 (Linear, the MLP's layers.1)", "weight[0, 1] = nan"),
    ),
    "from_torch of a bare Linear": Bad(
        lambda _: torch_net(lambda nn: [nn.Linear(2, 1)])[0],
        from_torch,
        TypeError,
        ("Sequential", "Linear"),
    ),
    # jit
    "jit of something not callable": Bad(
        lambda _: None, lambda _: jit(3), TypeError, ("jit compiles a function", "int")
    ),
    "a jitted function that returns a float": Bad(
        lambda _: values(1.0),
        lambda v: jit(lambda x: x.data)(v[0]),
        TypeError,
        ("must return a Value", "or a non-empty list of Values", "float: 1.0"),
    ),
    "a jitted function that returns a list holding a number": Bad(
        lambda _: values(1.0),
        lambda v: jit(lambda x: [x * 2, 3.0])(v[0]),
        TypeError,
        ("must return a Value", "item 1 is a float"),
    ),
    "a NaN input to a replay": Bad(
        lambda _: captured_step(),
        lambda case: case[1]([[0.5, -1.0], [math.nan, 2.0]]),
        ValueError,
        ("input points[1][0] = nan", "not finite"),
    ),
    "a replay whose result is not finite": Bad(
        lambda _: captured_log(),
        lambda case: case[1](-1.0),
        ValueError,
        ("log(-2.0)", "log needs x > 0"),
    ),
    "a dict as a jitted function's input": Bad(
        lambda _: captured_step(),
        lambda case: case[1]({"a": [0.5, -1.0]}),
        TypeError,
        ("cannot capture input points", "dict", "numbers, Values, ints"),
    ),
    "a string as a jitted function's input": Bad(
        lambda _: captured_step(),
        lambda case: case[1](["0.5, -1.0", [1.0, 2.0]]),
        TypeError,
        ("cannot capture input points[0]", "str"),
    ),
    "a computed Value as a jitted function's input": Bad(
        lambda _: values(1.0, 2.0),
        lambda v: jit(lambda x: x * 2)(v[0] * v[1]),
        ValueError,
        ("input x is a computed Value", "pass its .data"),
    ),
    "jit's static_argnums as a string": Bad(
        lambda _: None,
        lambda _: jit(lambda x: x, static_argnums="1"),
        TypeError,
        ("static_argnums", "int or a tuple of ints", "str"),
    ),
    "a static argument past the last one": Bad(
        lambda _: values(1.0),
        lambda v: jit(lambda x: x * 2, static_argnums=(2,))(v[0]),
        TypeError,
        ("argument 2 is static", "1 argument"),
    ),
    "an unhashable static argument": Bad(
        lambda _: values(1.0),
        lambda v: jit(lambda x, d: x * d["k"], static_argnums=(1,))(v[0], {"k": 2.0}),
        TypeError,
        ("static argument d is a dict", "not hashable"),
    ),
    "a jitted training step that calls backward() and steps": Bad(
        lambda _: (lambda m: (m, optim.SGD(m.parameters(), lr=0.1)))(model()),
        lambda mo: jit(
            lambda x: (lambda loss: (mo[1].zero_grad(), loss.backward(), mo[1].step(), loss)[3])(
                mo[0](x)[0] ** 2
            )
        )([0.5, -1.0]),
        RuntimeError,
        ("calls backward()", "outside the jitted function", "put back what fn changed"),
    ),
    "a jitted function that reaches a Value jit cannot find again": Bad(
        lambda _: {Value(2.0)},
        lambda hidden: jit(lambda x: x * next(iter(hidden)))(1.0),
        RuntimeError,
        ("cannot find how fn reaches it", "Pass it to fn as an argument"),
    ),
    # the GPT, its names and the bigram baseline
    "load_names of an empty file": Bad(
        lambda tmp: names_file(tmp, "\n  \n"),
        load_names,
        ValueError,
        ("names.txt has no names", "empty or holds only blank lines"),
    ),
    "load_names of a name with a hyphen": Bad(
        lambda tmp: names_file(tmp, "emma\nAnne-Marie\n"),
        load_names,
        ValueError,
        ("line 2", "'Anne-Marie' has '-'", "not a letter a-z"),
    ),
    "load_names of a folder": Bad(
        lambda tmp: tmp, load_names, IsADirectoryError, ("is a folder", "one per line")
    ),
    "load_names of a file that does not exist": Bad(
        lambda tmp: tmp / "nowhere.txt",
        load_names,
        FileNotFoundError,
        ("nowhere.txt", "no such file"),
    ),
    "load_names of a name too long for the context": Bad(
        lambda tmp: names_file(tmp, "ann\nmaximilianus\n"),
        lambda path: load_names(path, max_letters=5),
        ValueError,
        ("line 2", "'maximilianus' has 12 letters", "more than the 5"),
    ),
    "split_names of one name": Bad(
        lambda _: ["emma"], split_names, ValueError, ("at least 2 names", "got 1")
    ),
    "encode of a capitalised name": Bad(
        lambda _: "Emma", encode, ValueError, ("'Emma' has 'E'", "lower-case letters a-z")
    ),
    "decode of a token out of range": Bad(
        lambda _: [26, 4, 27], decode, ValueError, ("27 is not a token", "from 0 to 26")
    ),
    "one_hot_batch of a name longer than its positions": Bad(
        lambda _: ["christine"],
        lambda batch: one_hot_batch(batch, 5),
        ValueError,
        ("'christine' needs 10 positions", "more than 5"),
    ),
    "Bigram of no names": Bad(lambda _: [], Bigram, ValueError, ("at least one name",)),
    "GPT whose heads do not divide its dimensions": Bad(
        lambda _: None,
        lambda _: GPT(n_embd=10, n_head=4),
        ValueError,
        ("n_embd must be a multiple of n_head", "n_embd=10", "n_head=4"),
    ),
    "GPT.loss of token rows of the wrong size": Bad(
        lambda _: small_gpt(),
        lambda model: model.loss([[[1.0, 0.0]]], [[[0.0, 1.0]]]),
        ValueError,
        ("one-hot row of vocab_size = 5", "got 2"),
    ),
    "GPT.loss of a sequence longer than the context": Bad(
        lambda _: small_gpt(),
        lambda model: model.loss([[[1.0] * 5] * 4], [[[1.0] * 5] * 4]),
        ValueError,
        ("1 to block_size = 3 tokens", "got 4"),
    ),
    "GPT.generate at temperature 0": Bad(
        lambda _: small_gpt(),
        lambda model: model.generate(4, random.Random(0), temperature=0),
        ValueError,
        ("temperature must be a positive number", "got 0"),
    ),
    # drawing graphs
    "render to a .pdf": Bad(
        lambda tmp: (tmp, graph_root()),
        lambda case: render(case[1], case[0] / "g.pdf"),
        ValueError,
        ("g.pdf", "'pdf'", "svg, png, gv"),
    ),
    "render to a path with no suffix": Bad(
        lambda tmp: (tmp, graph_root()),
        lambda case: render(case[1], case[0] / "graph"),
        ValueError,
        ("no suffix", "svg, png"),
    ),
    "render into a folder that does not exist": Bad(
        lambda tmp: (tmp, graph_root()),
        lambda case: render(case[1], case[0] / "nowhere" / "g.svg"),
        FileNotFoundError,
        ("no directory", "nowhere", "g.svg"),
    ),
    "render to a number instead of a path": Bad(
        lambda tmp: (tmp, graph_root()),
        lambda case: render(case[1], 5),
        TypeError,
        ("render", "path", "int"),
    ),
    "draw_graph of a float": Bad(
        lambda _: 3.0, draw_graph, TypeError, ("draw_graph needs a Value", "float")
    ),
    "draw_graph with rankdir='UP'": Bad(
        lambda _: graph_root(),
        lambda root: draw_graph(root, rankdir="UP"),
        ValueError,
        ("rankdir", "LR, RL, TB, BT", "'UP'"),
    ),
    "draw_graph with max_nodes=0": Bad(
        lambda _: graph_root(),
        lambda root: draw_graph(root, max_nodes=0),
        ValueError,
        ("max_nodes", "positive", "0"),
    ),
    # a lesson's "your turn" check
    "a your-turn answer with a ... left in it": Bad(
        lambda _: [0.7, ..., 0.1],
        tinygrad_edu.attempted,
        ValueError,
        ("[0.7, Ellipsis, 0.1]", "still holds a ..."),
    ),
    # the command line
    "graph with a syntax error": cli(
        ["graph", "x +* y", "--set", "x=1", "--set", "y=2"], ("graph: error", "column 4", "'*'")
    ),
    "graph calling a function not on the allow-list": cli(
        ["graph", "__import__('os')", "--set", "x=1"],
        ("graph: error", "column 1", "unknown function"),
    ),
    "graph with a variable left unset": cli(
        ["graph", "x*y", "--set", "x=1"], ("column 3", "y has no value", "y=NUMBER")
    ),
    "graph --set x=nan": cli(
        ["graph", "x", "--set", "x=nan"], ("--set", "'nan'", "not a finite number")
    ),
    "graph -o g.pdf": cli(
        ["graph", "x", "--set", "x=1", "-o", "g.pdf"], ("--output", "'pdf'", "svg, png")
    ),
    "graph of log at -1": cli(
        ["graph", "log(x)", "--set", "x=-1"], ("log(x)", "log needs x > 0", "-1.0")
    ),
    "graph -o into /proc": cli(
        ["graph", "x", "--set", "x=1", "-o", "/proc/a.svg"],
        ("--output", "cannot write /proc/a.svg"),
    ),
    "graph of 2x": cli(["graph", "2x + 1", "--set", "x=1"], ("column 1", "'2x'", "write 2*x")),
    "graph with no expression": cli(["graph", "--set", "x=1"], ("required", "EXPR")),
    "graph with an unknown option": cli(
        ["graph", "x", "--set", "x=1", "--bogus"], ("graph: error", "unrecognized", "--bogus")
    ),
    "demo of an unknown network": cli(["demo", "mnist"], ("invalid choice", "'mnist'", "neuron")),
    "demo --epochs 0": cli(
        ["demo", "neuron", "--epochs", "0"], ("--epochs", "positive integer", "0")
    ),
    "demo names --batch 0": cli(
        ["demo", "names", "--batch", "0"], ("--batch", "positive integer", "0")
    ),
    "demo names --data of an empty file": Bad(
        lambda tmp: names_file(tmp, ""),
        lambda path: main(["demo", "names", "--data", str(path)]),
        SystemExit,
        ("argument --data", "names.txt has no names"),
    ),
    "demo names --data of a folder": Bad(
        lambda tmp: tmp,
        lambda path: main(["demo", "names", "--data", str(path)]),
        SystemExit,
        ("argument --data", "is a folder"),
    ),
    "demo with no name": cli(["demo"], ("choose a demo", "neuron, feedforward")),
    "demo --seed -5": cli(["demo", "neuron", "--seed", "-5"], ("--seed", "integer >= 0", "-5")),
    "demo --out under a file": Bad(
        with_a_file,
        lambda tmp: main(["demo", "neuron", "--out", str(tmp / "afile" / "pictures")]),
        SystemExit,
        ("--out", "cannot be a folder", "afile' is a file"),
    ),
    "demo --out where no folder can be made": cli(
        ["demo", "neuron", "--out", "/proc/tinygrad-edu"],
        ("--out", "cannot make the folder '/proc/tinygrad-edu'", "choose a folder"),
    ),
    "exercises check of a folder that does not exist": Bad(
        lambda tmp: tmp,
        lambda _: sys.exit(main(["exercises", "check", "nowhere"])),
        SystemExit,
        ("nowhere is not a folder of exercises", "exercises init nowhere"),
    ),
    "tour --steps abc": cli(["tour", "--steps", "abc"], ("--steps", "positive integer", "'abc'")),
    "tour with a misspelled option": cli(
        ["tour", "--stpes", "3"], ("unrecognized arguments", "--stpes")
    ),
    "tour --out a file": Bad(
        with_a_file,
        lambda tmp: main(["tour", "--out", str(tmp / "afile")]),
        SystemExit,
        ("--out", "afile' is a file, not a folder"),
    ),
    "exercises init where no folder can be made": Bad(
        lambda tmp: tmp,
        lambda _: sys.exit(main(["exercises", "init", "/proc/tinygrad-edu"])),
        SystemExit,
        ("cannot make the folder '/proc/tinygrad-edu'", "choose a folder"),
    ),
    "an unknown command": cli(["train"], ("invalid choice", "'train'")),
}


@pytest.mark.parametrize("name", TABLE)
def test_bad_input_gets_a_clear_error_and_changes_nothing(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything written by mistake would show up here
    row = TABLE[name]
    involved = row.make(tmp_path)
    before = snapshot((involved, tmp_path))
    with pytest.raises(row.error) as info:
        row.misuse(involved)
    err = capsys.readouterr().err
    if row.error is SystemExit:
        assert info.value.code == 2  # argparse's status for a usage error
        assert err.count("\n") == 1, f"not one line: {err}"  # no usage block, no traceback
    message = str(info.value) + err
    for word in row.words:
        assert word in message, f"{word!r} is not in the message: {message}"
    assert snapshot((involved, tmp_path)) == before  # no stray file either


# the README's API table: every name of tinygrad_edu.__all__, and these of its modules
DOCUMENTED = {
    losses: (
        "mse",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "softmax",
        "log_softmax",
        "cross_entropy",
        "hinge",
        "l2",
    ),
    optim: ("SGD", "Adam"),
    reference: ("ReferenceMLP",),
}


def entry_points():
    """Every documented callable, with the code objects that calling it runs: a function's own
    and those nested in it (what a decorator returns), a class's methods."""
    public = [getattr(tinygrad_edu, name) for name in tinygrad_edu.__all__]
    public += [getattr(module, name) for module, names in DOCUMENTED.items() for name in names]
    points = {}
    for x in public:
        if inspect.isclass(x) and not issubclass(x, BaseException):
            functions = [f.fget if isinstance(f, property) else f for f in vars(x).values()]
        elif inspect.isfunction(x):
            functions = [x]
        else:
            continue  # a module or an exception
        codes = [inspect.unwrap(f).__code__ for f in functions if inspect.isfunction(f)]
        for code in codes:
            codes += [c for c in code.co_consts if inspect.iscode(c)]
        points[f"{x.__module__.split('.')[-1]}.{x.__qualname__}"] = set(codes)
    return points


def cli_commands():
    """The commands that `tinygrad-edu --help` lists."""
    with pytest.raises(SystemExit), mock.patch("sys.stdout", new_callable=io.StringIO) as out:
        main(["--help"])
    return set(re.findall(r"^    (\w[\w-]*)", out.getvalue(), re.MULTILINE))


def test_every_entry_point_and_command_has_a_row(tmp_path, monkeypatch, capsys):
    """The table is the one place that checks "nothing changed" across the API, so a function
    or command without a row of its own goes unchecked: each row runs again under a profiler
    that records what its misuse called (the CLI by its command)."""
    called, commands = set(), set()

    def record(frame, event, arg):
        if event == "call":
            called.add(frame.f_code)
            if frame.f_code is main.__code__:
                commands.add(frame.f_locals["argv"][0])

    for i, row in enumerate(TABLE.values()):
        folder = tmp_path / str(i)
        folder.mkdir()
        monkeypatch.chdir(folder)
        try:
            involved = row.make(folder)
        except pytest.skip.Exception:  # a PyTorch row where torch is not installed
            continue
        sys.setprofile(record)
        try:
            row.misuse(involved)
        except row.error:
            pass
        finally:
            sys.setprofile(None)
    capsys.readouterr()
    missed = [name for name, codes in entry_points().items() if not codes & called]
    assert not missed, f"no row of the table calls {', '.join(missed)}"
    assert cli_commands() - commands == set(), "a command of the CLI has no row"


# --- NaN and infinity: the README's policy, across the API ---------------------------------------

# every entry point that takes a number from the user: each must refuse NaN and ±inf with a
# ValueError whose message shows the offending value
ENTRY_POINTS = {
    "Value": lambda bad: Value(bad),
    "Value + x": lambda bad: Value(1.0) + bad,
    "x - Value": lambda bad: bad - Value(1.0),
    "Value * x": lambda bad: Value(1.0) * bad,
    "Value / x": lambda bad: Value(1.0) / bad,
    "Value ** x": lambda bad: Value(2.0) ** bad,
    "x ** Value": lambda bad: bad ** Value(2.0),
    "Value.sum": lambda bad: Value.sum([Value(1.0), bad]),
    "Value.dot": lambda bad: Value.dot([Value(1.0)], [bad]),
    "leaky_relu slope": lambda bad: Value(-1.0).leaky_relu(bad),
    "MLP input": lambda bad: MLP(2, [1], seed=0)([1.0, bad]),
    "Layer input": lambda bad: Layer(1, 1, rng=0)([bad]),
    "mse preds": lambda bad: losses.mse([bad], [1.0]),
    "mse targets": lambda bad: losses.mse([Value(1.0)], [bad]),
    "binary_cross_entropy targets": lambda bad: losses.binary_cross_entropy([0.5], [bad]),
    "binary_cross_entropy_with_logits": lambda bad: losses.binary_cross_entropy_with_logits(
        [bad], [1.0]
    ),
    "cross_entropy logits": lambda bad: losses.cross_entropy([0.0, bad], 0),
    "softmax": lambda bad: losses.softmax([bad]),
    "log_softmax": lambda bad: losses.log_softmax([0.0, bad]),
    "hinge scores": lambda bad: losses.hinge([bad], [1]),
    "SGD lr": lambda bad: optim.SGD([Value(1.0)], lr=bad),
    "SGD momentum": lambda bad: optim.SGD([Value(1.0)], lr=0.1, momentum=bad),
    "Adam betas": lambda bad: optim.Adam([Value(1.0)], betas=(0.9, bad)),
    "Adam eps": lambda bad: optim.Adam([Value(1.0)], eps=bad),
    "optimizer step on a gradient": lambda bad: _step_with_gradient(bad),
    "gradcheck inputs": lambda bad: gradcheck(lambda vs: vs[0], [bad]),
    "gradcheck eps": lambda bad: gradcheck(lambda vs: vs[0], [1.0], eps=bad),
    "gradcheck atol": lambda bad: gradcheck(lambda vs: vs[0], [1.0], atol=bad),
    "numerical_grad inputs": lambda bad: numerical_grad(lambda vs: vs[0], [1.0, bad]),
    "load_state_dict": lambda bad: Neuron(1, rng=0).load_state_dict(
        {"weight": [[bad]], "bias": [0.0]}
    ),
    "save": lambda bad: _save_with_weight(bad),
    "a model file": lambda bad: _load_file_holding(bad),
    "from_torch": lambda bad: _from_torch_with_weight(bad),
    "jit input": lambda bad: jit(lambda x: x * 2)(bad),
    "GPT input": lambda bad: small_gpt().loss([[[bad, 0, 0, 0, 1]]], [[[1.0, 0, 0, 0, 0]]]),
    "GPT.generate temperature": lambda bad: small_gpt().generate(4, random.Random(0), bad),
}


def _step_with_gradient(bad):
    p = Value(1.0)
    p.grad = bad
    optim.Adam([p]).step()


def _save_with_weight(bad):
    neuron = Neuron(1, rng=0)
    neuron.w[0].data = bad  # only by hand: no operation makes a non-finite Value
    save(neuron, "never-written.json")


def _load_file_holding(bad):
    # Python's json writes NaN, Infinity and -Infinity, though they are not JSON
    Path("m.json").write_text(json.dumps({"format": "tinygrad_edu.model", "weights": [bad]}))
    load("m.json")


def _from_torch_with_weight(bad):
    net = torch_net(lambda nn: [nn.Linear(1, 1)])
    net[0].bias.data[0] = bad
    from_torch(net)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=repr)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_nan_and_infinity_are_refused_everywhere_naming_the_value(
    entry, bad, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as info:
        ENTRY_POINTS[entry](bad)
    message = str(info.value).lower()  # a JSON file spells them NaN, Infinity, -Infinity
    assert repr(bad) in message, message
    assert not Path("never-written.json").exists()
