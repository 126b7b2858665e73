"""Pictures of computation graphs: what a result was computed from, and every gradient.

Each Value is a record ``label | data 2.0000 | grad -0.5000``; each op is a small node between
its operands and its result, so ``o = tanh(x*w + b)`` reads left to right as

    x, w -> (*) -> x*w ;  x*w, b -> (+) -> n ;  n -> (tanh) -> o

An operand used twice (``x * x``) draws two edges. Colour says what a Value is: blue for the
leaves (inputs and constants), yellow for a Module's parameters, green with a bold frame for
the result; interior values are white.

:func:`draw_graph` returns a ``graphviz.Digraph``, so ``.source``, ``.render()``, ``.pipe()``
and inline display in Jupyter work as usual; it renders with the system's ``dot`` or, with no
Graphviz installed, the graphviz-pure program of the ``viz`` extra (see ``renderer.py``).
:func:`render` writes a picture (``.svg``, ``.png``) or the DOT text (``.gv``) in one call.

Big graphs: an MLP on a batch has tens of thousands of Values, and Graphviz's layout time
grows faster than the graph. ``draw_graph`` draws at most ``max_nodes`` Values, those nearest
the result (breadth first), marks each cut with a "... N more" node, says so in the picture and
warns. A graph drawn whole that is too large to lay out in reasonable time raises
:class:`GraphTooLargeError` when it is rendered, instead of the renderer running for minutes.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, Union

import graphviz

from .engine import Value
from .files import write_atomically
from .nn import Module
from .renderer import use_renderer

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

_FILL = {"result": "#bbf7d0", "parameter": "#fde68a", "leaf": "#dbeafe", "interior": "white"}
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in '\\{}|<>"'})
_QUOTED_SPECIAL = str.maketrans({"\\": "\\\\", '"': '\\"'})

Params = Union[Module, Iterable[Value], None]
PathT = TypeVar("PathT", str, os.PathLike)


class GraphTooLargeError(ValueError):
    """A graph too large to lay out in reasonable time; draw fewer nodes (``max_nodes``)."""


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
    parameters are drawn as such; a Module's parameter names label the ones with no label.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}: {root!r:.60}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")
    param_names = _parameter_names(params)

    values = _values_nearest_first(root)
    shown = values if max_nodes is None else values[:max_nodes]
    index = {v: i for i, v in enumerate(shown)}
    fields_across = rankdir in ("LR", "RL")  # a record's top level stacks across the rank

    graph = ComputationGraph(
        name="computation_graph",
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "nodesep": "0.15"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "penwidth": "0.8"},
        edge_attr={"arrowsize": "0.6", "color": "#4b5563", "penwidth": "0.8"},
    )
    # nodes grouped by kind under one default each, then the edges: a compact DOT text
    graph.attr("node", style="filled", fillcolor=_FILL["interior"])
    for i, value in enumerate(shown):
        kind = _kind(value, i == 0, value in param_names)
        label = value.label or param_names.get(value, "")
        graph.node(
            f"v{i}",
            _record(label, value, show_grad, fields_across),
            shape="record",
            fillcolor=None if kind == "interior" else _FILL[kind],
            penwidth="2" if kind == "result" else None,
        )
    interior = [(i, value) for i, value in enumerate(shown) if value.children]
    graph.attr("node", fillcolor="#e5e7eb", color="#6b7280", width="0.35", height="0.3")
    for i, value in interior:
        graph.node(f"op{i}", value.op.translate(_QUOTED_SPECIAL), shape="ellipse")
    cut = {}  # op index -> how many of its operands are not drawn
    for i, value in interior:
        left_out = sum(1 for child in value.children if child not in index)
        if left_out:
            cut[i] = left_out
    graph.attr("node", fontcolor="#6b7280")
    for i, left_out in cut.items():
        graph.node(f"cut{i}", f"... {left_out} more", shape="plaintext")

    edges = 0
    for i, value in interior:
        graph.edge(f"op{i}", f"v{i}")
        for child in value.children:
            if child in index:
                graph.edge(f"v{index[child]}", f"op{i}")
                edges += 1
    for i in cut:
        graph.edge(f"cut{i}", f"op{i}", style="dashed", color="#9ca3af")
    nodes = len(shown) + len(interior) + len(cut)
    edges += len(interior) + len(cut)
    graph.layout_size = nodes + edges
    if len(shown) < len(values):
        note = (
            f"showing the {len(shown):,} of {len(values):,} values nearest the result "
            f"(max_nodes={max_nodes}); '...' marks operands left out"
        )
        graph.attr(label=note, labelloc="t", fontsize="12", fontcolor="#b45309")
        warnings.warn(f"draw_graph: {note}", GraphCutWarning, stacklevel=2)
    return graph


def render(
    root: Value,
    path: PathT,
    format: str | None = None,
    **draw_options: object,
) -> PathT:
    """Draw ``root``'s graph (see :func:`draw_graph`, which takes ``draw_options``) to a file.

    The format comes from ``format`` or else the suffix: "svg" and "png" are pictures, "gv"
    (or "dot") the DOT text, which needs no renderer. The file is replaced whole or not at all.
    Returns ``path``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"render's path must be a str or os.PathLike, got {type(path).__name__}")
    target = Path(os.fspath(path))
    format = output_format(target, format)
    if not target.parent.is_dir():  # before the drawing, which may take a while
        raise FileNotFoundError(f"no directory {str(target.parent)!r} to write {target.name} in")
    graph = draw_graph(root, **draw_options)
    if format in SOURCE_FORMATS:
        content = graph.source.encode("utf-8")
    else:
        content = graph.pipe(format=format)
    write_atomically(target, content)
    return path


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """What :func:`render` writes to path: ``format`` if given, else the path's suffix;
    a ValueError unless it is one of PICTURE_FORMATS or SOURCE_FORMATS."""
    chosen = (format or Path(os.fspath(path)).suffix.lstrip(".")).lower()
    if chosen not in PICTURE_FORMATS + SOURCE_FORMATS:
        formats = ", ".join(PICTURE_FORMATS + SOURCE_FORMATS)
        raise ValueError(
            f"cannot write {os.fspath(path)!r} as {chosen or 'a file with no suffix'!r}: "
            f"the formats are {formats} (gv and dot: the DOT text)"
        )
    return chosen


def _kind(value: Value, is_result: bool, is_parameter: bool) -> str:
    if is_result:
        return "result"
    if is_parameter:
        return "parameter"
    return "interior" if value.children else "leaf"


def _record(label: str, value: Value, show_grad: bool, across: bool) -> str:
    """A record label ``label | data 2.0000 | grad -0.5000``, with braces to lay it across."""
    fields = [label.translate(_RECORD_SPECIAL).replace("\n", " ")] if label else []
    fields.append(f"data {_number(value.data)}")
    if show_grad:
        fields.append(f"grad {_number(value.grad)}")
    text = " | ".join(fields)
    return "{" + text + "}" if across else text


def _number(x: float) -> str:
    """Four decimals, or four significant digits where decimals would hide the number."""
    x += 0.0  # no "-0.0000"
    return f"{x:.4f}" if x == 0.0 or 1e-4 <= abs(x) < 1e7 else f"{x:.4e}"


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


def _parameter_names(params: Params) -> dict[Value, str]:
    """Each parameter Value with its name in a Module ("" for a bare Value)."""
    if params is None:
        return {}
    if isinstance(params, Module):
        return {value: name for name, value in params.named_parameters()}
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a Module or an iterable of Values, got {type(params).__name__}"
        )
    params = list(params)
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"params must hold Values only, got {type(p).__name__}: {p!r:.60}")
    return {p: "" for p in params}
