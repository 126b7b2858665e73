"""jit's plumbing: what ``jit.py`` needs but a reader of it does not. Not needed to learn.

- the inputs: which arguments are the graph's inputs (numbers and Values), which are part of
  the structure (ints, bools, None, the shapes of lists), and which cannot be captured, with
  errors that name the argument;
- the graph of a replayed result, built as Values only when someone looks at it (drawing it,
  or using the result in more eager ops);
- the messages of ``jit(fn, check=True)`` when a replay and a run of fn disagree.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from numbers import Integral, Real
from typing import Any

import numpy as np

from .engine import Value, interior_nodes_children_first

NUMBER, VALUE = "number", "Value"  # the two kinds of input, in a structure's key
ONLY_FLOATS, ONLY_INTS, ONLY_LISTS = frozenset({float}), frozenset({int}), frozenset({list})
# in a key, a list of ints is (INTS, the ints), a list of lists of numbers (ROWS, their lengths)
INTS, ROWS = "ints", "rows"


class UncapturableInput(TypeError):
    """Raised by ``flatten`` at the first input it cannot capture; ``explain_bad_input``
    then walks the arguments again to say which one, and why."""


# --- the inputs ---------------------------------------------------------------------------


def flatten(args: tuple) -> tuple[tuple, list[float], list[Value]]:
    """The structure of ``args`` (a hashable key), the number of each input in order (a
    Value's data for a Value) and the Values among the inputs.

    Numbers and Values are inputs: the key records only where they are. Ints, bools and None
    are structure: the key records their values, so another value captures again. Lists and
    tuples are structure too, with their lengths.
    """
    numbers: list[float] = []
    values: list[Value] = []
    add_number, add_numbers, add_value = numbers.append, numbers.extend, values.append

    def walk(x: Any) -> Any:
        kind = type(x)
        if kind is float:
            add_number(x)
            return NUMBER
        if kind is int:
            return (int, x)
        if kind is list or kind is tuple:
            if ONLY_FLOATS.issuperset(map(type, x)):  # a row of numbers, the common case
                add_numbers(x)
                return (kind, (NUMBER,) * len(x))
            if ONLY_INTS.issuperset(map(type, x)):  # labels, token ids: structure
                return (kind, (INTS, tuple(x)))
            if ONLY_LISTS.issuperset(map(type, x)):  # a batch of rows of numbers?
                flat = list(itertools.chain.from_iterable(x))
                if ONLY_FLOATS.issuperset(map(type, flat)):
                    add_numbers(flat)
                    return (kind, (ROWS, tuple(map(len, x))))
            return (kind, tuple(map(walk, x)))
        role = input_role(x)
        if role is NUMBER:
            add_number(float(x))
        elif role is VALUE:
            add_number(x.data)
            add_value(x)
        elif role is None:
            raise UncapturableInput
        return role

    return tuple(map(walk, args)), numbers, values


def input_role(x: Any) -> Any:
    """NUMBER or VALUE for an input, ``(type, value)`` for structure, None for what jit cannot
    capture (anything else: a dict, a string, an array, a Module, a computed Value)."""
    if isinstance(x, Value):
        return VALUE if x.fn is None else None  # a leaf; a computed Value has a graph behind it
    if x is None or isinstance(x, (bool, np.bool_)):
        return (type(x), x)
    if isinstance(x, Integral):
        return (int, int(x))
    if isinstance(x, Real) and not isinstance(x, (str, bytes)):
        return NUMBER
    return None


def parameter_names(fn: Callable) -> list[str]:
    """The names of fn's positional parameters, to name its inputs in messages and labels."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or a C function has no signature to read
        return []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in positional]


def argument_name(names: Sequence[str], i: int) -> str:
    return names[i] if i < len(names) else f"args[{i}]"


def leaves_with_paths(args: tuple, names: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """Every input (number or Value) and every uncapturable item, in flatten's order, with
    its path: ``points[3][1]``."""

    def walk(x: Any, path: str) -> Iterator[tuple[str, Any]]:
        if type(x) is list or type(x) is tuple:
            for i, item in enumerate(x):
                yield from walk(item, f"{path}[{i}]")
        elif input_role(x) in (NUMBER, VALUE, None):
            yield path, x

    for i, arg in enumerate(args):
        yield from walk(arg, argument_name(names, i))


def explain_bad_input(args: tuple, names: Sequence[str], who: str) -> TypeError | ValueError:
    """The error for the first input of args that jit cannot capture."""
    for path, x in leaves_with_paths(args, names):
        if input_role(x) is not None:
            continue
        kind = "numpy array" if isinstance(x, np.ndarray) else type(x).__name__
        if isinstance(x, Value):
            return ValueError(
                f"{who}: input {path} is a computed Value ({x!r:.80}): the inputs of a jitted "
                "function are leaves, because its replayed backward stops at them. Compute it "
                "inside the function, or pass its .data"
            )
        if isinstance(x, np.ndarray):
            hint = "pass array.tolist(), a list of numbers"
        elif isinstance(x, (Mapping, Set)):
            hint = "pass a list, or let the function read it from outside (a closure)"
        elif hasattr(x, "parameters") and callable(x.parameters):
            hint = "let the function use the model from outside: its parameters are read anew"
        else:
            hint = "let the function read it from outside (a closure): the capture freezes it"
        return TypeError(
            f"{who}: cannot capture input {path}, {kind} {x!r:.60}: the inputs of a jitted "
            f"function are numbers, Values, ints and (nested) lists or tuples of them; {hint}"
        )
    return TypeError(f"{who}: cannot capture its inputs")  # (flatten and this walk agree)


def rebuild(args: tuple, stand_ins: Iterator[Value]) -> tuple:
    """args with each input (number or Value) replaced by the next of ``stand_ins``."""

    def walk(x: Any) -> Any:
        if type(x) is list or type(x) is tuple:
            return type(x)(map(walk, x))
        return next(stand_ins) if input_role(x) in (NUMBER, VALUE) else x

    return tuple(map(walk, args))


def describe(key: tuple, names: Sequence[str]) -> str:
    """A structure's key in words: ``points: list of 100 lists of 2 numbers``."""

    def words(part: Any, plural: bool = False) -> str:
        if part is NUMBER or part is VALUE:
            return f"{part}s" if plural else ("a number" if part is NUMBER else "a Value")
        kind, content = part
        if kind not in (list, tuple):
            return repr(content)
        if content and content[0] == INTS:
            ints = content[1]
            return f"{kind.__name__}{'s' if plural else ''} of {len(ints)} ints"
        if content and content[0] == ROWS:
            rows = [(list, (NUMBER,) * n) for n in content[1]]
            return words((kind, tuple(rows)), plural)
        if not content:
            return f"empty {kind.__name__}s" if plural else f"an empty {kind.__name__}"
        same = all(item == content[0] for item in content)
        inner = words(content[0], plural=len(content) > 1) if same else "mixed items"
        return f"{kind.__name__}{'s' if plural else ''} of {len(content)} {inner}"

    return ", ".join(f"{argument_name(names, i)}: {words(part)}" for i, part in enumerate(key))


# --- the graph of a replayed result --------------------------------------------------------


def materialize(program: Any, call: Any) -> list[Any]:
    """The replayed graph as Values, one per slot (a float for a constant): the inputs of the
    call, the program's other leaves (the real parameters) and a new node for each op, with
    the call's numbers, local derivatives and (after backward) gradients."""
    nodes: list[Any] = [None] * program.size
    value_slots = iter(program.value_slots)
    next_value_slot = next(value_slots, None)
    values = iter(call.values)
    for slot, label in enumerate(program.input_labels):
        if slot == next_value_slot:
            nodes[slot] = next(values)  # the very Value passed in: it gets the gradient
            next_value_slot = next(value_slots, None)
        else:
            nodes[slot] = Value(float(call.vals[slot]), label=label)
    leaves_end = program.n_inputs + len(program.leaves)
    nodes[program.n_inputs : leaves_end] = program.leaves
    nodes[leaves_end : program.interior] = program.constants.tolist()

    # each node's local derivatives, by operand position, from the call's edge array
    local_by_position: dict[int, dict[int, float]] = {}
    for parent, position, local in zip(
        program.edge_parent.tolist(), program.edge_position.tolist(), call.local.tolist()
    ):
        local_by_position.setdefault(parent, {})[position] = local
    data = call.vals.tolist()
    grads = call.grads.tolist() if call.grads is not None else None
    for group in program.groups:
        for i in range(group.size):
            slot = group.lo + i
            operands = [nodes[s] for s in group.operand_slots(i)]
            node = object.__new__(Value)
            node.data, node.label = data[slot], program.labels.get(slot, "")
            node.grad = grads[slot] if grads is not None else 0.0
            node.fn, node.args = group.row, (*operands, *group.settings_of(i))
            kept = [j for j, a in enumerate(operands) if isinstance(a, Value)]
            node.children = tuple(operands[j] for j in kept)
            node.local_grads = tuple(local_by_position[slot][j] for j in kept)
            nodes[slot] = node
    return nodes


# --- jit(fn, check=True) ------------------------------------------------------------------


def merged_order(outputs: Sequence[Value]) -> list[Value]:
    """The interior nodes of all the outputs' graphs, each after its children."""
    if len(outputs) == 1:
        return interior_nodes_children_first(outputs[0])
    order: list[Value] = []
    seen: set[Value] = set()
    for output in outputs:
        for node in interior_nodes_children_first(output):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def close(a: float, b: float, tolerance: float) -> bool:
    """|a - b| <= tolerance * max(|a|, |b|, 1): relative for large numbers, absolute below 1."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1.0)


def first_difference(
    program: Any, vals: np.ndarray, outputs: Sequence[Value], tolerance: float
) -> str:
    """Where a run of fn first parts from the captured program, node by node in the same
    topological order: another op (the control flow changed) or another value."""
    order = merged_order(outputs)
    for i, (node, slot) in enumerate(zip(order, program.order_slots)):
        captured = program.op_name(slot)
        where = f"node {i + 1} of {len(program.order_slots)} in topological order"
        if node.op != captured:
            return f"{where} was `{captured}` when captured, but fn now makes `{node.op}` there"
        if not close(float(vals[slot]), node.data, tolerance):
            return (
                f"{where} (`{captured}`) is {float(vals[slot])!r} replayed but {node.data!r} "
                "when run"
            )
    if len(order) != len(program.order_slots):
        return (
            f"fn now makes {len(order)} op nodes where the capture made {len(program.order_slots)}"
        )
    return "every op node agrees, but a plain number that fn computes from the data differs"
