"""A function's names: the closure variables, globals and defaults its code reads.

These are where a jitted function's search for what fn reaches begins (``reach.py``), and what
the guard checks first on each call (``guard.py``): after ``model = MLP(...)`` runs again in a
notebook, the global ``model`` holds another object.
"""

from __future__ import annotations

import dis
import functools
import types
from typing import Any

MISSING = object()  # an unset name, attribute or closure variable


class FunctionNames:
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
