"""The compiler: a captured graph becomes a Program, replayed with numpy.

Every number of the graph gets a slot in one array and every edge (parent, child) a slot in a
second one, which holds its local derivative. The op nodes are sorted into levels (a node's
level is one more than its deepest child's) and, within a level, into groups of one op
(``groups.py``), so that a replay is a few numpy calls per group, level after level, and
backward the chain rule for all the edges into one level at once, from the top level down, in
the order eager backward() adds them.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import checks
from ..engine import Value, interior_nodes_children_first
from ..ops import CustomOp, Op
from .groups import Elementwise, Group, Segmented
from .guard import Guard
from .split import Split
from .user_ops import OneByOne, UserElementwise, close

_DATA = operator.attrgetter("data")


class Program:
    """A captured graph compiled for replay.

    Every number of the graph has a slot in one array, in this order: the inputs; the Values
    fn reached from outside (``outer``: parameters, and Values computed before the call, all
    read anew on each call); the leaves fn made (``Value(2.0)`` inside fn) and the constants
    (plain numbers among the operands), both fixed by the capture; then the op nodes, level
    by level and group by group, so that each group writes one contiguous slice. Each edge
    (parent, child) has a slot in a second array, which holds its local derivative.

    That layout is the program's own. A call (``call.py``) and ``check=True`` (``check.py``)
    hold slots as handles (``output_slots``: where fn's outputs are) and ask the program's
    methods what is in them; besides those, they read ``name``, ``returns`` (how to rebuild
    what fn returned), ``guard`` and ``outer_by_id`` (the Values fn reached from outside).
    """

    def __init__(
        self,
        outputs: list[Value],
        returns: Any,
        stand_ins: list[Value],
        value_slots: list[int],
        split: Split,
        guard: Guard,
        name: str,
        why: str,
        inputs: str,
        dropped: Sequence[Value] = (),
    ) -> None:
        """The graph of ``outputs``, fn's run on ``stand_ins`` (at ``value_slots`` the inputs
        passed as Values), sorted by ``split``; fn returned ``returns(outputs)`` (``Value``: the
        one output). ``guard``: what each call checks first; ``why`` it was captured, for
        ``inputs`` of what structure, in words; ``dropped``: the op nodes whose results fn
        dropped, in the graph too."""
        self.name, self.returns, self.guard = name, returns, guard
        self.why, self.inputs = why, inputs
        self.n_inputs = len(stand_ins)
        self.value_slots = np.array(value_slots, dtype=np.intp)  # the inputs that were Values
        self.value_slot_of = {slot: k for k, slot in enumerate(value_slots)}
        self.input_labels = [v.label for v in stand_ins]
        order = split.order
        slot_of: dict[Value, int] = {v: i for i, v in enumerate(stand_ins)}
        self.outer: list[Value] = list(split.outer.values())
        self.outer_by_id = dict(split.outer)  # for check=True: where a run of fn stops
        self.made_lo = self.n_inputs + len(self.outer)
        made = list(split.made.values())
        self.made_labels = [v.label for v in made]
        for slot, v in enumerate([*self.outer, *made], start=self.n_inputs):
            slot_of[v] = slot
        # Values from before the call, among the outer ones: backward goes on through them
        self.computed_slots = np.array([slot_of[v] for v in self.outer if v.children], np.intp)
        self.outer_leaves = [v for v in self.outer if not v.children]  # parameters: accumulate
        self.outer_leaf_slots = np.array([slot_of[v] for v in self.outer_leaves], dtype=np.intp)
        self.leaf_ids = frozenset(map(id, self.outer_leaves))  # (a Value passed in too: one leaf)
        self.accumulating_slots = np.concatenate([self.value_slots, self.outer_leaf_slots])
        self.constants_lo = self.made_lo + len(made)
        constants = _constants(order)
        constant_slot = {_constant_key(c): self.constants_lo + k for k, c in enumerate(constants)}
        self.fixed = np.array([v.data for v in made] + constants, dtype=float)
        self.n_constants = len(constants)
        self.interior = self.constants_lo + len(constants)

        # levels, then groups within each level, then a slot for every op node
        level = dict.fromkeys(slot_of, 0)  # the leaves
        for node in order:  # (each after its children)
            level[node] = 1 + max(map(level.__getitem__, node.children))
        grouped: dict[tuple, list[Value]] = {}
        for node in order:
            grouped.setdefault((level[node], _group_key(node)), []).append(node)
        slot = self.interior
        for key in sorted(grouped, key=operator.itemgetter(0)):  # stable: by level only
            for node in grouped[key]:
                slot_of[node] = slot
                slot += 1
        self.size = slot

        def slots(operands: Sequence[Any]) -> list[int]:
            """The slots of operands: a Value's own, or a plain number's constant slot."""
            return [
                slot_of[a] if type(a) is not float else constant_slot[_constant_key(a)]
                for a in operands
            ]

        self.groups: list[Group] = []
        edges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        n_edges = 0
        for key in sorted(grouped, key=operator.itemgetter(0)):
            nodes = grouped[key]
            row = nodes[0].row
            assert row is not None  # op nodes
            kind = group_kind(row)
            group = kind(key[0], nodes, slot_of[nodes[0]], n_edges, slots)
            self.groups.append(group)
            edges.append(group.edges)
            n_edges = group.e_hi
        self.n_edges = n_edges
        # for each edge: the slot of its parent, the slot of its child, the child's position
        # among the parent's operands
        self.edge_parent: np.ndarray
        self.edge_child: np.ndarray
        self.edge_position: np.ndarray
        self.edge_parent, self.edge_child, self.edge_position = (
            np.concatenate([np.zeros(0, np.intp), *column]).astype(np.intp)
            for column in zip(*edges)
        ) if edges else (np.zeros(0, np.intp),) * 3  # fmt: skip
        # the edges out of each level, for backward: they are contiguous, level after level
        self.edge_levels: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for _, groups in _by_level(self.groups):
            lo, hi = groups[0].e_lo, groups[-1].e_hi
            self.edge_levels.append((lo, hi, self.edge_parent[lo:hi], self.edge_child[lo:hi]))
        self.level_of = np.zeros(self.size, dtype=np.intp)  # the leaves' level: 0
        for g in self.groups:
            self.level_of[g.lo : g.hi] = g.level
        self.group_starts = [g.lo for g in self.groups]
        self.output_slots = [slot_of[v] for v in outputs]
        self.dropped_slots = [slot_of[v] for v in dropped]  # replayed too: they can fail
        self.order_slots = [slot_of[node] for node in order]  # for check=True
        self.labels = {slot_of[node]: node.label for node in order if node.label}
        self.reached: dict[int, np.ndarray] = {}  # by root slot, for backward()
        self.schedules: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.edges_by_parent: tuple[np.ndarray, np.ndarray] | None = None  # made when needed
        self.plan: list[tuple[int, Op, list[int], tuple, dict[int, int]]] | None = None
        self.schedule(self.output_slots[0])  # compiled with the rest: a backward's first call

    def replay(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every slot's number and every edge's local derivative, for these inputs and the
        outer Values' current data: the forward pass, level by level, group by group."""
        vals = np.empty(self.size)
        vals[: self.n_inputs] = inputs
        vals[self.n_inputs : self.made_lo] = np.fromiter(
            map(_DATA, self.outer), float, len(self.outer)
        )
        vals[self.made_lo : self.interior] = self.fixed
        local = np.empty(self.n_edges)
        with np.errstate(all="ignore"):  # a NaN or an infinity is found below, and named
            for group in self.groups:
                group.run(vals, local)
        if not (np.isfinite(vals[self.interior :]).all() and np.isfinite(local).all()):
            self._raise_first_non_finite(vals, local)
        return vals, local

    def backward(
        self,
        local: np.ndarray,
        root: int,
        leaves: np.ndarray | None = None,
        merge: np.ndarray | None = None,
    ) -> np.ndarray:
        """d root / d slot for every slot: the chain rule ``child.grad += local_grad *
        parent.grad`` (engine.py), for the edges into one level at a time, from the top level
        down: when a level's turn comes, every parent of its nodes is above it, final.

        Within a level, np.add.at adds the contributions in the order of its array, which is
        eager backward()'s own order (``schedule``): every gradient is what backward() adds up
        from the replay's numbers, digit for digit, even where contributions cancel
        (x * 1e16 and x * -1e16 into x). ``leaves``: what the leaves' slots hold before the
        pass (their accumulated grads), else zeros; ``merge``: the slot that gathers each
        leaf's gradient (``one_slot_per_leaf``), where the edges into the leaves add."""
        grads = np.zeros(self.size)
        if leaves is not None:
            grads[: self.interior] = leaves
        grads[root] = 1.0
        with np.errstate(all="ignore"):  # an overflow is found by the caller, and named
            for edges, parents, children in self.schedule(root):
                if merge is not None and children[0] < self.interior:  # (into the leaves)
                    children = merge[children]
                np.add.at(grads, children, local[edges] * grads[parents])
        return grads

    def schedule(self, root: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """backward()'s edges from ``root``, for ``backward``: (edges, their parents, their
        children) into each level, from the top level down, each level's in the order eager
        backward() adds them: its parents in reverse topological order (each before its
        children, as engine.interior_nodes_children_first sorts them from the root), and each
        parent's operands in order. Made once per root."""
        made = self.schedules.get(root)
        if made is None and root < self.interior:  # a leaf: it passes nothing on
            made = self.schedules[root] = []
        if made is None:
            rank = np.full(self.size, -1, dtype=np.intp)  # when eager backward() reaches a node
            if root == self.output_slots[0]:  # the capture's own sort began from this root
                order = self.order_slots
            else:
                top = self._slot_nodes()[root - self.interior]
                sorted_nodes: list[Any] = interior_nodes_children_first(top)
                order = [node.slot for node in sorted_nodes]
            rank[order[::-1]] = np.arange(len(order))
            edges = np.flatnonzero(self.reach(root)[self.edge_parent])  # in the root's graph
            level = self.level_of[self.edge_child[edges]]  # into each level, top down; in one,
            # by the parent's turn, then by the operand's position: eager backward()'s order
            by = (self.edge_position[edges], rank[self.edge_parent[edges]], -level)
            edges = edges[np.lexsort(by)]
            bounds = np.flatnonzero(np.diff(self.level_of[self.edge_child[edges]])) + 1
            made = [
                (part, self.edge_parent[part], self.edge_child[part])
                for part in np.split(edges, bounds)
                if part.size
            ]
            self.schedules[root] = made
        return made

    def _slot_nodes(self) -> list[Any]:
        """The op nodes as stand-ins that have what interior_nodes_children_first reads: their
        ``children``, the operands that are Values, in order (one shared stand-in for the
        leaves, which have no children), by slot. (The edges sorted by parent list each
        node's operands in order.)"""
        order, parents = self._edges_by_parent()
        children = self.edge_child[order].tolist()
        bounds = np.searchsorted(parents, np.arange(self.interior, self.size + 1)).tolist()
        nodes = [_SlotNode(slot) for slot in range(self.interior, self.size)]
        leaf, first = _SlotNode(-1), self.interior
        for i, node in enumerate(nodes):
            node.children = tuple(
                nodes[c - first] if c >= first else leaf
                for c in children[bounds[i] : bounds[i + 1]]
            )
        return nodes

    def reach(self, root: int) -> np.ndarray:
        """Which slots the root's graph holds (a mask): eager backward() resets and recomputes
        the gradients of exactly these nodes."""
        mask = self.reached.get(root)
        if mask is None:
            mask = np.zeros(self.size, dtype=bool)
            mask[root] = True
            for _, _, parents, children in reversed(self.edge_levels):
                mask[children[mask[parents]]] = True
            self.reached[root] = mask
        return mask

    def local_grads_at(self, slot: int, local: np.ndarray) -> dict[int, float]:
        """The local derivatives of the node in ``slot``, by operand position, from a call's
        edge array."""
        order, parents = self._edges_by_parent()
        lo, hi = np.searchsorted(parents, [slot, slot + 1])
        edges = order[lo:hi]
        return dict(zip(self.edge_position[edges].tolist(), local[edges].tolist()))

    # --- what is in a slot: for a call's Values ---------------------------------------------

    def results(self, node: Callable[[int], Any]) -> Any:
        """What fn returned, rebuilt from ``node(slot)`` of each output slot."""
        outputs = [node(slot) for slot in self.output_slots]
        return outputs[0] if self.returns is Value else self.returns(outputs)

    def is_op_node(self, slot: int) -> bool:
        """Whether ``slot`` holds an op node (else a leaf or a constant)."""
        return slot >= self.interior

    def row_at(self, slot: int) -> Op:
        """The op table's row of the op node in ``slot``."""
        return self._group_at(slot).row

    def operands_at(self, slot: int) -> tuple[list[int], tuple]:
        """The op node in ``slot``: the slots of its operands, and its settings."""
        group = self._group_at(slot)
        return group.operand_slots(slot - group.lo), group.settings_of(slot - group.lo)

    def label_at(self, slot: int) -> str:
        """The label fn's run gave the node, or the leaf, in ``slot``."""
        if slot >= self.interior:
            return self.labels.get(slot, "")
        if slot < self.n_inputs:
            return self.input_labels[slot]
        return self.made_labels[slot - self.made_lo]

    def given_at(self, slot: int, values: Sequence[Value]) -> Value | float | None:
        """The leaf in ``slot`` when it is not made anew for each call: a parameter (the very
        Value, read from outside), an input passed as a Value (the very Value, from
        ``values``), a constant's number. None for the others: a number's stand-in, a leaf
        that fn made."""
        if self.constants_lo <= slot < self.interior:
            return float(self.fixed[slot - self.made_lo])
        if self.n_inputs <= slot < self.made_lo:
            return self.outer[slot - self.n_inputs]
        if slot in self.value_slot_of:
            return values[self.value_slot_of[slot]]
        return None

    def leaves_that_accumulate(self, values: Sequence[Value]) -> tuple[list[Value], np.ndarray]:
        """The leaves whose grads a backward pass adds to, the inputs passed as ``values``,
        then the parameters, and their slots."""
        return [*values, *self.outer_leaves], self.accumulating_slots

    def needs_eager_backward(self, reached: np.ndarray) -> bool:
        """Whether a pass that ``reached`` these slots must run as eager mode's backward()
        itself: it reaches a Value computed before the call, whose graph is eager mode's."""
        return bool(reached[self.computed_slots].any())

    def one_slot_per_leaf(self, values: Sequence[Value]) -> np.ndarray | None:
        """For a leaf at two slots (a Value passed twice, or passed and also a parameter, as
        the embedding rows a GPT's tokens select), the slot that gathers its gradient: a map
        of the leaves' slots, or None when every leaf has one slot."""
        ids = list(map(id, values))
        if len(set(ids)) == len(ids) and self.leaf_ids.isdisjoint(ids):
            return None
        merge = np.arange(self.interior)
        first: dict[int, int] = {}
        for leaf, slot in zip([*values, *self.outer_leaves], self.accumulating_slots.tolist()):
            merge[slot] = first.setdefault(id(leaf), slot)
        return merge

    def node_plan(self) -> list[tuple[int, Op, list[int], tuple, dict[int, int]]]:
        """Each op node, in slot order (each after its operands): its slot, row, operands'
        slots, settings, and the edge of each operand that has one, by position. What a call
        needs to build its graph as eager Values (``Call.eager_graph``); made once."""
        if self.plan is None:
            order, parents = self._edges_by_parent()
            bounds = np.searchsorted(parents, np.arange(self.interior, self.size + 1)).tolist()
            positions, edges = self.edge_position[order].tolist(), order.tolist()
            self.plan = []
            for slot in range(self.interior, self.size):
                lo, hi = bounds[slot - self.interior], bounds[slot - self.interior + 1]
                operand_slots, settings = self.operands_at(slot)
                edge_of = dict(zip(positions[lo:hi], edges[lo:hi]))
                self.plan.append((slot, self.row_at(slot), operand_slots, settings, edge_of))
        return self.plan

    def outer_at(self, slot: int) -> Value | None:
        """The Value fn reached from outside, in ``slot``; None for another slot."""
        if self.n_inputs <= slot < self.made_lo:
            return self.outer[slot - self.n_inputs]
        return None

    def _edges_by_parent(self) -> tuple[np.ndarray, np.ndarray]:
        """The edges sorted by parent, then by the operand's position, and their parents."""
        if self.edges_by_parent is None:
            order = np.lexsort((self.edge_position, self.edge_parent))
            self.edges_by_parent = (order, self.edge_parent[order])
        return self.edges_by_parent

    def _group_at(self, slot: int) -> Group:
        return self.groups[bisect.bisect_right(self.group_starts, slot) - 1]

    def slot_name(self, slot: int) -> str:
        """A leaf's slot in words: the input ``points[0][1]``, the parameter
        ``model.layers[0].neurons[1].b``."""
        if slot < self.n_inputs:
            return f"the input {self.input_labels[slot]}"
        if slot < self.made_lo:
            return value_text(self.outer[slot - self.n_inputs])
        label = self.made_labels[slot - self.made_lo]
        return f"a leaf that fn makes{f' ({label})' if label else ''}"

    # --- a run of fn, compared with the program: for check=True ----------------------------

    def structural_difference(
        self, split: Split, stand_ins: Sequence[Value], outputs: Sequence[Value]
    ) -> tuple[str | None, dict[Value, int]]:
        """Where a run of fn first parts from this program, in words (None if nowhere), and
        the slot of each leaf of the run. The run's op nodes, in the capture's topological
        order, must be the program's: the same op and settings, reading the same slots (a
        constant where a constant was, of any value: a stable softmax's shift changes)."""
        slot_of: dict[Value, int] = {v: i for i, v in enumerate(stand_ins)}
        outer_slot = {id(v): self.n_inputs + j for j, v in enumerate(self.outer)}
        for i, v in split.outer.items():
            slot_of[v] = outer_slot[i]
        made, n_made = list(split.made.values()), self.constants_lo - self.made_lo
        if len(made) != n_made:
            return f"fn now makes {len(made)} leaf Values where the capture made {n_made}", {}
        for k, v in enumerate(made):
            slot_of[v] = self.made_lo + k
        leaves = dict(slot_of)
        n = len(self.order_slots)
        for i, (node, slot) in enumerate(zip(split.order, self.order_slots)):
            slot_of[node] = slot
            group = self._group_at(slot)
            where = f"node {i + 1} of {n} in topological order"
            if node.row is not group.row or (group.row.arity is not None and node.op != group.op):
                return (
                    f"{where} was `{group.op}` when captured, but fn now makes `{node.op}` there",
                    {},
                )
            arity = node.row.operand_count(len(node.args))
            captured = group.operand_slots(slot - group.lo)
            if len(captured) != arity:
                return f"{where} (`{group.op}`) now has {arity} operands, not {len(captured)}", {}
            for position, (a, s) in enumerate(zip(node.args[:arity], captured)):
                if isinstance(a, Value):
                    same = slot_of.get(a) == s
                else:
                    same = self.constants_lo <= s < self.interior
                if not same:
                    return f"{where} (`{group.op}`) now reads another operand {position}", {}
        if len(split.order) != n:
            return f"fn now makes {len(split.order)} op nodes where the capture made {n}", {}
        if [slot_of.get(v) for v in outputs] != self.output_slots:
            return "fn now returns other nodes of its graph", {}
        return None, leaves

    def reads_the_same_constants(self, order: list[Value]) -> bool:
        """Does a run of fn with the same ops (``order``) read the constants the capture read,
        bit for bit? Then nothing was frozen, and any difference in numbers is rounding."""
        run = [_constant_key(c) for c in _constants(order)]
        captured = self.fixed[self.constants_lo - self.made_lo :].tolist()
        return run == [_constant_key(c) for c in captured]

    def first_value_difference(
        self, vals: np.ndarray, order: Sequence[Value], tolerance: float
    ) -> str:
        """The first op node, in topological order, whose value differs between a replay's
        ``vals`` and a run of fn with the same ops (``order``), and the constant it read, if
        that differs too."""
        n = len(self.order_slots)
        for i, (node, slot) in enumerate(zip(order, self.order_slots)):
            replayed = float(vals[slot])
            if close(replayed, node.data, tolerance):
                continue
            group = self._group_at(slot)
            text = (
                f"node {i + 1} of {n} in topological order (`{group.op}`) is {replayed!r} "
                f"replayed but {node.data!r} when run"
            )
            assert node.row is not None  # an op node
            arity = node.row.operand_count(len(node.args))
            for a, s in zip(node.args[:arity], group.operand_slots(slot - group.lo)):
                if not isinstance(a, Value) and float(vals[s]) != a:
                    return (
                        f"{text}, reading the constant {a!r} where the capture read "
                        f"{float(vals[s])!r}"
                    )
            return text
        return "a plain number that fn computes from the data differs"

    def _raise_first_non_finite(self, vals: np.ndarray, local: np.ndarray) -> None:
        """The error eager mode gives at the first node whose value or local derivative is not
        finite, by evaluating that node as eager mode does."""
        bad = self.interior + np.flatnonzero(~np.isfinite(vals[self.interior :]))
        bad_parents = self.edge_parent[np.flatnonzero(~np.isfinite(local))]
        slot = int(min(bad.min(initial=self.size), bad_parents.min(initial=self.size)))
        group = self._group_at(slot)
        numbers = [float(vals[s]) for s in group.operand_slots(slot - group.lo)]
        numbers += [float(s) for s in group.settings_of(slot - group.lo)]
        checks.evaluated(group.row, numbers, [True] * len(numbers))  # raises, naming the op
        raise OverflowError(  # numpy and Python's math disagree at the edge of the float range
            f"jit({self.name}): replaying {group.op} of {numbers} gives a number that is not finite"
        )

    def explain(self) -> list[str]:
        n_ops = self.size - self.interior
        levels = _by_level(self.groups)
        n_computed = len(self.computed_slots)
        outer = len(self.outer) - n_computed
        before = f" and {n_computed:,} Values computed before" if n_computed else ""
        made = self.constants_lo - self.made_lo
        lines = [
            f"capture for {self.inputs} ({self.why}):",
            f"  {n_ops:,} op nodes in {len(levels)} levels, replayed as {len(self.groups)} "
            "groups (a few numpy calls each)",
            f"  each call reads {self.n_inputs:,} inputs, {outer:,} other leaves "
            f"(parameters){before}, {self.n_constants:,} constants"
            + (f" and {made:,} leaves made by fn" if made else ""),
            f"  each call first checks {len(self.guard.checks):,} containers on the way to the "
            f"{len(self.outer):,} Values it reads from outside ({self.guard.objects:,} objects): "
            "the same objects, the same lengths",
        ]
        for level, groups in levels:
            lines.append(f"  level {level:3}  " + "  ·  ".join(g.describe() for g in groups))
        lines.append(
            f"  backward: {len(levels)} levels top-down, {self.n_edges:,} edges, "
            "grad[child] += local * grad[parent] with one np.add.at per level"
        )
        return lines


class _SlotNode:
    """An op node's slot and its operands that are Values (stand-ins too): what the depth-first
    sort of backward() reads of a Value."""

    __slots__ = ("slot", "children")

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.children: tuple[_SlotNode, ...] = ()


def _constants(order: list[Value]) -> list[float]:
    """The plain numbers among the operands (``x * 2``'s 2.0), each once."""
    constants: dict[Any, float] = {}
    for node in order:
        assert node.row is not None  # an op node
        for a in node.args[: node.row.operand_count(len(node.args))]:
            if type(a) is float:  # (an operand is a Value or the float it stands for)
                constants.setdefault(_constant_key(a), a)
    return list(constants.values())


def _constant_key(x: float) -> Any:
    """x as a dict key that tells 0.0 from -0.0 (equal as numbers, not as constants)."""
    return x if x else repr(x)


def _group_key(node: Value) -> tuple:
    """What the nodes of a group share: the row, which operands are Values and, for the
    table's own rows, the settings (a user op's settings are arrays, one number per node)."""
    row = node.row
    assert row is not None  # an op node
    if row.arity is None:  # sum, dot: any number of operands, summed segment by segment
        return (row,)
    pattern = tuple(type(a) is not float for a in node.args[: row.arity])  # Values or numbers
    if isinstance(row, CustomOp):
        return (row, pattern)
    return (row, pattern, node.args[row.arity :])


def _by_level(groups: list[Group]) -> list[tuple[int, list[Group]]]:
    levels: dict[int, list[Group]] = {}
    for group in groups:
        levels.setdefault(group.level, []).append(group)
    return list(levels.items())


def group_kind(row: Op) -> type[Elementwise] | type[Segmented]:
    if row.arity is None:
        return Segmented
    if isinstance(row, CustomOp):
        return UserElementwise if row.vectorized else OneByOne
    return Elementwise


def value_text(v: Value) -> str:
    """A Value in a message, without its grad: ``Value(data=0.5, label='w')``."""
    label = f", label={v.label!r}" if v.label else ""
    op = f", op={v.op!r}" if v.row is not None else ""
    return f"Value(data={v.data!r}{label}{op})"
