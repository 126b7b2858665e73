#!/usr/bin/env python3
"""Set-up and everyday tasks, with nothing but Python 3.10+ installed.

    python3 tasks.py tour        # make .venv, install, run the guided tour
    python3 tasks.py test        # make .venv, install, run ruff, mypy and the fast test suite
    python3 tasks.py test-all    # what CI runs: ruff; mypy and the fast suite on every
                                 # supported Python (one .venv-3.X each); slow tests on 3.11
    python3 tasks.py lessons     # run the lessons (notebooks/) and write them as web pages

Each task creates its virtual environment on first use and installs again only when
pyproject.toml changes or the task needs an extra that is not there yet. The suite runs in
parallel (pytest-xdist, one worker a core). Extra arguments after ``test`` or ``test-all`` go to
pytest (``python3 tasks.py test -m slow``, ``python3 tasks.py test -n 0 -k memory``).

``test-all`` finds each Python among pyenv's versions or as ``python3.X`` on PATH; locally, a
Python that is not there is named in one line and skipped, but with ``CI=true`` it is an error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# every CPython that pyproject.toml's requires-python (>=3.10) promises and CI tests
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
# the pinned PyTorch (the torch extra) has a CPU wheel on the project's machines for this Python
# only; anywhere else pip would download a multi-GB CUDA build, so there the PyTorch tests skip
TORCH_PYTHON = "3.11"
SLOW_PYTHON = "3.11"  # test-all runs the slow tests once, here
# what each task installs (the tests add torch on TORCH_PYTHON)
EXTRAS = {
    "tour": {"viz", "demos"},
    "test": {"dev", "viz", "demos", "lessons", "browser"},
    "lessons": {"viz", "demos", "lessons"},
}
LESSONS_OUT = ROOT / "out" / "lessons"
# the lesson pages' math renderer: MathJax 2, from the folder beside them (see write_pages),
# with a configuration of ours, config/local/local.js: the package ships MathJax's STIX-Web
# fonts, not the TeX fonts it would look for first
MATHJAX = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/local"
MATHJAX_LOCAL = """\
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/local.js");
"""
PARALLEL = ["-n", "auto", "--dist", "worksteal"]  # pytest-xdist; "-n 0" after it runs serially


def ensure_venv(extras: set[str], venv: Path = VENV, base: Path | None = None) -> Path:
    """venv's python, with tinygrad_edu and ``extras`` installed; the venv is made with
    ``base`` (default: the Python running this script) if it does not exist."""
    if sys.version_info < (3, 10):
        sys.exit(f"tinygrad_edu needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    python = venv / PYTHON.relative_to(VENV)
    if not python.exists():
        print(f"creating {venv.relative_to(ROOT)} ...", flush=True)
        made = subprocess.run([str(base or sys.executable), "-m", "venv", str(venv)])
        if made.returncode != 0:
            sys.exit(
                f"could not create the virtual environment {venv.name}; on Debian or Ubuntu, "
                "install venv with: apt-get install python3-venv"
            )
    # the stamp records pyproject.toml's hash and the extras installed with it
    stamp = venv / ".installed"
    project = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    recorded, *installed = stamp.read_text().split() if stamp.exists() else [""]
    have = set(installed) if recorded == project else set()
    if not extras <= have:
        print(f"installing tinygrad_edu and its dependencies into {venv.name} ...", flush=True)
        wanted = ",".join(sorted(extras | have))
        # -qq: errors only. pip's warnings here are nothing a learner can act on (the build
        # backend's notes on how an editable install works, a mirror in pip's own settings)
        run([python, "-m", "pip", "install", "-qq", "--upgrade", "pip"])
        run([python, "-m", "pip", "install", "-qq", "-e", f".[{wanted}]"])
        stamp.write_text(" ".join([project, *sorted(extras | have)]))
    return python


def venv_for_tests(venv: Path, version: str, base: Path | None = None) -> Path:
    """ensure_venv with what the tests need on Python ``version``: torch only where it installs."""
    torch = {"torch"} if version == TORCH_PYTHON else set()
    return ensure_venv(EXTRAS["test"] | torch, venv, base)


def find_python(version: str) -> Path | None:
    """A CPython ``version`` ("3.12") to make a venv with: pyenv's, else python3.12 on PATH."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(versions.glob(f"{version}.*/bin/python{version}"))
    candidates += [Path(p) for p in [shutil.which(f"python{version}")] if p]
    for candidate in candidates:  # a pyenv shim on PATH exists but fails for an absent version
        check = "import sys; print('%d.%d' % sys.version_info[:2])"
        answer = subprocess.run([candidate, "-c", check], capture_output=True, text=True)
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return candidate
    return None


def test_all(pytest_args: list[str]) -> None:
    """ruff and mypy, then mypy on every other Python of PYTHONS; the fast suite on each;
    the slow tests on SLOW_PYTHON."""
    found = {version: find_python(version) for version in PYTHONS}
    missing = [version for version, path in found.items() if path is None]
    ci = bool(os.environ.get("CI"))
    for version in missing:
        print(
            f"Python {version}: not found (pyenv, or python{version} on PATH)"
            + "; skipped" * (not ci)
        )
    if missing and ci:
        sys.exit(f"CI tests every supported Python, and {', '.join(missing)} is not installed")
    if found.get(SLOW_PYTHON) is None:
        sys.exit(f"the slow tests run on Python {SLOW_PYTHON}, which is not installed")
    pythons = {
        version: venv_for_tests(ROOT / f".venv-{version}", version, path)
        for version, path in found.items()
        if path is not None
    }
    lint(pythons[SLOW_PYTHON])
    for version, python in pythons.items():  # each Python has its own numpy, whose type
        if version != SLOW_PYTHON:  # stubs differ (3.10's stops at numpy 2.2)
            print(f"mypy with Python {version}", flush=True)
            run([python, "-m", "mypy"])
    runs = [(version, []) for version in pythons] + [(SLOW_PYTHON, ["-m", "slow"])]
    results = []
    for version, marker in runs:
        title = f"Python {version}" + (" slow tests" if marker else "")
        print(f"\n=== {title} ===", flush=True)
        command = [pythons[version], "-m", "pytest", *PARALLEL, *marker, *pytest_args]
        results.append((title, subprocess.run([str(c) for c in command], cwd=ROOT).returncode))
    print()
    for title, code in results:
        print(f"{title}: " + ("ok" if code == 0 else f"FAILED (pytest exit status {code})"))
    if any(code for _, code in results):
        sys.exit(1)


def lint(python: Path) -> None:
    """ruff, then mypy over the package (pyproject.toml's [tool.mypy]) as ``python`` reads it;
    either one's findings stop the task."""
    run([python, "-m", "ruff", "check", "."])
    run([python, "-m", "mypy"])


def run(command: list[object]) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    task, rest = (argv[0], argv[1:]) if argv else ("", [])
    if task == "tour":
        ensure_venv(EXTRAS["tour"])
        run([BIN / "tinygrad-edu", "tour", *rest])
    elif task == "test":
        python = venv_for_tests(VENV, "%d.%d" % sys.version_info[:2])
        lint(python)
        run([python, "-m", "pytest", *PARALLEL, *rest])
    elif task == "test-all":
        test_all(rest)
    elif task == "lessons":
        lessons()
    else:
        sys.exit(__doc__)


def lessons() -> None:
    """Run every lesson top to bottom and write it, with its outputs, as an HTML page."""
    python = ensure_venv(EXTRAS["lessons"])
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    write_pages(python, notebooks, LESSONS_OUT)
    print(f"The lessons as web pages, to open in a browser, in {LESSONS_OUT}:")
    for notebook in notebooks:
        print(f"  {notebook.stem}.html")


def write_pages(python: Path, notebooks: list[Path], out: Path, execute: bool = True) -> None:
    """Each notebook as ``out/NAME.html`` (run first, with ``execute``), its formulas typeset
    by the MathJax that the package jupyter-server-mathjax ships, copied to ``out/mathjax``:
    the pages need no network. nbconvert's other web address, require.js, is left out (only
    interactive widgets use it; the lessons have none)."""
    find = "import importlib.util as u; print(u.find_spec('jupyter_server_mathjax').origin)"
    found = subprocess.run([str(python), "-c", find], capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit("jupyter-server-mathjax is not installed: pip install -e '.[lessons]'")
    mathjax = Path(found.stdout.strip()).parent / "static"
    shutil.copytree(mathjax, out / "mathjax", dirs_exist_ok=True)
    (out / "mathjax" / "config" / "local").mkdir(exist_ok=True)
    (out / "mathjax" / "config" / "local" / "local.js").write_text(MATHJAX_LOCAL)
    with tempfile.TemporaryDirectory() as sockets:
        # the kernel and nbconvert talk over local sockets (ipc) where the system has them:
        # over tcp the kernel warns that the traffic is unencrypted, which a learner can do
        # nothing about
        ipc = ["--KernelManager.transport=ipc", f"--KernelManager.ip={sockets}/kernel"]
        run(
            [python, "-m", "jupyter", "nbconvert", "--to", "html", *["--execute"] * execute]
            + ["--output-dir", out, "--log-level", "ERROR", *ipc * (os.name != "nt")]
            + [f"--HTMLExporter.mathjax_url={MATHJAX}", "--HTMLExporter.require_js_url="]
            + notebooks
        )


if __name__ == "__main__":
    main(sys.argv[1:])
