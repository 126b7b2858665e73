"""The README's example pictures are made by docs/make_examples.py, never drawn by hand."""

import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.usefixtures("no_system_graphviz")  # graphviz-pure: the same bytes on every machine
def test_the_example_svgs_are_what_the_script_makes_today(tmp_path):
    make_examples = runpy.run_path(str(DOCS / "make_examples.py"))
    written = make_examples["graphs"](tmp_path)
    assert [p.name for p in written] == ["neuron.svg", "mlp_loss.svg"]
    for path in written:
        assert path.read_bytes() == (DOCS / path.name).read_bytes(), (
            f"docs/{path.name} is out of date: run .venv/bin/python docs/make_examples.py"
        )
