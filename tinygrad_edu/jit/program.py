"""The compiler: a captured graph becomes a Program, replayed with numpy.

Every number of the graph gets a slot in one array and every edge (parent, child) a slot in a
second one, which holds its local derivative. The op nodes are sorted into levels (a node's
level is one more than its deepest child's) and, within a level, into groups of one op
(``groups.py``), so that a replay is a few numpy calls per group, level after level, and
backward the chain rule for all the edges out of one level at once, from the top level down.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import checks
from ..engine import Value
from ..ops import CustomOp, Op
from .groups import Elementwise, Group, Segmented
from .guard import Guard
from .user_ops import OneByOne, UserElementwise

_DATA = operator.attrgetter("data")


class Program:
    """A captured graph compiled for replay.

    Every number of the graph has a slot in one array, in this order: the inputs; the Values
    fn reached from outside (``outer``: parameters, and Values computed before the call, all
    read anew on each call); the leaves fn made (``Value(2.0)`` inside fn) and the constants
    (plain numbers among the operands), both fixed by the capture; then the op nodes, level
    by level and group by group, so that each group writes one contiguous slice. Each edge
    (parent, child) has a slot in a second array, which holds its local derivative.
    """

    def __init__(
        self,
        outputs: list[Value],
        returns: Any,
        stand_ins: list[Value],
        value_slots: list[int],
        split: Any,
        guard: Guard,
        name: str,
    ) -> None:
        self.name, self.returns, self.guard = name, returns, guard
        self.why = self.inputs = ""  # why it was captured, and for what, in words
        self.n_inputs = len(stand_ins)
        self.value_slots = np.array(value_slots, dtype=np.intp)  # the inputs that were Values
        self.value_slot_of = {slot: k for k, slot in enumerate(value_slots)}
        self.input_labels = [v.label for v in stand_ins]
        order = split.order
        slot_of: dict[Value, int] = {v: i for i, v in enumerate(stand_ins)}
        self.outer: list[Value] = list(split.outer.values())
        self.outer_ids = set(split.outer)
        self.made_lo = self.n_inputs + len(self.outer)
        made = list(split.made.values())
        self.made_labels = [v.label for v in made]
        for slot, v in enumerate([*self.outer, *made], start=self.n_inputs):
            slot_of[v] = slot
        # Values from before the call, among the outer ones: backward goes on through them
        self.computed = [(slot_of[v], v) for v in self.outer if v.children]
        self.outer_leaves = [v for v in self.outer if not v.children]  # parameters: accumulate
        self.outer_leaf_slots = np.array([slot_of[v] for v in self.outer_leaves], dtype=np.intp)
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
            kind = group_kind(nodes[0].fn)
            group = kind(key[0], nodes, slot_of[nodes[0]], n_edges, slots)
            self.groups.append(group)
            edges.append(group.edges)
            n_edges = group.e_hi
        self.n_edges = n_edges
        # for each edge: the slot of its parent, the slot of its child, the child's position
        # among the parent's operands
        self.edge_parent, self.edge_child, self.edge_position = (
            np.concatenate([np.zeros(0, np.intp), *column]).astype(np.intp)
            for column in zip(*edges)
        ) if edges else (np.zeros(0, np.intp),) * 3  # fmt: skip
        # the edges out of each level, for backward: they are contiguous, level after level
        self.edge_levels: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for _, groups in _by_level(self.groups):
            lo, hi = groups[0].e_lo, groups[-1].e_hi
            self.edge_levels.append((lo, hi, self.edge_parent[lo:hi], self.edge_child[lo:hi]))
        self.group_starts = [g.lo for g in self.groups]
        self.output_slots = [slot_of[v] for v in outputs]
        self.order_slots = [slot_of[node] for node in order]  # for check=True
        self.labels = {slot_of[node]: node.label for node in order if node.label}
        self.reached: dict[int, np.ndarray] = {}  # by root slot, for backward()
        self.edges_by_parent: tuple[np.ndarray, np.ndarray] | None = None  # made when needed

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

    def backward(self, local: np.ndarray, root: int) -> np.ndarray:
        """d root / d slot for every slot: the chain rule, one level's edges at a time, from
        the top level down (the edges out of a level reach only lower levels)."""
        grads = np.zeros(self.size)
        grads[root] = 1.0
        with np.errstate(all="ignore"):  # an overflow is found by the caller, and named
            for lo, hi, parents, children in reversed(self.edge_levels):
                # child.grad += local_grad * parent.grad, for every edge of the level at once
                np.add.at(grads, children, local[lo:hi] * grads[parents])
        return grads

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
        if self.edges_by_parent is None:
            order = np.argsort(self.edge_parent, kind="stable")
            self.edges_by_parent = (order, self.edge_parent[order])
        order, parents = self.edges_by_parent
        lo, hi = np.searchsorted(parents, [slot, slot + 1])
        edges = order[lo:hi]
        return dict(zip(self.edge_position[edges].tolist(), local[edges].tolist()))

    def leaf_label(self, slot: int) -> str:
        if slot < self.n_inputs:
            return self.input_labels[slot]
        return self.made_labels[slot - self.made_lo]

    def group_at(self, slot: int) -> Group:
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

    def _raise_first_non_finite(self, vals: np.ndarray, local: np.ndarray) -> None:
        """The error eager mode gives at the first node whose value or local derivative is not
        finite, by evaluating that node as eager mode does."""
        bad = self.interior + np.flatnonzero(~np.isfinite(vals[self.interior :]))
        bad_parents = self.edge_parent[np.flatnonzero(~np.isfinite(local))]
        slot = int(min(bad.min(initial=self.size), bad_parents.min(initial=self.size)))
        group = self.group_at(slot)
        numbers = [float(vals[s]) for s in group.operand_slots(slot - group.lo)]
        numbers += [float(s) for s in group.settings_of(slot - group.lo)]
        checks.evaluated(group.row, numbers, [True] * len(numbers))  # raises, naming the op
        raise OverflowError(  # numpy and Python's math disagree at the edge of the float range
            f"jit({self.name}): replaying {group.op} of {numbers} gives a number that is not finite"
        )

    def explain(self) -> list[str]:
        n_ops = self.size - self.interior
        levels = _by_level(self.groups)
        outer = len(self.outer) - len(self.computed)
        before = f" and {len(self.computed):,} Values computed before" if self.computed else ""
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


def _constants(order: list[Value]) -> list[float]:
    """The plain numbers among the operands (``x * 2``'s 2.0), each once."""
    constants: dict[Any, float] = {}
    for node in order:
        arity = len(node.args) if node.fn.arity is None else node.fn.arity
        for a in node.args[:arity]:
            if type(a) is float:  # (an operand is a Value or the float it stands for)
                constants.setdefault(_constant_key(a), a)
    return list(constants.values())


def _constant_key(x: float) -> Any:
    """x as a dict key that tells 0.0 from -0.0 (equal as numbers, not as constants)."""
    return x if x else repr(x)


def _group_key(node: Value) -> tuple:
    """What the nodes of a group share: the row, which operands are Values and, for the
    table's own rows, the settings (a user op's settings are arrays, one number per node)."""
    row = node.fn
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


def group_kind(row: Op) -> type[Group]:
    if row.arity is None:
        return Segmented
    if isinstance(row, CustomOp):
        return UserElementwise if row.vectorized else OneByOne
    return Elementwise


def value_text(v: Value) -> str:
    """A Value in a message, without its grad: ``Value(data=0.5, label='w')``."""
    label = f", label={v.label!r}" if v.label else ""
    op = f", op={v.op!r}" if v.fn is not None else ""
    return f"Value(data={v.data!r}{label}{op})"
