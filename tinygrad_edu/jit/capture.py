"""Capture: run fn once on stand-ins, refuse what a replay could not repeat, compile the rest.

The first call with an input structure (or a call after something fn reaches changed)

1. searches, before fn runs, everything fn can reach from its names (``reach.py``);
2. runs fn, eagerly, on a stand-in leaf Value for each input (``run``), and keeps the ops
   whose results fn dropped: eager mode computes them on every call, and fails where they fail;
3. refuses side effects: a Value's ``.data`` or ``.grad``, a list, a dict or an attribute that
   fn changed while it ran (``backward()`` or an optimizer's ``step()`` inside fn), which a
   replay would not change again; what fn changed is put back first;
4. sorts the Values of fn's graph (``split.py``), and refuses a Value that something outside
   holds but the search did not find (``held_elsewhere``): jit could not check on later calls
   that fn still uses it;
5. keeps, as the ``Guard`` (``guard.py``), every container on the ways to the Values the graph
   uses, and compiles the graph into a ``Program`` (``program.py``).
"""

from __future__ import annotations

import gc
import itertools
import sys
import types
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..engine import Value, new_node
from ..fast_paths import cyclic_gc_paused
from .call import Call
from .inputs import Arguments
from .program import Program, value_text
from .reach import Reach
from .split import Split, split_graph


class UnsafeCaptureError(RuntimeError):
    """jit refused to capture fn: fn has side effects that a replay would not repeat, or it uses
    a Value that jit cannot find again on later calls. Raised before any number is returned,
    with what fn changed put back."""


def capture(fn: Callable, call_args: Arguments, why: str) -> Program:
    """Run fn on stand-ins, refuse what a replay could not repeat, compile the graph."""
    name = call_args.name
    reach = Reach(fn, call_args.static_roots())  # before fn runs: what it can reach
    stand_ins, value_slots = call_args.stand_ins()
    reach.watch(stand_ins)
    outputs, returns, dropped = run(fn, call_args, stand_ins)
    n_outputs = len(outputs)
    outputs += dropped  # the ops fn dropped are replayed too: they can fail, as eagerly
    del dropped  # (one list holds them: counting who holds a Value counts it)
    split = split_with_dropped(outputs, stand_ins, reach.values, reach.position())
    backward_inside = any(n.grad for n in split.order) or any(v.grad for v in split.made.values())
    changes = reach.changes()
    if changes or backward_inside:
        reach.restore()
        raise side_effect_error(name, changes, backward_inside)
    suspects = held_elsewhere(split, outputs, set(map(id, Call.held_in_calls(split.order))))
    if suspects:
        raise untraceable_error(suspects, reach, name)
    guard = reach.guard(split.outer, name)
    described = call_args.described()
    results, dropped = outputs[:n_outputs], outputs[n_outputs:]
    return Program(
        results, returns, stand_ins, value_slots, split, guard, name, why, described, dropped
    )


def split_with_dropped(
    computed: list[Value], stand_ins: list[Value], found: Mapping[int, Value | None], *position: Any
) -> Split:
    """split_graph of ``computed``, fn's outputs and the ops it dropped, with the ops dropped by
    the jitted functions that fn called (their replays' nodes among the graph), added to
    ``computed``: eager mode computes those too."""
    split = split_graph(computed, stand_ins, found, *position)
    more = Call.dropped_in_calls(split.order)
    if more:
        computed += more
        del more
        split = split_graph(computed, stand_ins, found, *position)
    return split


def run(
    fn: Callable, call_args: Arguments, stand_ins: list[Value]
) -> tuple[list[Value], Any, list[Value]]:
    """fn run eagerly on the stand-ins: its outputs as a list, how to rebuild what it returned
    from them, and the op nodes it made and dropped (``x ** 0.5`` computed, its result unused),
    the last of each chain."""
    recorder = NodeRecorder()
    with cyclic_gc_paused(), recorder:  # (the collector: speed only, a graph has no cycles)
        try:
            out = fn(*call_args.with_stand_ins(stand_ins))
        except TypeError as error:
            hint = call_args.stand_in_hint(error, stand_ins)
            if type(error) is TypeError:  # the same error, its message with the hint
                raise TypeError(f"{error}\n{hint}").with_traceback(error.__traceback__) from None
            if hasattr(error, "add_note"):  # Python 3.11+
                error.add_note(hint)
            raise
    outputs, returns = outputs_of(out, call_args.name)
    del out
    return outputs, returns, recorder.dropped()


class NodeRecorder:
    """The op nodes that ``engine.new_node``, the one constructor, makes in this thread while
    it records: ``sys.setprofile`` sees each return from it (a profile hook costs only while
    fn runs at capture, and sees only this thread). A jitted function's capture inside another
    one's records for itself, and the outer one's resumes after it: the inner capture's nodes
    are its own. Under a profiler already running (cProfile) it records nothing, to leave that
    profiler in place."""

    def __init__(self) -> None:
        self.nodes: list[Value] = []
        self.previous: Any = None
        self.recording = False

    def __enter__(self) -> NodeRecorder:
        self.previous = sys.getprofile()
        outer = getattr(self.previous, "__self__", None)
        self.recording = self.previous is None or isinstance(outer, NodeRecorder)
        if self.recording:
            sys.setprofile(self._see)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.recording:
            sys.setprofile(self.previous)

    def _see(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is _NEW_NODE:
            self.nodes.append(arg)

    def dropped(self) -> list[Value]:
        """The nodes made that nothing holds now but this recorder: what fn computed and let
        go (a node that another one uses is held by its children). A probe Value, counted the
        same way, tells how many references that is."""
        nodes, self.nodes = self.nodes, []
        nodes.append(Value(0.0))
        counts = [sys.getrefcount(v) for v in nodes]
        nodes.pop()
        return [v for v, count in zip(nodes, counts) if count <= counts[-1]]


_NEW_NODE = new_node.__code__


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
