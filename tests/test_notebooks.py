"""The lessons in notebooks/: numbered in order, committed without outputs, and each one runs
top to bottom, as a learner runs it.

A lesson is written to run in about BUDGET seconds on a 2-core machine; its test prints the
time it took and fails only past HANG_GUARD, ten times that, so that a machine busy with other
work does not fail the suite (how long the lessons take is measured, not asserted).

Each notebook is executed by nbclient in a fresh Jupyter kernel, working in a temporary folder
(so nothing a lesson writes lands in the repository). A cell that raises fails that notebook's
test, and the failure shows the cell's source and the error. One test per notebook, so that a
parallel run (pytest-xdist) spreads them over the cores.
"""

import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
BUDGET = 60.0  # seconds for a whole notebook, kernel start included, on a quiet 2-core machine
HANG_GUARD = 10 * BUDGET  # a lesson (or a cell) stuck longer than this has hung


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_lessons_are_numbered_in_the_order_a_learner_meets_them():
    names = [p.name for p in NOTEBOOKS]
    assert len(names) >= 7, names
    for number, name in enumerate(names, start=1):
        assert re.fullmatch(rf"{number:02d}_[a-z0-9_]+\.ipynb", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_is_committed_without_outputs(path):
    for index, cell in enumerate(code_cells(path)):
        assert cell.outputs == [], f"{path.name}, code cell {index + 1} holds outputs"
        assert cell.execution_count is None, f"{path.name}, code cell {index + 1} was run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_uses_only_the_public_api(path):
    """As a learner writes it: from tinygrad_edu or tinygrad_edu.testing, no _private names."""
    for cell in code_cells(path):
        for module, names in re.findall(r"from (tinygrad_edu\S*) import ([^\n]+)", cell.source):
            assert module in ("tinygrad_edu", "tinygrad_edu.testing"), f"{path.name}: {module}"
            assert not re.search(r"\b_", names), f"{path.name} imports a private name: {names}"
        assert not re.search(r"tinygrad_edu(\.\w+)*\._", cell.source), path.name


@dataclass
class Run:
    notebook: nbformat.NotebookNode  # with its outputs
    seconds: float
    error: str  # the failing cell's source and traceback, or ""


def execute(path: Path) -> Run:
    """Run the lesson top to bottom in a fresh kernel, in a temporary working folder."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        client = NotebookClient(
            notebook,
            timeout=HANG_GUARD,  # per cell: a cell stuck for longer fails, not hangs
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        )
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:  # its text: the cell's source and traceback
            plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # without the terminal's colours
            return Run(notebook, time.perf_counter() - start, plain)
        return Run(notebook, time.perf_counter() - start, "")


RUNS_A_LESSON = "test_a_lesson_runs_top_to_bottom"


@pytest.fixture(scope="module")
def started(request):
    """The runs of every lesson this session will test, started at once, two at a time (the
    machines have two cores), so that the lessons cost the suite about half their total time.
    Under pytest-xdist, which spreads the tests over the cores itself, it is empty: each test
    then runs its own lesson."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        yield {}
        return
    chosen = [
        i.callspec.params["path"] for i in request.session.items if i.originalname == RUNS_A_LESSON
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {path: pool.submit(execute, path) for path in chosen}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_runs_top_to_bottom(path, started):
    run = started[path].result() if path in started else execute(path)
    if run.error:
        pytest.fail(f"{path.name} failed:\n{run.error}", pytrace=False)
    print(f"{path.name}: {run.seconds:.1f} s (written for about {BUDGET:.0f} s)")
    assert run.seconds <= HANG_GUARD, f"{path.name} took {run.seconds:.0f} s: hung?"
    assert any(cell.get("outputs") for cell in run.notebook.cells if cell.cell_type == "code")
