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
from ..ops import Op
from .program import Program, value_text


class Call:
    """One replay: its numbers, kept so that its results can backpropagate and be drawn.

    The results fn returned are ``Replayed`` Values; so is every op node of the graph that
    someone looks at (through ``children``, a drawing, eager ops on a result), made when first
    needed. ``backward()`` from a result gives every node handed out its gradient, as eager
    mode's backward() does. References go one way, as in an eager graph, from a node to its
    children and to its call: the call keeps the nodes it handed out only weakly, so a call and
    its arrays are freed as soon as its results are."""

    __slots__ = ("program", "vals", "local", "values", "live", "leaves", "passes", "accumulated")

    def __init__(
        self, program: Program, vals: np.ndarray, local: np.ndarray, values: list[Value]
    ) -> None:
        self.program, self.vals, self.local, self.values = program, vals, local, values
        self.live: dict[int, weakref.ref] = {}  # the op nodes handed out, by slot
        self.leaves: dict[int, Value] = {}  # the leaves made for this call, by slot
        self.passes: list[tuple[np.ndarray, np.ndarray]] = []  # backward()s: grads, reached
        # what the leaves made for the call (handed out or not yet) have accumulated, by slot
        self.accumulated: np.ndarray = np.zeros(program.interior)

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
            leaf.grad = float(self.accumulated[slot])
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
        """backward() from the node in slot ``root``: eager mode's semantics and order of
        adding, the replay's numbers (``Program.backward``). Every gradient is checked before
        any is changed. A leaf at two slots (a Value passed twice, or passed and also a parameter)
        gathers both slots' terms at one, in order. Where the pass goes on through a Value
        computed before the call, eager mode's backward() itself runs, on this call's
        graph built as Values."""
        program = self.program
        reached = program.reach(root)
        start = self.accumulated.copy()  # the leaves' slots: what each leaf holds before
        for slot, leaf in self.leaves.items():
            start[slot] = leaf.grad
        leaves, slots = program.leaves_that_accumulate(self.values)
        start[slots] = np.fromiter((leaf.grad for leaf in leaves), float, len(leaves))
        merge = program.one_slot_per_leaf(self.values)
        if merge is not None:
            slots = merge[slots]
        grads = program.backward(self.local, root, start, merge)
        if not np.isfinite(grads).all():
            self._raise_overflow(root, leaves, slots)
        if program.needs_eager_backward(reached):
            nodes = self.eager_graph(root)
            nodes[root].backward()  # eager mode's own: its order, its leaves accumulating
            grads = np.zeros(program.size)
            for slot, node in nodes.items():
                if program.is_op_node(slot):
                    grads[slot] = node.grad
            for slot, leaf in self.leaves.items():
                self.accumulated[slot] = leaf.grad
        else:
            for leaf, g in zip(leaves, grads[slots].tolist()):  # leaves accumulate
                leaf.grad = g
            self.accumulated = grads[: program.interior].copy()
            for slot, leaf in self.leaves.items():
                leaf.grad = float(grads[slot])
        self.hand_out(grads, reached)

    def _raise_overflow(self, root: int, leaves: list[Value], slots: np.ndarray) -> None:
        """Eager mode's error for a pass whose gradients overflow: in the chain rule, found in
        the graph as Values, or where a leaf adds this pass to what it had accumulated."""
        program = self.program
        grads = program.backward(self.local, root)  # from zero: the chain rule's own
        if np.isfinite(grads).all():
            made = [(leaf, slot) for slot, leaf in self.leaves.items()]
            for leaf, slot in [*zip(leaves, slots.tolist()), *made]:
                if not math.isfinite(leaf.grad + grads[slot]):
                    raise OverflowError(
                        f"backward(): the gradient of {value_text(leaf)} overflows a float "
                        f"when this pass adds to the {leaf.grad!r} it had accumulated: call "
                        "zero_grad() between backward() calls"
                    )
        node = self.node(root)
        found = overflow.gradient_overflow(node, interior_nodes_children_first(node), "backward()")
        raise found or OverflowError(f"backward() of jit({program.name}): a gradient overflows")

    def eager_graph(self, root: int) -> dict[int, Any]:
        """The graph below the op node in slot ``root`` built as eager Values, with this
        call's numbers, by slot: each op node made by ``new_node`` as apply makes it, its
        leaves this call's (the parameters and the Values passed in themselves, a leaf made
        for each number, the Values computed before the call)."""
        program = self.program
        reached = program.reach(root)
        vals, local = self.vals.tolist(), self.local.tolist()
        nodes: dict[int, Any] = {}
        for slot, row, operand_slots, settings, edge_of in program.node_plan():
            if reached[slot]:
                operands = [nodes[s] if s in nodes else self.node(s) for s in operand_slots]
                kept = [j for j, a in enumerate(operands) if isinstance(a, Value)]
                nodes[slot] = new_node(
                    vals[slot],
                    tuple(operands[j] for j in kept),
                    tuple(local[edge_of[j]] for j in kept),
                    row,
                    (*operands, *settings),
                )
        return nodes

    def hand_out(self, grads: np.ndarray, reached: np.ndarray) -> None:
        """Give this pass's gradients to the op nodes handed out, those of the root's graph
        anew. The pass is kept, for the nodes made later."""
        self.passes.append((grads, reached))
        for slot, ref in list(self.live.items()):
            node = ref()
            if node is None:
                del self.live[slot]
            elif reached[slot]:
                node.grad = float(grads[slot])

    def grad_of(self, slot: int) -> float:
        """The gradient an op node made now has, after the passes so far: its last pass's."""
        last = next((g for g, reached in reversed(self.passes) if reached[slot]), None)
        return 0.0 if last is None else float(last[slot])

    @staticmethod
    def dropped_in_calls(order: Sequence[Value]) -> list[Value]:
        """The ops whose results were dropped in the calls of replayed results among ``order``
        (a jitted function called inside another one's capture), as that call's Values."""
        calls = {id(node._call): node._call for node in order if isinstance(node, Replayed)}
        return [call.node(slot) for call in calls.values() for slot in call.program.dropped_slots]

    @staticmethod
    def held_in_calls(order: Sequence[Value]) -> list[Any]:
        """The Values that the calls of replayed results among ``order`` hold (their inputs
        and the leaves made for them): a jitted function called inside another one's capture."""
        held: list[Any] = []
        for node in order:
            if isinstance(node, Replayed):
                held += [*node._call.values, *node._call.leaves.values()]
        return held


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
    def row(self) -> Op:
        return self._call.program.row_at(self._slot)

    @property
    def args(self) -> tuple:
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
