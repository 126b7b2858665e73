#!/usr/bin/env python3
"""Set-up and everyday tasks, with nothing but Python 3.10+ installed.

    python3 tasks.py tour    # make .venv, install, run the guided tour
    python3 tasks.py test    # make .venv, install, run ruff and the test suite

Each task creates ``.venv`` on first use and installs again only when pyproject.toml changes
or the task needs an extra that is not there yet.
Extra arguments after ``test`` go to pytest (``python3 tasks.py test -m slow``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# what each task installs: the tests need everything; the tour does not need PyTorch, which
# would be a multi-GB download on a machine that does not hold its CPU wheel
EXTRAS = {"tour": {"viz", "demos"}, "test": {"dev", "viz", "demos", "torch", "browser", "notebook"}}


def ensure_venv(extras: set[str]) -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"tinygrad_edu needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as error:
            sys.exit(
                f"could not create a virtual environment ({error}); on Debian or Ubuntu, "
                "install it with: apt-get install python3-venv"
            )
    # the stamp records pyproject.toml's hash and the extras installed with it
    stamp = VENV / ".installed"
    project = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    recorded, *installed = stamp.read_text().split() if stamp.exists() else [""]
    have = set(installed) if recorded == project else set()
    if not extras <= have:
        print("installing tinygrad_edu and its dependencies into .venv ...", flush=True)
        wanted = ",".join(sorted(extras | have))
        run([PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{wanted}]"])
        stamp.write_text(" ".join([project, *sorted(extras | have)]))


def run(command: list[object]) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    task, rest = (argv[0], argv[1:]) if argv else ("", [])
    if task not in ("tour", "test"):
        sys.exit(__doc__)
    ensure_venv(EXTRAS[task])
    if task == "tour":
        run([BIN / "tinygrad-edu", "tour", *rest])
    else:
        run([PYTHON, "-m", "ruff", "check", "."])
        run([PYTHON, "-m", "pytest", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
