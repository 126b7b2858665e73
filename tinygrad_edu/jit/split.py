"""A captured graph's Values, sorted by where they come from.

After fn ran on stand-ins, its graph holds four kinds of Value: the stand-ins of its inputs;
the op nodes fn computed; the Values the search found outside (``reach.py``), parameters and
Values computed before the call; and the leaves fn made (a ``Value(2.0)`` inside fn).
``split_graph`` sorts them, in the orders a Program gives them slots in.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence

from ..engine import Value, interior_nodes_children_first


class Split:
    """A captured graph's Values, by where they come from (see ``split_graph``)."""

    def __init__(self) -> None:
        self.order: list[Value] = []  # the op nodes fn computed, each after its children
        self.outer: dict[int, Value] = {}  # found by the search: parameters, Values from before
        self.made: dict[int, Value] = {}  # leaves fn made (a Value(2.0) inside fn)


def split_graph(
    outputs: Sequence[Value],
    stand_ins: Sequence[Value],
    found: Mapping[int, Value | None],
    rank: Mapping[int, int] | None = None,
) -> Split:
    """fn's graph, from its outputs down to its inputs (the stand-ins) and to the Values the
    search found (``found``, by id: the Value, or None where only its id is known): those are
    ``outer``, and a computed one among them is a Value from before the call, whose graph is
    not fn's work. Each op node comes after its children, in backward()'s order
    (``engine.interior_nodes_children_first``, stopping at the computed Values of ``outer``);
    the Values of ``outer`` by their ``rank`` (the order the search found them), the leaves fn
    made in the order fn used them."""
    split = Split()
    stop = {*stand_ins}
    found_computed = {v for i, v in found.items() if v is not None and v.children}
    order = split.order = interior_nodes_children_first(*outputs, stop=found_computed)
    # the other Values the graph reaches: one pass in C over every operand
    rest = set(itertools.chain.from_iterable(map(_CHILDREN, order)))
    rest.update(outputs)
    rest.difference_update(order)
    rest -= stop
    outer = [v for v in rest if id(v) in found]
    if rank is not None:
        outer.sort(key=lambda v: rank[id(v)])
    split.outer = {id(v): v for v in outer}
    made = [v for v in rest if id(v) not in found]
    if made:
        first_use = {v: k for k, v in enumerate(_operands_in_order(order, outputs)) if v in rest}
        made.sort(key=first_use.__getitem__)
    split.made = {id(v): v for v in made}
    return split


_CHILDREN = operator.attrgetter("children")


def _operands_in_order(order: Sequence[Value], outputs: Sequence[Value]) -> list[Value]:
    """Every operand of every node, in order, then the outputs (the last use counts least)."""
    seen: dict[Value, None] = {}
    for node in order:
        seen.update(dict.fromkeys(reversed(node.children)))
    seen.update(dict.fromkeys(outputs))
    return list(reversed(seen))
