"""``jit(fn, check=True)``: every call also runs fn eagerly, and compares.

A capture freezes the Python that looks at numbers (``if x.data > 0:``); a replay does not run
it again. With ``check=True`` each call runs fn on the same inputs too, and raises
``CaptureMismatchError`` when the ops fn performs, its outputs or their gradients differ from
the replay's: a debugging aid, at the cost of an eager run and backward per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..engine import Value
from .call import Call
from .capture import run, split_with_dropped
from .inputs import Arguments
from .program import Program
from .reach import Reach
from .user_ops import close

CHECK_TOLERANCE = 1e-9  # of max(|x|, 1): rounding never comes near it, a changed branch does


class CaptureMismatchError(RuntimeError):
    """``jit(fn, check=True)``: a replay and a run of fn disagree (in the ops performed, the
    outputs or their gradients), because fn's Python depends on the numbers and the capture
    froze it, or, where the ops and constants are the same, because fn magnifies a difference
    in rounding (numbers that cancel)."""


def compare_with_a_run(fn: Callable, call_args: Arguments, call: Call) -> None:
    """Run fn eagerly on this call's arguments: the ops it performs, its outputs and their
    gradients must be the replay's (to CHECK_TOLERANCE), or CaptureMismatchError."""
    stand_ins, _ = call_args.stand_ins()
    outputs, returns, dropped = run(fn, call_args, stand_ins)
    program = call.program
    who = f"jit({call_args.name}, check=True)"
    frozen = (
        "fn's Python depends on the numbers (an `if` on .data, max(), a number read with "
        ".data and used as a constant) and the capture froze it"
    )
    if returns != program.returns or len(outputs) != len(program.output_slots):
        raise CaptureMismatchError(
            f"{who}: fn now returns {len(outputs)} output(s) where the capture returned "
            f"{len(program.output_slots)}: its control flow depends on the data"
        )
    split = split_with_dropped([*outputs, *dropped], stand_ins, program.outer_by_id)
    where, leaves = program.structural_difference(split, stand_ins, outputs)
    if where:
        raise CaptureMismatchError(f"{who}: fn now performs other ops: {where}; {frozen}")
    gradient_cause = f"{frozen} (compute with Values: x * x, not x * x.data)"
    if program.reads_the_same_constants(split.order):  # the same ops on the same numbers
        frozen = gradient_cause = (
            "nothing was frozen (the same ops read the same constants), so the replay's "
            "rounding parts from eager mode's and fn magnifies it: numbers that cancel "
            "(docs/jit.md, Exactness). jit cannot give eager mode's digits here: run fn eagerly"
        )
    for i, (output, slot) in enumerate(zip(outputs, program.output_slots)):
        replayed = float(call.vals[slot])
        if not close(replayed, output.data, CHECK_TOLERANCE):
            where = program.first_value_difference(call.vals, split.order, CHECK_TOLERANCE)
            raise CaptureMismatchError(
                f"{who}: output {i} is {replayed!r} replayed but {output.data!r} when fn "
                f"runs: {frozen}. The first difference: {where}"
            )
    for i, (output, slot) in enumerate(zip(outputs, program.output_slots)):
        eager = eager_gradients(split.order, output)
        gradients = program.backward(call.local, slot)  # (an output that is a leaf: 1 for it)
        for leaf, leaf_slot in leaves.items():
            got = float(gradients[leaf_slot])
            want = eager.get(id(leaf), 0.0)
            if not close(got, want, CHECK_TOLERANCE):
                by = _leaf_name(program, leaf_slot, call_args, fn)
                raise CaptureMismatchError(
                    f"{who}: the gradient of output {i} by {by} is "
                    f"{got!r} replayed but {want!r} when fn runs, with the same ops and "
                    f"outputs: {gradient_cause}"
                )


def _leaf_name(program: Program, slot: int, call_args: Arguments, fn: Callable) -> str:
    """A leaf of the program in words, for a message: an input's path, or the way fn
    reaches a parameter (``model.layers[0].neurons[1].b``), searched for again."""
    value = program.outer_at(slot)
    if value is not None:
        return Reach(fn, call_args.static_roots()).path(id(value))
    return program.slot_name(slot)


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
