"""What a jitted function reaches from outside its inputs, found before it runs.

A jitted function reaches Values that are not among its inputs, a model's parameters above
all, through its closure variables, the globals its code names and its default arguments, and
from there through attributes and the items of lists, tuples and dicts. A replay reads their
numbers anew on every call, but it does not run fn, so it cannot see which Values fn would
reach: after ``model = MLP(...)`` runs again in a notebook, after ``neuron.b = Value(5.0)`` or
``model.layers.append(...)``, fn reaches other Values than the capture did. So, before fn runs,
a capture searches everything fn can reach (breadth first), noting every way it finds each
object and every Value on the way. After fn ran, the search says what fn changed (a side
effect, refused), and gives the ``Guard`` (``guard.py``): the containers on the ways to the
Values the graph uses, checked on every later call.

The search does not walk sets, objects without attributes (numpy arrays), or the insides of
library modules and functions (numpy, Python's own, tinygrad_edu's): a Value found only
through those is refused at capture (``capture.py``), never silently kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..engine import Value
from .containers import (
    DICT,
    FUNCTION,
    JITTED,
    LIST,
    NAMESPACE,
    OBJECT,
    ONLY_VALUES,
    TUPLE,
    code_of,
    edges_of,
    items_of,
    kind_name,
    kind_of,
    put_back,
    same_items,
    step_text,
)
from .guard import Check, FunctionCheck, Guard, check_for
from .names import FunctionNames

SEARCH_LIMIT = 2_000_000  # objects and items looked at per capture: about a second at most
_NUMBERS = frozenset({int, float, bool})


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
        kind = kind_of(fn, root=True)
        self.objects[self.root], self.kinds[self.root], self.parents[self.root] = fn, kind, []
        self.held[self.root] = items_of(fn, kind) if kind is not None else ()
        self.root_edges = [*edges_of(fn, kind), *((("static", name), x) for name, x in roots)]
        queue: list[int] = []
        self._visit(self.root, self.root_edges, queue)
        for i in queue:  # (the queue grows as it is read: breadth first)
            if self.looked_at > SEARCH_LIMIT:
                self.complete = False
                break
            x, kind = self.objects[i], self.kinds[i]
            if kind in (LIST, TUPLE) and ONLY_VALUES.issuperset(map(type, x)):
                self.looked_at += len(x)
                self._visit_values(i, x)  # a row of parameters, say
            else:
                self._visit(i, list(edges_of(x, kind)), queue)

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
                kind = kind_of(child)
                if kind is None:
                    continue
                self.objects[j], self.kinds[j], self.parents[j] = child, kind, [(parent, edge)]
                self.held[j] = items_of(child, kind)
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
            now = items_of(x, kind)
            if same_items(now, before):
                continue
            if kind == FUNCTION and len(now) == len(before):  # say which of its names
                where = "fn" if i == self.root else self.path(i)
                names = [key for (_, key), a, b in zip(FunctionNames(x).edges, now[1:], before[1:])
                         if a is not b]  # fmt: skip
                found += [f"{name}, which {where} reads" for name in names]
            else:
                found.append(f"{self.path(i)} ({kind_name(x, kind)})")
        return found

    def restore(self) -> None:
        """Put back every .data, .grad and container item as they were before fn ran."""
        for i, value in self.values.items():
            value.data, value.grad = self.value_state[i]
        for i, before in self.held.items():
            x, kind = self.objects[i], self.kinds[i]
            if not same_items(items_of(x, kind), before):
                put_back(x, kind, before)

    def path(self, i: int) -> str:
        """How fn reaches object i, written in Python: ``model.layers[0].neurons[3].b``."""
        steps = []
        while i != self.root and self.parents.get(i):
            parent, edge = self.parents[i][0]  # the first way found: the shortest
            steps.append(edge)
            i = parent
        text = ""
        for how, key in reversed(steps):
            text = step_text(text, how, key)
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
        code = code_of(self.fn)
        checks: list[Check] = [FunctionCheck(code, name)] if code is not None else []
        for (how, key), child in self.root_edges:
            if how == "binding" and id(child) not in needed:
                kind = self.kinds.get(id(child))
                check = check_for(child, kind, [], key) if kind in (LIST, DICT, OBJECT) else None
                if check is not None:
                    checks.append(check)
        for i in needed:
            where = self.path(i) if i != self.root else "self"
            check = check_for(self.objects[i], self.kinds[i], leads_on.get(i, []), where)
            if check is not None:
                checks.append(check)
        return Guard(checks, len(needed) + len(used))
