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
