"""The lessons in notebooks/: numbered in order, committed without outputs, linked one to the
next, and each one runs top to bottom, as a learner runs it.

A lesson is written to run in about BUDGET seconds on a 2-core machine; its test prints the
time it took and fails only past HANG_GUARD, ten times that, so that a machine busy with other
work does not fail the suite (how long the lessons take is measured, not asserted).

Every lesson asks the learner to write something: a "your turn" cell ships unanswered, with
``my_name = ...  # <- your answer`` on the learner's line, and run as shipped it prints "not
attempted" and raises nothing. The answers live here, in ANSWERS: for each such line, the
right answer and a typical wrong one, which the test writes in place of the ``...`` and runs
in the lesson's kernel, at that point of the lesson. The right one must print "right"; the
wrong one must fail with a message naming the mistake.

Each notebook is executed by nbclient in a fresh Jupyter kernel, working in a temporary folder
(so nothing a lesson writes lands in the repository). A cell that raises fails that notebook's
test, and the failure shows the cell's source and the error. One test per notebook, so that a
parallel run (pytest-xdist) spreads them over the cores.
"""

import copy
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
BUDGET = 60.0  # seconds for a whole notebook, kernel start included, on a quiet 2-core machine
HANG_GUARD = 10 * BUDGET  # a lesson (or a cell) stuck longer than this has hung
# the learner's line in a "your turn" cell, as shipped: the answer is Python's Ellipsis
YOUR_TURN = re.compile(r"^( *)(\w+) = \.\.\.  # <- your answer$", re.MULTILINE)


@dataclass(frozen=True)
class Answer:
    """What to write in place of a your-turn line's ``...``: the right answer, and a typical
    wrong one with words its message must hold (the mistake, named)."""

    right: str
    wrong: str
    names: tuple[str, ...]  # in the wrong answer's message


ANSWERS = {
    "01_value_and_gradient": {
        "my_slope": Answer(
            "(g(2 + h) - g(2 - h)) / (2 * h)", "(g(2 + h) - g(2 - h)) / h", ("2 * h, not h",)
        ),
        "dc_db": Answer("a.data + 1", "a.data", ("only the path through a * b", "+ b")),
    },
    "02_one_neuron_learns": {
        "my_w3": Answer(
            "neuron.w[2].data - 2.0 * neuron.w[2].grad",
            "neuron.w[2].data + 2.0 * neuron.w[2].grad",
            ("uphill", "against the gradient"),
        ),
        "my_dL_dw1": Answer(
            "2 * (y.data - target) * y.data * (1 - y.data) * x[0].data",
            "2 * (y.data - target) * y.data * (1 - y.data)",
            ("one link short of w1",),
        ),
        "my_sign": Answer("+1", "-1", ("the step", "-2.0 * dL/db")),
    },
    "03_softmax_and_cross_entropy": {
        "my_probs": Answer(
            "[math.exp(z_i) / sum(math.exp(z_j) for z_j in numbers) for z_i in numbers]",
            "[math.exp(z_i) for z_i in numbers]",
            ("add up to", "divide"),
        ),
        "my_gradient": Answer(
            "[0.7, 0.2 - 1, 0.1]", "[0.7, 0.2, 0.1]", ("y_hat - y", "the second")
        ),
    },
    "04_two_moons": {
        "my_guess": Answer("1", "0", ("P(class 1)", "blue")),
    },
    "05_house_prices": {
        "my_db": Answer(
            "G.sum(axis=0)", "G.sum(axis=1)", ("one number per neuron", "add up the rows")
        ),
    },
    "06_handwritten_digits": {
        "my_accuracy": Answer(
            "np.trace(confusion) / confusion.sum()", "np.trace(confusion)", ("a fraction",)
        ),
    },
    "07_checking_gradients": {
        "derivative": Answer("1 / (1 + abs(x)) ** 2", "1 / (1 + x) ** 2", ("x < 0", "|x| = -x")),
    },
    "08_newtons_method": {
        "my_sign": Answer("-1", "+1", ("factor by factor", "the factor in front")),
    },
    "09_why_frameworks_compile": {
        "my_levels": Answer("3", "4", ("level 0", "not counted")),
    },
    "10_a_gpt_from_scalars": {
        "my_predictions": Answer("7", "len('olivia')", ("must predict BOS", "the end")),
        "my_weight": Answer(
            "math.exp(dots[0] / math.sqrt(d)) / sum(math.exp(s / math.sqrt(d)) for s in dots)",
            "math.exp(dots[0]) / sum(math.exp(s) for s in dots)",
            ("raw dot products", "divide each by sqrt(d)"),
        ),
        "my_uniform_loss": Answer("-math.log(1 / 27)", "1 / 27", ("probability", "-ln of it")),
        "my_captures": Answer("1", "steps", ("once per input structure", "not per step")),
    },
}


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def your_turns(path: Path) -> list[str]:
    """The names the learner assigns on the your-turn lines, in order."""
    return [m.group(2) for cell in code_cells(path) for m in YOUR_TURN.finditer(cell.source)]


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_asks_the_learner_and_ships_unanswered(path):
    """Every lesson asks at least once (lessons 1-3 at least twice); every marked line holds
    ``...``, not an answer; and each question has its answers in ANSWERS."""
    for cell in code_cells(path):
        for line in cell.source.splitlines():
            if "# <-" in line:
                assert YOUR_TURN.fullmatch(line), f"{path.name}, an answer shipped: {line!r}"
    asked = your_turns(path)
    number = int(path.name[:2])
    assert len(asked) >= (2 if number <= 3 else 1), f"{path.name} asks {len(asked)} times"
    assert sorted(asked) == sorted(ANSWERS.get(path.stem, {})), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_ends_with_where_to_go_next(path):
    """The last cell links to the next lesson (lesson 9 to lesson 10, A GPT from scalars),
    and the last lesson says where to go next: the exercises and the demos."""
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown", path.name
    links = re.findall(r"\*\*Next:\*\* \[[^]]+\]\((\d\d_[a-z0-9_]+\.ipynb)\)", last.source)
    index = NOTEBOOKS.index(path)
    if index + 1 < len(NOTEBOOKS):
        assert links == [NOTEBOOKS[index + 1].name], (path.name, links)
    else:
        assert "tinygrad-edu exercises" in last.source and "tinygrad-edu demo" in last.source
    if path.name.startswith("09_"):
        assert links == ["10_a_gpt_from_scalars.ipynb"], links


@dataclass
class Tried:
    """A your-turn cell run with an answer written in: what it printed, and its error."""

    printed: str
    error: str  # "ExceptionName: message", or ""


@dataclass
class Run:
    notebook: nbformat.NotebookNode  # with its outputs, as shipped
    seconds: float  # the lesson as shipped, kernel start included, the answers tried left out
    error: str  # the failing cell's source and traceback, or ""
    tried: dict[tuple[str, str], Tried] = field(default_factory=dict)  # by name, answer


def execute(path: Path) -> Run:
    """Run the lesson top to bottom in a fresh kernel, in a temporary working folder; right
    after each your-turn cell, run it again with each of its answers written in."""
    notebook = nbformat.read(path, as_version=4)
    answers = ANSWERS.get(path.stem, {})
    tried: dict[tuple[str, str], Tried] = {}
    with tempfile.TemporaryDirectory() as folder:
        config = Config()
        if os.name != "nt":  # local sockets: over tcp the kernel warns, unencrypted (as tasks.py)
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = f"{folder}/kernel"
        client = NotebookClient(
            notebook,
            timeout=HANG_GUARD,  # per cell: a cell stuck for longer fails, not hangs
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
            config=config,
        )
        start, trying = time.perf_counter(), 0.0
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:  # its text: the cell's source and traceback
                    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # without terminal colours
                    return Run(notebook, time.perf_counter() - start - trying, plain, tried)
                began = time.perf_counter()
                for line in YOUR_TURN.finditer(cell.source):
                    indent, name = line.groups()
                    answer = answers.get(name)
                    for written in (answer.right, answer.wrong) if answer else ():
                        source = f"{indent}{name} = {written}  # <- your answer"
                        tried[name, written] = attempt(client, cell, index, line, source)
                notebook.cells[index] = cell  # nbclient put each answered copy in its place
                trying += time.perf_counter() - began
        return Run(notebook, time.perf_counter() - start - trying, "", tried)


def attempt(client: NotebookClient, cell, index: int, line: re.Match, source: str) -> Tried:
    """The cell run with ``source`` in place of its your-turn line."""
    answered = copy.deepcopy(cell)
    answered.source = cell.source[: line.start()] + source + cell.source[line.end() :]
    try:
        client.execute_cell(answered, index)
    except CellExecutionError:
        pass  # the error is among the outputs
    printed = "".join(o.get("text", "") for o in answered.outputs if o.output_type == "stream")
    errors = [f"{o.ename}: {o.evalue}" for o in answered.outputs if o.output_type == "error"]
    return Tried(printed, "\n".join(errors))


RUNS_A_LESSON = "test_a_lesson_runs_top_to_bottom_and_checks_each_answer"


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
def test_a_lesson_runs_top_to_bottom_and_checks_each_answer(path, started):
    """As shipped: no error, not hung, every your-turn cell "not attempted". Then each right
    answer is told "right", and each wrong one fails with the mistake named."""
    run = started[path].result() if path in started else execute(path)
    if run.error:
        pytest.fail(f"{path.name} failed:\n{run.error}", pytrace=False)
    print(f"{path.name}: {run.seconds:.1f} s (written for about {BUDGET:.0f} s)")
    assert run.seconds <= HANG_GUARD, f"{path.name} took {run.seconds:.0f} s: hung?"
    cells = [c for c in run.notebook.cells if c.cell_type == "code"]
    assert any(cell.get("outputs") for cell in cells)
    for cell in cells:
        if YOUR_TURN.search(cell.source):
            printed = "".join(o.get("text", "") for o in cell.outputs)
            assert "not attempted" in printed and "right" not in printed, (path.name, printed)
    for name, answer in ANSWERS.get(path.stem, {}).items():
        right, wrong = run.tried[name, answer.right], run.tried[name, answer.wrong]
        assert right.error == "" and "right" in right.printed, (name, answer.right, right)
        assert wrong.error.startswith("AssertionError: "), (name, answer.wrong, wrong)
        assert "right" not in wrong.printed, (name, answer.wrong, wrong)
        for words in answer.names:
            assert words in wrong.error, (name, answer.wrong, words, wrong.error)
