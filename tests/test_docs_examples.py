"""The README's example pictures are made by docs/make_examples.py, never drawn by hand."""

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
SVG = "{http://www.w3.org/2000/svg}"


def drawing(svg_bytes):
    """What an SVG of a computation graph shows, without where the renderer put it: each node's
    name, texts and fill colour, each edge with its texts, and the graph's own texts. A patch
    release of the renderer may move things by a point; a change of the graph changes these."""
    root = ET.fromstring(svg_bytes)

    def shown(kind, with_fill):
        return sorted(
            (
                group.findtext(SVG + "title"),
                tuple(t.text for t in group.iter(SVG + "text")),
                next((e.get("fill") for e in group if e.get("fill")), None) if with_fill else "",
            )
            for group in root.iter(SVG + "g")
            if group.get("class") == kind
        )

    return {
        "nodes": shown("node", with_fill=True),
        "edges": shown("edge", with_fill=False),
        "graph texts": [t.text for t in root.find(SVG + "g").findall(SVG + "text")],
    }


@pytest.mark.usefixtures("no_system_graphviz")  # graphviz-pure: the renderer the docs used
def test_the_example_svgs_are_what_the_script_makes_today(tmp_path):
    make_examples = runpy.run_path(str(DOCS / "make_examples.py"))
    written = make_examples["graphs"](tmp_path)
    assert [p.name for p in written] == ["neuron.svg", "mlp_loss.svg"]
    for path in written:
        made, committed = drawing(path.read_bytes()), drawing((DOCS / path.name).read_bytes())
        assert len(made["nodes"]) > 10 and made["edges"]
        assert made == committed, (
            f"docs/{path.name} is out of date: run .venv/bin/python docs/make_examples.py"
        )


@pytest.mark.usefixtures("no_system_graphviz")
def test_the_rnn_pictures_are_what_the_script_makes_today(tmp_path):
    make_examples = runpy.run_path(str(DOCS / "make_examples.py"))
    written = make_examples["reuse_graphs"](tmp_path)
    assert [p.name for p in written] == ["rnn.svg", "rnn_without_copies.svg"]
    for path in written:
        assert drawing(path.read_bytes()) == drawing((DOCS / path.name).read_bytes()), (
            f"docs/{path.name} is out of date: run .venv/bin/python docs/make_examples.py"
        )
    with_copies, without = (drawing(path.read_bytes()) for path in written)
    copies = [texts for _, texts, _ in with_copies["nodes"] if texts[0].endswith("(again)")]
    assert (
        sorted(texts[0] for texts in copies)
        == ["b (again)"] * 2 + ["u (again)"] * 2 + ["w (again)"] * 2
    )
    assert not any(texts[0].endswith("(again)") for _, texts, _ in without["nodes"])
