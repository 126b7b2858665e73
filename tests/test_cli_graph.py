"""`tinygrad-edu graph EXPR --set x=2 -o graph.svg`: an expression's graph with its gradients."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_edu.cli import main
from tinygrad_edu.viz import ComputationGraph

SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.usefixtures("no_system_graphviz")

NEURON = ["tanh(x*w + b)", "--set", "x=2", "--set", "w=-3", "--set", "b=6.8813735870195432"]


def records(svg_path):
    """The texts of each record node (label, data, grad) in a rendered SVG."""
    root = ET.parse(svg_path).getroot()
    groups = [g for g in root.iter(SVG + "g") if g.get("class") == "node"]
    texts = [[t.text for t in g.iter(SVG + "text")] for g in groups]
    return [t for t in texts if len(t) == 3]


def test_graph_renders_the_expression_with_data_and_grads(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert main(["graph", *NEURON, "-o", str(out)]) == 0
    assert sorted(records(out)) == [
        ["b", "data 6.8814", "grad 0.5000"],
        ["tanh(x * w + b)", "data 0.7071", "grad 1.0000"],
        ["w", "data -3.0000", "grad 1.0000"],
        ["x", "data 2.0000", "grad -1.5000"],
        ["x * w", "data -6.0000", "grad 0.5000"],
        ["x * w + b", "data 0.8814", "grad 0.5000"],
    ]
    printed = capsys.readouterr().out
    assert "d/dx = -1.5" in printed and "d/dw = +1" in printed and f"wrote {out}" in printed


def test_graph_writes_png_and_dot_text(tmp_path):
    assert (
        main(
            [
                "graph",
                "relu(a*b) ** 2",
                "--set",
                "a=2",
                "--set",
                "b=1.5",
                "-o",
                str(tmp_path / "g.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        main(["graph", "log(x)/y", "--set", "x=2", "--set", "y=4", "-o", str(tmp_path / "g.gv")])
        == 0
    )
    source = (tmp_path / "g.gv").read_text()
    assert source.startswith("digraph") and "log(x) / y" in source


@pytest.mark.parametrize(
    "argv, says",
    [
        (["foo(x)", "--set", "x=1"], "column 1 ('foo(x)'): unknown function"),
        (["x + y $", "--set", "x=1", "--set", "y=1"], "column 7 ('$'): invalid syntax"),
        (["x * w", "--set", "x=1"], "column 5 ('w'): w has no value"),
        (["log(x)", "--set", "x=-1"], "column 1 ('log(x)'): log(-1.0): log needs x > 0"),
        (["x", "--set", "x=1", "--set", "z=2"], "--set z: there is no z in 'x'"),
        (["x", "--set", "x=1", "--set", "x=2"], "--set x is given twice"),
    ],
)
def test_bad_expressions_give_one_line_and_exit_status_2(argv, says, tmp_path, capsys):
    out = tmp_path / "g.svg"
    with pytest.raises(SystemExit) as info:
        main(["graph", *argv, "-o", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tinygrad-edu graph: error: {says}") and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [["x", "--set", "x"], ["x", "--set", "x=abc"], ["x", "--set", "x=nan"], ["x", "-o", "g.pdf"]],
)
def test_bad_options_exit_with_status_2_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", *argv])
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_no_renderer_is_a_one_line_error_naming_both_remedies(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tinygrad_edu.graphviz_program.graphviz_pure_executable", lambda: None)
    assert main(["graph", *NEURON, "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tinygrad-edu[viz]" in err and "apt-get install graphviz" in err


def test_a_renderer_that_fails_is_a_one_line_error_with_status_1(tmp_path, monkeypatch, capsys):
    def crash(self, *args, **kwargs):
        raise graphviz.CalledProcessError(-6, ["graphviz-pure"], stderr=b"out of memory\n")

    monkeypatch.setattr(ComputationGraph, "pipe", crash)
    assert main(["graph", *NEURON, "-o", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-edu graph: error: ") and err.count("\n") == 1
    assert "out of memory" in err and list(tmp_path.iterdir()) == []


CONSOLE_SCRIPT = Path(sys.executable).parent / "tinygrad-edu"


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the package is not installed in this venv")
def test_the_console_script_exits_2_on_a_bad_expression(tmp_path):
    command = [str(CONSOLE_SCRIPT), "graph", "tanh(x", "--set", "x=1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "tinygrad-edu graph: error: column 5 ('('): '(' was never closed\n"
    assert list(tmp_path.iterdir()) == []


_JUNK = "xyw.()+-*/%^<>=!,;:[]{}'\"_ 0123456789eE\\#@~&|é\t"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(max_size=60)
    | st.text(alphabet=_JUNK, max_size=40)
    | st.lists(
        st.sampled_from(["tanh(", "log(", "x", "y", "**", ")", "1e308", "-", "/0"]), max_size=10
    ).map("".join)
)
def test_junk_expressions_only_ever_give_the_clean_error(tmp_path, capsys, junk):
    out = tmp_path / "g.gv"  # the DOT text: no renderer needed, so junk is all that is tested
    try:
        status = main(["graph", "--set", "x=0.5", "--set", "y=-2", "-o", str(out), "--", junk])
    except SystemExit as exit:
        assert exit.code == 2
        err = capsys.readouterr().err
        assert err.startswith("tinygrad-edu graph: error: ") and err.count("\n") == 1
    else:
        assert status == 0 and out.read_text().startswith("digraph")
        capsys.readouterr()


def test_steps_prints_backprop_step_by_step_and_writes_nothing_unasked(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "x*x + x", "--set", "x=3", "--steps"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Forward pass: each value from its operands")
    assert "  2  x * x = 3.0 * 3.0 = 9.0\n" in printed
    assert (
        "d(x * x + x)/dx += 3.0 × 1.0 = 3.0   (use 3 of 3; total so far 4.0 + 3.0 = 7.0)" in printed
    )
    assert "  d(x * x + x)/dx = 7.0\n" in printed and "d/dx = +7" in printed
    assert list(tmp_path.iterdir()) == []  # no graph.svg: the steps were asked for


def test_an_html_output_is_the_step_through_page(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["graph", *NEURON, "--steps", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert "Backprop step by step: tanh(x * w + b)" in page
    printed = capsys.readouterr().out
    assert "d(tanh(x * w + b))/dx += (-3.0) × 0.5 = -1.5" in printed
    assert f"wrote {out}: open it in a browser to step through backprop" in printed


def test_an_expression_may_start_with_a_minus(tmp_path, capsys):
    out = tmp_path / "g.gv"
    assert main(["graph", "-x*2", "--set", "x=3", "-o", str(out)]) == 0
    assert "-x * 2 = -6\n  d/dx = -2\n" in capsys.readouterr().out
    assert main(["graph", "--set", "x=3", "-o", str(out), "-x"]) == 0  # anywhere on the line
    assert "d/dx = -1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sets",
    [
        ["--set", "x=2", "w=3", "b=1"],
        ["--set", "x=2", "--set", "w=3", "b=1"],
        ["--set=x=2", "w=3", "--set", "b=1"],
    ],
)
def test_one_set_takes_several_variables(sets, tmp_path, capsys):
    for argv in (["x*w+b", *sets], [*sets, "x*w+b"]):  # before or after the expression
        assert main(["graph", *argv, "-o", str(tmp_path / "g.gv")]) == 0
        printed = capsys.readouterr().out
        assert "x * w + b = 7\n  d/dx = +3\n  d/dw = +2\n  d/db = +1\n" in printed


def test_a_file_that_cannot_be_written_is_named_as_asked(capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", "x", "--set", "x=1", "-o", "/proc/a.svg"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "cannot write /proc/a.svg" in err and ".tmp" not in err  # not the hidden temporary


def test_the_help_says_what_steps_prints(capsys):
    with pytest.raises(SystemExit):
        main(["graph", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "one numbered line per step" in help_text and "table" not in help_text
    assert "--set x=2 w=3" in help_text


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the package is not installed in this venv")
def test_steps_piped_into_a_reader_that_stops_early_end_quietly(tmp_path):
    """`tinygrad-edu graph ... --steps | head -3`: the reader closes the pipe after 3 lines;
    the command stops without a traceback (Python's BrokenPipeError is not the user's error)."""
    expression = "+".join(["tanh(x*w)"] * 30)  # 170 kB of steps: more than a pipe holds
    steps = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "graph", expression, "--set", "x=1", "w=2", "--steps"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    first = steps.stdout.readline()
    steps.stdout.close()  # as head does once it has its lines
    _, err = steps.communicate(timeout=120)
    assert first.startswith(b"Forward pass") and err == b""
