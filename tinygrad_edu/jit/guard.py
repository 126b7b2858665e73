"""jit's guard: what a capture read from outside its inputs, and what each later call checks.

A jitted function reaches Values that are not among its inputs, a model's parameters above all,
through its closure variables, the globals its code names and its default arguments, and from
there through attributes and the items of lists, tuples and dicts. A replay reads their numbers
anew on every call, but it does not run fn, so it cannot see which Values fn would reach: after
``model = MLP(...)`` runs again in a notebook, after ``neuron.b = Value(5.0)`` or
``model.layers.append(...)``, fn reaches other Values than the capture did. So a capture

1. searches, before fn runs, everything fn can reach from its names (breadth first: ``Reach``),
   noting every way it finds each object, and every Value on the way;
2. runs fn, then compares: a Value's ``.data`` or ``.grad``, a list, a dict, an attribute that
   fn changed while it ran is a side effect that a replay would not repeat (``backward()`` or an
   optimizer's ``step()`` inside fn): the capture is refused, and what fn changed is put back;
3. sorts the Values of fn's graph (``split_graph``): parameters and Values computed before the
   call, which the search found; leaves that fn made; and, refused, a Value that something
   outside holds but the search did not find: jit could not check on later calls that fn
   still uses it;
4. keeps, as the ``Guard``, every container on the ways to the Values the graph uses. Each call
   first checks that they still hold the same objects, a few hundred identity checks, and
   captures again when one changed.

The search does not walk sets, objects without attributes (numpy arrays), or the insides of
library modules and functions (numpy, Python's own, tinygrad_edu's): a Value found only
through those is refused at capture, by step 3, never silently kept.
"""

from __future__ import annotations

import dis
import functools
import gc
import itertools
import operator
import sys
import sysconfig
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Value

SEARCH_LIMIT = 2_000_000  # objects and items looked at per capture: about a second at most
MISSING = object()  # an unset name, attribute or closure variable
_NUMBERS = frozenset({int, float, bool})
_VALUES = frozenset({Value})
_SCALARS = (int, float, complex, str, bytes, bool, type(None))
_is = operator.is_

# the kinds of container the search walks; each keeps what it holds in its own way
LIST, TUPLE, DICT, OBJECT, FUNCTION, FIXED, NAMESPACE, JITTED = range(8)


class UnsafeCaptureError(RuntimeError):
    """jit refused to capture fn: fn has side effects that a replay would not repeat, or it uses
    a Value that jit cannot find again on later calls. Raised before any number is returned,
    with what fn changed put back."""


# --- the search ----------------------------------------------------------------------------


class Reach:
    """Everything fn reaches from its names, before it runs: each container and Value found,
    every way it was found (``parents``), and what each held (to see fn's side effects).

    fn itself is the first container: its items are its closure variables, the globals it
    names and its defaults. ``roots`` are more places to start, (name, object) pairs: the
    static arguments."""

    def __init__(self, fn: Callable, roots: Sequence[tuple[str, Any]] = ()) -> None:
        self.objects: dict[int, Any] = {}  # id -> container or Value
        self.kinds: dict[int, int | None] = {}
        self.parents: dict[int, list[tuple[int, tuple]]] = {}  # id -> [(parent id, edge)]
        self.held: dict[int, tuple] = {}  # id -> what the container held, before fn ran
        self.values: dict[int, Value] = {}
        self.value_state: dict[int, tuple[Any, Any]] = {}  # id -> (data, grad) objects
        self.looked_at = 0
        self.complete = True
        self.fn = fn
        self.root = id(fn)
        kind = _kind(fn, root=True)
        self.objects[self.root], self.kinds[self.root], self.parents[self.root] = fn, kind, []
        self.held[self.root] = _items(fn, kind) if kind is not None else ()
        self.root_edges = [*_edges(fn, kind), *((("static", name), x) for name, x in roots)]
        queue: list[int] = []
        self._visit(self.root, self.root_edges, queue)
        for i in queue:  # (the queue grows as it is read: breadth first)
            if self.looked_at > SEARCH_LIMIT:
                self.complete = False
                break
            x, kind = self.objects[i], self.kinds[i]
            if kind in (LIST, TUPLE) and _VALUES.issuperset(map(type, x)):
                self.looked_at += len(x)
                self._visit_values(i, x)  # a row of parameters, say
            else:
                self._visit(i, list(_edges(x, kind)), queue)

    def _visit(self, parent: int, edges: list[tuple[tuple, Any]], queue: list[int]) -> None:
        self.looked_at += len(edges) + 1
        for edge, child in edges:
            j = id(child)
            if j in self.parents:
                self.parents[j].append((parent, edge))
            elif isinstance(child, Value):
                self.objects[j] = self.values[j] = child
                self.value_state[j] = (child.data, child.grad)
                self.parents[j] = [(parent, edge)]
            else:
                kind = _kind(child)
                if kind is None:
                    continue
                self.objects[j], self.kinds[j], self.parents[j] = child, kind, [(parent, edge)]
                self.held[j] = _items(child, kind)
                if kind in (LIST, TUPLE) and _NUMBERS.issuperset(map(type, child)):
                    self.looked_at += len(child)  # a row of numbers: nothing inside to search
                else:
                    queue.append(j)

    def _visit_values(self, parent: int, values: Sequence[Value]) -> None:
        """_visit for a list or tuple of Values only: the same records, without the edges."""
        parents, found, state = self.parents, self.values, self.value_state
        for index, v in enumerate(values):
            j = id(v)
            if j in parents:
                parents[j].append((parent, ("item", index)))
            else:
                self.objects[j] = found[j] = v
                state[j] = (v.data, v.grad)
                parents[j] = [(parent, ("item", index))]

    def position(self) -> dict[int, int]:
        """Each Value's rank in the order the search found them."""
        return {i: k for k, i in enumerate(self.values)}

    def watch(self, values: Iterable[Value]) -> None:
        """Also see changes to these Values' .data and .grad (fn's stand-in inputs)."""
        for v in values:
            self.value_state[id(v)] = (v.data, v.grad)
            self.values.setdefault(id(v), v)

    # --- after fn ran ------------------------------------------------------------------------

    def changes(self) -> list[str]:
        """What fn changed while it ran, in words (empty if nothing): the .data and .grad of
        every Value found or watched, and the items of every container found."""
        found = []
        for i, value in self.values.items():
            data, grad = self.value_state[i]
            what = self.path(i) if i in self.parents else f"the input {value.label}"
            if value.data is not data:
                found.append(f"the .data of {what}")
            if value.grad is not grad:
                found.append(f"the .grad of {what}")
        for i, before in self.held.items():
            x, kind = self.objects[i], self.kinds[i]
            now = _items(x, kind)
            if _same_items(now, before):
                continue
            if kind == FUNCTION and len(now) == len(before):  # say which of its names
                where = "fn" if i == self.root else self.path(i)
                names = [key for (_, key), a, b in zip(_Names(x).edges, now[1:], before[1:])
                         if a is not b]  # fmt: skip
                found += [f"{name}, which {where} reads" for name in names]
            else:
                found.append(f"{self.path(i)} ({_kind_name(x, kind)})")
        return found

    def restore(self) -> None:
        """Put back every .data, .grad and container item as they were before fn ran."""
        for i, value in self.values.items():
            value.data, value.grad = self.value_state[i]
        for i, before in self.held.items():
            x, kind = self.objects[i], self.kinds[i]
            if not _same_items(_items(x, kind), before):
                _put_back(x, kind, before)

    def path(self, i: int) -> str:
        """How fn reaches object i, written in Python: ``model.layers[0].neurons[3].b``."""
        steps = []
        while i != self.root and self.parents.get(i):
            parent, edge = self.parents[i][0]  # the first way found: the shortest
            steps.append(edge)
            i = parent
        text = ""
        for how, key in reversed(steps):
            text = _step_text(text, how, key)
        if i == self.root:
            return text or "fn"
        return text or "an input"

    def guard(self, used: Iterable[int], name: str) -> Guard:
        """The checks that every way found to the Values ``used`` still leads to them, and
        that fn's own names hold what they held."""
        used = set(used)
        needed: set[int] = set()
        todo = list(used)
        while todo:
            for parent, _ in self.parents.get(todo.pop(), ()):
                if parent not in needed:
                    needed.add(parent)
                    todo.append(parent)
        needed.discard(self.root)
        if self.kinds[self.root] not in (FUNCTION, None):  # fn is an object, a method...
            needed.add(self.root)  # its attributes, as any container's
        # a module's or a class's check names the attributes that lead on: gather them (for
        # the others, lists, dicts, objects and functions, every item is checked)
        by_attribute = {i for i in needed if self.kinds[i] in (NAMESPACE, JITTED)}
        leads_on: dict[int, list[tuple[tuple, Any]]] = {i: [] for i in by_attribute}
        for i in needed | used:
            for parent, edge in self.parents.get(i, ()):
                if parent in by_attribute:
                    leads_on[parent].append((edge, self.objects[i]))
        # fn's own code and the names it reads: the same objects, or equal numbers; and a
        # list, dict or object among them (labels, a config) the same items and attributes
        code = _code_of(self.fn)
        checks: list[Check] = [FunctionCheck(code, name)] if code is not None else []
        for (how, key), child in self.root_edges:
            if how == "binding" and id(child) not in needed:
                kind = self.kinds.get(id(child))
                if kind in (LIST, DICT, OBJECT):
                    checks.append(_check(child, kind, [], key))
        for i in needed:
            where = self.path(i) if i != self.root else "self"
            check = _check(self.objects[i], self.kinds[i], leads_on.get(i, []), where)
            if check is not None:
                checks.append(check)
        return Guard(checks, len(needed) + len(used))


def _kind(x: Any, root: bool = False) -> int | None:
    """The kind of container x is, for the search; None for what it does not walk."""
    kind = type(x)
    if kind is list:
        return LIST
    if kind is tuple:
        return TUPLE
    if kind is dict:
        return DICT
    if isinstance(x, _SCALARS) or isinstance(x, (np.ndarray, np.generic)):
        return None
    if isinstance(x, types.FunctionType):
        return FUNCTION if root or not _library(x.__module__) else None
    if isinstance(x, (types.MethodType, functools.partial)):
        return FIXED
    if isinstance(x, types.ModuleType):
        return NAMESPACE if not _library(x.__name__) else None
    if isinstance(x, type):
        return NAMESPACE if not _library(x.__module__) else None
    if type(x).__name__ == "JitFunction" and _library(type(x).__module__):
        return JITTED  # jit's own: only the function it compiles matters
    if isinstance(x, tuple):
        return TUPLE  # a namedtuple
    if isinstance(getattr(x, "__dict__", None), dict) or _slot_names(type(x)):
        return OBJECT
    return None


def _edges(x: Any, kind: int | None) -> Iterator[tuple[tuple, Any]]:
    """(edge, child) for everything the container x holds; an edge is (how, key)."""
    if kind == LIST or kind == TUPLE:
        yield from ((("item", i), item) for i, item in enumerate(x))
    elif kind == DICT:
        yield from ((("item", key), value) for key, value in list(x.items()))
    elif kind == FUNCTION:
        yield from zip(_Names(x).edges, _Names(x).read())
    elif kind == FIXED:
        if isinstance(x, types.MethodType):
            yield from ((("attr", "__self__"), x.__self__), (("attr", "__func__"), x.__func__))
        else:
            yield from ((("attr", "func"), x.func), (("attr", "args"), x.args))
            yield ("attr", "keywords"), x.keywords
    elif kind == NAMESPACE:
        for key, value in list(vars(x).items()):
            if not (key.startswith("__") and key.endswith("__")) or key == "__call__":
                yield ("attr", key), value
        if isinstance(x, type):
            yield from ((("base", i), base) for i, base in enumerate(x.__bases__))
    elif kind == JITTED:
        yield ("attr", "fn"), x.fn
    elif kind == OBJECT:
        attributes = getattr(x, "__dict__", None)
        if isinstance(attributes, dict):
            yield from ((("attr", key), value) for key, value in list(attributes.items()))
        for name in _slot_names(type(x)):
            value = getattr(x, name, MISSING)
            if value is not MISSING:
                yield ("attr", name), value
        if not _library(type(x).__module__):
            yield ("class", None), type(x)  # its methods and class attributes


def _items(x: Any, kind: int | None) -> tuple:
    """What the container x holds now, to compare by identity: a side effect changes it."""
    if kind == LIST:
        return tuple(x)
    if kind == DICT:
        return (*x, *x.values())
    if kind == FUNCTION:
        return (x.__code__, *_Names(x).read())
    if kind == OBJECT:
        attributes = getattr(x, "__dict__", None)
        held = (*attributes, *attributes.values()) if isinstance(attributes, dict) else ()
        return held + tuple(getattr(x, name, MISSING) for name in _slot_names(type(x)))
    if kind == NAMESPACE:
        names = [k for k in vars(x) if not (k.startswith("__") and k.endswith("__"))]
        return (*names, *(vars(x)[k] for k in names))
    if kind == JITTED:
        return (x.fn,)
    return ()  # tuples, bound methods and partials do not change


def _put_back(x: Any, kind: int | None, held: tuple) -> None:
    if kind == LIST:
        x[:] = held
    elif kind == DICT:
        n = len(held) // 2
        x.clear()
        x.update(zip(held[:n], held[n:]))
    elif kind == FUNCTION:
        _Names(x).write(held[1:])
    elif kind == OBJECT:
        slots = _slot_names(type(x))
        attributes = getattr(x, "__dict__", None)
        if isinstance(attributes, dict):
            n = (len(held) - len(slots)) // 2
            attributes.clear()
            attributes.update(zip(held[:n], held[n : 2 * n]))
        for name, value in zip(slots, held[len(held) - len(slots) :]):
            if value is not MISSING:
                setattr(x, name, value)
            elif hasattr(x, name):
                delattr(x, name)
    elif kind == NAMESPACE:
        n = len(held) // 2
        for key in [k for k in vars(x) if not (k.startswith("__") and k.endswith("__"))]:
            if key not in held[:n]:
                delattr(x, key)
        for key, value in zip(held[:n], held[n:]):
            if vars(x).get(key, MISSING) is not value:
                setattr(x, key, value)
    elif kind == JITTED:
        x.fn = held[0]


def _kind_name(x: Any, kind: int | None) -> str:
    if kind == FUNCTION:
        return "the names it reads"
    return {LIST: "a list", DICT: "a dict"}.get(kind, f"a {type(x).__name__}'s attributes")


def _step_text(text: str, how: str, key: Any) -> str:
    """A path, one step longer: ``model`` then ``model.layers`` then ``model.layers[0]``."""
    if how == "binding" or how == "static":
        return f"{text} → {key}" if text else key
    if how == "class":
        return f"type({text})"
    if how == "base":
        return f"{text}.__bases__[{key}]"
    if how == "attr":
        if key == "__self__" and not text:
            return "self"
        return f"{text}.{key}" if text else f"self.{key}"
    return f"{text}[{key!r}]"


# --- a function's names: closure variables, globals, defaults --------------------------------


class _Names:
    """The names a function's code reads from outside: its closure variables, the globals
    it (and the functions and comprehensions inside it) names, and its defaults."""

    __slots__ = ("function", "cells", "globals", "namespace", "edges")

    def __init__(self, f: types.FunctionType) -> None:
        code = f.__code__
        self.function, self.cells = f, f.__closure__ or ()
        self.globals, self.namespace = _global_names(code), f.__globals__
        positional = code.co_varnames[: code.co_argcount]
        defaulted = positional[len(positional) - len(f.__defaults__ or ()) :]
        names = (*code.co_freevars, *self.globals, *defaulted, *(f.__kwdefaults__ or ()))
        self.edges = [("binding", name) for name in names]

    def read(self) -> tuple:
        """What each name holds now (MISSING for an unset one), in ``edges``' order."""
        f, namespace = self.function, self.namespace
        return (
            *map(_cell_contents, self.cells),
            *(namespace.get(name, MISSING) for name in self.globals),
            *(f.__defaults__ or ()),
            *(f.__kwdefaults__ or {}).values(),
        )

    def write(self, held: tuple) -> None:
        f, n_cells, n_globals = self.function, len(self.cells), len(self.globals)
        for cell, value in zip(self.cells, held):
            if value is MISSING:
                del cell.cell_contents
            else:
                cell.cell_contents = value
        for name, value in zip(self.globals, held[n_cells:]):
            if value is MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = value
        rest = held[n_cells + n_globals :]
        n_defaults = len(f.__defaults__ or ())
        f.__defaults__ = rest[:n_defaults] or None
        if f.__kwdefaults__:
            f.__kwdefaults__ = dict(zip(f.__kwdefaults__, rest[n_defaults:]))


@functools.lru_cache(maxsize=4096)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """The globals a code object (and the functions and comprehensions inside it) reads."""
    loads = ("LOAD_GLOBAL", "LOAD_NAME")
    names = [i.argval for i in dis.get_instructions(code) if i.opname in loads]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_global_names(const))
    return tuple(dict.fromkeys(names))


def _cell_contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a closure variable not assigned yet
        return MISSING


@functools.lru_cache(maxsize=1024)
def _slot_names(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return tuple(n for n in dict.fromkeys(names) if n not in ("__dict__", "__weakref__"))


_LIBRARY_DIRS = tuple(
    {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib", "purelib")}
    | {Path(sysconfig.get_paths()["platlib"]).resolve()}
)


@functools.lru_cache(maxsize=4096)
def _library(module_name: str | None) -> bool:
    """Is this module a library's (Python's own, an installed package's, tinygrad_edu's)?
    Their functions and modules hold none of the user's Values: the search skips them."""
    if not module_name:
        return True
    top = module_name.partition(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "tinygrad_edu"):
        return True
    path = getattr(sys.modules.get(module_name), "__file__", None)
    if not path:
        return False  # a notebook's or a script's own code (__main__)
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(directory) for directory in _LIBRARY_DIRS)


# --- comparing what containers hold -----------------------------------------------------------


def _same_items(now: Sequence, before: Sequence) -> bool:
    return len(now) == len(before) and all(map(_is, now, before))


def _same(a: Any, b: Any) -> bool:
    """The same object, or equal plain numbers, strings or tuples of them: a notebook cell
    that runs ``ALPHA = 0.01`` again makes a new float object of the same value."""
    if a is b:
        return True
    if type(a) is not type(b) or not isinstance(a, (*_SCALARS, tuple)):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b and (type(a) is not float or repr(a) == repr(b))  # 0.0 is not -0.0


# --- the guard -------------------------------------------------------------------------------


class Check:
    """One container on the way to the Values fn uses. ``changed()`` says how it changed, or
    returns None if it holds what it held at capture."""

    def changed(self) -> str | None:
        raise NotImplementedError


class ListCheck(Check):
    """A list: its length, and each item the same object."""

    def __init__(self, target: list, where: str) -> None:
        self.target, self.expected, self.where = target, tuple(target), where

    def changed(self) -> str | None:
        now, before = self.target, self.expected
        if len(now) == len(before) and all(map(_is, now, before)):
            return None
        if len(now) != len(before):
            return f"{self.where} has {len(now)} items, had {len(before)}"
        if all(map(_same, now, before)):  # equal numbers, new objects
            self.expected = tuple(now)
            return None
        i = next(i for i, (a, b) in enumerate(zip(now, before)) if not _same(a, b))
        return f"{self.where}[{i}] is another object"


class DictCheck(Check):
    """A dict: its keys, and each value the same object."""

    def __init__(self, target: dict, where: str) -> None:
        self.target, self.expected, self.where = target, _items(target, DICT), where

    def changed(self) -> str | None:
        now = _items(self.target, DICT)
        if _same_items(now, self.expected):
            return None
        if len(now) != len(self.expected):
            return f"{self.where} has {len(self.target)} keys, had {len(self.expected) // 2}"
        if all(map(_same, now, self.expected)):
            self.expected = now
            return None
        n = len(now) // 2
        i = next(i for i in range(2 * n) if not _same(now[i], self.expected[i]))
        key = now[i % n]
        return f"{self.where}[{key!r}] is another object" if i >= n else f"{self.where} changed"


class ObjectCheck(Check):
    """An object on the way: each of its attributes is the same object (or an equal number),
    none added, none removed. All of them, not only those that lead to a Value: fn's code may
    read any (``if self.use_bias:``), and ``Module.parameters()`` would find a new one."""

    def __init__(self, target: Any, where: str) -> None:
        self.target, self.where = target, where
        attributes = getattr(target, "__dict__", None)
        self.table = attributes if isinstance(attributes, dict) else {}
        self.slots = _slot_names(type(target))
        self.expected = self._now()

    def _now(self) -> tuple:
        slots = tuple(getattr(self.target, name, MISSING) for name in self.slots)
        return (*self.table, *self.table.values(), *slots)

    def changed(self) -> str | None:
        now, before = self._now(), self.expected
        if _same_items(now, before):
            return None
        n, m = len(self.table), (len(before) - len(self.slots)) // 2
        if n != m or now[:n] != before[:m]:
            added = [k for k in now[:n] if k not in before[:m]]
            gone = [k for k in before[:m] if k not in now[:n]]
            what = f"gained .{added[0]}" if added else f"lost .{gone[0]}" if gone else "changed"
            return f"{self.where} {what}"
        names = [*now[:n], *self.slots]
        for name, a, b in zip(names, now[n:], before[m:]):
            if not _same(a, b):
                where = _step_text(self.where, "attr", name)
                if isinstance(a, _SCALARS):
                    return f"{where} is now {a!r} (was {b!r})"
                return f"{where} is another object"
        self.expected = now  # equal numbers, new objects
        return None


class NamespaceCheck(Check):
    """A module or a class on the way (or a jitted function): the attributes that lead to the
    Values are the same objects (a module's other globals come and go)."""

    def __init__(self, target: Any, edges: list[tuple[tuple, Any]], where: str) -> None:
        self.target, self.where = target, where
        self.names = [key for (how, key), _ in edges if how == "attr"]
        self.expected = [child for (how, _), child in edges if how == "attr"]

    def changed(self) -> str | None:
        for name, child in zip(self.names, self.expected):
            if getattr(self.target, name, MISSING) is not child:
                return f"{_step_text(self.where, 'attr', name)} is another object"
        return None


class FunctionCheck(Check):
    """A function on the way, or fn itself: its code, and what each name it reads holds."""

    def __init__(self, target: types.FunctionType, where: str) -> None:
        self.target, self.where = target, where
        self.names = _Names(target)
        self.code, self.expected = target.__code__, self.names.read()

    def changed(self) -> str | None:
        if self.target.__code__ is not self.code:
            return f"the code of {self.where} changed"
        now = self.names.read()
        if len(now) == len(self.expected) and all(map(_is, now, self.expected)):
            return None
        if len(now) != len(self.expected):
            return f"the default arguments of {self.where} changed"
        for (_, name), a, b in zip(self.names.edges, now, self.expected):
            if not _same(a, b):
                if a is MISSING:
                    return f"{name}, which {self.where} reads, is no longer defined"
                if isinstance(a, _SCALARS):
                    return f"{name}, which {self.where} reads, is now {a!r} (was {b!r})"
                return f"{name}, which {self.where} reads, is another object"
        self.expected = now  # equal numbers, new objects
        return None


def _code_of(fn: Any) -> types.FunctionType | None:
    """The function whose code runs when fn is called: fn, a method's, a partial's, the
    ``__call__`` of a callable object, the function a jitted function compiles."""
    for _ in range(8):
        if isinstance(fn, types.FunctionType):
            return fn
        if isinstance(fn, types.MethodType):
            fn = fn.__func__
        elif isinstance(fn, functools.partial):
            fn = fn.func
        elif _kind(fn) == JITTED:
            fn = fn.fn
        else:
            fn = next(
                (vars(k)["__call__"] for k in type(fn).__mro__ if "__call__" in vars(k)), None
            )
    return None


def _check(x: Any, kind: int | None, edges: list[tuple[tuple, Any]], where: str) -> Check | None:
    if kind == LIST:
        return ListCheck(x, where)
    if kind == DICT:
        return DictCheck(x, where)
    if kind == FUNCTION:
        return FunctionCheck(x, where)
    if kind == OBJECT:
        return ObjectCheck(x, where)
    if kind == NAMESPACE or kind == JITTED:
        return NamespaceCheck(x, edges, where)
    return None  # a tuple, a bound method, a partial: fixed once made


class Guard:
    """What each call of a captured program checks first: every container on the way from
    fn's names to the Values its graph uses still holds what it held.

    The checks of all the lists and of all the objects' attributes run together, in a few
    passes in C: ``==`` of lists of Values (a Value equals only itself), ``map`` over the other
    lists and over the attributes (about 20 µs for A2's 77 containers and 412 objects, 4 times
    less than a method call per container). A check's own ``changed()`` runs only to say what
    changed, or when a number was replaced by an equal one."""

    def __init__(self, checks: list[Check], objects: int) -> None:
        self.checks, self.objects = checks, objects
        self._gather()

    def _gather(self) -> None:
        lists = [c for c in self.checks if type(c) is ListCheck]
        of_values = [c for c in lists if _VALUES.issuperset(map(type, c.expected))]
        self.value_lists = [c.target for c in of_values]
        self.value_items = [list(c.expected) for c in of_values]
        others = [c for c in lists if c not in of_values]
        self.lists = [c.target for c in others]
        self.lengths = [len(c.expected) for c in others]
        self.items = list(itertools.chain.from_iterable(c.expected for c in others))
        objects = [c for c in self.checks if type(c) is ObjectCheck]
        self.tables = [c.table for c in objects]
        halves = [(len(c.expected) - len(c.slots)) // 2 for c in objects]
        self.counts = halves
        self.attributes = [a for c, n in zip(objects, halves) for a in c.expected[n : 2 * n]]
        named = [(c, name, child) for c, n in zip(objects, halves)
                 for name, child in zip(c.slots, c.expected[2 * n :])]  # fmt: skip
        named += [
            (c, name, child)
            for c in self.checks
            if type(c) is NamespaceCheck
            for name, child in zip(c.names, c.expected)
        ]
        self.owners = [c.target for c, _, _ in named]
        self.names = [name for _, name, _ in named]
        self.named = [child for _, _, child in named]
        self.missing = [MISSING] * len(named)
        fast = (ListCheck, ObjectCheck, NamespaceCheck)
        self.others = [c for c in self.checks if type(c) not in fast]

    def changed(self) -> str | None:
        """How fn's surroundings changed since the capture, in words, or None."""
        if (
            self.value_lists == self.value_items
            and list(map(len, self.lists)) == self.lengths
            and all(map(_is, itertools.chain.from_iterable(self.lists), self.items))
            and list(map(len, self.tables)) == self.counts
            and all(
                map(
                    _is,
                    itertools.chain.from_iterable(map(dict.values, self.tables)),
                    self.attributes,
                )
            )
            and all(map(_is, map(getattr, self.owners, self.names, self.missing), self.named))
        ):
            for check in self.others:
                why = check.changed()
                if why:
                    return why
            return None
        for check in self.checks:  # say what changed
            why = check.changed()
            if why:
                return why
        self._gather()  # numbers replaced by equal ones: the checks took the new objects
        return None


# --- the Values of a captured graph ----------------------------------------------------------


class Split:
    """A captured graph's Values, by where they come from (see ``split_graph``)."""

    def __init__(self) -> None:
        self.order: list[Value] = []  # the op nodes fn computed, each after its children
        self.outer: dict[int, Value] = {}  # found by the search: parameters, Values from before
        self.made: dict[int, Value] = {}  # leaves fn made (a Value(2.0) inside fn)


def split_graph(outputs: Sequence[Value], stand_ins: Sequence[Value], reach: Any) -> Split:
    """fn's graph, from its outputs down to its inputs (the stand-ins) and to the Values the
    search found (``reach``, a Reach or the ids of the Values to stop at): those are
    ``outer``, and a computed one among them is a Value from before the call, whose graph is
    not fn's work. Each op node comes after its children, in the order of
    ``engine.interior_nodes_children_first``; the Values of ``outer`` in the order the search
    found them, the leaves fn made in the order fn used them."""
    split = Split()
    found = reach.values if isinstance(reach, Reach) else {i: None for i in reach}
    stop = {*stand_ins}
    found_computed = {v for i, v in found.items() if v is not None and v.children}
    visited: set[Value] = set()
    order = split.order
    for output in outputs:
        stack = [output] if output.children and output not in found_computed else []
        while stack:
            node = stack.pop()
            if node is None:  # the node under the marker has its children in order
                order.append(stack.pop())
            elif node not in visited:
                visited.add(node)
                stack += (node, None)
                for child in node.children:
                    if child.children and child not in visited and child not in found_computed:
                        stack.append(child)
    # the other Values the graph reaches: one pass in C over every operand
    rest = set(itertools.chain.from_iterable(map(_CHILDREN, order)))
    rest.update(outputs)
    rest -= visited
    rest -= stop
    outer = [v for v in rest if id(v) in found]
    if isinstance(reach, Reach):
        position = reach.position()
        outer.sort(key=lambda v: position[id(v)])
    split.outer = {id(v): v for v in outer}
    made = [v for v in rest if id(v) not in found]
    if made:
        first_use = {v: k for k, v in enumerate(_operands_in_order(order, outputs)) if v in rest}
        made.sort(key=first_use.__getitem__)
    split.made = {id(v): v for v in made}
    return split


_CHILDREN = operator.attrgetter("children")


def _operands_in_order(order: Sequence[Value], outputs: Sequence[Value]) -> list[Value]:
    """Every operand of every node, in order, then the outputs (the last use counts least)."""
    seen: dict[Value, None] = {}
    for node in order:
        seen.update(dict.fromkeys(reversed(node.children)))
    seen.update(dict.fromkeys(outputs))
    return list(reversed(seen))


def held_elsewhere(
    split: Split, outputs: Sequence[Value], exempt: set[int]
) -> list[tuple[Value, list[Any]]]:
    """The op nodes and made leaves of ``split`` that something outside the graph holds (with
    the holders found), apart from ``exempt`` ids: fn's own work is held only by its graph
    (the nodes' children and args) and by jit. A Value held elsewhere but not found by the
    search came to fn by a way jit cannot check again (or fn stored it somewhere).

    Counting references is cheap (sys.getrefcount, once per node); a probe Value, handled as
    the others, tells how many references the counting itself adds. Only for nodes with more
    does jit collect garbage (fn's reference cycles hold some) and ask who refers to them."""
    internal, graph_tuples = _graph_references(split, outputs)
    candidates = [v for v in (*split.order, *split.made.values()) if id(v) not in exempt]
    suspects = _with_more_references(candidates, internal)
    if suspects:
        gc.collect()
        suspects = _with_more_references(suspects, internal)
    ours = {id(t) for t in graph_tuples} | {id(split.order), id(split.made), id(outputs)}
    ours |= {id(candidates), id(suspects)}
    return [
        (
            v,
            [
                r
                for r in gc.get_referrers(v)
                if id(r) not in ours and type(r) is not types.FrameType
            ],
        )
        for v in suspects
    ]


def _graph_references(split: Split, outputs: Sequence[Value]) -> tuple[Counter, list]:
    """How many references to each Value (by id) the graph and jit's own lists hold: the
    nodes' children and args (one tuple when they are the same), split's list and dict."""
    order = split.order
    graph_tuples = [n.children for n in order] + [n.args for n in order if n.args is not n.children]
    internal = Counter(map(id, itertools.chain.from_iterable(graph_tuples)))
    internal.update(map(id, itertools.chain(order, split.made.values(), outputs)))
    return internal, graph_tuples


def _with_more_references(candidates: list[Value], internal: Counter) -> list[Value]:
    candidates.append(Value(0.0))  # the probe: in the same list, counted the same way
    counts = [sys.getrefcount(v) - internal[id(v)] for v in candidates]
    candidates.pop()
    return [v for v, count in zip(candidates, counts) if count > counts[-1]]


def untraceable_error(
    suspects: list[tuple[Value, list[Any]]], reach: Reach, name: str
) -> UnsafeCaptureError:
    value, holders = suspects[0]
    kind = "a Value computed before this call" if value.children else "the Value"
    holder = f"a {type(holders[0]).__name__}" if holders else "something jit cannot see"
    more = f" (and {len(suspects) - 1} more)" if len(suspects) > 1 else ""
    stopped = "" if reach.complete else f"; the search stopped after {reach.looked_at:,} objects"
    return UnsafeCaptureError(
        f"jit({name}): fn uses {kind} {value_text(value)}{more}, which {holder} holds, but jit "
        "cannot find how fn reaches it from its closure variables, the globals it names or its "
        f"defaults, through attributes and the items of lists, tuples and dicts{stopped}. So "
        "jit could not check on later calls that fn still uses it. Pass it to fn as an "
        "argument, or keep it where that search looks (an attribute, a list, a dict, a global "
        "or closure variable that fn names)"
    )


def value_text(v: Value) -> str:
    """A Value in a message, without its grad: ``Value(data=0.5, label='w')``."""
    label = f", label={v.label!r}" if v.label else ""
    op = f", op={v.op!r}" if v.fn is not None else ""
    return f"Value(data={v.data!r}{label}{op})"


def side_effect_error(name: str, changes: list[str], backward_inside: bool) -> UnsafeCaptureError:
    """The refusal of a capture whose run changed something that a replay would not change."""
    grads = [c for c in changes if c.startswith("the .grad")]
    data = [c for c in changes if c.startswith("the .data")]
    if backward_inside or grads:
        what = (
            "calls backward() (it changed"
            if backward_inside
            else ("changes gradients, as backward() or zero_grad() do (it changed")
        )
        shown = grads or ["the gradients of its own graph"]
        cause = "a replay computes values and local derivatives, it does not run backward()"
        fix = "call zero_grad() and backward() outside the jitted function, on its result"
    elif data:
        what, shown = "changes Values' data, as an optimizer's step() does (it changed", data
        cause = "a replay repeats only fn's arithmetic on Values"
        fix = (
            "keep the update outside the jitted function: loss = step(x); opt.zero_grad(); "
            "loss.backward(); opt.step()"
        )
    else:
        what, shown = "changes Python state that it reaches from outside (it changed", changes
        cause = "a replay repeats only fn's arithmetic on Values, not its other effects"
        fix = "move that change out of the jitted function"
    more = len(changes) - min(len(shown), 3) if changes else 0
    listed = ", ".join(shown[:3]) + (f" and {more} more" if more > 0 else "")
    return UnsafeCaptureError(
        f"jit({name}): fn {what} {listed}) while it runs, and {cause}; so jit refuses to "
        f"capture it, and put back what fn changed. {fix[0].upper() + fix[1:]} (torch.compile "
        "and JAX's jit ask the same)"
    )
