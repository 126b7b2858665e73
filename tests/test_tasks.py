"""tasks.py, as a learner meets it: from a fresh clone, ``python3 tasks.py tour`` sets up and
runs the tour, and prints nothing a learner cannot act on (no warnings from pip, setuptools or
the libraries underneath)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a venv made and filled from scratch: CI runs the slow tests once, on 3.11
def test_the_tour_from_a_fresh_clone_prints_no_warning(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    tour = subprocess.run(
        [sys.executable, "tasks.py", "tour"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    printed = tour.stdout + tour.stderr
    assert tour.returncode == 0, printed
    assert "warning" not in printed.lower(), printed
    assert "\r" not in printed  # no progress bar's redraws: the output is not a terminal
    assert "The pictures" in printed and "neuron_backprop.html" in printed
