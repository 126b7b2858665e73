"""A call's inputs: which arguments the graph reads, and which are its structure.

A jitted function is called with numbers, Values, ints and (nested) lists or tuples of them.
Each number or Value is an *input* of the graph: fn runs on a stand-in Value for each, and a
replay reads its number anew. Ints, bools, None, the lengths of lists and the static arguments
are *structure*: they make up the key under which a capture is kept, and another value
captures again. Anything else cannot be captured, and the error names the argument.
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
        return VALUE if x.row is None else None  # a leaf; a computed Value has a graph behind it
    if x is None or isinstance(x, (bool, np.bool_)):
        return (type(x), x)
    if isinstance(x, Integral):
        return (int, int(x))
    if isinstance(x, Real):
        return NUMBER
    return None


def argument_names(fn: Callable) -> list[str]:
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


# --- one call's arguments -----------------------------------------------------------------


class Arguments:
    """One call's arguments, split into the static ones (structure, passed to fn as they
    are) and the others, whose numbers and Values are the graph's inputs."""

    def __init__(
        self, args: tuple, name: str, names: Sequence[str], static_argnums: Sequence[int]
    ) -> None:
        """``name``: the function's, for messages; ``names``: its positional parameters'.
        ``input_names``: the names of the arguments that are not static."""
        self.args, self.name, self.argument_names = args, name, names
        n = len(args)
        who = f"jit({name}, static_argnums={static_argnums})"
        static = []
        for i in static_argnums:
            if not -n <= i < n:
                raise TypeError(
                    f"{who}: argument {i} is static, but {name} was called with {n} argument(s)"
                )
            static.append(i % n)
        self.static_at = sorted(set(static))
        self.dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_at)
        self.input_names = [argument_name(names, i) for i in range(n) if i not in self.static_at]
        static_key = tuple(
            (i, frozen_static(args[i], argument_name(names, i), who)) for i in self.static_at
        )
        try:
            structure, numbers, self.values = flatten(self.dynamic)
        except UncapturableInput:
            raise explain_bad_input(self.dynamic, self.input_names, f"jit({name})") from None
        self.key = (static_key, structure)
        self.inputs = np.array(numbers, dtype=float)
        if not np.isfinite(self.inputs).all():  # refused before anything runs, as Value(nan) is
            leaves = leaves_with_paths(self.dynamic, self.input_names)
            path, x = next(
                (path, x) for (path, x), number in zip(leaves, numbers) if not np.isfinite(number)
            )
            raise ValueError(
                f"jit({name}): input {path} = {_data(x)!r} is not finite: a graph's "
                "inputs must be finite numbers"
            )

    def position_of(self, name: str) -> int:
        """The position among all the arguments of the input argument called ``name``."""
        dynamic = [i for i in range(len(self.args)) if i not in self.static_at]
        return dynamic[self.input_names.index(name)]

    def described(self) -> str:
        """The inputs' structure and the static arguments, in words, for explain()."""
        text = describe(self.key[1], self.input_names)
        names, args = self.argument_names, self.args
        static = ", ".join(f"{argument_name(names, i)} = {args[i]!r:.40}" for i in self.static_at)
        return f"{text}; static {static}" if static else text

    def stand_ins(self) -> tuple[list[Value], list[int]]:
        """A new leaf Value for each input, named after its path (``points[3][1]``), and the
        positions of the inputs that were Values."""
        stand_ins: list[Value] = []
        value_slots: list[int] = []
        for path, x in leaves_with_paths(self.dynamic, self.input_names):
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

    def stand_in_hint(self, error: Exception, stand_ins: Sequence[Value]) -> str:
        """What to add to an error fn raised at capture: an argument whose numbers reached fn as
        stand-in Values, where fn wanted plain numbers (a loss's float targets), can be static."""
        ran = f"(jit({self.name}) ran it on stand-ins: each number and Value among its inputs"
        text = str(error)
        for v in stand_ins:
            if f"label={v.label!r}" in text:
                argument = v.label.split("[", 1)[0]
                if argument in self.input_names:
                    position = self.position_of(argument)
                    return (
                        f"{ran} reaches it as a leaf Value, such as {v.label}. For an argument "
                        "that must stay plain numbers, such as a loss's float targets, mark it "
                        f"as structure: jit({self.name}, static_argnums=({position},)))"
                    )
        return (
            f"{ran} reaches it as a leaf Value. An argument that must stay plain numbers, such "
            "as a loss's float targets, can be marked as structure: jit(fn, "
            "static_argnums=(its position,)))"
        )

    def static_roots(self) -> list[tuple[str, Any]]:
        """Where the search for what fn reaches starts, besides fn's own names."""
        return [(argument_name(self.argument_names, i), self.args[i]) for i in self.static_at]


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)
