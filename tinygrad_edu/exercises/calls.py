"""Calling a learner's function, and what it gave back, as plain data.

This is all that passes between the checker and the learner's code: a request to call one
function with given inputs, and a reply saying what it returned or raised. Both are plain JSON
data (numbers, text, lists), never pickled objects, so that reading a reply runs none of the
learner's code. The learner's code runs in a process of its own (``worker.py``) and can make
that process send anything at all; the worst it can send is an answer, which the checker then
judges. The verdict is never part of a reply.

``serve(module, request)`` carries out a request on the learner's side; ``outcome(reply)``
turns the reply back into the returned value, or raises what the function raised.

A request is one of::

    {"has": name}                                        does the file define it?
    {"call": name, "args": [encoded, ...]}               call it with these inputs
    {"op": name, "operands": [x, ...], "settings": {}}   call an @op on Values, then backward()

and a reply one of ``{"has": bool}``, ``{"returned": encoded}``, ``{"node": {"op", "value",
"grads"}}`` (what an @op made) or ``{"raised": {"type", "message", "where"}}``.
"""

from __future__ import annotations

import json
import linecache
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Value

Request = dict[str, Any]
Reply = dict[str, Any]

MAX_NUMBERS = 10_000  # numbers in one answer: every gradient asked for is far smaller
MAX_TEXT = 300  # characters kept of a text answer, a repr or an error message


class Stopped(BaseException):
    """The check of a file cannot go on: its process ended, hung, or sent something that is not
    a reply. A BaseException, so that nothing on the way (hypothesis) takes it for a wrong
    answer to shrink; ``timed_out`` for a process stopped at its time limit."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.message, self.timed_out = message, timed_out


class LearnerError(Exception):
    """The learner's function raised an exception of type ``type`` (its name): ``message``;
    ``where`` is ' (file.py, line N: `code`)' or ''. A sys.exit() arrives as a "SystemExit"."""

    def __init__(self, kind: str, message: str, where: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.type, self.message, self.where = kind, message, where


@dataclass(frozen=True)
class OpNode:
    """What an @op made of Values: the node's op name, its value, and by backward() the
    derivative by each operand."""

    op: str
    value: Any
    grads: list[Any]


class Opaque:
    """A returned object that is neither a number, an array, text nor a container of them:
    kept as its type's name and its repr, and no number (``float()`` of it fails)."""

    def __init__(self, kind: str, text: str) -> None:
        self.type, self.text = kind, text

    def __repr__(self) -> str:
        return self.text


def local(module: Any) -> Callable[[Request], Reply]:
    """Ask ``module`` directly, in this process (for tests and notebooks): each request and
    reply still goes through JSON text, so that the answers are exactly those a worker sends."""

    def ask(request: Request) -> Reply:
        reply = serve(module, json.loads(json.dumps(request)))
        return json.loads(json.dumps(reply))

    return ask


# --- the learner's side ---------------------------------------------------------------------


def serve(module: Any, request: Request) -> Reply:
    """Carry out one request on ``module``, the learner's file, loaded."""
    fn = None
    try:
        if "has" in request:
            return {"has": callable(getattr(module, request["has"], None))}
        fn = getattr(module, request["call"] if "call" in request else request["op"])
        if "call" in request:
            return {"returned": encode(fn(*(decode(a) for a in request["args"])))}
        return _call_op(fn, request["operands"], request["settings"])
    except KeyboardInterrupt:  # the person running the check, not the learner's code
        raise
    except BaseException as error:  # noqa: BLE001 (sys.exit() too: the learner's, to report)
        return raised(error, _filename(fn))


def _call_op(fn: Callable[..., Any], operands: list[float], settings: dict[str, float]) -> Reply:
    values = [Value(x) for x in operands]
    out = fn(*values, **settings)
    if not isinstance(out, Value):
        return {"returned": encode(out)}
    out.backward()
    grads = [encode(v.grad) for v in values]
    return {"node": {"op": str(out.op), "value": encode(out.data), "grads": grads}}


def raised(error: BaseException, filename: str | None) -> Reply:
    """The reply for an error the learner's code raised, with the last line of ``filename``
    (the learner's file) it passed through."""
    message = repr(error.code) if isinstance(error, SystemExit) else _text(error)
    where = _where(error, filename)
    return {"raised": {"type": type(error).__name__, "message": message, "where": where}}


def _filename(fn: object) -> str | None:
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)  # an @op wraps the code
    return getattr(code, "co_filename", None)


def _where(error: BaseException, filename: str | None) -> str:
    """' (file.py, line N: `code`)': the last line of ``filename`` the error passed through."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    if not frames or filename is None:
        return ""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    line = frames[-1].lineno
    code = linecache.getline(filename, line or 0).strip()
    return f" ({name}, line {line}: `{code[:80]}`)" if code else f" ({name}, line {line})"


def _text(x: Any) -> str:
    """str(x), shortened to MAX_TEXT; an object whose __str__ fails is named by its type."""
    return _shortened(str, x)


def _repr(x: Any) -> str:
    """repr(x), shortened to MAX_TEXT; an object whose __repr__ fails is named by its type."""
    return _shortened(repr, x)


def _shortened(show: Callable[[Any], str], x: Any) -> str:
    try:
        text = show(x)
    except Exception:  # noqa: BLE001 (the learner's __str__ or __repr__, whatever it raises)
        text = f"<{type(x).__name__} object>"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


class _TooLarge(Exception):
    pass


def encode(x: Any) -> dict[str, Any]:
    """``x`` as plain data: {"number": float}, {"array": [shape, numbers]}, {"text": str},
    {"none": None}, {"list" | "tuple": [...]}, {"dict": [[key, value], ...]} or, for anything
    else (or anything holding more than MAX_NUMBERS numbers), {"other": [type, repr]}."""
    budget = [MAX_NUMBERS]
    try:
        return _encode(x, budget, depth=0)
    except _TooLarge:
        return {"other": [type(x).__name__, f"<{type(x).__name__}: too large to check>"]}


def _encode(x: Any, budget: list[int], depth: int) -> dict[str, Any]:
    if x is None:
        return {"none": None}
    if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
        budget[0] -= 1
        try:
            return {"number": float(x)}
        except OverflowError:  # an int beyond any float
            return {"other": [type(x).__name__, _repr(x)]}
    if isinstance(x, str):
        return {"text": x[:MAX_TEXT]}
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        if x.size > MAX_NUMBERS:  # its shape is enough to say it is not the gradient asked for
            return {"array": [list(x.shape), None]}
        budget[0] -= x.size
        if budget[0] < 0:
            raise _TooLarge
        return {"array": [list(x.shape), x.astype(float).ravel().tolist()]}
    if isinstance(x, (list, tuple, dict)) and depth < 8:
        budget[0] -= len(x)
        if budget[0] < 0:
            raise _TooLarge
        if isinstance(x, dict):
            pairs = [
                [k if isinstance(k, str) else _repr(k), _encode(v, budget, depth + 1)]
                for k, v in x.items()
            ]
            return {"dict": pairs}
        kind = "tuple" if isinstance(x, tuple) else "list"
        return {kind: [_encode(item, budget, depth + 1) for item in x]}
    return {"other": [type(x).__name__, _repr(x)]}


# --- the checker's side ---------------------------------------------------------------------


def decode(data: Any) -> Any:
    """What ``encode`` wrote, back as Python values (numpy arrays of float64 for arrays).

    Raises ValueError for anything ``encode`` does not write: a reply is checked, never
    trusted."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"not an encoded value: {data!r:.80}")
    ((kind, value),) = data.items()
    if kind == "none" and value is None:
        return None
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "array":
        return _array(value)
    if kind in ("list", "tuple") and isinstance(value, list):
        items = [decode(item) for item in value]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(value, list):
        pairs = [(k, decode(v)) for k, v in value if isinstance(k, str)]
        if len(pairs) != len(value):
            raise ValueError("a dict's keys must be text")
        return dict(pairs)
    if kind == "other" and isinstance(value, list) and all(isinstance(s, str) for s in value):
        return Opaque(*value[:2])
    raise ValueError(f"not an encoded value: {data!r:.80}")


def _array(value: Any) -> np.ndarray:
    shape, numbers = value
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"not an array's shape: {shape!r:.80}")
    if numbers is None:  # too large to send: only its shape came, which is all that is judged
        return np.broadcast_to(np.nan, shape)
    array = np.array(numbers, dtype=float)
    if array.shape != (int(np.prod(shape)),):
        raise ValueError("an array's numbers do not fill its shape")
    return array.reshape(shape)


def outcome(reply: Reply) -> Any:
    """What the learner's function returned, decoded (an OpNode for a Value an @op made); or
    raise what it raised (a stub's NotImplementedError as itself, anything else as a
    LearnerError). Raises ValueError for a reply that is none of these."""
    if set(reply) == {"returned"}:
        return decode(reply["returned"])
    node = reply.get("node")
    if set(reply) == {"node"} and isinstance(node, dict) and isinstance(node.get("op"), str):
        grads = node.get("grads")
        if not isinstance(grads, list):
            raise ValueError(f"not a reply to a call: {reply!r:.80}")
        return OpNode(node["op"][:MAX_TEXT], decode(node.get("value")), [decode(g) for g in grads])
    error = reply.get("raised")
    if not isinstance(error, dict) or not all(
        isinstance(error.get(k), str) for k in ("type", "message", "where")
    ):
        raise ValueError(f"not a reply to a call: {reply!r:.80}")
    kind, message, where = (error[k][:MAX_TEXT] for k in ("type", "message", "where"))
    if kind == "NotImplementedError":
        raise NotImplementedError(message)
    raise LearnerError(kind, message, where)


def has(reply: Reply) -> bool:
    """The answer to a {"has": name} request; ValueError for anything else."""
    if set(reply) != {"has"} or not isinstance(reply["has"], bool):
        raise ValueError(f"not a reply to 'has': {reply!r:.80}")
    return reply["has"]
