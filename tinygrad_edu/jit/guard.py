"""The guard: what each call of a captured program checks first.

A capture keeps, as the ``Guard``, every container on the ways from fn's names to the Values
its graph uses (``reach.py`` found them): the lists, dicts and objects, the modules and classes,
and the functions whose names fn reads. Each call checks, before it replays, that they still
hold the same objects, a few hundred identity checks; when one changed (a new model, a replaced
parameter, an appended layer) jit captures again, and the check says what changed.
"""

from __future__ import annotations

import itertools
import types
from operator import is_
from typing import Any

from .containers import (
    DICT,
    FUNCTION,
    JITTED,
    LIST,
    NAMESPACE,
    OBJECT,
    ONLY_VALUES,
    SCALARS,
    items_of,
    same,
    same_items,
    slot_names,
    step_text,
)
from .names import MISSING, FunctionNames


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
        if len(now) == len(before) and all(map(is_, now, before)):
            return None
        if len(now) != len(before):
            return f"{self.where} has {len(now)} items, had {len(before)}"
        if all(map(same, now, before)):  # equal numbers, new objects
            self.expected = tuple(now)
            return None
        i = next(i for i, (a, b) in enumerate(zip(now, before)) if not same(a, b))
        return f"{self.where}[{i}] is another object"


class DictCheck(Check):
    """A dict: its keys, and each value the same object."""

    def __init__(self, target: dict, where: str) -> None:
        self.target, self.expected, self.where = target, items_of(target, DICT), where

    def changed(self) -> str | None:
        now = items_of(self.target, DICT)
        if same_items(now, self.expected):
            return None
        if len(now) != len(self.expected):
            return f"{self.where} has {len(self.target)} keys, had {len(self.expected) // 2}"
        if all(map(same, now, self.expected)):
            self.expected = now
            return None
        n = len(now) // 2
        i = next(i for i in range(2 * n) if not same(now[i], self.expected[i]))
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
        self.slots = slot_names(type(target))
        self.expected = self._now()

    def _now(self) -> tuple:
        slots = tuple(getattr(self.target, name, MISSING) for name in self.slots)
        return (*self.table, *self.table.values(), *slots)

    def changed(self) -> str | None:
        now, before = self._now(), self.expected
        if same_items(now, before):
            return None
        n, m = len(self.table), (len(before) - len(self.slots)) // 2
        if n != m or now[:n] != before[:m]:
            added = [k for k in now[:n] if k not in before[:m]]
            gone = [k for k in before[:m] if k not in now[:n]]
            what = f"gained .{added[0]}" if added else f"lost .{gone[0]}" if gone else "changed"
            return f"{self.where} {what}"
        names = [*now[:n], *self.slots]
        for name, a, b in zip(names, now[n:], before[m:]):
            if not same(a, b):
                where = step_text(self.where, "attr", name)
                if isinstance(a, SCALARS):
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
                return f"{step_text(self.where, 'attr', name)} is another object"
        return None


class FunctionCheck(Check):
    """A function on the way, or fn itself: its code, and what each name it reads holds."""

    def __init__(self, target: types.FunctionType, where: str) -> None:
        self.target, self.where = target, where
        self.names = FunctionNames(target)
        self.code, self.expected = target.__code__, self.names.read()

    def changed(self) -> str | None:
        if self.target.__code__ is not self.code:
            return f"the code of {self.where} changed"
        now = self.names.read()
        if len(now) == len(self.expected) and all(map(is_, now, self.expected)):
            return None
        if len(now) != len(self.expected):
            return f"the default arguments of {self.where} changed"
        for (_, name), a, b in zip(self.names.edges, now, self.expected):
            if not same(a, b):
                if a is MISSING:
                    return f"{name}, which {self.where} reads, is no longer defined"
                if isinstance(a, SCALARS):
                    return f"{name}, which {self.where} reads, is now {a!r} (was {b!r})"
                return f"{name}, which {self.where} reads, is another object"
        self.expected = now  # equal numbers, new objects
        return None


def check_for(x: Any, kind: int | None, edges: list[tuple[tuple, Any]], where: str) -> Check | None:
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
        of_values = [c for c in lists if ONLY_VALUES.issuperset(map(type, c.expected))]
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
        named: list[tuple[ObjectCheck | NamespaceCheck, str, Any]]
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
            and all(map(is_, itertools.chain.from_iterable(self.lists), self.items))
            and list(map(len, self.tables)) == self.counts
            and all(
                map(
                    is_,
                    itertools.chain.from_iterable(map(dict.values, self.tables)),
                    self.attributes,
                )
            )
            and all(map(is_, map(getattr, self.owners, self.names, self.missing), self.named))
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
