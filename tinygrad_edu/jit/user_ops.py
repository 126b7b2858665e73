"""The groups of a user's ``@op`` rows: its vectorized rule, checked against the op itself.

An ``@op`` may give a vectorized rule, a second way of writing the op for arrays. It could be
wrong where the op's own function is right, so a replay checks it, node by node against the
function, wherever the numbers fall where no node was checked yet (``rule_cells``). An ``@op``
without a vectorized rule is replayed one node at a time, in Python, as eager mode does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import checks
from ..engine import Value
from ..ops import CustomOp
from .groups import Elementwise

VERIFY_TOLERANCE = 1e-9  # of max(|x|, 1): rounding passes, a wrong rule does not


def rule_cells(numbers: np.ndarray) -> np.ndarray:
    """Each node's cell, for checking a vectorized rule: for each of its numbers (a row of
    ``numbers`` each), its sign and its power of two, so [0.5, 1), [1, 2) and [-2, -1) are
    three cells of one number (0 shares one with the numbers below 2^-1022). Those are the
    top 12 bits of a float, its sign and exponent: one int per node, five numbers to an
    int64, and the int64s of an op of more numbers as one string of bytes."""
    codes = (np.ascontiguousarray(numbers).view(np.int64) >> 52) & 0xFFF
    if len(codes) == 1:  # the common case: one operand, no settings
        return codes[0]
    k = -(-len(codes) // 5)  # int64s per node
    codes = np.concatenate([codes, np.zeros((5 * k - len(codes), codes.shape[1]), np.int64)])
    shifts = np.array([0, 12, 24, 36, 48], dtype=np.int64)[None, :, None]
    packed = (codes.reshape(k, 5, -1) << shifts).sum(axis=1)
    if k == 1:
        return packed[0]
    return np.ascontiguousarray(packed.T).view(np.dtype((np.void, 8 * k)))[:, 0]


class UserElementwise(Elementwise):
    """Nodes of a user's op (``@op``) with a vectorized rule: settings are arrays too.

    The rule is a second way of writing the op, for arrays, and could be wrong where the op's
    own function is right. So it is checked against the function, node by node as eager mode
    computes, wherever the numbers fall where no node was checked yet: each number's sign and
    power of two (``rule_cells``: 0.7 and 0.9 share one, -0.7 and 1.4 do not), for every
    operand and setting. The first replay checks every node; later ones, the nodes in new
    cells, if any. ``check=True`` compares every node of every call with eager mode.
    """

    row: CustomOp

    def __init__(
        self, level: int, nodes: list[Value], lo: int, e_lo: int, slots: Callable[..., list[int]]
    ) -> None:
        super().__init__(level, nodes, lo, e_lo, slots)
        k = self.row.arity
        values = np.array([node.args[k:] for node in nodes], dtype=float).reshape(len(nodes), -1)
        self.setting_arrays = values.T  # one row per setting, one number per node
        self.checked: set[Any] = set()  # the cells the rule was checked in
        self.checked_one = np.zeros(2**12, dtype=bool)  # the same, for an op of one number
        self.checked_one[[0x7FF, 0xFFF]] = True  # NaN and infinity: eager mode's error, later

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        operands = vals[self.src]
        settings = dict(zip(self.row.settings, self.setting_arrays))
        vectorized = self.row.vectorized
        assert vectorized is not None  # group_kind: a row with a vectorized rule
        try:
            out, derivatives = vectorized(*operands, **settings)
            vals[self.lo : self.hi] = out
            self.write_local(local, derivatives)
        except (TypeError, ValueError, IndexError) as error:
            raise TypeError(
                f"the vectorized rule of @op {self.row.name} failed on arrays of {self.size} "
                f"numbers ({error}); it must return (values, local_grads): an array of values, "
                "one per node, and an array of derivatives per operand"
            ) from None
        self.check_new_cells(operands, vals, local)

    def check_new_cells(self, operands: np.ndarray, vals: np.ndarray, local: np.ndarray) -> None:
        """Compare the rule with the op's own function on the nodes in cells not checked yet."""
        numbers = np.vstack([operands, self.setting_arrays]) if self.row.settings else operands
        cells = rule_cells(numbers)
        if len(numbers) == 1:  # one number a node: its cells index a table of those checked
            is_new = ~self.checked_one[cells]
            if not is_new.any():
                return
            new = np.unique(cells[is_new]).tolist()
        else:
            finite = np.isfinite(numbers).all(axis=0)  # (NaN, infinity: eager's error later)
            new = [c for c in np.unique(cells[finite]).tolist() if c not in self.checked]
            if not new:
                return
            is_new = finite & np.isin(cells, new)
        columns = numbers.T.tolist()
        for i in np.flatnonzero(is_new).tolist():
            edges = range(self.e_lo + i, self.e_hi, self.size)  # node i's, by operand
            mine = [float(vals[self.lo + i]), *(float(local[e]) for e in edges)]
            out, local_grads = checks.evaluated(self.row, columns[i], [True] * len(columns[i]))
            theirs = [out, *(local_grads[j] for j in self.children_at)]
            if not all(close(a, b, VERIFY_TOLERANCE) for a, b in zip(mine, theirs)):
                raise ValueError(
                    f"the vectorized rule of @op {self.row.name} disagrees with the op itself "
                    f"at {self.row.name}{tuple(columns[i])}: value and local derivatives {mine} "
                    f"from the rule, {theirs} from the op"
                )
        self.checked.update(new)
        self.checked_one[new if len(numbers) == 1 else []] = True

    def settings_of(self, i: int) -> tuple:
        return tuple(self.setting_arrays[:, i].tolist())


class OneByOne(UserElementwise):
    """Nodes of a user's op without a vectorized rule: evaluated one node at a time, in
    Python, as eager mode does (without building the nodes): nothing to check."""

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        rows = np.vstack([vals[self.src], self.setting_arrays]).T.tolist()
        evaluate = self.row.evaluate
        try:
            results = [evaluate(*numbers) for numbers in rows]
            out = np.array([r[0] for r in results], dtype=float)
            derivatives = np.array([r[1] for r in results], dtype=float).reshape(self.size, -1)
        except Exception:
            for numbers in rows:  # the first node that fails raises eager mode's error
                checks.evaluated(self.row, numbers, [True] * len(numbers))
            raise
        vals[self.lo : self.hi] = out
        self.write_local(local, derivatives.T)

    def describe(self) -> str:
        return f"{super().describe()} (one by one: no vectorized rule)"


def close(a: float, b: float, tolerance: float) -> bool:
    """|a - b| <= tolerance * max(|a|, |b|, 1): relative for large numbers, absolute below 1."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1.0)
