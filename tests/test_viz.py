"""Pictures of computation graphs: draw_graph and render, checked in the rendered output.

Every rendering test runs with no `dot` on PATH (the no_system_graphviz fixture), so the
pictures come from graphviz-pure, as on a fresh machine after the README's install command.
"""

import math
import re
import struct
import subprocess
import xml.etree.ElementTree as ET

import graphviz
import pytest
from hypothesis import given, settings

from tinygrad_edu import MLP, Value, backprop_steps, draw_graph, losses, render, viz
from tinygrad_edu.graphviz_program import use_renderer
from tinygrad_edu.steps import box_number
from tinygrad_edu.testing import expressions
from tinygrad_edu.viz import ComputationGraph, GraphCutWarning, GraphTooLargeError

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.usefixtures("no_system_graphviz")


def neuron():
    """micrograd's neuron, o = tanh(x1 w1 + x2 w2 + b), after backward()."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    return o


def all_values(root):
    found, stack = {root}, [root]
    while stack:
        for child in stack.pop().children:
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def svg_groups(svg_text, cls):
    root = ET.fromstring(svg_text)
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


def texts(group):
    return [t.text for t in group.iter(SVG + "text")]


def node_with_text(svg_text, text):
    [node] = [g for g in svg_groups(svg_text, "node") if text in texts(g)]
    return node


def ovals(svg_text):
    """The texts of the op nodes, nearest the result first (a line of text each)."""
    return [
        "\n".join(texts(g))
        for g in svg_groups(svg_text, "node")
        if g.find(SVG + "ellipse") is not None
    ]


def edge_labels(svg_text):
    """(title, label) for each edge: its title "from->to" and its label's text, or None."""
    return [
        (g.find(SVG + "title").text, (texts(g) or [None])[0]) for g in svg_groups(svg_text, "edge")
    ]


def fill(node):
    return next(node.iter(SVG + "polygon")).get("fill")


# --- what is drawn -------------------------------------------------------------------------


def test_a_neuron_renders_one_record_per_value_and_one_node_per_op():
    o = neuron()
    svg = draw_graph(o).pipe(format="svg", encoding="utf-8")
    values = all_values(o)
    interior = [v for v in values if v.children]
    assert len(values) == 10 and len(interior) == 5
    assert len(svg_groups(svg, "node")) == len(values) + len(interior)
    # each operand -> its op, and each op -> its result
    assert len(svg_groups(svg, "edge")) == sum(len(v.children) for v in interior) + len(interior)
    ops = sorted(texts(g)[0] for g in svg_groups(svg, "node") if len(texts(g)) == 1)
    assert ops == ["*", "*", "+", "+", "tanh"]


def test_each_record_shows_label_data_and_grad():
    svg = draw_graph(neuron()).pipe(format="svg", encoding="utf-8")
    assert texts(node_with_text(svg, "x1")) == ["x1", "data 2.0000", "grad -1.5000"]
    assert texts(node_with_text(svg, "w1")) == ["w1", "data -3.0000", "grad 1.0000"]
    assert texts(node_with_text(svg, "o")) == ["o", "data 0.7071", "grad 1.0000"]
    # an unlabelled interior value, named in forward order: v1 = x1*w1 = -6, do/dv1 = 0.5
    assert texts(node_with_text(svg, "v1")) == ["v1", "data -6.0000", "grad 0.5000"]
    assert texts(node_with_text(svg, "v2")) == ["v2", "data 0.0000", "grad 0.5000"]  # x2*w2


def test_show_grad_false_leaves_the_grads_out():
    svg = draw_graph(neuron(), show_grad=False).pipe(format="svg", encoding="utf-8")
    assert texts(node_with_text(svg, "x1")) == ["x1", "data 2.0000"]
    assert not any(t.startswith("grad") for g in svg_groups(svg, "node") for t in texts(g))


def test_a_reused_operand_draws_two_edges():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    svg = draw_graph(y).pipe(format="svg", encoding="utf-8")
    edge_titles = [g.find(SVG + "title").text for g in svg_groups(svg, "edge")]
    assert edge_titles.count("v1->op0") == 2 and edge_titles.count("op0->v0") == 1
    assert texts(node_with_text(svg, "x")) == ["x", "data 3.0000", "grad 6.0000"]


def test_constants_are_not_nodes_but_written_in_their_ops_oval():
    x = Value(1.5, label="x")
    svg = draw_graph(x * 2 + 1).pipe(format="svg", encoding="utf-8")
    data = sorted(t for g in svg_groups(svg, "node") for t in texts(g) if t.startswith("data"))
    assert data == ["data 1.5000", "data 3.0000", "data 4.0000"]  # no node for the 2 or the 1
    assert ovals(svg) == ["+ 1.0", "* 2.0"]


def test_every_constant_and_setting_of_a_loss_is_in_the_picture():
    y, w = Value(0.5, label="y"), Value(2.0, label="w")
    loss = losses.mse([y * w, y.leaky_relu(0.2)], [1.0, -3.0])  # (p - t)**2 summed, / 2
    svg = draw_graph(loss).pipe(format="svg", encoding="utf-8")
    assert sorted(ovals(svg)) == sorted(
        ["/ 2.0", "sum", "** 2.0", "** 2.0", "- 1.0", "- (-3.0)", "*", "leaky_relu\nslope=0.2"]
    )


@pytest.mark.parametrize(
    "make, oval, letters",
    [
        (lambda x, y: x - y, "a - b", ["a", "b"]),
        (lambda x, y: y - x, "a - b", ["b", "a"]),  # x is the second operand: b
        (lambda x, y: x / y, "a / b", ["a", "b"]),
        (lambda x, y: x**y, "a ** b", ["a", "b"]),
        (lambda x, y: 2 / x, "2.0 / b", ["b", None]),  # the letters say where, the
        (lambda x, y: 2 - y, "2.0 - b", [None, "b"]),  # constant is operand a
        (lambda x, y: 2**x, "2.0 ** b", ["b", None]),
        (lambda x, y: Value.dot([x, y], [y, 3.0]), "a1 * b1 + a2 * 3.0", ["a1", "a2"]),
    ],
)
def test_operand_order_is_in_the_picture(make, oval, letters):
    x, y = Value(1.5, label="x"), Value(2.5, label="y")
    out = make(x, y)
    svg = draw_graph(out).pipe(format="svg", encoding="utf-8")
    assert ovals(svg) == [oval]
    labels = edge_labels(svg)

    def letters_from(name):  # the labels of the edges leaving name's record
        record = node_with_text(svg, name).find(SVG + "title").text
        return sorted(v for k, v in labels if k.startswith(f"{record}->"))

    for name, letter in zip("xy", letters):
        if letter is not None:  # the edge from x (or y) carries its operand's letter
            assert letter in letters_from(name)
    if out.row.name == "dot":  # y is both b1, x's partner, and a2: two edges, two letters
        assert letters_from("y") == ["a2", "b1"]


def test_commutative_ops_and_functions_draw_no_letters():
    x, y = Value(1.5, label="x"), Value(2.5, label="y")
    for out in (x + y, x * y, Value.sum([x, y, x]), x.tanh(), x * 3, 3 + x):
        svg = draw_graph(out).pipe(format="svg", encoding="utf-8")
        assert {label for _, label in edge_labels(svg)} == {None}


def test_unlabelled_values_are_named_in_forward_order_and_avoid_the_labels_in_use():
    a, b = Value(1.0), Value(2.0, label="v1")
    out = (a * b).exp() + a
    svg = draw_graph(out).pipe(format="svg", encoding="utf-8")
    # leaves first (a is v2, as v1 is taken), then a*b, exp(a*b) and the sum
    assert [texts(node_with_text(svg, name))[0] for name in ("v2", "v3", "v4", "v5")] == [
        "v2",
        "v3",
        "v4",
        "v5",
    ]
    assert texts(node_with_text(svg, "v2"))[1] == "data 1.0000"
    assert texts(node_with_text(svg, "v3"))[1] == "data 2.0000"  # a * b
    assert texts(node_with_text(svg, "v5"))[1] == f"data {math.exp(2) + 1:.4f}"
    # the same graph built again gets the same names
    again = draw_graph((Value(1.0) * Value(2.0, label="v1")).exp() + Value(1.0)).source
    assert "v2 |" in again and "v5 |" in again


def test_leaves_parameters_and_the_result_look_different():
    model = MLP(2, [2, 1], seed=0)
    x = Value(0.5, label="x")
    loss = losses.mse(model([x, 1.0]), [1.0])
    loss.backward()
    svg = draw_graph(loss, params=model).pipe(format="svg", encoding="utf-8")
    nodes = svg_groups(svg, "node")
    result = nodes[0]
    assert texts(result)[1].startswith("data") and fill(result) == viz._FILL["result"]
    assert fill(node_with_text(svg, "x")) == viz._FILL["leaf"]
    # parameters are named after the Module's attributes, and all have the parameter colour
    w = node_with_text(svg, "layers.0.neurons.1.w.0")
    assert fill(w) == viz._FILL["parameter"]
    parameter_fills = [fill(g) for g in nodes if texts(g)[0].startswith("layers.")]
    assert len(parameter_fills) == len(model.parameters())
    assert set(parameter_fills) == {viz._FILL["parameter"]}
    assert len({viz._FILL[k] for k in ("result", "parameter", "leaf", "interior")}) == 4


def test_params_may_also_be_a_list_of_values():
    w, x = Value(2.0), Value(3.0, label="x")
    graph = draw_graph(w * x, params=[w])
    assert graph.source.count(viz._FILL["parameter"]) == 1
    with pytest.raises(TypeError, match="Values only"):
        draw_graph(w * x, params=[w, 1.0])
    with pytest.raises(TypeError, match="Module or an iterable"):
        draw_graph(w * x, params=w)


def test_special_characters_in_labels_are_shown_as_written():
    x = Value(1.0, label='a{b}|<c> "d" \\e')
    svg = draw_graph(x * 2).pipe(format="svg", encoding="utf-8")
    assert texts(node_with_text(svg, 'a{b}|<c> "d" \\e'))[1] == "data 1.0000"


def test_characters_that_cannot_be_shown_are_drawn_as_their_escapes(tmp_path):
    # a NUL made Graphviz fail ("syntax error in line 7"), a lone surrogate the encoding
    x = Value(1.0, label="a\x00b")
    y = x * Value(2.0, label="c\ud800\nd")
    svg = draw_graph(y).pipe(format="svg", encoding="utf-8")
    assert texts(node_with_text(svg, "a\\x00b"))[1] == "data 1.0000"
    assert texts(node_with_text(svg, "c\\ud800\\nd"))[1] == "data 2.0000"
    page = render(y, tmp_path / "p.html").read_text(encoding="utf-8")
    assert "a\\x00b" in page


def test_a_long_name_is_cut_in_its_box_and_whole_in_its_tooltip():
    name = "the_weight_of_the_first_neuron_of_the_hidden_layer"
    svg = draw_graph(Value(1.0, label=name) * 2).pipe(format="svg", encoding="utf-8")
    [box] = [g for g in svg_groups(svg, "node") if texts(g)[0].endswith("...")]
    assert texts(box)[0] == name[: viz.MAX_LABEL - 3] + "..."
    assert box.find(f"{SVG}g/{SVG}a").get("{http://www.w3.org/1999/xlink}title") == name


@settings(max_examples=15)
@given(expressions())
def test_random_graphs_render_with_the_right_node_and_edge_counts(expr):
    out = expr([Value(x) for x in expr.inputs])
    out.backward()
    graph = draw_graph(out)
    svg = graph.pipe(format="svg", encoding="utf-8")
    values = all_values(out)
    interior = [v for v in values if v.children]
    # a use far from its value is drawn from a copy of the value, one per (value, op) pair
    copies = [g for g in svg_groups(svg, "node") if re.fullmatch(r"c\d+_\d+", g.get("id"))]
    assert len(copies) == len(viz.far_uses(viz._values_nearest_first(out)))
    assert len(svg_groups(svg, "node")) == len(values) + len(interior) + len(copies)
    assert len(svg_groups(svg, "edge")) == sum(len(v.children) for v in interior) + len(interior)
    assert len(svg_groups(svg, "node")) + len(svg_groups(svg, "edge")) == graph.layout_size


@pytest.mark.parametrize(
    "rankdir, direction", [("LR", (1, 0)), ("RL", (-1, 0)), ("TB", (0, 1)), ("BT", (0, -1))]
)
def test_rankdir_sets_where_the_result_lies_from_the_inputs(rankdir, direction):
    svg = draw_graph(neuron(), rankdir=rankdir).pipe(format="svg", encoding="utf-8")

    def where(label):
        text = node_with_text(svg, label).find(SVG + "text")
        return float(text.get("x")), float(text.get("y"))  # SVG's y grows downwards

    (x_in, y_in), (x_out, y_out) = where("x1"), where("o")
    along = (x_out - x_in) * direction[0] + (y_out - y_in) * direction[1]
    across = (x_out - x_in) * direction[1] + (y_out - y_in) * direction[0]
    assert along > 300 and along > 1.2 * abs(across)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"rankdir": "sideways"}, ValueError),
        ({"max_nodes": 0}, ValueError),
        ({"max_nodes": True}, ValueError),
        ({"max_nodes": 2.5}, ValueError),
    ],
)
def test_bad_arguments_are_named(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        draw_graph(neuron(), **kwargs)
    with pytest.raises(TypeError, match="needs a Value"):
        draw_graph(2.0)


# --- big graphs ----------------------------------------------------------------------------


def batch_loss(samples, model=None):
    model = model or MLP(2, [16, 16, 1], seed=0)
    xs = [[0.1 * i, -0.2 * i] for i in range(samples)]
    loss = losses.mse([model(x)[0] for x in xs], [1.0] * samples)
    loss.backward()
    return loss


def test_a_big_graph_is_cut_near_the_result_with_a_note_and_a_warning():
    loss = batch_loss(20)
    total = len(all_values(loss))
    with pytest.warns(GraphCutWarning, match=f"showing the 200 of {total:,} values"):
        graph = draw_graph(loss, max_nodes=200)
    svg = graph.pipe(format="svg", encoding="utf-8")
    records = [g for g in svg_groups(svg, "node") if any(t.startswith("data") for t in texts(g))]
    assert len(records) == 200
    cuts = [texts(g)[0] for g in svg_groups(svg, "node") if texts(g)[0].startswith("...")]
    assert cuts and all(t.endswith(" more") for t in cuts)
    graph_texts = [t.text or "" for t in ET.fromstring(svg).find(SVG + "g").findall(SVG + "text")]
    assert any("showing the 200 of" in t for t in graph_texts)  # the note is in the picture


def test_the_default_draws_a_batch_mlp_loss_small_enough_to_lay_out_quickly_and_legibly():
    loss = batch_loss(20)  # about 2,400 values: 20,564 nodes and edges if drawn whole
    with pytest.warns(GraphCutWarning):
        graph = draw_graph(loss)
    svg = graph.pipe(format="svg", encoding="utf-8")
    records = [g for g in svg_groups(svg, "node") if any(t.startswith("data") for t in texts(g))]
    assert len(records) == viz.DEFAULT_MAX_NODES
    # the layout's work, counted (time is for benchmarks/render_time.py): the renderer laid
    # out as many nodes and edges as draw_graph says, and its time grows with the square of
    # that count, so a fifth of RENDER_LIMIT (~20 s) lays out in about a twenty-fifth of it
    laid_out = len(svg_groups(svg, "node")) + len(svg_groups(svg, "edge"))
    assert laid_out == graph.layout_size
    assert laid_out <= viz.RENDER_LIMIT // 5


def test_a_graph_too_big_to_lay_out_is_refused_before_any_renderer_starts(tmp_path):
    loss = batch_loss(30)
    graph = draw_graph(loss, max_nodes=None)  # drawing it all is allowed: the DOT text is fine
    assert graph.layout_size > viz.RENDER_LIMIT
    with pytest.raises(GraphTooLargeError, match="max_nodes"):
        graph.pipe(format="svg")
    with pytest.raises(GraphTooLargeError):
        graph.render(tmp_path / "big")
    with pytest.raises(GraphTooLargeError):
        render(loss, tmp_path / "big.svg", max_nodes=None)
    assert list(tmp_path.iterdir()) == []
    assert render(loss, tmp_path / "big.gv", max_nodes=None) == tmp_path / "big.gv"


def deep_chain(depth):
    y = Value(0.5, label="x")
    for _ in range(depth):
        y = y * 1.0
    return y


def test_a_graph_100000_deep_is_cut_without_recursion():
    with pytest.warns(GraphCutWarning, match="of 100,001 values"):
        svg = draw_graph(deep_chain(100_000), max_nodes=50).pipe(format="svg", encoding="utf-8")
    assert len(svg_groups(svg, "node")) == 50 + 50 + 1  # 50 values, their ops, one cut mark


def test_a_graph_far_deeper_than_the_recursion_limit_is_drawn_whole():
    graph = draw_graph(deep_chain(5_000), max_nodes=None)
    assert graph.source.count("[label=") == 5_001 + 5_000
    assert graph.source.count("->") == 2 * 5_000


@pytest.mark.slow
def test_a_graph_a_million_deep_is_cut_without_recursion():
    with pytest.warns(GraphCutWarning, match="of 1,000,001 values"):
        graph = draw_graph(deep_chain(1_000_000))
    assert graph.source.count("->") == 2 * viz.DEFAULT_MAX_NODES


def test_a_long_graph_as_png_is_scaled_to_fit_while_svg_keeps_its_size():
    o = Value(0.5, label="x")
    for i in range(400):
        o = (o * Value(0.9, label=f"w{i}") + Value(0.1, label=f"b{i}")).tanh()
    graph = draw_graph(o, max_nodes=None)
    svg_width = float(ET.fromstring(graph.pipe(format="svg")).get("width").removesuffix("pt"))
    assert svg_width > 100_000  # points: far too wide for one bitmap in memory
    png = graph.pipe(format="png")
    width, height = struct.unpack(">II", png[16:24])
    assert png[:8] == PNG_SIGNATURE and width == 9600 and 0 < height <= 9600
    assert "size" not in graph.graph_attr  # the picture was scaled, the graph left alone


# --- render() and the ways a Digraph is shown ------------------------------------------------


def test_render_writes_svg_png_and_dot_text_by_suffix(tmp_path):
    o = neuron()
    svg_path = render(o, tmp_path / "neuron.svg")
    assert svg_path == tmp_path / "neuron.svg"
    svg = svg_path.read_text()
    assert len(svg_groups(svg, "node")) == 15
    assert texts(node_with_text(svg, "x1")) == ["x1", "data 2.0000", "grad -1.5000"]

    png = render(o, str(tmp_path / "neuron.png"))
    assert png == str(tmp_path / "neuron.png")
    data = (tmp_path / "neuron.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    # graphviz draws at 96 dpi: the PNG is the SVG's size in points times 96/72
    svg_root = ET.fromstring(svg)
    assert width == round(float(svg_root.get("width").removesuffix("pt")) * 96 / 72)
    assert height == round(float(svg_root.get("height").removesuffix("pt")) * 96 / 72)
    assert width > 600 and height > 100

    gv = render(o, tmp_path / "neuron.gv")
    assert gv.read_text() == draw_graph(o).source
    assert render(o, tmp_path / "picture", format="PNG").read_bytes()[:8] == PNG_SIGNATURE


def test_dot_text_needs_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setattr("tinygrad_edu.graphviz_program.graphviz_pure_executable", lambda: None)
    render(neuron(), tmp_path / "neuron.gv")
    assert "digraph" in (tmp_path / "neuron.gv").read_text()
    with pytest.raises(graphviz.ExecutableNotFound, match="tinygrad-edu\\[viz\\]"):
        render(neuron(), tmp_path / "neuron.svg")
    assert not (tmp_path / "neuron.svg").exists()


def test_render_rejects_unknown_formats_and_missing_directories_before_writing(tmp_path):
    with pytest.raises(ValueError, match="the formats are svg, png, gv, dot"):
        render(neuron(), tmp_path / "neuron.pdf")
    with pytest.raises(ValueError, match="no suffix"):
        render(neuron(), tmp_path / "neuron")
    with pytest.raises(FileNotFoundError, match="no directory"):
        render(neuron(), tmp_path / "missing" / "neuron.svg")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "graph.svg"
    target.write_text("the old picture")

    def failing_pipe(self, *args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"])

    monkeypatch.setattr(ComputationGraph, "pipe", failing_pipe)
    with pytest.raises(graphviz.CalledProcessError):
        render(neuron(), target)
    assert target.read_text() == "the old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def test_draw_graph_returns_a_digraph_that_renders_like_any_other(tmp_path):
    graph = draw_graph(neuron())
    assert isinstance(graph, graphviz.Digraph)
    out = graph.render(tmp_path / "neuron", format="svg")
    assert out == str(tmp_path / "neuron.svg")
    svg = (tmp_path / "neuron.svg").read_text()
    assert texts(node_with_text(svg, "x1")) == ["x1", "data 2.0000", "grad -1.5000"]


def test_jupyter_inline_display_renders_svg_and_png_without_system_graphviz():
    bundle = draw_graph(neuron())._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    assert len(svg_groups(bundle["image/svg+xml"], "node")) == 15
    png = draw_graph(neuron())._repr_mimebundle_(include=["image/png"])["image/png"]
    assert png[:8] == PNG_SIGNATURE


# --- values reused hundreds of times ---------------------------------------------------------

# seconds: each graph lays out in well under a second; before copies (viz.far_uses) they took
# minutes, the 50-step RNN about five
LAYOUT_GUARD = 30


def laid_out(graph):
    """The SVG of graph, from the renderer run directly, so that a layout that hangs is
    ended at LAYOUT_GUARD seconds rather than holding up the suite."""
    renderer = use_renderer()
    done = subprocess.run(
        [str(renderer), "-Tsvg"], input=graph.source.encode(), capture_output=True,
        timeout=LAYOUT_GUARD, check=True,
    )  # fmt: skip
    return done.stdout.decode()


def edge_spans(svg):
    """How far each edge reaches along the layout (x, for rankdir LR), in points."""
    spans = []
    for g in svg_groups(svg, "edge"):
        xs = [float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", g.find(SVG + "path").get("d"))]
        spans.append(max(xs) - min(xs))
    return spans


@pytest.mark.parametrize("name", ["sum of 150 uses", "100 chained products", "50-step RNN"])
def test_a_value_reused_hundreds_of_times_draws_every_value_quickly(name, reused_graphs):
    root = reused_graphs[name]
    steps = backprop_steps(root)
    graph = draw_graph(root)  # the default max_nodes draws all of it
    svg = laid_out(graph)
    records = {
        texts(g)[0]: texts(g)[1:] for g in svg_groups(svg, "node") if g.get("id").startswith("v")
    }
    assert records == {
        name: [f"data {box_number(v.data)}", f"grad {box_number(v.grad)}"]
        for name, v in zip(steps.names, steps.values)
    }
    # a value used far from its box is drawn again beside each such use, so no arrow is long:
    # none reaches farther than the longest reaches in a graph with no reuse at all
    copies = [texts(g)[0] for g in svg_groups(svg, "node") if g.get("id").startswith("c")]
    shared = {"sum of 150 uses": {"x"}, "100 chained products": {"x"}, "50-step RNN": "wub"}
    assert {c.removesuffix(" (again)") for c in copies} == set(shared[name])
    assert len(copies) >= 95 and max(edge_spans(svg)) < 400
