"""The engine's speed: each row's door behind ``engine.apply``, and a pause of the cyclic GC.
Not needed to learn.

``apply(row, *args)`` is the one door through which every node is made. When the engine is
loaded, each row of the op table with one or two operands (or one and a setting, as in
``x ** 2``) gets a *door* of its own: a Python function written from the row's rules and
compiled once, which makes the very node apply's plain path makes (``engine.build``), through
the same constructor (``engine.new_node``), but without its generality: no lists, no loop, no
checks of what cannot be wrong (a Value's number is always a float: ``Value.data`` stores
nothing else), and the row's rules computed inline. ``apply(row, ...)`` calls the row's door,
and Value's operators *are* their rows' doors, so ``x * y`` costs one call. When a door cannot
be sure (an operand that is not a Value or a finite number, a result or a derivative that is
not finite) it hands the operands to the plain path, which builds the node or says what went
wrong. Rows of any number of operands (sum, dot) get a door for each count of operands,
written the first time it is seen, which computes the row's terms inline (dot's w_i * x_i)
and adds them up with math.fsum, as the row's forward does; apply hands it the operands in
one tuple (``Value.dot`` goes straight to the door for its count: :class:`NAryDoor`).

How a rule is computed inline: the door is written by *tracing* the row's rules once, running
them on stand-ins for numbers (:class:`Traced`) that write down each operation done to them,
the way ``jit`` records a graph. ``MUL``'s ``lambda a, b, out: (b, a)`` gives ``("n1", "n0")``;
``TANH``'s ``lambda x, out: (1 - out * out,)`` gives ``("((1) - (out * out))",)``. A rule that
branches on a number (``if c``), asks its type or calls what a stand-in cannot follow is called
instead, as it is. ``source(row)`` and ``n_ary_source(row, count)`` show a door.
tests/test_exactness.py pins every door, bit for bit, to the plain path.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from . import ops
from .ops import Op

_INF = math.inf
Door = Callable[..., Any]
_SURE_FAILS = (ArithmeticError, ValueError, TypeError, AttributeError)  # left to the plain path


class Node(Protocol):
    """What a door reads of a Value (engine's Value, passed in: this module sits below): the
    slot behind ``Value.data``, read directly, as a float (what ``data``'s setter stores)."""

    _data: float


class Traced:
    """A stand-in for a number that writes down what is done to it: a rule run on these
    returns the text of its arithmetic (``Traced("n0") * 2.0`` is ``Traced("(n0 * 2.0)")``).

    A rule that asks a stand-in for a truth value (``if x:``, ``max``) or for its type
    (``isinstance(x, float)``: the functions of the rules, ``ops.exp`` and the others, ask it)
    raises :class:`Untraceable`, and so does anything it cannot follow (``math.exp(x)``): such
    a rule is called as it is, not written inline. The rules of the table are pure functions of
    their arguments: a constant in a rule is written into the door as it is when traced.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __bool__(self) -> bool:
        raise Untraceable("a rule that branches on a number")

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # what isinstance asks after type(x)
        raise Untraceable("a rule that asks a number's type")

    def __neg__(self) -> Traced:
        return Traced(f"(-{self.text})")

    def __pos__(self) -> Traced:
        return Traced(f"(+{self.text})")

    def __abs__(self) -> Traced:
        return Traced(f"abs({self.text})")

    # == writes down a comparison, as < does, so a stand-in has no hash
    __hash__ = None  # type: ignore[assignment]


class Untraceable(Exception):
    """A rule that cannot be written down by tracing it: the door calls it instead."""


def _infix(symbol: str, reflected: bool) -> Callable[[Traced, object], Any]:
    def operation(self: Traced, other: object) -> Any:
        if type(other) is Traced:
            other_text = other.text
        elif type(other) in (float, int, bool) and -_INF < other < _INF:  # type: ignore[operator]
            other_text = f"({other!r})"
        else:
            return NotImplemented
        left, right = (other_text, self.text) if reflected else (self.text, other_text)
        return Traced(f"({left} {symbol} {right})")

    return operation


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**")):
    setattr(Traced, f"__{_name}__", _infix(_symbol, reflected=False))
    setattr(Traced, f"__r{_name}__", _infix(_symbol, reflected=True))
for _name, _symbol in (("gt", ">"), ("lt", "<"), ("ge", ">="), ("le", "<="), ("eq", "=="),
                       ("ne", "!=")):  # fmt: skip
    setattr(Traced, f"__{_name}__", _infix(_symbol, reflected=False))


def _text(rule: Callable[..., Any], names: list[str]) -> str | list[str] | None:
    """rule's arithmetic written down by running it on stand-ins named ``names``: a text, or a
    list of texts for a tuple; None if it cannot be written down."""
    try:
        result = rule(*map(Traced, names))
    except Exception:  # noqa: BLE001  (whatever a stand-in cannot follow: the rule is called)
        return None

    def text(x: object) -> str | None:
        if type(x) is Traced:
            return x.text
        if type(x) is float and -_INF < x < _INF:
            return f"({x!r})"
        return None

    if type(result) is tuple:
        texts = [text(x) for x in result]
        return None if None in texts else texts  # type: ignore[return-value]
    return text(result)


def source(row: Op, reflected: bool = False, method: bool = False) -> str | None:
    """The Python text of row's door (None: the row has none; n-ary rows: :func:`n_ary_source`).
    ``reflected``: its operands come in the other order, as in ``2 * x``'s ``x.__rmul__(2)``;
    ``method``: the door is Value's method, so ``self`` is a Value and is not asked."""
    if row.arity is None or isinstance(row, ops.CustomOp):
        return None
    n_operands, n_settings = row.arity, len(row.settings)
    if (n_operands, n_settings) not in ((1, 0), (2, 0), (1, 1)):
        return None
    numbers = [f"n{i}" for i in range(n_operands + n_settings)]
    params = [f"p{i}" for i in range(len(numbers))]
    forward = _text(row.forward, numbers)
    if not isinstance(forward, str):
        forward = f"forward({', '.join(numbers)})"
    derivative_texts = _text(row.derivatives, [*numbers, "out"])
    if not isinstance(derivative_texts, list) or len(derivative_texts) != n_operands:
        derivative_texts = None
    sure = {*numbers, "out"}  # finite already: a Value's number, a checked constant, the value

    def node(kept: list[int], constants: list[int]) -> list[str]:
        """The lines that make the node whose children are the operands ``kept``."""
        lines, grads, checks = [f"out = {forward}"], [], ["-INF < out < INF"]
        steps = _steps(derivative_texts, kept) if derivative_texts else None  # relu's: a tuple
        if derivative_texts is None:  # the rule is called, and each derivative checked
            lines.append(f"d = derivatives({', '.join(numbers)}, out)")
            grads = [f"d[{i}]" for i in range(n_operands)]
            checks += [f"-INF < d[{i}] < INF" for i in kept]
        for i, text in enumerate(derivative_texts if steps is None and derivative_texts else ()):
            if text in sure or _is_constant(text):
                grads.append(text)  # finite as it stands: written in place
            else:  # computed even for a constant's, as the plain path computes it (it may fail)
                lines.append(f"d{i} = {text}")
                grads.append(f"d{i}")
                checks += [f"-INF < d{i} < INF"] if i in kept else []
        checks += [f"-INF < n{i} < INF" for i in constants]
        children = _tuple(f"p{i}" for i in kept)
        local_grads = steps or _tuple(grads[i] for i in kept)  # steps: written into the door
        lines.append(f"if {' and '.join(checks)}:")
        if constants:
            args = _tuple(f"n{i}" if i in constants else f"p{i}" for i in range(len(params)))
            return [*lines, f"    return new_node(out, {children}, {local_grads}, row, {args})"]
        return [*lines, f"    children = {children}",
                f"    return new_node(out, children, {local_grads}, row, children)"]  # fmt: skip

    def number(i: int) -> str:
        return f"type(p{i}) is float or type(p{i}) is int"

    def value(i: int) -> str:  # a Value, not a subclass (whose data may mean something else)
        return f"type(p{i}) is Value"

    body: list[str] = []
    if n_operands == 1 and n_settings == 0:
        body += ["n0 = p0._data", *node([0], [])] if method else [
            f"if {value(0)}:", "    n0 = p0._data", *_indent(node([0], []), 1)]  # fmt: skip
    elif n_operands == 1:  # x ** c: an operand and a setting, never a child
        body += [f"if {value(0)} and ({number(1)}):", "    n0 = p0._data"]
        body += ["    n1 = float(p1)", *_indent(node([0], [1]), 1)]
    elif method and reflected:  # 2 * x: self is p1; p0 a number (anything else: the plain path)
        body += ["n1 = p1._data", f"if {number(0)}:", "    n0 = float(p0)"]
        body += _indent(node([1], [0]), 1)
    else:
        value_first = ["n0 = p0._data", f"if {value(1)}:", "    n1 = p1._data"]
        value_first += [*_indent(node([0, 1], []), 1), f"elif {number(1)}:", "    n1 = float(p1)"]
        value_first += _indent(node([0], [1]), 1)
        if method:  # x * y: self is p0
            body += value_first
        else:
            body += [f"if {value(0)}:", *_indent(value_first, 1)]
            body += [f"elif {value(1)} and ({number(0)}):", "    n0 = float(p0)"]
            body += ["    n1 = p1._data", *_indent(node([1], [0]), 1)]
    signature = ", ".join(params[::-1] if reflected else params)
    return "\n".join([
        f"def door({signature}):",
        f"    # {row.name}'s door: {_describe(row)}",
        "    try:", *_indent(body, 2),
        "    except SURE_FAILS:",
        "        pass  # the plain path says what went wrong",
        f"    return build(row, ({', '.join(params)},))",
    ])  # fmt: skip


# a comparison a rule makes of a number with a constant, as Traced writes it: "(n0 > (0))"
_COMPARISON = re.compile(r"\((?:n\d+|out) (?:[<>]=?|[!=]=) \([^()]*\)\)")


def _steps(texts: list[str], kept: list[int]) -> str | None:
    """The local derivatives of the operands ``kept`` as one expression that picks a tuple
    written into the door, when the derivatives are steps: a constant wherever each of their
    comparisons is fixed (relu's ``(x > 0) * 1.0``). Its nodes then share two tuples instead
    of making one each: an object fewer per node for the garbage collector to count, which in
    a training step costs more than making it. None for derivatives that are not steps."""
    comparisons = sorted({c for text in texts for c in _COMPARISON.findall(text)})
    if not comparisons or len(comparisons) > 2:  # 2: abs's (x > 0) - (x < 0), four tuples
        return None

    def choice(texts: list[str], comparisons: list[str]) -> str | None:
        if comparisons:  # the tuple when the first comparison holds, and when it does not
            first, rest = comparisons[0], comparisons[1:]
            holds = choice([t.replace(first, "(True)") for t in texts], rest)
            fails = choice([t.replace(first, "(False)") for t in texts], rest)
            return None if holds is None or fails is None else f"({holds} if {first} else {fails})"
        try:  # each a constant now, computed as the plain path computes it: (True) * (1.0)
            numbers = [eval(text, {"__builtins__": {}}) for text in texts]  # noqa: S307
        except Exception:  # noqa: BLE001  (a name is left, or it fails: not a step)
            return None
        if not all(type(x) is float and -_INF < x < _INF for x in numbers):
            return None
        return _tuple(repr(numbers[i]) for i in kept)

    return choice(texts, comparisons)


def _is_constant(text: str) -> bool:
    """Is text a finite float written by :class:`Traced` (``"(1.0)"``)?"""
    try:
        return -_INF < float(text.strip("()")) < _INF
    except ValueError:
        return False


def _tuple(items: Iterable[str]) -> str:
    return "(" + "".join(f"{item}, " for item in items) + ")"


def _indent(lines: list[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


def _describe(row: Op) -> str:
    names = ", ".join(row.variables[:-1])
    return f"({names}) -> value, local derivatives {', '.join(row.rule) or '(by its rule)'}"


def n_ary_source(row: Op, count: int) -> str:
    """The Python text of the door of an n-ary row (sum, dot) for ``count`` operands, all
    Values: each operand's number read in a line of its own (no loop), the value the terms'
    exact sum with each term written out (``fsum((n0 * n2), (n1 * n3), ))``: dot's w_i * x_i),
    the derivatives written in place when tracing writes them down (dot's are its operands'
    numbers, the xs then the ws). A rule that cannot be written down is called instead."""
    numbers = [f"n{i}" for i in range(count)]
    n = count // row.parts  # the operands come part by part: w_1..w_n, x_1..x_n
    terms = [_text(row.term, numbers[i::n]) for i in range(n)] if row.term else [None]
    if all(isinstance(term, str) for term in terms):
        forward = f"fsum({_tuple(terms)})"  # type: ignore[arg-type]
    else:
        forward = f"forward({', '.join(numbers)})"
    derivative_texts = _text(row.derivatives, [*numbers, "out"])
    sure = _sure_texts(derivative_texts, count)  # each a number at hand or a constant
    if sure:
        local_grads, check = _tuple(derivative_texts), ""  # type: ignore[arg-type]
    else:
        local_grads, check = f"derivatives({', '.join(numbers)}, out)", " and -INF < sum(d) < INF"
    return "\n".join([
        "def door(args):",
        f"    # {row.name}'s door for {count} operands: {_describe(row)}",
        "    t, V = type, Value  # locals: each is read once for each operand",
        "    try:",
        f"        {', '.join(f'p{i}' for i in range(count))}, = args",
        f"        if {' and '.join(f't(p{i}) is V' for i in range(count))}:",
        *(f"            n{i} = p{i}._data" for i in range(count)),
        f"            out = {forward}",
        f"            d = {local_grads}",
        f"            if -INF < out < INF{check}:",
        "                return new_node(out, args, d, row, args)",
        "    except SURE_FAILS:",
        "        pass  # the plain path says what went wrong",
        "    return build(row, args)",
    ])  # fmt: skip


def door(
    row: Op,
    new_node: Callable[..., Any],
    value_type: type[Node],
    build: Callable[[Op, tuple], Any],
    reflected: bool = False,
    method: bool = False,
) -> Door | None:
    """row's door, ``door(*args) -> node`` (a row of any number of operands: ``door(args)``,
    the operands in one tuple), or None for a row that has none (see :func:`source` for
    ``reflected`` and ``method``)."""
    if row.arity is None:
        return None if reflected or method else NAryDoor(row, new_node, value_type, build)
    text = source(row, reflected, method)
    if text is None:
        return None
    name = f"door of {row.name}" + " (reflected)" * reflected + " (Value's method)" * method
    return _compiled(text, name, row, new_node, value_type, build)


def _compiled(
    text: str,
    name: str,
    row: Op,
    new_node: Callable[..., Any],
    value_type: type[Node],
    build: Callable[[Op, tuple], Any],
) -> Door:
    namespace: dict[str, Any] = dict(Value=value_type, new_node=new_node, build=build, row=row,
                                     forward=row.forward, derivatives=row.derivatives, INF=_INF,
                                     fsum=math.fsum, SURE_FAILS=_SURE_FAILS)  # fmt: skip
    filename = f"<{name}>"
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102  (our own text)
    # a traceback through a door shows its lines, as it shows a file's
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    made = namespace["door"]
    made.__name__ = made.__qualname__ = name
    made.__doc__ = (
        f"The node of the op table's row {row.name!r}, as apply(row, ...) makes it: "
        "a door written from the row's rules (tinygrad_edu/fast_paths.py)."
    )
    return made


def doors(
    rows: Iterable[Op],
    new_node: Callable[..., Any],
    value_type: type[Node],
    build: Callable[[Op, tuple], Any],
) -> dict[Op, Any]:
    """The door of every row that has one (a function; an :class:`NAryDoor` for a row of any
    number of operands)."""
    made = {row: door(row, new_node, value_type, build) for row in rows}
    return {row: d for row, d in made.items() if d is not None}


UNROLLED = 64  # the most operands an n-ary door is written out for (beyond: a loop)


class NAryDoor(dict[int, Door]):
    """The door of a row of any number of operands (sum, dot): ``door(args)``, the operands in
    one tuple, and ``door[count]``, its door for ``count`` operands: written out for that count
    (:func:`n_ary_source`) the first time it is asked for, up to UNROLLED operands; beyond, a
    loop over the operands. ``Value.dot`` asks ``door[count]`` itself: a call fewer per neuron."""

    def __init__(
        self,
        row: Op,
        new_node: Callable[..., Any],
        value_type: type[Node],
        build: Callable[[Op, tuple], Any],
    ) -> None:
        super().__init__()
        self.row, self.new_node, self.value_type, self.build = row, new_node, value_type, build

    def __call__(self, args: tuple) -> Any:
        return self[len(args)](args)

    def __missing__(self, count: int) -> Door:
        row = self.row
        if 0 < count <= UNROLLED and not count % row.parts:
            name = f"door of {row.name} for {count} operands"
            source = n_ary_source(row, count)
            door = _compiled(source, name, row, self.new_node, self.value_type, self.build)
        else:
            door = self.looped
        self[count] = door
        return door

    def looped(self, args: tuple) -> Any:
        row, value_type, build = self.row, self.value_type, self.build
        data = [a._data for a in args if type(a) is value_type]
        if len(data) == len(args) and data and not len(data) % row.parts:
            try:
                out = row.forward(*data)
                local_grads = row.derivatives(*data, out)
            except _SURE_FAILS:
                return build(row, args)  # the plain path says what went wrong
            # (a sum of derivatives is finite when each is, or overflows: the plain path decides)
            if -_INF < out < _INF and -_INF < sum(local_grads) < _INF:
                return self.new_node(out, args, local_grads, row, args)
        # a constant among the operands, none at all, or lists of unequal length
        return build(row, args)


def _sure_texts(texts: object, k: int) -> bool:
    """Are texts k numbers at hand (operands' names) or finite constants?"""
    names = {f"n{i}" for i in range(k)} | {"out"}
    return (
        isinstance(texts, list)
        and len(texts) == k
        and all(t in names or _is_constant(t) for t in texts)
    )


# Value's methods that become their rows' doors (each keeps its definition as __wrapped__)
OPERATORS = {"__add__": ops.ADD, "__radd__": ops.ADD, "__sub__": ops.SUB, "__rsub__": ops.SUB,
             "__mul__": ops.MUL, "__rmul__": ops.MUL, "__truediv__": ops.DIV,
             "__rtruediv__": ops.DIV, "__rpow__": ops.POW, "__neg__": ops.NEG, "exp": ops.EXP,
             "log": ops.LOG, "tanh": ops.TANH, "sigmoid": ops.SIGMOID, "relu": ops.RELU,
             "sqrt": ops.SQRT, "abs": ops.ABS, "__abs__": ops.ABS}  # fmt: skip


def install(
    value_type: type[Node], new_node: Callable[..., Any], build: Callable[[Op, tuple], Any]
) -> dict[Op, Any]:
    """The door of every row of the op table (:func:`doors`), with Value's ``OPERATORS`` made
    their rows' doors, one call sooner than their ``apply(row, ...)``, and ``Value.data`` read
    from its slot in C (:func:`read_from_slot`)."""
    for name, row in OPERATORS.items():
        made = door(row, new_node, value_type, build, name.startswith("__r"), method=True)
        if made is not None:
            made.__wrapped__ = getattr(value_type, name)  # type: ignore[attr-defined]
            setattr(value_type, name, made)
    read_from_slot(value_type, "data", "_data")
    return doors(ops.OPS, new_node, value_type, build)


def read_from_slot(cls: type, name: str, slot: str) -> None:
    """Make ``cls.name``, a property, the number in the slot ``slot``, as the doors read it.

    Its getter is done in C by ``operator.attrgetter(slot)``: the same number, read without a
    call of Python code (an optimizer and a jit replay read ``.data`` of every parameter at
    every step); its setter and docstring stay as they are. And a subclass may not redefine
    it: a door reads the slot where the plain path reads ``name``, and the two would part.
    """
    prop = vars(cls)[name]
    setattr(cls, name, property(operator.attrgetter(slot), prop.fset, prop.fdel, prop.__doc__))

    def init_subclass(subclass: type, **kwargs: Any) -> None:
        if name in vars(subclass):
            raise TypeError(
                f"{subclass.__name__} redefines {cls.__name__}.{name}, which must stay the number "
                f"the ops compute with: they read it from the slot {slot!r} directly. Keep "
                f"{name} as it is and give what you add another name."
            )
        super(cls, subclass).__init_subclass__(**kwargs)  # type: ignore[arg-type]

    cls.__init_subclass__ = classmethod(init_subclass)  # type: ignore[assignment]


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, restoring its state on every exit path.

    A speed trick for code that allocates many objects but no reference cycles, such as
    backward() or a training loop: the cyclic collector has nothing to find there, yet each
    burst of allocations makes it rescan every tracked object alive, about a third of
    backward's time on a big graph. Objects are still freed by reference counting, as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
