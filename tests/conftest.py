"""Hypothesis profiles: "ci" is reproducible (derandomized), "dev" the default for local
runs, "thorough" for long local searches:  HYPOTHESIS_PROFILE=thorough python3 tasks.py test
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# too_slow is suppressed everywhere: a machine busy with other work must not fail the suite
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# --- rendering graphs (tinygrad_edu.viz): a known renderer set-up for each test ------------


@pytest.fixture
def no_system_graphviz(tmp_path_factory, monkeypatch):
    """A PATH with no `dot` on it (so graphviz-pure renders), and graphviz's executable
    setting at its default, restored afterwards. Returns the PATH directory, where a test may
    put a fake dot."""
    from pathlib import Path

    from graphviz.backend import dot_command

    path = tmp_path_factory.mktemp("path")
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.setattr(dot_command, "DOT_BINARY", Path("dot"))
    return path


# --- the README's neuron -------------------------------------------------------------------


@pytest.fixture
def neuron():
    """micrograd's neuron as the README builds it, o = tanh(x1 w1 + x2 w2 + b), before
    backward(): each test gets a graph of its own."""
    from tinygrad_edu import Value

    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


# --- graphs that reuse a value many times (drawing, the step-through page) ------------------


@pytest.fixture
def reused_graphs():
    """The three graphs of issue 20, each after backward(): x added to itself 150 times, 100
    chained products y = y * x, and a scalar RNN of 50 steps, h = tanh(w h + u x_t + b), whose
    w, u and b are shared by every step."""
    return {"sum of 150 uses": sum_of_uses(150), "100 chained products": chained_products(100),
            "50-step RNN": scalar_rnn(50)}  # fmt: skip


def sum_of_uses(n):
    from tinygrad_edu import Value

    x = Value(0.5, label="x")
    y = x
    for _ in range(n - 1):
        y = y + x
    y.backward()
    return y


def chained_products(n):
    from tinygrad_edu import Value

    x, y = Value(1.01, label="x"), Value(1.0, label="y")
    for _ in range(n):
        y = y * x
    y.backward()
    return y


def scalar_rnn(steps):
    """h_t = tanh(w h_{t-1} + u x_t + b), h_0 = 0, the loss (h_T - 0.5)**2: backprop through
    time, with w, u and b shared by every step."""
    from tinygrad_edu import Value

    w, u, b = Value(0.8, label="w"), Value(0.5, label="u"), Value(0.1, label="b")
    h = Value(0.0, label="h0")
    for t in range(1, steps + 1):
        x = Value(((t * 7) % 5 - 2) / 2, label=f"x{t}")
        h = (w * h + u * x + b).tanh()
        h.label = f"h{t}"
    loss = (h - 0.5) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


@pytest.fixture
def every_op():
    """A graph with a node of each row of the op table, a before b, summed into L."""
    from tinygrad_edu import Value
    from tinygrad_edu.ops import OPS

    a, b = Value(1.5, label="a"), Value(0.5, label="b")
    d = b - a  # -1.0: leaky_relu and abs on their negative side
    d.label = "d"
    nodes = [a + b, d, a * b, a / b, -a, a**3, a**b, a.exp(), a.log(), a.tanh(), b.sigmoid()]
    nodes += [a.relu(), d.leaky_relu(0.1), a.sqrt(), d.abs()]
    nodes += [Value.sum([a, b, 2.0]), Value.dot([2.0, a, b], [b, 3.0, a])]
    result = Value.sum(nodes)
    result.label = "L"
    assert {node.row for node in nodes} == set(OPS)
    return result


@pytest.fixture
def neuron_demo_loss():
    """The neuron demo's first loss, L = (sigmoid(w·x + b) - 1)² for one sample, and its
    neuron (``tinygrad-edu demo neuron``): a chain of ops whose graph is ~3,300 px wide."""
    from tinygrad_edu import Neuron, Value, losses

    neuron = Neuron(3, activation="sigmoid", rng=0)
    y = neuron([Value(x, label=f"x{i}") for i, x in enumerate([0.5, 0.2, 0.8], start=1)])
    y.label = "y"
    loss = losses.mse(y, 1.0)
    loss.label = "L"
    return loss, neuron
