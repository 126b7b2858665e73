"""The step-through page as a file: one self-contained HTML document, nothing fetched, no label
turned into markup, the same max_nodes policy as draw_graph. (In a browser: test_page_browser.)
"""

import base64
import hashlib
import html
import re
import time
import warnings

import pytest

from tinygrad_edu import MLP, Value, backprop_steps, losses, render, show_backprop
from tinygrad_edu.steps import forward_order
from tinygrad_edu.viz import GraphCutWarning, GraphTooLargeError, backprop_page

pytestmark = pytest.mark.usefixtures("no_system_graphviz")

HOSTILE = ["<img src=x onerror=window.pwned=1>", "<script>window.pwned=1</script>", "\"q\" & 'a'"]


def batch_loss(samples):
    """mse of a 2-4-4-1 network over a batch (2 inputs a sample, 41 weights), and the model."""
    model = MLP(2, [4, 4, 1], seed=0)
    xs = [[0.1 * i, -0.2 * i] for i in range(samples)]
    return losses.mse([model(x)[0] for x in xs], [1.0] * samples), model


def test_the_page_is_one_file_that_fetches_nothing_and_runs_only_its_own_script(neuron, tmp_path):
    path = render(neuron, tmp_path / "backprop.html")
    page = path.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == [path]
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    # nothing that a browser would fetch: no links, sources, imports or urls
    assert not re.search(r"<link|<img|<iframe|\bsrc=|\bhref=|@import|url\(", page, re.I)
    # the policy allows exactly the one inline script, by its hash, and no network at all
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert policy == f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"


def test_a_200_value_graph_makes_a_page_under_1_mb():
    loss, model = batch_loss(6)
    assert 200 <= len(forward_order(loss)) <= 250
    # the parameters' long names ("layers.0.neurons.1.w.0") in every step that uses them
    size = len(backprop_page(loss, max_nodes=None, params=model).encode("utf-8"))
    assert size <= 1_000_000, size


def test_hostile_labels_stay_text_in_the_file():
    x = Value(1.0, label=HOSTILE[0])
    y = Value(2.0, label=HOSTILE[1])
    z = x * y
    z.label = HOSTILE[2]
    page = backprop_page(z)
    for label in HOSTILE:
        assert label not in page  # neither as markup nor inside the data
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in page  # in the SVG, as text
    assert "\\u003cscript\\u003ewindow.pwned=1\\u003c/script\\u003e" in page  # in the data
    assert page.count("<script") == 2  # the data and the page's own script


def test_building_the_page_changes_no_value(neuron):
    o = neuron
    values = [o, *o.children]
    before = [(v.data, v.grad) for v in values]
    backprop_page(o)
    assert [(v.data, v.grad) for v in values] == before


def test_a_big_graph_is_cut_as_draw_graph_cuts_it_and_the_page_says_so(neuron):
    loss, _ = batch_loss(20)
    with pytest.warns(GraphCutWarning, match="showing the 100 of"):
        page = backprop_page(loss, max_nodes=100)
    assert len(re.findall(r'<g id="v\d+" class="node"', page)) == 100  # 100 records drawn
    assert "The steps of the values left out are listed all the same" in page
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a graph within max_nodes is drawn whole, silently
        backprop_page(neuron)


def test_render_checks_the_page_options_as_draw_graph_does(neuron, tmp_path):
    with pytest.raises(ValueError, match="max_nodes"):
        render(neuron, tmp_path / "p.html", max_nodes=0)
    with pytest.raises(TypeError, match="show_grad"):
        render(neuron, tmp_path / "p.html", show_grad=False)  # the page always shows them
    with pytest.raises(TypeError, match="needs a Value"):
        backprop_page(1.0)
    assert list(tmp_path.iterdir()) == []


def test_show_backprop_carries_the_whole_page_in_an_iframe(neuron):
    o = neuron
    shown = show_backprop(o, height=500)
    markup = shown._repr_html_()
    (srcdoc,) = re.findall(r'<iframe srcdoc="([^"]*)"', markup)
    assert html.unescape(srcdoc) == shown.html == backprop_page(o)
    assert 'sandbox="allow-scripts"' in markup and "height: 500px" in markup
    with pytest.raises(ValueError, match="height"):
        show_backprop(o, height=10)


def test_a_page_of_a_graph_past_the_steps_limit_is_refused_quickly(tmp_path):
    y = Value(0.5, label="x")
    for _ in range(100_000):
        y = y * 1.0
    started = time.perf_counter()
    for make in (backprop_page, show_backprop, lambda root: render(root, tmp_path / "p.html")):
        with pytest.raises(GraphTooLargeError, match=r"more than 10,000 values.*max_values=None"):
            make(y)
    assert time.perf_counter() - started < 10  # a hang guard: the usual is well under 1 s
    assert list(tmp_path.iterdir()) == []
    small = Value(0.5, label="x") * 2
    assert "Backprop step by step" in backprop_page(small, max_values=2)
    with pytest.raises(GraphTooLargeError, match="more than 1 values"):
        backprop_page(small, max_values=1)


def test_an_unrolled_rnn_makes_a_page_whose_copies_stand_for_the_shared_weights(reused_graphs):
    loss = reused_graphs["50-step RNN"]
    page = backprop_page(loss)
    steps = backprop_steps(loss)
    # every value drawn once, with its steps; w, u and b drawn again beside their uses
    assert len(re.findall(r'<g id="v\d+" class="node"', page)) == len(steps.values)
    copy = r'<g id="c\d+_\d+" class="node">\n<polygon[^>]*>\n<text[^>]*>([^<]*)<'
    copies = re.findall(copy, page)
    assert len(copies) >= 95 and set(copies) == {"w (again)", "u (again)", "b (again)"}
    assert "xlink:title" not in page  # no tooltips: the page explains a value on a click
