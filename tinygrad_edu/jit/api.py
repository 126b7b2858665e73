"""jit's front door: ``jit(fn)``, and the captures it keeps, one per input structure.

A call looks up the capture made for its inputs' structure (``inputs.py`` says what that is),
checks that fn still reaches what the capture read (``guard.py``), and replays it; the first
call with a structure, or one after something fn reaches changed, captures again.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from .call import Call
from .capture import capture
from .check import compare_with_a_run
from .inputs import Arguments, argument_names
from .program import Program

DEFAULT_MAX_CAPTURES = 32  # input structures kept per function (sequence lengths, batch sizes)


class CaptureEvictedWarning(UserWarning):
    """A jitted function met more input structures than it keeps captures for."""


class RecaptureWarning(UserWarning):
    """A jitted function captured again on several calls in a row, because something it
    reaches changes between calls: each capture costs more than an eager call."""


RECAPTURES_IN_A_ROW = 4  # warn when this many calls in a row captured again


def jit(
    fn: Callable | None = None,
    *,
    check: bool = False,
    max_captures: int = DEFAULT_MAX_CAPTURES,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """``fn`` compiled: captured on its first call with each input structure, replayed after.

    ``check=True`` also runs fn on every call and raises ``CaptureMismatchError`` if the ops it
    performs, its results or their gradients differ from the replay's (a debugging aid: it
    costs an eager run and backward per call). ``max_captures`` bounds the captures kept;
    dropping one warns. ``static_argnums``: the positions of arguments that are structure, not
    inputs (as JAX's): fn gets them as they are, plain numbers stay plain numbers (a loss's
    float targets), and each value, compared by ``==``, gets a capture of its own. Use as
    ``jit(fn)`` or as a decorator, ``@jit`` or ``@jit(check=True)``.
    """
    if not isinstance(check, bool):
        raise TypeError(f"jit's check must be True or False, got {type(check).__name__}")
    if isinstance(max_captures, bool) or not isinstance(max_captures, int) or max_captures < 1:
        raise ValueError(f"jit's max_captures must be a positive int, got {max_captures!r}")
    static = _static_argnums(static_argnums)
    if fn is None:
        return lambda f: jit(f, check=check, max_captures=max_captures, static_argnums=static)
    if not callable(fn):
        raise TypeError(f"jit compiles a function, got {type(fn).__name__}: {fn!r:.60}")
    return JitFunction(fn, check, max_captures, static)


def _static_argnums(numbers: object) -> tuple[int, ...]:
    if isinstance(numbers, int) and not isinstance(numbers, bool):
        numbers = (numbers,)
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Sequence):
        raise TypeError(
            "jit's static_argnums must be an int or a tuple of ints (argument positions), "
            f"got {type(numbers).__name__}: {numbers!r:.60}"
        )
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(
                f"jit's static_argnums must hold argument positions (ints), got {n!r:.60}"
            )
    return tuple(dict.fromkeys(numbers))


class JitFunction:
    """What ``jit(fn)`` returns: call it as fn; ``explain()`` shows what it compiled."""

    def __init__(
        self, fn: Callable, check: bool, max_captures: int, static_argnums: tuple[int, ...]
    ) -> None:
        functools.update_wrapper(self, fn, updated=())
        self.fn, self.check, self.max_captures = fn, check, max_captures
        self.static_argnums = static_argnums
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self.argument_names = argument_names(fn)
        self.programs: OrderedDict[Hashable, Program] = OrderedDict()  # by input structure
        self.recaptures = self.in_a_row = 0  # captures made again, since the last replay

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"jit({self.name}) takes its arguments by position, got {list(kwargs)}")
        call_args = Arguments(args, self.name, self.argument_names, self.static_argnums)
        program = self.programs.get(call_args.key)
        why = "the first call with these input structures"
        if program is not None:
            changed = program.guard.changed()  # fn still reaches the same Values?
            if changed is None:
                self.in_a_row = 0
                if len(self.programs) > 1:
                    self.programs.move_to_end(call_args.key)  # the least recent is dropped first
            else:
                why, program = f"captured again: {changed}", None
                self._count_recapture(changed)
        if program is None:
            program = capture(self.fn, call_args, why)
            self._keep(call_args.key, program)
        call = Call(program, *program.replay(call_args.inputs), call_args.values)
        if self.check:
            compare_with_a_run(self.fn, call_args, call)
        return call.results()

    def _count_recapture(self, changed: str) -> None:
        self.recaptures += 1
        self.in_a_row += 1
        if self.in_a_row == RECAPTURES_IN_A_ROW:
            warnings.warn(
                f"jit({self.name}) captured again on {self.in_a_row} calls in a row, the last "
                f"time because {changed}; each capture costs more than an eager call. If that "
                "changes on every call, keep it out of what fn reaches, or pass it as an "
                "argument",
                RecaptureWarning,
                stacklevel=3,
            )

    def _keep(self, key: Hashable, program: Program) -> None:
        """Keep a new capture, dropping the least recently used one beyond max_captures."""
        self.programs[key] = program
        if len(self.programs) > self.max_captures:
            self.programs.popitem(last=False)
            warnings.warn(
                f"jit({self.name}) keeps {self.max_captures} captures and dropped the least "
                "recently used one: each new input structure (another batch size or sequence "
                "length, other ints) needs a capture, which costs more than an eager call; "
                "pass a larger max_captures if the structures come back",
                CaptureEvictedWarning,
                stacklevel=3,
            )

    def explain(self) -> str:
        """The captured programs in words: for each input structure, its levels and groups,
        and what each call checks first."""
        if not self.programs:
            return f"jit({self.name}): nothing captured yet; call it first"
        lines = [f"jit({self.name}): {len(self.programs)} capture(s), at most "
                 f"{self.max_captures} kept"]  # fmt: skip
        if self.recaptures:
            lines.append(
                f"  captured again {self.recaptures} time(s) because what fn reaches changed"
            )
        for program in self.programs.values():
            lines += ["", *program.explain()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<jit({self.name}): {len(self.programs)} capture(s)>"
