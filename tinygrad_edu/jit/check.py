"""``jit(fn, check=True)``: every call also runs fn eagerly, and compares.

A capture freezes the Python that looks at numbers (``if x.data > 0:``); a replay does not run
it again. With ``check=True`` each call runs fn on the same inputs too, and raises
``CaptureMismatchError`` when the ops fn performs, its outputs or their gradients differ from
the replay's: a debugging aid, at the cost of an eager run and backward per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import Value
from .call import Call
from .inputs import Arguments
from .program import Program
from .reach import Reach
from .split import split_graph
from .user_ops import close

CHECK_TOLERANCE = 1e-9  # of max(|x|, 1): rounding never comes near it, a changed branch does


class CaptureMismatchError(RuntimeError):
    """``jit(fn, check=True)``: a replay and a run of fn disagree (in the ops performed, the
    outputs or their gradients), because fn's Python depends on the numbers and the capture
    froze it."""


def compare_with_a_run(
    call: Call,
    stand_ins: list[Value],
    outputs: list[Value],
    returns: Any,
    call_args: Arguments,
    fn: Callable,
    name: str,
) -> None:
    """The ops that a run of fn on ``stand_ins`` performed, its ``outputs`` and their
    gradients must be the replay's (to CHECK_TOLERANCE), or CaptureMismatchError."""
    program = call.program
    who = f"jit({name}, check=True)"
    frozen = (
        "fn's Python depends on the numbers (an `if` on .data, max(), a number read with "
        ".data and used as a constant) and the capture froze it"
    )
    if returns != program.returns or len(outputs) != len(program.output_slots):
        raise CaptureMismatchError(
            f"{who}: fn now returns {len(outputs)} output(s) where the capture returned "
            f"{len(program.output_slots)}: its control flow depends on the data"
        )
    split = split_graph(outputs, stand_ins, dict.fromkeys(program.outer_ids))
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
            got = float(replayed[leaf_slot]) if replayed is not None else float(slot == leaf_slot)
            want = eager.get(id(leaf), 0.0)
            if not close(got, want, CHECK_TOLERANCE):
                by = _leaf_name(program, leaf_slot, call_args, fn)
                raise CaptureMismatchError(
                    f"{who}: the gradient of output {i} by {by} is "
                    f"{got!r} replayed but {want!r} when fn runs, with the same ops and "
                    f"outputs: {frozen} (compute with Values: x * x, not x * x.data)"
                )


def _leaf_name(program: Program, slot: int, call_args: Arguments, fn: Callable) -> str:
    """A leaf of the program in words, for a message: an input's path, or the way fn
    reaches a parameter (``model.layers[0].neurons[1].b``), searched for again."""
    if program.n_inputs <= slot < program.made_lo:
        value = program.outer[slot - program.n_inputs]
        return Reach(fn, call_args.static_roots()).path(id(value))
    return program.slot_name(slot)


def structural_difference(
    program: Any, split: Any, stand_ins: Sequence[Value], outputs: Sequence[Value]
) -> tuple[str | None, dict[Value, int]]:
    """Where a run of fn first parts from the captured program, in words (None if nowhere),
    and the slot of each Value of the run. The run's op nodes, in the capture's topological
    order, must be the program's: the same op and settings, reading the same slots (a
    constant where a constant was, of any value: a stable softmax's shift changes)."""
    slot_of: dict[Value, int] = {v: i for i, v in enumerate(stand_ins)}
    outer_slot = {id(v): program.n_inputs + j for j, v in enumerate(program.outer)}
    for i, v in split.outer.items():
        slot_of[v] = outer_slot[i]
    made, n_made = list(split.made.values()), program.constants_lo - program.made_lo
    if len(made) != n_made:
        return f"fn now makes {len(made)} leaf Values where the capture made {n_made}", slot_of
    for k, v in enumerate(made):
        slot_of[v] = program.made_lo + k
    n = len(program.order_slots)
    for i, (node, slot) in enumerate(zip(split.order, program.order_slots)):
        slot_of[node] = slot
        group = program.group_at(slot)
        where = f"node {i + 1} of {n} in topological order"
        if node.fn is not group.row or (group.row.arity is not None and node.op != group.op):
            return (
                f"{where} was `{group.op}` when captured, but fn now makes `{node.op}` there",
                slot_of,
            )
        arity = len(node.args) if node.fn.arity is None else node.fn.arity
        captured = group.operand_slots(slot - group.lo)
        if len(captured) != arity:
            return f"{where} (`{group.op}`) now has {arity} operands, not {len(captured)}", slot_of
        for position, (a, s) in enumerate(zip(node.args[:arity], captured)):
            if isinstance(a, Value):
                same = slot_of.get(a) == s
            else:
                same = program.constants_lo <= s < program.interior
            if not same:
                return f"{where} (`{group.op}`) now reads another operand {position}", slot_of
    if len(split.order) != n:
        return f"fn now makes {len(split.order)} op nodes where the capture made {n}", slot_of
    if [slot_of.get(v) for v in outputs] != program.output_slots:
        return "fn now returns other nodes of its graph", slot_of
    return None, slot_of


def first_value_difference(program: Any, vals: np.ndarray, order: Sequence[Value]) -> str:
    """The first op node, in topological order, whose value differs between the replay and
    a run of fn with the same ops, and the constant it read, if that differs too."""
    n = len(program.order_slots)
    for i, (node, slot) in enumerate(zip(order, program.order_slots)):
        replayed = float(vals[slot])
        if close(replayed, node.data, 1e-9):
            continue
        group = program.group_at(slot)
        text = (
            f"node {i + 1} of {n} in topological order (`{group.op}`) is {replayed!r} replayed "
            f"but {node.data!r} when run"
        )
        arity = len(node.args) if node.fn.arity is None else node.fn.arity
        for a, s in zip(node.args[:arity], group.operand_slots(slot - group.lo)):
            if not isinstance(a, Value) and float(vals[s]) != a:
                return (
                    f"{text}, reading the constant {a!r} where the capture read {float(vals[s])!r}"
                )
        return text
    return "a plain number that fn computes from the data differs"


def eager_gradients(order: Sequence[Value], output: Value) -> dict[int, float]:
    """d output / d node for every node of a run's graph (by id), computed as backward()
    does, without touching any .grad: the chain rule over ``order`` (each op node after its
    children), which stops at the Values from outside, as the program does."""
    grads = {id(output): 1.0}
    for node in reversed(order):
        g = grads.get(id(node))
        if g:
            for child, local in zip(node.children, node.local_grads):
                grads[id(child)] = grads.get(id(child), 0.0) + local * g
    return grads
