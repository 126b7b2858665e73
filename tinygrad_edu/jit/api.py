"""jit's front door: ``jit(fn)``, and the captures it keeps, one per input structure.

A call looks up the capture made for its inputs' structure (``inputs.py`` says what that is),
checks that fn still reaches what the capture read (``guard.py``), and replays it; the first
call with a structure, or one after something fn reaches changed, captures again.
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from .. import checks, overflow
from ..engine import Value, interior_nodes_children_first
from ..fast_paths import cyclic_gc_paused
from ..ops import DOT, SUM, CustomOp, Op
from .guard import (
    Guard,
    Reach,
    UnsafeCaptureError,
    held_elsewhere,
    side_effect_error,
    split_graph,
    untraceable_error,
    value_text,
)
from .plumbing import (
    UncapturableInput,
    close,
    describe,
    eager_gradients,
    explain_bad_input,
    first_value_difference,
    flatten,
    frozen_static,
    leaves_with_paths,
    outputs_of,
    parameter_names,
    rebuild,
    stand_in_hint,
    structural_difference,
)

DEFAULT_MAX_CAPTURES = 32  # input structures kept per function (sequence lengths, batch sizes)
CHECK_TOLERANCE = 1e-9  # of max(|x|, 1): rounding never comes near it, a changed branch does
_DATA = operator.attrgetter("data")

__all__ = [
    "CaptureEvictedWarning",
    "CaptureMismatchError",
    "RecaptureWarning",
    "UnsafeCaptureError",
    "jit",
]


class CaptureMismatchError(RuntimeError):
    """``jit(fn, check=True)``: a replay and a run of fn disagree (in the ops performed, the
    outputs or their gradients), because fn's Python depends on the numbers and the capture
    froze it."""


class CaptureEvictedWarning(UserWarning):
    """A jitted function met more input structures than it keeps captures for."""


class RecaptureWarning(UserWarning):
    """A jitted function captured again on several calls in a row, because something it
    reaches changes between calls: each capture costs more than an eager call."""


RECAPTURES_IN_A_ROW = 4  # warn when this many calls in a row captured again


def jit(
    fn: Callable | None = None,
    *,
    check: bool = False,
    max_captures: int = DEFAULT_MAX_CAPTURES,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """``fn`` compiled: captured on its first call with each input structure, replayed after.

    ``check=True`` also runs fn on every call and raises ``CaptureMismatchError`` if the ops it
    performs, its results or their gradients differ from the replay's (a debugging aid: it
    costs an eager run and backward per call). ``max_captures`` bounds the captures kept;
    dropping one warns. ``static_argnums``: the positions of arguments that are structure, not
    inputs (as JAX's): fn gets them as they are, plain numbers stay plain numbers (a loss's
    float targets), and each value, compared by ``==``, gets a capture of its own. Use as
    ``jit(fn)`` or as a decorator, ``@jit`` or ``@jit(check=True)``.
    """
    if not isinstance(check, bool):
        raise TypeError(f"jit's check must be True or False, got {type(check).__name__}")
    if isinstance(max_captures, bool) or not isinstance(max_captures, int) or max_captures < 1:
        raise ValueError(f"jit's max_captures must be a positive int, got {max_captures!r}")
    static = _static_argnums(static_argnums)
    if fn is None:
        return lambda f: jit(f, check=check, max_captures=max_captures, static_argnums=static)
    if not callable(fn):
        raise TypeError(f"jit compiles a function, got {type(fn).__name__}: {fn!r:.60}")
    return JitFunction(fn, check, max_captures, static)


def _static_argnums(numbers: object) -> tuple[int, ...]:
    if isinstance(numbers, int) and not isinstance(numbers, bool):
        numbers = (numbers,)
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Sequence):
        raise TypeError(
            "jit's static_argnums must be an int or a tuple of ints (argument positions), "
            f"got {type(numbers).__name__}: {numbers!r:.60}"
        )
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(
                f"jit's static_argnums must hold argument positions (ints), got {n!r:.60}"
            )
    return tuple(dict.fromkeys(numbers))


class JitFunction:
    """What ``jit(fn)`` returns: call it as fn; ``explain()`` shows what it compiled."""

    def __init__(
        self, fn: Callable, check: bool, max_captures: int, static_argnums: tuple[int, ...]
    ) -> None:
        functools.update_wrapper(self, fn, updated=())
        self.fn, self.check, self.max_captures = fn, check, max_captures
        self.static_argnums = static_argnums
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self.names = parameter_names(fn)
        self.programs: OrderedDict[Hashable, Program] = OrderedDict()  # by input structure
        self.recaptures = self.in_a_row = 0  # captures made again, since the last replay

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"jit({self.name}) takes its arguments by position, got {list(kwargs)}")
        call_args = Arguments(args, self)
        program = self.programs.get(call_args.key)
        why = "the first call with these input structures"
        if program is not None:
            changed = program.guard.changed()  # fn still reaches the same Values?
            if changed is None:
                self.in_a_row = 0
                if len(self.programs) > 1:
                    self.programs.move_to_end(call_args.key)  # the least recent is dropped first
            else:
                why, program = f"captured again: {changed}", None
                self._count_recapture(changed)
        if program is None:
            program = self._capture(call_args, why)
        call = Call(program, *program.replay(call_args.inputs), call_args.values)
        if self.check:
            self._compare_with_a_run(call, call_args)
        return call.results()

    def _count_recapture(self, changed: str) -> None:
        self.recaptures += 1
        self.in_a_row += 1
        if self.in_a_row == RECAPTURES_IN_A_ROW:
            warnings.warn(
                f"jit({self.name}) captured again on {self.in_a_row} calls in a row, the last "
                f"time because {changed}; each capture costs more than an eager call. If that "
                "changes on every call, keep it out of what fn reaches, or pass it as an "
                "argument",
                RecaptureWarning,
                stacklevel=3,
            )

    def _run(self, call_args: Arguments, stand_ins: list[Value]) -> tuple[list[Value], Any]:
        """fn run eagerly on the stand-ins: its outputs as a list, and how to rebuild what it
        returned from them."""
        with cyclic_gc_paused():  # speed only: a graph has no cycles to collect
            try:
                out = self.fn(*call_args.with_stand_ins(stand_ins))
            except TypeError as error:
                hint = stand_in_hint(error, stand_ins, call_args, self.name)
                if type(error) is TypeError:  # the same error, its message with the hint
                    raise TypeError(f"{error}\n{hint}").with_traceback(
                        error.__traceback__
                    ) from None
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(hint)
                raise
        return outputs_of(out, self.name)

    def _capture(self, call_args: Arguments, why: str) -> Program:
        """Run fn on stand-ins, refuse what a replay could not repeat, compile the graph."""
        reach = Reach(self.fn, call_args.static_roots())  # before fn runs: what it can reach
        stand_ins, value_slots = call_args.stand_ins()
        reach.watch(stand_ins)
        outputs, returns = self._run(call_args, stand_ins)
        split = split_graph(outputs, stand_ins, reach)
        backward_inside = any(n.grad for n in split.order) or any(
            v.grad for v in split.made.values()
        )
        changes = reach.changes()
        if changes or backward_inside:
            reach.restore()
            raise side_effect_error(self.name, changes, backward_inside)
        suspects = held_elsewhere(split, outputs, set(map(id, Call.held_in_calls(split.order))))
        if suspects:
            raise untraceable_error(suspects, reach, self.name)
        guard = reach.guard(split.outer, self.name)
        program = Program(outputs, returns, stand_ins, value_slots, split, guard, self.name)
        program.why, program.inputs = why, call_args.described()
        self.programs[call_args.key] = program
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

    def _compare_with_a_run(self, call: Call, call_args: Arguments) -> None:
        """check=True: run fn eagerly too; the ops it performs, its outputs and their
        gradients must be the replay's (to CHECK_TOLERANCE), or CaptureMismatchError."""
        program = call.program
        stand_ins, _ = call_args.stand_ins()
        outputs, returns = self._run(call_args, stand_ins)
        who = f"jit({self.name}, check=True)"
        frozen = (
            "fn's Python depends on the numbers (an `if` on .data, max(), a number read with "
            ".data and used as a constant) and the capture froze it"
        )
        if returns != program.returns or len(outputs) != len(program.output_slots):
            raise CaptureMismatchError(
                f"{who}: fn now returns {len(outputs)} output(s) where the capture returned "
                f"{len(program.output_slots)}: its control flow depends on the data"
            )
        split = split_graph(outputs, stand_ins, program.outer_ids)
        where, slot_of = structural_difference(program, split, stand_ins, outputs)
        if where:
            raise CaptureMismatchError(f"{who}: fn now performs other ops: {where}; {frozen}")
        for i, (output, slot) in enumerate(zip(outputs, program.output_slots)):
            replayed = float(call.vals[slot])
            if not close(replayed, output.data, CHECK_TOLERANCE):
                where = first_value_difference(program, call.vals, split.order)
                raise CaptureMismatchError(
                    f"{who}: output {i} is {replayed!r} replayed but {output.data!r} when fn "
                    f"runs: {frozen}. The first difference: {where}"
                )
        leaves = [(slot, v) for v, slot in slot_of.items() if slot < program.interior]
        for i, (output, slot) in enumerate(zip(outputs, program.output_slots)):
            eager = eager_gradients(split.order, output)
            replayed = program.backward(call.local, slot) if slot >= program.interior else None
            for leaf_slot, leaf in leaves:
                got = (
                    float(replayed[leaf_slot]) if replayed is not None else float(slot == leaf_slot)
                )
                want = eager.get(id(leaf), 0.0)
                if not close(got, want, CHECK_TOLERANCE):
                    by = self._name(program, leaf_slot, call_args)
                    raise CaptureMismatchError(
                        f"{who}: the gradient of output {i} by {by} is "
                        f"{got!r} replayed but {want!r} when fn runs, with the same ops and "
                        f"outputs: {frozen} (compute with Values: x * x, not x * x.data)"
                    )

    def _name(self, program: Program, slot: int, call_args: Arguments) -> str:
        """A leaf of the program in words, for a message: an input's path, or the way fn
        reaches a parameter (``model.layers[0].neurons[1].b``), searched for again."""
        if program.n_inputs <= slot < program.made_lo:
            value = program.outer[slot - program.n_inputs]
            return Reach(self.fn, call_args.static_roots()).path(id(value))
        return program.slot_name(slot)

    def explain(self) -> str:
        """The captured programs in words: for each input structure, its levels and groups,
        and what each call checks first."""
        if not self.programs:
            return f"jit({self.name}): nothing captured yet; call it first"
        lines = [f"jit({self.name}): {len(self.programs)} capture(s), at most "
                 f"{self.max_captures} kept"]  # fmt: skip
        if self.recaptures:
            lines.append(
                f"  captured again {self.recaptures} time(s) because what fn reaches changed"
            )
        for program in self.programs.values():
            lines += ["", *program.explain()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<jit({self.name}): {len(self.programs)} capture(s)>"


class Arguments:
    """One call's arguments, split into the static ones (structure, passed to fn as they
    are) and the others, whose numbers and Values are the graph's inputs."""

    def __init__(self, args: tuple, jitted: JitFunction) -> None:
        self.args, self.jitted = args, jitted
        n = len(args)
        who = f"jit({jitted.name}, static_argnums={jitted.static_argnums})"
        static = []
        for i in jitted.static_argnums:
            if not -n <= i < n:
                raise TypeError(
                    f"{who}: argument {i} is static, but {jitted.name} was called with {n} "
                    "argument(s)"
                )
            static.append(i % n)
        self.static_at = sorted(set(static))
        self.dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_at)
        self.names = [
            jitted.names[i] if i < len(jitted.names) else f"args[{i}]"
            for i in range(n)
            if i not in self.static_at
        ]
        static_key = tuple((i, frozen_static(args[i], self._name(i), who)) for i in self.static_at)
        try:
            structure, numbers, self.values = flatten(self.dynamic)
        except UncapturableInput:
            raise explain_bad_input(self.dynamic, self.names, f"jit({jitted.name})") from None
        self.key = (static_key, structure)
        self.inputs = np.array(numbers, dtype=float)
        if not np.isfinite(self.inputs).all():  # refused before anything runs, as Value(nan) is
            path, x = next(
                (path, x)
                for (path, x), number in zip(leaves_with_paths(self.dynamic, self.names), numbers)
                if not np.isfinite(number)
            )
            raise ValueError(
                f"jit({jitted.name}): input {path} = {_data(x)!r} is not finite: a graph's "
                "inputs must be finite numbers"
            )

    def _name(self, i: int) -> str:
        names = self.jitted.names
        return names[i] if i < len(names) else f"args[{i}]"

    def position_of(self, name: str) -> int:
        """The position among all the arguments of the input argument called ``name``."""
        dynamic = [i for i in range(len(self.args)) if i not in self.static_at]
        return dynamic[self.names.index(name)]

    def described(self) -> str:
        """The inputs' structure and the static arguments, in words, for explain()."""
        text = describe(self.key[1], self.names)
        static = ", ".join(f"{self._name(i)} = {self.args[i]!r:.40}" for i in self.static_at)
        return f"{text}; static {static}" if static else text

    def stand_ins(self) -> tuple[list[Value], list[int]]:
        """A new leaf Value for each input, named after its path (``points[3][1]``), and the
        positions of the inputs that were Values."""
        stand_ins, value_slots = [], []
        for path, x in leaves_with_paths(self.dynamic, self.names):
            if isinstance(x, Value):
                value_slots.append(len(stand_ins))
                stand_ins.append(Value(x.data, label=x.label or path))
            else:
                stand_ins.append(Value(float(x), label=path))
        return stand_ins, value_slots

    def with_stand_ins(self, stand_ins: list[Value]) -> tuple:
        """The arguments fn is called with at a capture: the static ones as they are, each
        input replaced by its stand-in."""
        dynamic = iter(rebuild(self.dynamic, iter(stand_ins)))
        return tuple(a if i in self.static_at else next(dynamic) for i, a in enumerate(self.args))

    def static_roots(self) -> list[tuple[str, Any]]:
        """Where the search for what fn reaches starts, besides fn's own names."""
        return [(self._name(i), self.args[i]) for i in self.static_at]


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


# --- the compiled program ------------------------------------------------------------------


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
    """Nodes of a user's op (``@op``) with a vectorized rule: settings are arrays too.

    The rule is a second way of writing the op, for arrays, and could be wrong where the op's
    own function is right. So it is checked against the function, node by node as eager mode
    computes, wherever the numbers fall where no node was checked yet: each number's sign and
    power of two (``rule_cells``: 0.7 and 0.9 share one, -0.7 and 1.4 do not), for every
    operand and setting. The first replay checks every node; later ones, the nodes in new
    cells, if any. ``check=True`` compares every node of every call with eager mode.
    """

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
        try:
            out, derivatives = self.row.vectorized(*operands, **settings)
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
    if isinstance(row, CustomOp):
        return UserElementwise if row.vectorized else OneByOne
    return Elementwise


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


# --- what a call returns -------------------------------------------------------------------


class Call:
    """One replay: its numbers, kept so that its results can backpropagate and be drawn.

    The results fn returned are ``Replayed`` Values; so is every op node of the graph that
    someone looks at (through ``children``, a drawing, eager ops on a result), made when first
    needed. ``backward()`` from a result gives every node handed out its gradient, as eager
    mode's backward() does. References go one way, as in an eager graph, from a node to its
    children and to its call: the call keeps the nodes it handed out only weakly, so a call and
    its arrays are freed as soon as its results are."""

    __slots__ = ("program", "vals", "local", "values", "live", "leaves", "passes")

    def __init__(
        self, program: Program, vals: np.ndarray, local: np.ndarray, values: list[Value]
    ) -> None:
        self.program, self.vals, self.local, self.values = program, vals, local, values
        self.live: dict[int, weakref.ref] = {}  # the op nodes handed out, by slot
        self.leaves: dict[int, Value] = {}  # the leaves made for this call, by slot
        self.passes: list[tuple[np.ndarray, np.ndarray]] = []  # backward()s: grads, reached

    def results(self) -> Any:
        program = self.program
        outputs = [self.node(slot) for slot in program.output_slots]
        return outputs[0] if program.returns is Value else program.returns(outputs)

    def node(self, slot: int) -> Any:
        """The graph's number in ``slot`` as eager mode has it: an op node (the same object
        each time it is asked for while someone holds it), a leaf, or a constant's float."""
        program = self.program
        if slot >= program.interior:
            ref = self.live.get(slot)
            made = ref() if ref is not None else None
            if made is None:
                made = object.__new__(Replayed)
                made.data = float(self.vals[slot])
                made.grad = self.grad_of(slot) if self.passes else 0.0
                made.label = program.labels.get(slot, "")
                made._call, made._slot, made._structure = self, slot, None
                self.live[slot] = weakref.ref(made)
            return made
        if slot >= program.constants_lo:
            return float(self.vals[slot])
        if program.n_inputs <= slot < program.made_lo:
            return program.outer[slot - program.n_inputs]  # a parameter: the very Value
        if slot in program.value_slot_of:
            return self.values[program.value_slot_of[slot]]  # the very Value passed in
        leaf = self.leaves.get(slot)  # a number's stand-in, or a leaf fn made
        if leaf is None:
            leaf = Value(float(self.vals[slot]), label=program.leaf_label(slot))
            leaf.grad = self.grad_of(slot) if self.passes else 0.0
            self.leaves[slot] = leaf
        return leaf

    def structure(self, slot: int) -> tuple:
        """An op node's (args, children, local_grads), from the program and this call."""
        program = self.program
        group = program.group_at(slot)
        i = slot - group.lo
        operands = [self.node(s) for s in group.operand_slots(i)]
        kept = [j for j, a in enumerate(operands) if isinstance(a, Value)]
        local = program.local_grads_at(slot, self.local)
        return (
            (*operands, *group.settings_of(i)),
            tuple(operands[j] for j in kept),
            tuple(local[j] for j in kept),
        )

    def backward(self, root: int) -> None:
        """backward() from the node in slot ``root``: eager mode's semantics, the replay's
        arithmetic. Every gradient is checked before any is changed."""
        program = self.program
        grads = program.backward(self.local, root)
        if not np.isfinite(grads).all():  # eager mode's error, found in the graph as Values
            node = self.node(root)
            found = overflow.gradient_overflow(
                node, interior_nodes_children_first(node), "backward()"
            )
            raise found or OverflowError(f"backward() of jit({program.name}): a gradient overflows")
        leaves = [*self.values, *program.outer_leaves]
        added = np.concatenate([grads[program.value_slots], grads[program.outer_leaf_slots]])
        if added.size and not np.abs(added).max() < 2.0**970:
            _check_accumulation(leaves, added.tolist())
        for leaf, g in zip(leaves, added.tolist()):  # leaves accumulate, as in eager mode
            leaf.grad += g
        reached = program.reach(root)
        self.hand_out(grads, reached)
        # eager backward() resets and recomputes every interior node of the root's graph,
        # those of the Values computed before the call too: one eager pass through them all
        seeds = [(v, float(grads[slot])) for slot, v in program.computed if reached[slot]]
        if seeds:
            _backward_through(seeds)

    def hand_out(self, grads: np.ndarray, reached: np.ndarray) -> None:
        """Give this pass's gradients to the nodes handed out: the op nodes of the root's graph
        get theirs anew, the leaves made for the call accumulate. The pass is kept, for the
        nodes made later."""
        self.passes.append((grads, reached))
        for slot, ref in list(self.live.items()):
            node = ref()
            if node is None:
                del self.live[slot]
            elif reached[slot]:
                node.grad = float(grads[slot])
        for slot, leaf in self.leaves.items():
            leaf.grad += float(grads[slot])

    def grad_of(self, slot: int) -> float:
        """The gradient a node made now has, after the passes so far: an op node its last
        pass's, a leaf the sum of all of them."""
        if slot >= self.program.interior:
            last = next((g for g, reached in reversed(self.passes) if reached[slot]), None)
            return 0.0 if last is None else float(last[slot])
        return math.fsum(float(g[slot]) for g, _ in self.passes)

    @staticmethod
    def held_in_calls(order: Sequence[Value]) -> list[Any]:
        """The Values that the calls of replayed results among ``order`` hold (their inputs
        and the leaves made for them): a jitted function called inside another one's capture."""
        held: list[Any] = []
        for node in order:
            if isinstance(node, Replayed):
                held += [*node._call.values, *node._call.leaves.values()]
        return held


def _check_accumulation(leaves: list[Value], added: list[float]) -> None:
    """Raise, before any grad changes, if adding ``added`` to the leaves' grads overflows a
    float. Only a term of at least 2^970, half the spacing of floats near the largest one, can
    push a finite sum past it: below that, backward() needs no check."""
    totals: dict[int, list] = {}
    for leaf, g in zip(leaves, added):  # a Value passed twice gets both terms
        entry = totals.setdefault(id(leaf), [leaf, leaf.grad])
        entry[1] += g
    for leaf, total in totals.values():
        if not -math.inf < total < math.inf:
            raise OverflowError(
                f"backward(): the gradient of {value_text(leaf)} overflows a float when this "
                f"pass adds to the {leaf.grad!r} it had accumulated: call zero_grad() between "
                "backward() calls"
            )


def _backward_through(seeds: list[tuple[Value, float]]) -> None:
    """Eager backward() from several nodes at once, each with its gradient: one hand-made node
    whose children are those nodes and whose local derivatives are their gradients."""
    top = Value(0.0)
    top.children = tuple(v for v, _ in seeds)
    top.local_grads = tuple(g for _, g in seeds)
    top.fn, top.args = SUM, top.children
    top.backward()


class Replayed(Value):
    """A Value computed by a replay. ``.data`` and ``.item()`` are its number; ``backward()``
    is the replay's vectorized backward; its graph (``children``, ``local_grads``...) is made
    of Values only when something looks at it, such as ``draw_graph`` or an eager op using it.
    """

    __slots__ = ("_call", "_slot", "_structure", "__weakref__")

    @property  # type: ignore[override]
    def fn(self) -> Op:
        return self._call.program.group_at(self._slot).row

    @property  # type: ignore[override]
    def args(self) -> tuple:
        return self._parts()[0]

    @property  # type: ignore[override]
    def children(self) -> tuple:
        return self._parts()[1]

    @property  # type: ignore[override]
    def local_grads(self) -> tuple:
        return self._parts()[2]

    def _parts(self) -> tuple:
        if self._structure is None:
            self._structure = self._call.structure(self._slot)
        return self._structure

    def backward(self) -> None:
        """Fill in d(self)/d(node) as in eager mode: every leaf's grad (the inputs passed in as
        Values, the parameters) ACCUMULATES; the nodes of this result's graph, the results
        handed out among them, get theirs anew."""
        self._call.backward(self._slot)
