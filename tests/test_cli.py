"""The command line, run as a user runs it."""

import subprocess
import sys

import pytest

from tinygrad_edu.cli import main


def test_the_tour_shows_gradients_a_gradcheck_and_a_falling_loss(capsys):
    assert main(["tour", "--steps", "30", "--no-demos"]) == 0
    out = capsys.readouterr().out
    assert "d o / d w1 = +1.000000" in out  # micrograd's neuron: do/dw1 = x1 (1 - o^2) = 1
    assert "d o / d x2 = +0.500000" in out
    assert "gradcheck: all 5 derivatives agree" in out
    losses = [float(line.split()[-1]) for line in out.splitlines() if "mse loss" in line]
    assert len(losses) >= 3 and losses[-1] < losses[0] / 2


def test_the_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu.cli", "tour", "--steps", "2", "--no-demos"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "predictions" in result.stdout


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["tour", "--steps", "0"]])
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_every_command_has_a_description_in_its_help(capsys):
    for command in (["tour"], ["graph"], ["demo"], ["exercises"]):
        with pytest.raises(SystemExit) as info:
            main([*command, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        usage, description = out.split("\n\n")[:2]
        assert usage.startswith("usage: tinygrad-edu")
        assert not description.startswith(("options", "positional arguments")), command
