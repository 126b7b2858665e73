"""Pictures of computation graphs: what a result was computed from, and every gradient.

Each Value is a record ``name | data 2.0000 | grad -0.5000``; each op is a small node between
its operands and its result, so ``o = tanh(x*w + b)`` reads left to right as

    x, w -> (*) -> v1 ;  v1, b -> (+) -> v2 ;  v2 -> (tanh) -> o

A Value's name is its label, else its parameter name (``params``), else an automatic short
name, ``v1``, ``v2``, ... in the order the forward pass computes them (``steps.value_names``):
the pictures, the steps and the step-through page use the same names. The picture holds every
number a value depends on: a constant operand is written in its op's oval (``* 2.0``,
``- 1.0``, ``/ 4.0``, ``2.0 - a``), and so is a setting (``leaky_relu`` with ``slope=0.2``).
Where operand order matters (``a - b``, ``a / b``, ``a ** b``, a dot product) the oval is
a formula in ``a``, ``b``, ... and each edge into it is labelled with its operand's letter.
An operand used twice (``x * x``) draws two edges. Colour says what a Value is: blue for the
leaves (inputs and constants), yellow for a Module's parameters, green with a bold frame for
the result; interior values are white.

A value used all along a graph (a weight shared by every step of an unrolled RNN) is drawn
once, by its first use, and again beside each use far from there as a dashed copy of its name,
``w (again)`` (see :func:`far_uses`): no arrow crosses the picture, so the layout stays quick
and the picture readable.

:func:`draw_graph` returns a ``graphviz.Digraph``, so ``.source``, ``.render()``, ``.pipe()``
and inline display in Jupyter work as usual; it renders with the system's ``dot`` or, with no
Graphviz installed, the graphviz-pure program of the ``viz`` extra (see ``graphviz_program.py``).
:func:`render` writes a picture (``.svg``, ``.png``), the DOT text (``.gv``) or the
step-through page (``.html``: backprop step by step, see ``page.py``) in one call;
:func:`show_backprop` shows that page in a Jupyter notebook.

Big graphs: an MLP on a batch has tens of thousands of Values, and Graphviz's layout time
grows faster than the graph. ``draw_graph`` draws at most ``max_nodes`` Values, those nearest
the result (breadth first), marks each cut with a "... N more" node, says so in the picture and
warns. A graph drawn whole that is too large to lay out in reasonable time raises
:class:`GraphTooLargeError` when it is rendered, instead of the renderer running for minutes;
so does the step-through page of a graph with more values than its steps can list
(``max_values``, see ``steps.py``).
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, Union

import graphviz

from .engine import Value
from .files import write_atomically
from .graphviz_program import use_renderer
from .page import BackpropPage, page_html
from .steps import (
    STEPS_LIMIT,
    GraphTooLargeError,
    Params,
    backprop_steps,
    box_number,
    factor,
    formula,
    forward_order,
    number,
    parameter_names,
    value_names,
)

# the step-through page holds a second layout (turned: top to bottom for left to right) of a
# graph of up to this many Values; a bigger graph's page would nearly double in size
TURNED_LAYOUT_MAX = 100
DEFAULT_MAX_NODES = 500  # Values drawn by default: renders in a few seconds, still legible
# nodes + edges past which a layout is refused, not started: about 20 s of layout on a 2-core
# machine, and the time grows faster than the graph (twice as big, four times as long)
RENDER_LIMIT = 20_000

# A long graph laid out is hundreds of thousands of pixels wide: a bitmap of it would need
# gigabytes (graphviz-pure aborts; Graphviz's dot scales down). Bitmaps are scaled to fit
# 100 x 100 inches, 9,600 pixels a side at 96 dpi; SVG is drawn at full size.
MAX_BITMAP = "100,100"
BITMAP_FORMATS = ("png", "jpg", "jpeg", "jpe")

RANKDIRS = ("LR", "RL", "TB", "BT")
PICTURE_FORMATS = ("svg", "png")
SOURCE_FORMATS = ("gv", "dot")  # DOT text, written without a renderer
PAGE_FORMATS = ("html",)  # the step-through page
# a use more than this many steps nearer the result than its value is drawn from a copy of
# the value (see far_uses): an arrow spans at most this many steps
FAR = 2
MAX_LABEL = 40  # characters of a name shown in a box; a longer one is cut, whole in a tooltip

_FILL = {"result": "#bbf7d0", "parameter": "#fde68a", "leaf": "#dbeafe", "interior": "white"}
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in '\\{}|<>"'})
_QUOTED_SPECIAL = str.maketrans({"\\": "\\\\", '"': '\\"'})

PathT = TypeVar("PathT", bound=Union[str, "os.PathLike[str]"])  # render returns what it is given


class GraphCutWarning(UserWarning):
    """draw_graph drew only the ``max_nodes`` Values nearest the result."""


def _finding_a_renderer(method: Callable) -> Callable:
    """graphviz's ``method`` (pipe or render), run after checking the graph's size and
    pointing graphviz at a renderer; a bitmap is drawn on a copy scaled to fit MAX_BITMAP."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: ComputationGraph, *args: object, **kwargs: object) -> object:
        self.check_renderable()
        use_renderer()
        format = signature.bind(self, *args, **kwargs).arguments.get("format") or self.format
        graph = self
        if format in BITMAP_FORMATS and "size" not in self.graph_attr:
            graph = self.copy()  # scaled to fit, leaving the caller's graph as it was
            graph.graph_attr["size"] = MAX_BITMAP
        return method(graph, *args, **kwargs)

    return wrapper


class ComputationGraph(graphviz.Digraph):
    """The ``graphviz.Digraph`` that :func:`draw_graph` returns.

    It renders as any Digraph does (``.render()``, ``.pipe()``, ``.view()``, Jupyter's inline
    display, which calls ``.pipe()``), first finding a renderer, the system's ``dot`` or
    graphviz-pure, and refusing a graph too large to lay out in reasonable time.
    """

    # number of nodes + edges drawn; a copy made by graphviz's .copy() is not checked
    layout_size = 0

    def check_renderable(self) -> None:
        """Raise GraphTooLargeError if laying this graph out would take minutes."""
        if self.layout_size > RENDER_LIMIT:
            raise GraphTooLargeError(
                f"this graph has {self.layout_size:,} nodes and edges, more than Graphviz lays "
                f"out in reasonable time (limit {RENDER_LIMIT:,}); draw the part nearest the "
                f"result with draw_graph(root, max_nodes=N) ({DEFAULT_MAX_NODES} by default), "
                "or save the DOT text with render(root, 'graph.gv', max_nodes=None) and run "
                "dot on it yourself"
            )

    pipe = _finding_a_renderer(graphviz.Digraph.pipe)
    render = _finding_a_renderer(graphviz.Digraph.render)


def draw_graph(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Params = None,
) -> ComputationGraph:
    """The computation graph of ``root`` as a ``graphviz.Digraph``.

    ``rankdir``: "LR" (inputs on the left), "TB", "RL" or "BT". ``show_grad``: add each
    Value's grad to its record. ``max_nodes``: draw at most this many Values, those nearest
    ``root``, marking what is left out (None: draw all). ``params``: a Module, or Values, whose
    parameters are drawn as such; a Module's parameter names name the ones with no label.
    """
    _check_drawing(root, rankdir, max_nodes)
    names = value_names(forward_order(root), params)

    def fields(value: Value) -> list[str]:
        data = f"data {box_number(value.data)}"
        return [data, f"grad {box_number(value.grad)}"] if show_grad else [data]

    graph, _ = _drawing(root, rankdir, max_nodes, names, set(parameter_names(params)), fields)
    return graph


def _check_drawing(root: Value, rankdir: str, max_nodes: int | None) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}: {root!r:.60}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")


def _drawing(
    root: Value,
    rankdir: str,
    max_nodes: int | None,
    names: dict[Value, str],
    parameters: set[Value],
    fields: Callable[[Value], list[str]],
    tooltips: bool = True,
    stacked: bool = False,
) -> tuple[ComputationGraph, list[Value]]:
    """The graph, and the Values drawn: ``shown[i]`` is the record ``v{i}``, its op the oval
    ``op{i}``, the edge from its k-th operand ``e{i}_{k}`` and the edge from its op ``r{i}``
    (ids that the SVG keeps, for the step-through page); ``c{j}_{i}`` is a copy of value j
    drawn beside op i (see :func:`far_uses`). A record holds the value's name, cut to
    MAX_LABEL characters, and ``fields(value)``, side by side, or one under another if
    ``stacked`` (narrow records, for a page's top-to-bottom layout); with ``tooltips``, a cut
    name is whole in a tooltip, and a copy says what it is (the step-through page explains
    values itself)."""
    values = _values_nearest_first(root)
    shown = values if max_nodes is None else values[:max_nodes]
    index = {v: i for i, v in enumerate(shown)}
    # a record's top level stacks across the rank: side by side in a row of LR's ranks
    fields_across = (rankdir in ("LR", "RL")) != stacked

    graph = ComputationGraph(
        name="computation_graph",
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "nodesep": "0.15"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "penwidth": "0.8"},
        edge_attr={"arrowsize": "0.6", "color": "#4b5563", "penwidth": "0.8"},
    )
    # nodes grouped by kind under one default each, then the edges: a compact DOT text
    graph.attr("node", style="filled", fillcolor=_FILL["interior"])
    kinds = [_kind(value, i == 0, value in parameters) for i, value in enumerate(shown)]
    for i, value in enumerate(shown):
        name = names[value]
        short = _shortened(name)
        # a tooltip only where the box does not say it all: SVG wraps a tooltip's node in a link
        tooltip = name if tooltips and short != name else None
        graph.node(
            f"v{i}",
            _record([short, *fields(value)], fields_across),
            shape="record",
            fillcolor=None if kinds[i] == "interior" else _FILL[kinds[i]],
            penwidth="2" if kinds[i] == "result" else None,
            tooltip=tooltip and tooltip.translate(_QUOTED_SPECIAL),
            id=f"v{i}",
        )
    interior = [(i, value) for i, value in enumerate(shown) if value.children]
    copies = far_uses(shown)
    graph.attr("node", style="dashed,filled", color="#6b7280")
    uses = _use_counts(shown, index)
    for j, i in copies:
        name = _shortened(names[shown[j]])
        graph.node(
            f"c{j}_{i}",
            f"{name} (again)".translate(_QUOTED_SPECIAL),
            shape="box",
            fillcolor=_FILL[kinds[j]] if kinds[j] != "result" else None,
            tooltip=(
                f"{names[shown[j]]} again: its box, with its data and grad, is drawn once, at "
                f"its first use; it is used {uses[j]} times, and its grad is the sum over them"
            ).translate(_QUOTED_SPECIAL)
            if tooltips
            else None,
            id=f"c{j}_{i}",
        )
    graph.attr("node", style="filled", fillcolor="#e5e7eb", width="0.35", height="0.3")
    operand_letters = {}
    for i, value in interior:
        oval, operand_letters[i] = op_label(value)
        graph.node(f"op{i}", oval.translate(_QUOTED_SPECIAL), shape="ellipse", id=f"op{i}")
    cut = {}  # op index -> how many of its operands are not drawn
    for i, value in interior:
        left_out = sum(1 for child in value.children if child not in index)
        if left_out:
            cut[i] = left_out
    graph.attr("node", fontcolor="#6b7280")
    for i, left_out in cut.items():
        graph.node(f"cut{i}", f"... {left_out} more", shape="plaintext")

    edges = 0
    # an operand's letter sits at the arrow's head, by the oval it is an operand of
    graph.attr(
        "edge", fontname="Helvetica", fontsize="10", fontcolor="#1d4ed8", labeldistance="1.6"
    )
    for i, value in interior:
        graph.edge(f"op{i}", f"v{i}", id=f"r{i}")
        for k, (child, letter) in enumerate(zip(value.children, operand_letters[i])):
            if child in index:
                j = index[child]
                tail = f"c{j}_{i}" if (j, i) in copies else f"v{j}"
                graph.edge(tail, f"op{i}", headlabel=letter or None, id=f"e{i}_{k}")
                edges += 1
    for i in cut:
        graph.edge(f"cut{i}", f"op{i}", style="dashed", color="#9ca3af")
    nodes = len(shown) + len(copies) + len(interior) + len(cut)
    edges += len(interior) + len(cut)
    graph.layout_size = nodes + edges
    if len(shown) < len(values):
        note = cut_note(len(shown), len(values), max_nodes)
        graph.attr(label=note, labelloc="t", fontsize="12", fontcolor="#b45309")
        warnings.warn(f"draw_graph: {note}", GraphCutWarning, stacklevel=3)
    return graph, shown


def far_uses(shown: list[Value]) -> set[tuple[int, int]]:
    """The uses of a value far from where it is drawn, as pairs (value j, op i): each is drawn
    from a copy of the value's name placed beside op i instead of by a long arrow.

    Each value is drawn just before its first use, counting back from the result (``shown[0]``)
    to the inputs: its distance from the result is one more than its farthest user's. A use
    more than FAR steps nearer the result would need an arrow across all the steps between,
    and a value used all along a long graph (a weight shared by every step of an RNN, an x
    added to itself 150 times) would need hundreds: Graphviz spends minutes routing them, and
    the picture turns to a fan of crossing lines. Copies keep every arrow short.
    """
    index = {v: i for i, v in enumerate(shown)}
    waiting = _use_counts(shown, index)  # uses not yet placed, per value
    depth = [0] * len(shown)  # steps from the result
    ready = [0]
    while ready:  # users before the values they use (Kahn's order), from the result down
        i = ready.pop()
        for child in shown[i].children:
            j = index.get(child)
            if j is not None:
                depth[j] = max(depth[j], depth[i] + 1)
                waiting[j] -= 1
                if not waiting[j]:
                    ready.append(j)
    return {
        (index[child], i)
        for i, value in enumerate(shown)
        for child in value.children
        if child in index and depth[index[child]] - depth[i] > FAR
    }


def _use_counts(shown: list[Value], index: dict[Value, int]) -> list[int]:
    """How many times each drawn value is an operand of a drawn op (index: shown's)."""
    counts = [0] * len(shown)
    for value in shown:
        for child in value.children:
            if child in index:
                counts[index[child]] += 1
    return counts


def _shortened(name: str) -> str:
    """A name as a box shows it: at most MAX_LABEL characters (the tooltip has it whole)."""
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 3] + "..."


def cut_note(shown: int, total: int, max_nodes: int | None) -> str:
    """What a picture of ``shown`` of a graph's ``total`` values says about the rest."""
    return (
        f"showing the {shown:,} of {total:,} values nearest the result "
        f"(max_nodes={max_nodes}); '...' marks operands left out"
    )


def op_label(node: Value) -> tuple[str, list[str]]:
    """The text of node's op oval and, for each child, the label of its edge ("" for none).

    Every constant and setting is written in the oval. Where operand order matters, the oval
    is a formula in letters and each edge carries its operand's letter::

        x + y -> "+"            x * 2 -> "* 2.0"        x - 1 -> "- 1.0"     x ** 2 -> "** 2.0"
        x - y -> "a - b", edges "a", "b"                 2 / x -> "2.0 / b", edge "b"
        x.leaky_relu(0.2) -> "leaky_relu" over "slope=0.2"
        Value.dot([w1, w2], [x1, x2]) -> "a1 * b1 + a2 * b2", edges "a1", "a2", "b1", "b2"
    """
    row = node.row
    if row is None:
        raise ValueError(f"a leaf has no op to label: {node!r}")
    arity = row.operand_count(len(node.args))
    operands = node.args[:arity]
    constants = [a for a in operands if not isinstance(a, Value)]
    settings = node.args[arity:]
    unlabelled = [""] * len(node.children)
    if row.commutative:
        return " ".join([row.name, *(factor(c) for c in constants)]), unlabelled
    if arity == 1:  # one operand: tanh, leaky_relu with its slope, ** 2.0, neg
        if row.symbol is not None and settings:  # x ** c
            return f"{row.symbol} {factor(settings[0])}", unlabelled
        named = [f"{name}={number(v)}" for name, v in zip(row.settings, settings)]
        return "\n".join([row.name, ", ".join(named)] if named else [row.name]), unlabelled
    if row.arity == 2 and row.symbol is not None and isinstance(operands[0], Value) and constants:
        return f"{row.symbol} {factor(constants[0])}", unlabelled  # x - 1: "- 1.0"
    if row.parts == 2:
        n = arity // 2
        letters = [f"a{p + 1}" for p in range(n)] + [f"b{p + 1}" for p in range(n)]
    else:
        letters = [chr(ord("a") + p) if arity <= 26 else f"a{p + 1}" for p in range(arity)]
    used = [letter for letter, a in zip(letters, operands) if isinstance(a, Value)]
    return formula(node, used), used


def render(
    root: Value,
    path: PathT,
    format: str | None = None,
    **draw_options: Any,  # draw_graph's or backprop_page's: their signatures check them
) -> PathT:
    """Draw ``root``'s graph (see :func:`draw_graph`, which takes ``draw_options``) to a file.

    The format comes from ``format`` or else the suffix: "svg" and "png" are pictures, "gv"
    (or "dot") the DOT text, which needs no renderer, and "html" the step-through page of
    backprop (see :func:`backprop_page`, which takes the same options but ``show_grad``).
    The file is replaced whole or not at all. Returns ``path``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"render's path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(path)
    format = output_format(target, format)
    if not target.parent.is_dir():  # before the drawing, which may take a while
        raise FileNotFoundError(f"no directory {str(target.parent)!r} to write {target.name} in")
    if format in PAGE_FORMATS:
        content = backprop_page(root, **draw_options).encode("utf-8")
    elif format in SOURCE_FORMATS:
        content = draw_graph(root, **draw_options).source.encode("utf-8")
    else:
        content = draw_graph(root, **draw_options).pipe(format=format)
    write_atomically(target, content)
    return path


def backprop_page(
    root: Value,
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Params = None,
    max_values: int | None = STEPS_LIMIT,
) -> str:
    """The step-through page of root's backpropagation: one self-contained HTML document.

    The graph is drawn as by :func:`draw_graph` (same options, same names, same cut of a big
    graph: the page says what was left out); the steps are :func:`backprop_steps`'s, so the
    grads shown are exactly backward()'s. Forward, each value appears with its formula in
    numbers; backward, each node passes its gradient on, ``child.grad += local × grad``, and
    the grads fill in. No Value is changed: calling backward() first is not needed. A graph of
    more than ``max_values`` values has more steps than a page can hold: it is refused with
    :class:`GraphTooLargeError` (None: no limit).
    """
    _check_drawing(root, rankdir, max_nodes)
    steps = backprop_steps(root, params, max_values)
    position = {v: i for i, v in enumerate(steps.values)}

    # each box is laid out with the widest grad text it will show, so that every text fits
    widest = [f"grad {box_number(g)}" for g in steps.grads]
    for step in steps.backward:
        for u in step.updates:
            if u.use < u.uses:  # a running total, shown "grad 3.0000 + ?"
                widest[u.child] = max(widest[u.child], f"grad {box_number(u.after)} + ?", key=len)

    def fields(value: Value) -> list[str]:
        return [f"data {box_number(value.data)}", widest[position[value]]]

    names = dict(zip(steps.values, steps.names))
    parameters = set(parameter_names(params))
    # no tooltips: the page explains a value when it is clicked
    graph, shown = _drawing(root, rankdir, max_nodes, names, parameters, fields, tooltips=False)
    svg = graph.pipe(format="svg", encoding="utf-8")
    drawn = {v: i for i, v in enumerate(shown)}
    note = ""
    if len(shown) < len(steps.values):
        note = (
            f"{cut_note(len(shown), len(steps.values), max_nodes)}. The steps of the values "
            "left out are listed all the same; for the whole graph, pass max_nodes=None."
        )
    turned = None  # a small graph is also laid out the other way, for the page's "turn" button
    if len(shown) == len(steps.values) <= TURNED_LAYOUT_MAX:
        other = "TB" if rankdir in ("LR", "RL") else "LR"
        picture, _ = _drawing(
            root, other, None, names, parameters, fields, tooltips=False, stacked=other == "TB"
        )
        turned = (other, picture.pipe(format="svg", encoding="utf-8"))
    return page_html(steps, svg, [drawn.get(v, -1) for v in steps.values], note, turned)


def show_backprop(
    root: Value,
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    params: Params = None,
    height: int = 640,
    max_values: int | None = STEPS_LIMIT,
) -> BackpropPage:
    """The step-through page of :func:`backprop_page`, shown inline in a Jupyter notebook
    (JupyterLab, Notebook, VS Code, Colab) when it ends a cell: an iframe that holds the whole
    page, so the saved notebook keeps it. Nothing to install in Jupyter. ``height``: the
    iframe's height in pixels."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 100:
        raise ValueError(f"height must be an int of at least 100 (pixels), got {height!r}")
    return BackpropPage(backprop_page(root, rankdir, max_nodes, params, max_values), height)


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """What :func:`render` writes to path: ``format`` if given, else the path's suffix;
    a ValueError unless it is one of PICTURE_FORMATS, SOURCE_FORMATS or PAGE_FORMATS."""
    chosen = (format or Path(os.fspath(path)).suffix.lstrip(".")).lower()
    if chosen not in PICTURE_FORMATS + SOURCE_FORMATS + PAGE_FORMATS:
        formats = ", ".join(PICTURE_FORMATS + SOURCE_FORMATS + PAGE_FORMATS)
        raise ValueError(
            f"cannot write {os.fspath(path)!r} as {chosen or 'a file with no suffix'!r}: "
            f"the formats are {formats} (gv and dot: the DOT text; html: the step-through "
            "page of backprop)"
        )
    return chosen


def _kind(value: Value, is_result: bool, is_parameter: bool) -> str:
    if is_result:
        return "result"
    if is_parameter:
        return "parameter"
    return "interior" if value.children else "leaf"


def _record(fields: list[str], across: bool) -> str:
    """A record label ``name | data 2.0000 | grad -0.5000``, with braces to lay it across."""
    text = " | ".join(f.translate(_RECORD_SPECIAL).replace("\n", " ") for f in fields)
    return "{" + text + "}" if across else text


def _values_nearest_first(root: Value) -> list[Value]:
    """Every Value of root's graph once, breadth first from root (iterative, any depth)."""
    order = [root]
    seen = {root}
    for node in order:  # the list grows as it is walked: a queue that keeps what it served
        for child in node.children:
            if child not in seen:
                seen.add(child)
                order.append(child)
    return order
