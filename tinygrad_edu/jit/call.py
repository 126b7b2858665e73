"""What a call of a jitted function returns: Values made from a replay's arrays.

A replay computes numbers into arrays, not Values. The results fn returned come back as
``Replayed`` Values, and so does every node of the graph that something looks at (through
``children``, a drawing, an eager op, ``grad(create_graph=True)``), made when first needed from
the call's arrays. ``backward()`` from one of them is the replay's vectorized backward, with eager
mode's semantics: the leaves accumulate their gradients, every node handed out gets its own.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import overflow
from ..engine import Value, interior_nodes_children_first, new_node
from ..ops import SUM, Op
from .program import Program, value_text


class Call:
    """One replay: its numbers, kept so that its results can backpropagate and be drawn.

    The results fn returned are ``Replayed`` Values; so is every op node of the graph that
    someone looks at (through ``children``, a drawing, eager ops on a result), made when first
    needed. ``backward()`` from a result gives every node handed out its gradient, as eager
    mode's backward() does. References go one way, as in an eager graph, from a node to its
    children and to its call: the call keeps the nodes it handed out only weakly, so a call and
    its arrays are freed as soon as its results are."""

    __slots__ = ("program", "vals", "local", "values", "live", "leaves", "passes")

    def __init__(
        self, program: Program, vals: np.ndarray, local: np.ndarray, values: list[Value]
    ) -> None:
        self.program, self.vals, self.local, self.values = program, vals, local, values
        self.live: dict[int, weakref.ref] = {}  # the op nodes handed out, by slot
        self.leaves: dict[int, Value] = {}  # the leaves made for this call, by slot
        self.passes: list[tuple[np.ndarray, np.ndarray]] = []  # backward()s: grads, reached

    def results(self) -> Any:
        """What fn returned, made of this call's Values."""
        return self.program.results(self.node)

    def node(self, slot: int) -> Any:
        """The graph's number in ``slot`` as eager mode has it: an op node (the same object
        each time it is asked for while someone holds it), a leaf, or a constant's float."""
        program = self.program
        if program.is_op_node(slot):
            ref = self.live.get(slot)
            made = ref() if ref is not None else None
            if made is None:
                made = Replayed(self, slot)
                self.live[slot] = weakref.ref(made)
            return made
        given = program.given_at(slot, self.values)  # a parameter, a Value passed in, a constant
        if given is not None:
            return given
        leaf = self.leaves.get(slot)  # a number's stand-in, or a leaf fn made
        if leaf is None:
            leaf = Value(float(self.vals[slot]), label=program.label_at(slot))
            leaf.grad = self.grad_of(slot) if self.passes else 0.0
            self.leaves[slot] = leaf
        return leaf

    def structure(self, slot: int) -> tuple:
        """An op node's (args, children, local_grads), from the program and this call."""
        operand_slots, settings = self.program.operands_at(slot)
        operands = [self.node(s) for s in operand_slots]
        kept = [j for j, a in enumerate(operands) if isinstance(a, Value)]
        local = self.program.local_grads_at(slot, self.local)
        return (
            (*operands, *settings),
            tuple(operands[j] for j in kept),
            tuple(local[j] for j in kept),
        )

    def backward(self, root: int) -> None:
        """backward() from the node in slot ``root``: eager mode's semantics, the replay's
        arithmetic. Every gradient is checked before any is changed."""
        program = self.program
        grads = program.backward(self.local, root)
        if not np.isfinite(grads).all():  # eager mode's error, found in the graph as Values
            node = self.node(root)
            found = overflow.gradient_overflow(
                node, interior_nodes_children_first(node), "backward()"
            )
            raise found or OverflowError(f"backward() of jit({program.name}): a gradient overflows")
        leaves, added = program.leaf_gradients(grads, self.values)
        if added.size and not np.abs(added).max() < 2.0**970:
            _check_accumulation(leaves, added.tolist())
        for leaf, g in zip(leaves, added.tolist()):  # leaves accumulate, as in eager mode
            leaf.grad += g
        reached = program.reach(root)
        self.hand_out(grads, reached)
        # eager backward() resets and recomputes every interior node of the root's graph,
        # those of the Values computed before the call too: one eager pass through them all
        seeds = program.computed_seeds(grads, reached)
        if seeds:
            _backward_through(seeds)

    def hand_out(self, grads: np.ndarray, reached: np.ndarray) -> None:
        """Give this pass's gradients to the nodes handed out: the op nodes of the root's graph
        get theirs anew, the leaves made for the call accumulate. The pass is kept, for the
        nodes made later."""
        self.passes.append((grads, reached))
        for slot, ref in list(self.live.items()):
            node = ref()
            if node is None:
                del self.live[slot]
            elif reached[slot]:
                node.grad = float(grads[slot])
        for slot, leaf in self.leaves.items():
            leaf.grad += float(grads[slot])

    def grad_of(self, slot: int) -> float:
        """The gradient a node made now has, after the passes so far: an op node its last
        pass's, a leaf the sum of all of them."""
        if self.program.is_op_node(slot):
            last = next((g for g, reached in reversed(self.passes) if reached[slot]), None)
            return 0.0 if last is None else float(last[slot])
        return math.fsum(float(g[slot]) for g, _ in self.passes)

    @staticmethod
    def held_in_calls(order: Sequence[Value]) -> list[Any]:
        """The Values that the calls of replayed results among ``order`` hold (their inputs
        and the leaves made for them): a jitted function called inside another one's capture."""
        held: list[Any] = []
        for node in order:
            if isinstance(node, Replayed):
                held += [*node._call.values, *node._call.leaves.values()]
        return held


def _check_accumulation(leaves: list[Value], added: list[float]) -> None:
    """Raise, before any grad changes, if adding ``added`` to the leaves' grads overflows a
    float. Only a term of at least 2^970, half the spacing of floats near the largest one, can
    push a finite sum past it: below that, backward() needs no check."""
    totals: dict[int, list] = {}
    for leaf, g in zip(leaves, added):  # a Value passed twice gets both terms
        entry = totals.setdefault(id(leaf), [leaf, leaf.grad])
        entry[1] += g
    for leaf, total in totals.values():
        if not -math.inf < total < math.inf:
            raise OverflowError(
                f"backward(): the gradient of {value_text(leaf)} overflows a float when this "
                f"pass adds to the {leaf.grad!r} it had accumulated: call zero_grad() between "
                "backward() calls"
            )


def _backward_through(seeds: list[tuple[Value, float]]) -> None:
    """Eager backward() from several nodes at once, each with its gradient: from one node
    above them, Σ g_i v_i, whose local derivatives are those gradients."""
    nodes = tuple(v for v, _ in seeds)
    new_node(0.0, nodes, tuple(g for _, g in seeds), SUM, nodes).backward()


class Replayed(Value):
    """A Value computed by a replay. ``.data`` and ``.item()`` are its number; ``backward()``
    is the replay's vectorized backward; its graph (``children``, ``local_grads``...) is made
    of Values only when something looks at it, such as ``draw_graph`` or an eager op using it.

    Why a subclass, made here and not by ``engine.new_node`` as an op's node is: a call makes
    no node of its graph until one is looked at (the graph has thousands; building them is the
    work jit saves), and Value's backward() would walk them all in Python where the replay's
    takes a few numpy calls per level. tests/test_jit.py checks that every slot of Value reads
    on it as on its eager twin.
    """

    __slots__ = ("_call", "_slot", "_structure", "__weakref__")

    def __init__(self, call: Call, slot: int) -> None:
        """The op node in ``slot`` of ``call``: its number and gradient now, its graph when
        looked at. (Not Value.__init__, which makes a leaf: row, args, children and
        local_grads are properties here.)"""
        self.data = float(call.vals[slot])
        self.grad = call.grad_of(slot) if call.passes else 0.0
        self.label = call.program.label_at(slot)
        self._call, self._slot = call, slot
        self._structure: tuple | None = None  # (args, children, local_grads), when asked

    # Value's row, args, children and local_grads, read from the program: read-only here, where
    # mypy expects the attributes a Value sets (new_node sets them once; no one sets them after)
    @property
    def row(self) -> Op:  # type: ignore[override]
        return self._call.program.row_at(self._slot)

    @property
    def args(self) -> tuple:  # type: ignore[override]
        return self._parts()[0]

    @property
    def children(self) -> tuple:  # type: ignore[override]
        return self._parts()[1]

    @property
    def local_grads(self) -> tuple:  # type: ignore[override]
        return self._parts()[2]

    def _parts(self) -> tuple:
        if self._structure is None:
            self._structure = self._call.structure(self._slot)
        return self._structure

    def backward(self) -> None:
        """Fill in d(self)/d(node) as in eager mode: every leaf's grad (the inputs passed in as
        Values, the parameters) ACCUMULATES; the nodes of this result's graph, the results
        handed out among them, get theirs anew."""
        self._call.backward(self._slot)
