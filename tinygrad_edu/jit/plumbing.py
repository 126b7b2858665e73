"""jit's plumbing: what ``jit.py`` needs but a reader of it does not. Not needed to learn.

- the inputs: which arguments are the graph's inputs (numbers and Values), which are part of
  the structure (ints, bools, None, the shapes of lists, the static arguments), and which
  cannot be captured, with errors that name the argument;
- the outputs: a Value, or a list, tuple or namedtuple of them, rebuilt after each replay;
- ``jit(fn, check=True)``: a run of fn compared with the captured program, op by op, and its
  gradients computed as eager mode computes them.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence, Set
from numbers import Integral, Real
from typing import Any

import numpy as np

from ..engine import Value

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
                "inside the function, let the function read it from outside (a replay reads "
                "its number, and backward goes on through its graph, as in eager mode), or "
                "pass its .data"
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


def frozen_static(x: Any, name: str, who: str) -> Hashable:
    """A static argument as part of a capture's key: itself if hashable (compared by ==, as
    JAX's static arguments, a number with its type), a list as the tuple of its items; else a
    TypeError naming it."""
    if type(x) is list or type(x) is tuple:
        return (type(x), tuple(frozen_static(item, name, who) for item in x))
    try:
        hash(x)
    except TypeError:
        raise TypeError(
            f"{who}: static argument {name} is a {type(x).__name__}, which cannot be a key of "
            "jit's captures (it is not hashable); pass a tuple, a number, a string, or an "
            "object compared by identity"
        ) from None
    if isinstance(x, float):
        return (float, repr(x))  # -0.0 is not 0.0 here (1 / x tells them apart)
    return (type(x), x) if isinstance(x, int) else x  # 1 and True are two values here


def stand_in_hint(error: Exception, stand_ins: Sequence[Value], call_args: Any, name: str) -> str:
    """What to add to an error fn raised at capture: an argument whose numbers reached fn as
    stand-in Values, where fn wanted plain numbers (a loss's float targets), can be static."""
    text = str(error)
    for v in stand_ins:
        if f"label={v.label!r}" in text:
            argument = v.label.split("[", 1)[0]
            if argument in call_args.names:
                position = call_args.position_of(argument)
                return (
                    f"(jit({name}) ran it on stand-ins: each number and Value among its inputs "
                    f"reaches it as a leaf Value, such as {v.label}. For an argument that must "
                    "stay plain numbers, such as a loss's float targets, mark it as structure: "
                    f"jit({name}, static_argnums=({position},)))"
                )
    return (
        f"(jit({name}) ran it on stand-ins: each number and Value among its inputs reaches it "
        "as a leaf Value. An argument that must stay plain numbers, such as a loss's float "
        "targets, can be marked as structure: jit(fn, static_argnums=(its position,)))"
    )


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


# --- the outputs --------------------------------------------------------------------------


def outputs_of(out: Any, name: str) -> tuple[list[Value], Any]:
    """fn's result as a list of Values, and how to rebuild it from replayed ones: ``Value``
    for a single Value, else a function of the list (list, tuple, a namedtuple's _make)."""
    if isinstance(out, Value):
        return [out], Value
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        kind = type(out)
        if kind is list or kind is tuple:
            return list(out), kind
        make = getattr(kind, "_make", None) or kind  # a namedtuple, or another subclass
        try:
            again = make(list(out))
        except Exception:  # its constructor takes something else: cannot be rebuilt
            again = None
        if type(again) is kind and all(a is b for a, b in zip(again, out)):
            return list(out), make
        raise TypeError(
            f"jit({name}): the function returns a {kind.__name__}, which jit cannot rebuild "
            "from its items after a replay; return a list, a tuple or a namedtuple of Values"
        )
    if isinstance(out, (list, tuple)) and out:
        i, bad = next((i, v) for i, v in enumerate(out) if not isinstance(v, Value))
        got = f"a {type(out).__name__} whose item {i} is a {type(bad).__name__}: {bad!r:.60}"
    else:
        got = f"{type(out).__name__}: {out!r:.60}"
    raise TypeError(
        f"jit({name}): the function must return a Value (a loss) or a non-empty list of Values "
        "(or a tuple or namedtuple of them), which is what .backward() and .data work on; got "
        + got
    )


# --- jit(fn, check=True) ------------------------------------------------------------------


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


def close(a: float, b: float, tolerance: float) -> bool:
    """|a - b| <= tolerance * max(|a|, |b|, 1): relative for large numbers, absolute below 1."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1.0)
