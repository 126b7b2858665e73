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
settings.register_profile("dev", max_examples=60, deadline=None)
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
