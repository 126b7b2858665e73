"""Lesson 10's "your turn" cells, answered here and not in the notebook.

Each your-turn cell ships unanswered: its marked line reads ``my_x = ...  # <- your answer``.
The lesson runs once with every such cell three times over: as shipped (it must say "not
attempted" and raise nothing), with a typical wrong answer in place of the ``...`` (it must
give that mistake's teaching message) and with the right answer (it must say "right").
"""

import re

import nbformat
import pytest
from test_notebooks import NOTEBOOKS, execute

from tinygrad_edu import encode

LESSON = next(p for p in NOTEBOOKS if p.name.startswith("10_"))
MARKED = re.compile(r"^(my_\w+) = \.\.\.  # <- your answer", re.MULTILINE)

# name: (the right answer, a typical wrong one, words of the wrong one's message)
ANSWERS = {
    "my_predictions": (str(len(encode("olivia")) - 1), "len('olivia')", "must predict BOS"),
    "my_weight": (
        "math.exp(dots[0] / math.sqrt(d)) / sum(math.exp(s / math.sqrt(d)) for s in dots)",
        "math.exp(dots[0]) / sum(math.exp(s) for s in dots)",
        "divide each by sqrt(d)",
    ),
    "my_uniform_loss": ("-math.log(1 / 27)", "1 / 27", "the loss is -ln of it"),
    "my_captures": ("1", "steps", "once per input structure"),
}


def answered(source: str, answer: str) -> str:
    """The cell's source with ``answer`` in place of the ``...`` on the marked line."""
    return MARKED.sub(lambda m: f"{m[1]} = {answer}  # <- your answer", source, count=1)


def test_every_your_turn_cell_ships_unanswered_and_has_its_answers_here():
    cells = nbformat.read(LESSON, as_version=4).cells
    asked = [m[1] for c in cells if c.cell_type == "code" for m in MARKED.finditer(c.source)]
    assert asked == list(ANSWERS)


def test_your_turn_cells_say_not_attempted_wrong_or_right(tmp_path):
    notebook = nbformat.read(LESSON, as_version=4)
    cells, checked = [], []
    for cell in notebook.cells:
        found = MARKED.search(cell.source) if cell.cell_type == "code" else None
        if not found:
            cells.append(cell)
            continue
        right, wrong, _ = ANSWERS[found[1]]
        for source in (cell.source, answered(cell.source, wrong), answered(cell.source, right)):
            cells.append(nbformat.v4.new_code_cell(source))
        checked.append((found[1], len(cells) - 3))
    notebook.cells = cells
    path = tmp_path / LESSON.name
    nbformat.write(notebook, path)
    run = execute(path)
    assert not run.error, run.error
    for name, first in checked:
        said = [
            "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
            for cell in run.notebook.cells[first : first + 3]
        ]
        assert "not attempted" in said[0], (name, said[0])
        assert said[1].startswith("not quite") and ANSWERS[name][2] in said[1], (name, said[1])
        assert said[2].startswith("right"), (name, said[2])


@pytest.mark.parametrize("name", ANSWERS)
def test_an_answer_replaces_only_the_dots_of_its_line(name):
    source = f"{name} = ...  # <- your answer: a number\nprint({name} is ...)\n"
    assert (
        answered(source, "7") == f"{name} = 7  # <- your answer: a number\nprint({name} is ...)\n"
    )
