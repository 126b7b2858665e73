"""Finding a renderer: the system's dot first, graphviz-pure without it, a clear error with neither.

The last section guards what tinygrad_edu.graphviz_program relies on in the two packages it adapts:
if graphviz or graphviz-pure changes in those ways, these tests fail and say which.
"""

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import graphviz
import pytest
from graphviz.backend import dot_command

from tinygrad_edu import Value, draw_graph, graphviz_program

pytestmark = pytest.mark.usefixtures("no_system_graphviz")

needs_posix_shell = pytest.mark.skipif(os.name == "nt", reason="the fake dot is a sh script")


def fake_system_dot(directory: Path, log: Path) -> Path:
    """A `dot` that logs its arguments and renders with graphviz-pure: a stand-in for
    Debian's Graphviz, which this machine does not have."""
    dot = directory / "dot"
    pure = graphviz_program.graphviz_pure_executable()
    dot.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{pure}" "$@"\n')
    dot.chmod(0o755)
    return dot


def tiny_graph():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.backward()
    return draw_graph(y)


def test_without_system_graphviz_graphviz_pure_renders():
    found = graphviz_program.find_renderer()
    assert found.name.startswith("graphviz-pure") and found.is_file()
    assert "<svg" in tiny_graph().pipe(format="svg", encoding="utf-8")
    assert dot_command.DOT_BINARY == found


@needs_posix_shell
def test_a_system_dot_on_path_is_preferred(no_system_graphviz, tmp_path):
    log = tmp_path / "dot.log"
    dot = fake_system_dot(no_system_graphviz, log)
    assert graphviz_program.find_renderer() == dot
    assert "<svg" in tiny_graph().pipe(format="svg", encoding="utf-8")
    assert dot_command.DOT_BINARY == Path("dot")  # run by name, as graphviz does itself
    assert log.read_text().split() == ["-Kdot", "-Tsvg"]


@needs_posix_shell
def test_the_choice_follows_path_when_dot_comes_and_goes(no_system_graphviz, tmp_path):
    tiny_graph().pipe(format="svg")
    assert Path(dot_command.DOT_BINARY).name == "graphviz-pure"
    dot = fake_system_dot(no_system_graphviz, tmp_path / "dot.log")
    tiny_graph().pipe(format="svg")
    assert dot_command.DOT_BINARY == Path("dot")
    dot.unlink()
    tiny_graph().pipe(format="svg")
    assert Path(dot_command.DOT_BINARY).name == "graphviz-pure"


def test_a_renderer_the_user_chose_is_left_alone(monkeypatch):
    monkeypatch.setattr(dot_command, "DOT_BINARY", Path("/opt/my-graphviz/bin/dot"))
    assert graphviz_program.use_renderer() == Path("/opt/my-graphviz/bin/dot")
    assert dot_command.DOT_BINARY == Path("/opt/my-graphviz/bin/dot")


def test_with_no_renderer_at_all_the_error_names_both_ways_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setattr(graphviz_program, "graphviz_pure_executable", lambda: None)
    with pytest.raises(graphviz_program.RendererNotFoundError) as info:
        graphviz_program.find_renderer()
    message = str(info.value)
    assert "pip install 'tinygrad-edu[viz]'" in message and "apt-get install graphviz" in message
    # the same error from every way of rendering, Jupyter's included
    graph = tiny_graph()
    for render in (
        lambda: graph.pipe(format="svg"),
        lambda: graph.render(tmp_path / "never-written", format="svg"),
        graph._repr_mimebundle_,
    ):
        with pytest.raises(graphviz_program.RendererNotFoundError):
            render()
    assert list(tmp_path.iterdir()) == []
    assert isinstance(info.value, graphviz.ExecutableNotFound)  # graphviz users catch it too


# --- guards: what the adapter relies on in graphviz and graphviz-pure ------------------------


def test_guard_graphviz_runs_the_executable_named_by_dot_binary_read_at_call_time(monkeypatch):
    """graphviz_program.use_renderer sets graphviz.backend.dot_command.DOT_BINARY; if graphviz
    stops reading it when it builds a command, rendering without system Graphviz breaks."""
    assert graphviz.DOT_BINARY == Path("dot"), "graphviz's default executable changed"
    sentinel = Path("/nonexistent/sentinel-dot")
    monkeypatch.setattr(dot_command, "DOT_BINARY", sentinel)
    assert dot_command.command("dot", "svg")[0] == sentinel
    with pytest.raises(graphviz.ExecutableNotFound, match="sentinel-dot"):
        graphviz.Digraph().pipe(format="svg")  # the plain Digraph: graphviz's own code path


def test_guard_jupyter_display_goes_through_pipe(monkeypatch):
    """ComputationGraph finds its renderer in pipe(); Jupyter's display must call it."""
    calls = []
    monkeypatch.setattr(graphviz.Digraph, "pipe", lambda self, **kw: calls.append(kw) or "<svg/>")
    assert graphviz.Digraph()._repr_mimebundle_() == {"image/svg+xml": "<svg/>"}
    assert calls == [{"format": "svg", "encoding": "utf-8"}]


def test_guard_graphviz_pure_installs_an_executable_with_dots_command_line(tmp_path):
    """The viz extra's graphviz-pure: its installed-files record lists the executable, which
    takes dot's -V, -K, -T and -o and writes SVG and PNG."""
    files = metadata.distribution("graphviz-pure").files
    assert any(f.name in ("graphviz-pure", "graphviz-pure.exe") for f in files)
    pure = str(graphviz_program.graphviz_pure_executable())
    version = subprocess.run([pure, "-V"], capture_output=True, text=True, check=True)
    assert "graphviz-pure" in version.stdout + version.stderr
    out = tmp_path / "g.png"
    subprocess.run([pure, "-Kdot", "-Tpng", "-o", str(out)], input=b"digraph{a->b}", check=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = subprocess.run(
        [pure, "-Kdot", "-Tsvg"], input=b"digraph{a->b}", capture_output=True, check=True
    ).stdout
    assert svg.count(b'class="node"') == 2 and svg.count(b'class="edge"') == 1


def test_a_fresh_interpreter_renders_with_no_dot_on_path(no_system_graphviz):
    """As a user would after the README's install: a new process, no Graphviz anywhere."""
    script = (
        "from tinygrad_edu import Value, draw_graph\n"
        "x = Value(2.0, label='x'); y = x * x; y.backward()\n"
        "print(draw_graph(y)._repr_mimebundle_()['image/svg+xml'].count('class=\"node\"'))\n"
    )
    env = {**os.environ, "PATH": str(no_system_graphviz)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "3"  # x, x*x and the * between them
