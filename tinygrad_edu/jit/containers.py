"""The containers a jitted function reaches its Values through, and what each one holds.

A model's parameters are found from fn's names through attributes and the items of lists,
tuples and dicts (``reach.py``); each later call checks that those containers still hold the
same objects (``guard.py``). Each kind of container keeps what it holds in its own way: here is,
for each, what it holds (``edges_of``, ``items_of``), how to put back what fn changed
(``put_back``), and how to write the way to an object in Python (``step_text``).
"""

from __future__ import annotations

import functools
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator, Sequence
from operator import is_
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Value
from .names import MISSING, FunctionNames

SCALARS = (int, float, complex, str, bytes, bool, type(None))
ONLY_VALUES = frozenset({Value})  # ONLY_VALUES.issuperset(map(type, x)): x holds Values only

# the kinds of container the search walks; each keeps what it holds in its own way
LIST, TUPLE, DICT, OBJECT, FUNCTION, FIXED, NAMESPACE, JITTED = range(8)


def kind_of(x: Any, root: bool = False) -> int | None:
    """The kind of container x is, for the search; None for what it does not walk."""
    kind = type(x)
    if kind is list:
        return LIST
    if kind is tuple:
        return TUPLE
    if kind is dict:
        return DICT
    if isinstance(x, SCALARS) or isinstance(x, (np.ndarray, np.generic)):
        return None
    if isinstance(x, types.FunctionType):
        return FUNCTION if root or not is_library(x.__module__) else None
    if isinstance(x, (types.MethodType, functools.partial)):
        return FIXED
    if isinstance(x, types.ModuleType):
        return NAMESPACE if not is_library(x.__name__) else None
    if isinstance(x, type):
        return NAMESPACE if not is_library(x.__module__) else None
    if type(x).__name__ == "JitFunction" and is_library(type(x).__module__):
        return JITTED  # jit's own: only the function it compiles matters
    if isinstance(x, tuple):
        return TUPLE  # a namedtuple
    if isinstance(getattr(x, "__dict__", None), dict) or slot_names(type(x)):
        return OBJECT
    return None


def edges_of(x: Any, kind: int | None) -> Iterator[tuple[tuple, Any]]:
    """(edge, child) for everything the container x holds; an edge is (how, key)."""
    if kind == LIST or kind == TUPLE:
        yield from ((("item", i), item) for i, item in enumerate(x))
    elif kind == DICT:
        yield from ((("item", key), value) for key, value in list(x.items()))
    elif kind == FUNCTION:
        yield from zip(FunctionNames(x).edges, FunctionNames(x).read())
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
        for name in slot_names(type(x)):
            value = getattr(x, name, MISSING)
            if value is not MISSING:
                yield ("attr", name), value
        if not is_library(type(x).__module__):
            yield ("class", None), type(x)  # its methods and class attributes


def items_of(x: Any, kind: int | None) -> tuple:
    """What the container x holds now, to compare by identity: a side effect changes it."""
    if kind == LIST:
        return tuple(x)
    if kind == DICT:
        return (*x, *x.values())
    if kind == FUNCTION:
        return (x.__code__, *FunctionNames(x).read())
    if kind == OBJECT:
        attributes = getattr(x, "__dict__", None)
        held = (*attributes, *attributes.values()) if isinstance(attributes, dict) else ()
        return held + tuple(getattr(x, name, MISSING) for name in slot_names(type(x)))
    if kind == NAMESPACE:
        names = [k for k in vars(x) if not (k.startswith("__") and k.endswith("__"))]
        return (*names, *(vars(x)[k] for k in names))
    if kind == JITTED:
        return (x.fn,)
    return ()  # tuples, bound methods and partials do not change


def put_back(x: Any, kind: int | None, held: tuple) -> None:
    if kind == LIST:
        x[:] = held
    elif kind == DICT:
        n = len(held) // 2
        x.clear()
        x.update(zip(held[:n], held[n:]))
    elif kind == FUNCTION:
        FunctionNames(x).write(held[1:])
    elif kind == OBJECT:
        slots = slot_names(type(x))
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


def kind_name(x: Any, kind: int | None) -> str:
    if kind == FUNCTION:
        return "the names it reads"
    if kind == LIST:
        return "a list"
    if kind == DICT:
        return "a dict"
    return f"a {type(x).__name__}'s attributes"


def step_text(text: str, how: str, key: Any) -> str:
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


def code_of(fn: Any) -> types.FunctionType | None:
    """The function whose code runs when fn is called: fn, a method's, a partial's, the
    ``__call__`` of a callable object, the function a jitted function compiles."""
    for _ in range(8):
        if isinstance(fn, types.FunctionType):
            return fn
        if isinstance(fn, types.MethodType):
            fn = fn.__func__
        elif isinstance(fn, functools.partial):
            fn = fn.func
        elif kind_of(fn) == JITTED:
            fn = fn.fn
        else:
            fn = next(
                (vars(k)["__call__"] for k in type(fn).__mro__ if "__call__" in vars(k)), None
            )
    return None


def _slot_names(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return tuple(n for n in dict.fromkeys(names) if n not in ("__dict__", "__weakref__"))


# cached, a class's slots being fixed; typed as a plain function of a class: mypy counts no
# class as the Hashable that lru_cache's wrapper asks for (python/mypy#11470)
slot_names: Callable[[type], tuple[str, ...]] = functools.lru_cache(maxsize=1024)(_slot_names)


_LIBRARY_DIRS = tuple(
    {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib", "purelib")}
    | {Path(sysconfig.get_paths()["platlib"]).resolve()}
)


@functools.lru_cache(maxsize=4096)
def is_library(module_name: str | None) -> bool:
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


def same_items(now: Sequence, before: Sequence) -> bool:
    return len(now) == len(before) and all(map(is_, now, before))


def same(a: Any, b: Any) -> bool:
    """The same object, or equal plain numbers, strings or tuples of them: a notebook cell
    that runs ``ALPHA = 0.01`` again makes a new float object of the same value."""
    if a is b:
        return True
    if type(a) is not type(b) or not isinstance(a, (*SCALARS, tuple)):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same, a, b))
    return a == b and (type(a) is not float or repr(a) == repr(b))  # 0.0 is not -0.0
