"""jit: capture a function's computation graph once, then replay it, vectorized, many times.

Why frameworks compile
----------------------
A training step builds the same graph every time it runs: the same ops on the same shapes,
only the numbers change. The eager engine pays for that graph on every call, in Python: one
object per op, one call of the op's rules per node, one trip around backward()'s loop per
edge. About a microsecond each, whatever the numbers are.

``jit`` does the work of building the graph once::

    step = jit(lambda points: losses.hinge([model(x)[0] for x in points], labels))
    loss = step(points)     # the first call runs the function and CAPTURES the graph it builds
    loss.backward()         # the replay's backward: grads land in model.parameters()
    loss = step(points)     # a later call with inputs of the same structure REPLAYS the graph

Compiling the captured graph means scheduling it for numpy:

1. Levels. A node's level is one more than its deepest child's (inputs and parameters are
   level 0), so the nodes of one level depend only on nodes of lower levels. In an MLP on a
   batch of 100, level 1 holds the first layer's 1,600 dot products, one per neuron and
   sample.
2. Groups. Within a level, the nodes of one op (same row of the op table, same settings) form
   a group. Each number of the graph has a slot in one array, and each group keeps the slots
   of its operands: replaying a group is one gather, the op's own rules from ``ops.py``
   applied to whole arrays (``x * (x > 0)`` works on an array as on a float), and one write
   of the results into the group's slots. A few numpy calls for 1,600 nodes instead of 1,600
   trips through Python.
3. Backward is the chain rule ``child.grad += local_grad * parent.grad`` (engine.py) for all
   the edges out of one level at once, from the top level down:
   ``np.add.at(grad, child, local * grad[parent])``. When a level's turn comes, every parent
   of its nodes is above it, so their grads are complete.

``step.explain()`` shows the levels and groups a capture became.

What a capture freezes
----------------------
As with ``torch.jit.trace``, the capture records the ops fn performed, not fn's Python code.
Python that looks at numbers (``if x.data > 0:``, ``max(z.data for z in zs)``, a number read
with ``.data`` and used as a constant) ran once, at capture, and its outcome is part of the
program: a replay does not run it again. So are ints used as indices (``rows[token]``) and
anything fn reads from outside (a closure) that is not a Value. Ints, bools and None among
the inputs are therefore part of the structure: another value captures again.
``jit(fn, check=True)`` also runs fn on every call and raises ``CaptureMismatchError`` at the
first value that differs.

Inputs and gradients
--------------------
Numbers, Values, ints and (nested) lists or tuples of them. Each number or Value among the
inputs becomes an input of the graph: fn runs on a stand-in Value for each, and a Value
passed in receives its gradient on ``backward()`` as any leaf does (so a caller may pass the
embedding rows its tokens select). Every other leaf the graph reaches, a model's parameters,
is read anew on each call, so an optimizer's updates are seen, and accumulates its gradient
on ``backward()``, as in eager mode.

Exactness
---------
The replay computes what the eager engine computes, with the same rules, but rounds in a
different order in three places: ``Value.sum`` and ``Value.dot`` add up with numpy (the eager
engine uses math.fsum, exactly rounded); gradients flowing into a node from several parents
are added level by level, not in backward()'s order; and numpy's exp, log, tanh and pow may
differ from libm's in the last bit. Replayed values and gradients agree with eager ones to
1e-12 of max(|x|, 1) (tests/test_jit.py).
"""

from __future__ import annotations

import bisect
import functools
import operator
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import plumbing
from .engine import Value
from .jit_plumbing import (
    UncapturableInput,
    close,
    describe,
    explain_bad_input,
    first_difference,
    flatten,
    leaves_with_paths,
    materialize,
    merged_order,
    parameter_names,
    rebuild,
)
from .ops import DOT, SUM, Op

DEFAULT_MAX_CAPTURES = 32  # input structures kept per function (sequence lengths, batch sizes)
CHECK_TOLERANCE = 1e-9  # of max(|x|, 1): rounding never comes near it, a changed branch does
_DATA = operator.attrgetter("data")


class CaptureMismatchError(RuntimeError):
    """``jit(fn, check=True)``: a replay and a run of fn disagree, because fn's Python control
    flow depends on the numbers and the capture froze it."""


class CaptureEvictedWarning(UserWarning):
    """A jitted function met more input structures than it keeps captures for."""


def jit(
    fn: Callable | None = None, *, check: bool = False, max_captures: int = DEFAULT_MAX_CAPTURES
) -> Any:
    """``fn`` compiled: captured on its first call with each input structure, replayed after.

    ``check=True`` also runs fn on every call and raises ``CaptureMismatchError`` if a result
    differs from the replay's (a debugging aid: it costs an eager run per call).
    ``max_captures`` bounds the captures kept; dropping one warns. Use as ``jit(fn)`` or as a
    decorator, ``@jit`` or ``@jit(check=True)``.
    """
    if not isinstance(check, bool):
        raise TypeError(f"jit's check must be True or False, got {type(check).__name__}")
    if isinstance(max_captures, bool) or not isinstance(max_captures, int) or max_captures < 1:
        raise ValueError(f"jit's max_captures must be a positive int, got {max_captures!r}")
    if fn is None:
        return lambda f: jit(f, check=check, max_captures=max_captures)
    if not callable(fn):
        raise TypeError(f"jit compiles a function, got {type(fn).__name__}: {fn!r:.60}")
    return JitFunction(fn, check, max_captures)


class JitFunction:
    """What ``jit(fn)`` returns: call it as fn; ``explain()`` shows what it compiled."""

    def __init__(self, fn: Callable, check: bool, max_captures: int) -> None:
        functools.update_wrapper(self, fn, updated=())
        self.fn, self.check, self.max_captures = fn, check, max_captures
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self.names = parameter_names(fn)
        self.programs: OrderedDict[tuple, Program] = OrderedDict()  # by input structure

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"jit({self.name}) takes its arguments by position, got {list(kwargs)}")
        try:
            structure, numbers, values = flatten(args)
        except UncapturableInput:
            raise explain_bad_input(args, self.names, f"jit({self.name})") from None
        inputs = np.array(numbers, dtype=float)
        if not np.isfinite(inputs).all():  # refused before anything runs, as Value(nan) is
            path, x = next(
                (path, x) for (path, x), number in zip(leaves_with_paths(args, self.names), numbers)
                if not np.isfinite(number)
            )  # fmt: skip
            raise ValueError(
                f"jit({self.name}): input {path} = {_data(x)!r} is not finite: a graph's "
                "inputs must be finite numbers"
            )
        program = self.programs.get(structure)
        if program is None:
            program = self._capture(structure, args)
        elif len(self.programs) > 1:
            self.programs.move_to_end(structure)  # the least recently used is dropped first
        call = Call(program, *program.replay(inputs), values)
        if self.check:
            self._compare_with_a_run(call, args)
        return call.results()

    def _stand_ins(self, args: tuple) -> tuple[list[Value], list[int]]:
        """A new leaf Value for each input, named after its path (``points[3][1]``), and the
        positions of the inputs that were Values."""
        stand_ins, value_slots = [], []
        for path, x in leaves_with_paths(args, self.names):
            if isinstance(x, Value):
                value_slots.append(len(stand_ins))
                stand_ins.append(Value(x.data, label=x.label or path))
            else:
                stand_ins.append(Value(float(x), label=path))
        return stand_ins, value_slots

    def _run(self, stand_ins: list[Value], args: tuple) -> tuple[list[Value], type]:
        """fn run eagerly on the stand-ins: its outputs as a list, and what it returned."""
        with plumbing.cyclic_gc_paused():  # speed only: a graph has no cycles to collect
            try:
                out = self.fn(*rebuild(args, iter(stand_ins)))
            except TypeError as error:
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(
                        f"(jit ran {self.name} on stand-ins: each number and Value among "
                        "its inputs reached it as a leaf Value; a number that must stay a "
                        "plain number, such as a loss's targets, goes in as an int, which is "
                        "part of the structure, or is read from outside)"
                    )
                raise
        return _outputs(out, self.name)

    def _capture(self, structure: tuple, args: tuple) -> Program:
        stand_ins, value_slots = self._stand_ins(args)
        outputs, returns = self._run(stand_ins, args)
        program = Program(outputs, returns, stand_ins, value_slots, self.name)
        self.programs[structure] = program
        if len(self.programs) > self.max_captures:
            self.programs.popitem(last=False)
            warnings.warn(
                f"jit({self.name}) keeps {self.max_captures} captures and dropped the least "
                "recently used one: each new input structure (another batch size or sequence "
                "length, other ints) needs a capture, which costs more than an eager call; "
                "pass a larger max_captures if the structures come back",
                CaptureEvictedWarning,
                stacklevel=3,
            )
        return program

    def _compare_with_a_run(self, call: Call, args: tuple) -> None:
        program = call.program
        outputs, returns = self._run(self._stand_ins(args)[0], args)
        who = f"jit({self.name}, check=True)"
        if returns is not program.returns or len(outputs) != len(program.output_slots):
            raise CaptureMismatchError(
                f"{who}: fn now returns {len(outputs)} output(s) where the capture returned "
                f"{len(program.output_slots)}: its control flow depends on the data"
            )
        for i, (output, slot) in enumerate(zip(outputs, program.output_slots)):
            replayed = float(call.vals[slot])
            if not close(replayed, output.data, CHECK_TOLERANCE):
                where = first_difference(program, call.vals, outputs, CHECK_TOLERANCE)
                raise CaptureMismatchError(
                    f"{who}: output {i} is {replayed!r} replayed but {output.data!r} when fn "
                    "runs: fn's Python control flow depends on the numbers (an `if` on "
                    ".data, max(), a number read with .data), and the capture froze it. "
                    f"The first difference: {where}"
                )

    def explain(self) -> str:
        """The captured programs in words: for each input structure, its levels and groups."""
        if not self.programs:
            return f"jit({self.name}): nothing captured yet; call it first"
        lines = [f"jit({self.name}): {len(self.programs)} capture(s), at most "
                 f"{self.max_captures} kept"]  # fmt: skip
        for structure, program in self.programs.items():
            lines += ["", *program.explain(describe(structure, self.names))]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<jit({self.name}): {len(self.programs)} capture(s)>"


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


def _outputs(out: Any, name: str) -> tuple[list[Value], type]:
    """fn's result as a list of Values, and its type (Value, list or tuple)."""
    if isinstance(out, Value):
        return [out], Value
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return list(out), type(out)
    if isinstance(out, (list, tuple)) and out:
        i, bad = next((i, v) for i, v in enumerate(out) if not isinstance(v, Value))
        got = f"a {type(out).__name__} whose item {i} is a {type(bad).__name__}: {bad!r:.60}"
    else:
        got = f"{type(out).__name__}: {out!r:.60}"
    raise TypeError(
        f"jit({name}): the function must return a Value (a loss) or a non-empty list of "
        f"Values, which is what .backward() and .data work on; got {got}"
    )


# --- the compiled program ------------------------------------------------------------------


class Program:
    """A captured graph compiled for replay.

    Every number of the graph has a slot in one array, in this order: the inputs, the other
    leaves (parameters), the constants (plain numbers among the operands), then the op nodes,
    level by level and group by group, so that each group writes one contiguous slice. Each
    edge (parent, child) has a slot in a second array, which holds its local derivative.
    """

    def __init__(
        self,
        outputs: list[Value],
        returns: type,
        stand_ins: list[Value],
        value_slots: list[int],
        name: str,
    ) -> None:
        self.name, self.returns = name, returns
        self.n_inputs = len(stand_ins)
        self.value_slots = np.array(value_slots, dtype=np.intp)  # the inputs that were Values
        self.input_labels = [v.label for v in stand_ins]
        order = merged_order(outputs)
        slot_of: dict[Value, int] = {v: i for i, v in enumerate(stand_ins)}
        leaves = _leaves(order, outputs, slot_of)
        self.leaves = leaves
        for j, leaf in enumerate(leaves):
            slot_of[leaf] = self.n_inputs + j
        self.constants_lo = self.n_inputs + len(leaves)
        constants = _constants(order)
        constant_slot = {_constant_key(c): self.constants_lo + k for k, c in enumerate(constants)}
        self.constants = np.array(constants, dtype=float)
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
            kind = _group_kind(nodes[0].fn)
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
        self.order_slots = [slot_of[node] for node in order]  # for check=True's messages
        self.labels = {slot_of[node]: node.label for node in order if node.label}
        _verify_vectorized_rules(self, slot_of)

    def replay(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every slot's number and every edge's local derivative, for these inputs and the
        leaves' current data: the forward pass, level by level, group by group."""
        vals = np.empty(self.size)
        vals[: self.n_inputs] = inputs
        vals[self.n_inputs : self.constants_lo] = np.fromiter(
            map(_DATA, self.leaves), float, len(self.leaves)
        )
        vals[self.constants_lo : self.interior] = self.constants
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
        for lo, hi, parents, children in reversed(self.edge_levels):
            # child.grad += local_grad * parent.grad, for every edge of the level at once
            np.add.at(grads, children, local[lo:hi] * grads[parents])
        return grads

    def add_leaf_grads(self, grads: np.ndarray, values: list[Value]) -> None:
        """Accumulate the leaves' gradients into the Values passed in and the parameters."""
        for value, g in zip(values, grads[self.value_slots].tolist()):
            value.grad += g
        for leaf, g in zip(self.leaves, grads[self.n_inputs : self.constants_lo].tolist()):
            leaf.grad += g

    def group_at(self, slot: int) -> Group:
        return self.groups[bisect.bisect_right(self.group_starts, slot) - 1]

    def op_name(self, slot: int) -> str:
        """The op of the node in ``slot`` as a graph names it ("+", "**2", "tanh")."""
        return self.group_at(slot).op

    def _raise_first_non_finite(self, vals: np.ndarray, local: np.ndarray) -> None:
        """The error eager mode gives at the first node whose value or local derivative is not
        finite, by evaluating that node as eager mode does."""
        bad = self.interior + np.flatnonzero(~np.isfinite(vals[self.interior :]))
        bad_parents = self.edge_parent[np.flatnonzero(~np.isfinite(local))]
        slot = int(min(bad.min(initial=self.size), bad_parents.min(initial=self.size)))
        group = self.group_at(slot)
        numbers = [float(vals[s]) for s in group.operand_slots(slot - group.lo)]
        numbers += [float(s) for s in group.settings_of(slot - group.lo)]
        plumbing.evaluated(group.row, numbers, [True] * len(numbers))  # raises, naming the op
        raise OverflowError(  # numpy and Python's math disagree at the edge of the float range
            f"jit({self.name}): replaying {group.op} of {numbers} gives a number that is not finite"
        )

    def explain(self, inputs: str) -> list[str]:
        n_ops = self.size - self.interior
        levels = _by_level(self.groups)
        lines = [
            f"capture for {inputs}:",
            f"  {n_ops:,} op nodes in {len(levels)} levels, replayed as {len(self.groups)} "
            "groups (a few numpy calls each)",
            f"  each call reads {self.n_inputs:,} inputs, {len(self.leaves):,} other leaves "
            f"(parameters) and {len(self.constants):,} constants",
        ]
        for level, groups in levels:
            lines.append(f"  level {level:3}  " + "  ·  ".join(g.describe() for g in groups))
        lines.append(
            f"  backward: {len(levels)} levels top-down, {self.n_edges:,} edges, "
            "grad[child] += local * grad[parent] with one np.add.at per level"
        )
        return lines


def _leaves(order: list[Value], outputs: list[Value], slot_of: dict) -> list[Value]:
    """The graph's leaves that are not inputs (parameters, Values made inside fn), in order
    of first use."""
    leaves: dict[Value, None] = {}
    for node in order:
        for child in node.children:
            if child.fn is None and child not in slot_of:
                leaves[child] = None
    for output in outputs:  # fn may return a leaf itself
        if output.fn is None and output not in slot_of:
            leaves[output] = None
    return list(leaves)


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
    if isinstance(row, plumbing.CustomOp):
        return (row, pattern)
    return (row, pattern, node.args[row.arity :])


def _by_level(groups: list[Group]) -> list[tuple[int, list[Group]]]:
    levels: dict[int, list[Group]] = {}
    for group in groups:
        levels.setdefault(group.level, []).append(group)
    return list(levels.items())


# --- groups: the nodes one level computes with a few numpy calls -----------------------------


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
        row = nodes[0].fn
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

    def write_local(self, local: np.ndarray, derivatives: Sequence[Any]) -> None:
        e = self.e_lo
        for j in self.children_at:  # only the operands that are Values have an edge
            local[e : e + self.size] = derivatives[j]
            e += self.size

    def operand_slots(self, i: int) -> list[int]:
        return self.src[:, i].tolist()

    def settings_of(self, i: int) -> tuple:
        return self.settings


class UserElementwise(Elementwise):
    """Nodes of a user's op (``@op``) with a vectorized rule: settings are arrays too."""

    def __init__(
        self, level: int, nodes: list[Value], lo: int, e_lo: int, slots: Callable[..., list[int]]
    ) -> None:
        super().__init__(level, nodes, lo, e_lo, slots)
        k = self.row.arity
        values = np.array([node.args[k:] for node in nodes], dtype=float).reshape(len(nodes), -1)
        self.setting_arrays = values.T  # one row per setting, one number per node

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        operands = vals[self.src]
        settings = dict(zip(self.row.settings, self.setting_arrays))
        out, derivatives = self.row.vectorized(*operands, **settings)
        vals[self.lo : self.hi] = out
        self.write_local(local, derivatives)

    def settings_of(self, i: int) -> tuple:
        return tuple(self.setting_arrays[:, i].tolist())


class OneByOne(UserElementwise):
    """Nodes of a user's op without a vectorized rule: evaluated one node at a time, in
    Python, as eager mode does (without building the nodes)."""

    def run(self, vals: np.ndarray, local: np.ndarray) -> None:
        rows = np.vstack([vals[self.src], self.setting_arrays]).T.tolist()
        evaluate = self.row.evaluate
        try:
            results = [evaluate(*numbers) for numbers in rows]
            out = np.array([r[0] for r in results], dtype=float)
            derivatives = np.array([r[1] for r in results], dtype=float).reshape(self.size, -1)
        except Exception:
            for numbers in rows:  # the first node that fails raises eager mode's error
                plumbing.evaluated(self.row, numbers, [True] * len(numbers))
            raise
        vals[self.lo : self.hi] = out
        self.write_local(local, derivatives.T)

    def describe(self) -> str:
        return f"{super().describe()} (one by one: no vectorized rule)"


# sum and dot: the table's forward rules add up one node at a time with math.fsum; these add
# up all the nodes of a group at once, each node's terms a segment of one array
SEGMENT_SUMS: dict[Op, Callable[..., np.ndarray]] = {
    SUM: lambda xs, starts: np.add.reduceat(xs, starts),
    DOT: lambda ws, xs, starts: np.add.reduceat(ws * xs, starts),
}


class Segmented(Group):
    """Nodes of sum or dot, of any number of operands: their operands end to end in one array
    (for dot, two: the ws and the xs), each node's a segment starting at ``starts[i]``.

    The rows' derivative rules serve as written: d(Σx)/dx = 1, and dot's ``other_factors``
    applied to (ws, xs, out) gives (xs, ws).
    """

    def __init__(
        self, level: int, nodes: list[Value], lo: int, e_lo: int, slots: Callable[..., list[int]]
    ) -> None:
        row = nodes[0].fn
        parts = 2 if row is DOT else 1
        n = len(nodes)
        self.row, self.level, self.op, self.size = row, level, row.name, n
        self.lo, self.hi, self.e_lo = lo, lo + n, e_lo
        counts = [len(node.args) // parts for node in nodes]
        self.starts = np.cumsum([0, *counts[:-1]]).astype(np.intp)
        self.ends = self.starts + counts
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
        out = SEGMENT_SUMS[self.row](*parts, self.starts)
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


def _group_kind(row: Op) -> type[Group]:
    if row.arity is None:
        return Segmented
    if isinstance(row, plumbing.CustomOp):
        return UserElementwise if row.vectorized else OneByOne
    return Elementwise


VERIFY_TOLERANCE = 1e-9  # of max(|x|, 1): rounding passes, a wrong rule does not


def _verify_vectorized_rules(program: Program, slot_of: dict[Value, int]) -> None:
    """A user's vectorized rule must agree with the op itself: each is run on the numbers the
    capture computed, and compared with the values and local derivatives eager mode gave."""
    checked = [g for g in program.groups if type(g) is UserElementwise]
    if not checked:
        return
    eager = np.zeros(program.size)
    for value, slot in slot_of.items():  # inputs, leaves and op nodes, as fn computed them
        eager[slot] = value.data
    eager[program.constants_lo : program.interior] = program.constants
    node_at = {slot: value for value, slot in slot_of.items()}
    for group in checked:
        vals, local = eager.copy(), np.zeros(program.n_edges)
        try:
            with np.errstate(all="ignore"):
                group.run(vals, local)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"the vectorized rule of @op {group.row.name} failed on arrays of "
                f"{group.size} numbers ({error}); it must return (values, local_grads): an "
                "array of values, one per node, and an array of derivatives per operand"
            ) from None
        for i in range(group.size):
            slot = group.lo + i
            node = node_at[slot]
            edges = range(group.e_lo + i, group.e_hi, group.size)  # node i's, by operand
            mine = [float(vals[slot]), *(float(local[e]) for e in edges)]
            theirs = [node.data, *node.local_grads]
            if not all(close(a, b, VERIFY_TOLERANCE) for a, b in zip(mine, theirs)):
                numbers = tuple(float(eager[s]) for s in group.operand_slots(i))
                raise ValueError(
                    f"the vectorized rule of @op {group.row.name} disagrees with the op itself "
                    f"at {group.row.name}{numbers}: value and local derivatives {mine} from the "
                    f"rule, {theirs} from the op"
                )


# --- what a call returns -------------------------------------------------------------------


class Call:
    """One replay: its numbers, kept so that its results can backpropagate and be drawn."""

    __slots__ = ("program", "vals", "local", "values", "grads", "nodes")

    def __init__(
        self, program: Program, vals: np.ndarray, local: np.ndarray, values: list[Value]
    ) -> None:
        self.program, self.vals, self.local, self.values = program, vals, local, values
        self.grads: np.ndarray | None = None  # after a backward()
        self.nodes: list[Any] | None = None  # the graph as Values, once someone looks

    def results(self) -> Any:
        program = self.program
        outputs = [self.result(slot) for slot in program.output_slots]
        return outputs[0] if program.returns is Value else program.returns(outputs)

    def result(self, slot: int) -> Value:
        program = self.program
        if slot >= program.interior:
            made = object.__new__(Replayed)
            made.data, made.grad = float(self.vals[slot]), 0.0
            made.label = program.labels.get(slot, "")
            made._call, made._slot = self, slot
            return made
        return self.graph()[slot]  # fn returned a leaf: the leaf itself, as eager mode does

    def graph(self) -> list[Any]:
        if self.nodes is None:
            self.nodes = materialize(self.program, self)
        return self.nodes


class Replayed(Value):
    """A Value computed by a replay. ``.data`` and ``.item()`` are its number; ``backward()``
    is the replay's vectorized backward; its graph (``children``, ``local_grads``...) is built
    as Values only when something looks at it, such as ``draw_graph`` or an eager op using it.
    """

    __slots__ = ("_call", "_slot")

    @property  # type: ignore[override]
    def fn(self) -> Op:
        return self._call.program.group_at(self._slot).row

    @property  # type: ignore[override]
    def children(self) -> tuple:
        return self._node().children

    @property  # type: ignore[override]
    def local_grads(self) -> tuple:
        return self._node().local_grads

    @property  # type: ignore[override]
    def args(self) -> tuple:
        return self._node().args

    def _node(self) -> Value:
        return self._call.graph()[self._slot]

    def backward(self) -> None:
        """Fill in d(self)/d(leaf) as in eager mode: every leaf's grad (the inputs passed in as
        Values, the parameters) ACCUMULATES; the replayed nodes' grads are recomputed."""
        call = self._call
        grads = call.program.backward(call.local, self._slot)
        call.grads, call.nodes = grads, None  # a graph built before shows the new grads
        call.program.add_leaf_grads(grads, call.values)
        self.grad = 1.0
