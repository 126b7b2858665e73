"""Groups: the nodes of one level and one op, computed together with a few numpy calls.

A captured graph is replayed level by level (``program.py``). Within a level, the nodes made by
one row of the op table with the same settings form a group, and every number of the graph has
a slot in one array, ``vals``. Replaying a group is a gather of its operands' slots, the row's
own rules from ``ops.py`` applied to whole arrays (``x * (x > 0)`` is relu of a float and of an
array alike), and one write of the results into the group's slots; the local derivatives go
into a second array, ``local``, one slot per edge.

- ``Elementwise``: a row with a fixed number of operands (+, *, tanh, x ** 2 ...);
- ``Segmented``: sum and dot, any number of operands, each node's a segment of one array.

A user's ``@op`` rows have groups of their own (``user_ops.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import Value
from ..ops import Op


class Group:
    """Nodes of one level and one op, replayed together.

    ``run(vals, local)`` writes their values into ``vals[lo:hi]`` and their local derivatives
    into ``local[e_lo:e_hi]``; ``edges`` are (parent slot, child slot, operand position) for
    each of those local derivatives.
    """

    row: Op
    level: int
    lo: int
    hi: int
    size: int
    e_lo: int
    e_hi: int
    op: str
    edges: tuple[np.ndarray, np.ndarray, np.ndarray]

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        raise NotImplementedError

    def operand_slots(self, i: int) -> list[int]:
        raise NotImplementedError

    def settings_of(self, i: int) -> tuple:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.op} ×{self.size:,}"


class Elementwise(Group):
    """Nodes of a row with a fixed number of operands: operand j of all the nodes is one
    array, ``vals[src[j]]``, and the row's rules run on the arrays as they do on floats."""

    def __init__(
        self, level: int, nodes: list[Value], lo: int, e_lo: int, slots: Callable[..., list[int]]
    ) -> None:
        row = nodes[0].row
        assert row is not None and row.arity is not None  # op nodes of a fixed arity
        k, n = row.arity, len(nodes)
        self.row, self.level, self.op, self.size = row, level, nodes[0].op, n
        self.lo, self.hi, self.e_lo = lo, lo + n, e_lo
        self.src = np.array([slots(node.args[:k]) for node in nodes], np.intp).reshape(n, k).T
        self.children_at = [j for j, a in enumerate(nodes[0].args[:k]) if isinstance(a, Value)]
        self.e_hi = e_lo + n * len(self.children_at)
        self.settings: tuple = nodes[0].args[k:]  # the table's rows: shared by the group
        parents = np.arange(lo, lo + n)
        self.edges = (
            np.tile(parents, len(self.children_at)),
            self.src[self.children_at].ravel(),
            np.repeat(self.children_at, n),
        )

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        operands = vals[self.src]
        out = self.row.forward(*operands, *self.settings)
        vals[self.lo : self.hi] = out
        self.write_local(local, self.row.derivatives(*operands, *self.settings, out))

    def write_local(self, local: np.ndarray, derivatives: Sequence[Any] | np.ndarray) -> None:
        e = self.e_lo
        for j in self.children_at:  # only the operands that are Values have an edge
            local[e : e + self.size] = derivatives[j]
            e += self.size

    def operand_slots(self, i: int) -> list[int]:
        return self.src[:, i].tolist()

    def settings_of(self, i: int) -> tuple:
        return self.settings


AGREEMENT = 1e-13  # of max(|sum|, 1): how near each replayed sum must be to eager mode's
_UNIT = 2.0**-53  # a float's relative rounding error


def segment_sums(
    terms: np.ndarray, starts: np.ndarray, ends: np.ndarray, rounding: np.ndarray
) -> np.ndarray:
    """Each segment's sum, as eager mode's ``math.fsum`` gives it, to AGREEMENT.

    numpy adds a segment's n terms up in its own order, within (n - 1)·u·Σ|term| of the exact
    sum (``rounding`` holds each segment's factor), where fsum rounds the exact sum once. When
    that bound is not within AGREEMENT, the terms cancel (1e16 + 1 - 1e16: numpy 0.0, fsum
    1.0) and the segment is added up by math.fsum, as eager mode adds it.
    """
    sums = np.add.reduceat(terms, starts)
    bound = np.add.reduceat(np.abs(terms), starts) * rounding
    unsure = ~(bound <= AGREEMENT * np.maximum(np.abs(sums), 1.0))  # (NaN: unsure too)
    if unsure.any():
        for i in np.flatnonzero(unsure).tolist():
            sums[i] = _fsum(terms[starts[i] : ends[i]].tolist())
    return sums


def _fsum(terms: list[float]) -> float:
    """math.fsum, or the infinity or NaN whose error the replay names as eager mode does."""
    try:
        return math.fsum(terms)
    except OverflowError:
        return math.inf
    except ValueError:  # inf - inf among the terms
        return math.nan


class Segmented(Group):
    """Nodes of sum or dot, of any number of operands: their operands end to end in one array
    (for dot, two: the ws and the xs), each node's a segment starting at ``starts[i]``.

    The rows' derivative rules serve as written: d(Σx)/dx = 1, and dot's ``other_factors``
    applied to (ws, xs, out) gives (xs, ws).
    """

    def __init__(
        self, level: int, nodes: list[Value], lo: int, e_lo: int, slots: Callable[..., list[int]]
    ) -> None:
        row = nodes[0].row
        assert row is not None  # op nodes
        parts = row.parts
        n = len(nodes)
        self.row, self.level, self.op, self.size = row, level, row.name, n
        self.lo, self.hi, self.e_lo = lo, lo + n, e_lo
        counts = [len(node.args) // parts for node in nodes]
        self.starts = np.cumsum([0, *counts[:-1]]).astype(np.intp)
        self.ends = self.starts + counts
        n_terms = np.array(counts, dtype=float) - 1.0  # numpy's additions per segment
        self.rounding = n_terms * _UNIT / (1.0 - n_terms * _UNIT) * 1.01  # (1%: Σ|term|'s own)
        self.sizes = (min(counts) * parts, max(counts) * parts)
        operands = [[a for node in nodes for a in _part(node.args, p, parts)] for p in range(parts)]
        self.src = [np.array(slots(part), np.intp) for part in operands]
        parent = np.repeat(np.arange(lo, lo + n), counts)
        # an operand's position in its node's args: x_i of a dot of m pairs is operand m + i
        within = np.arange(sum(counts)) - np.repeat(self.starts, counts)
        m = np.repeat(counts, counts)
        self.blocks: list[tuple[int, int, np.ndarray | None]] = []
        columns: list[list[np.ndarray]] = [[], [], []]
        e = e_lo
        for p, part in enumerate(operands):
            is_value = np.array([type(a) is not float for a in part], dtype=bool)
            mask = None if is_value.all() else is_value  # constants have no edge
            kept = is_value  # (a boolean index: every edge, or the Values' only)
            self.blocks.append((e, e + int(kept.sum()), mask))
            for column, values in zip(columns, (parent, self.src[p], within + p * m)):
                column.append(values[kept])
            e += int(kept.sum())
        self.e_hi = e
        self.edges = (
            np.concatenate(columns[0]),
            np.concatenate(columns[1]),
            np.concatenate(columns[2]),
        )

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        parts = [vals[src] for src in self.src]
        term = self.row.term  # sum's operand, dot's product (rounded as eager's are)
        assert term is not None  # (a row of any number of operands has one)
        out = segment_sums(term(*parts), self.starts, self.ends, self.rounding)
        vals[self.lo : self.hi] = out
        derivatives = self.row.derivatives(*parts, out)
        for (e_lo, e_hi, mask), d in zip(self.blocks, derivatives):
            local[e_lo:e_hi] = d if mask is None or np.ndim(d) == 0 else d[mask]

    def operand_slots(self, i: int) -> list[int]:
        return [s for src in self.src for s in src[self.starts[i] : self.ends[i]].tolist()]

    def settings_of(self, i: int) -> tuple:
        return ()

    def describe(self) -> str:
        low, high = self.sizes
        operands = f"{low}" if low == high else f"{low}-{high}"
        return f"{self.op} ×{self.size:,} ({operands} operands)"


def _part(args: tuple, p: int, parts: int) -> tuple:
    """Part p of a node's operands: dot's ws (0) or xs (1); all of sum's (p = 0 of 1)."""
    m = len(args) // parts
    return args[p * m : (p + 1) * m]
