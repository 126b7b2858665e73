"""Judging a learner's answer: against finite differences AND the engine, at drawn inputs.

Each function a learner completes is a ``Part`` of an exercise. The truth for a part is a
scalar built of Values (``loss``): at each drawn input, its gradient by ``backward()`` (the
engine) and by central differences (``numerical_grad``, which uses no derivative at all) are
the two references. The learner's derivative must agree with both, entry by entry,
within ``|got - expected| <= ATOL + RTOL * |expected|``. At a kink (a relu or abs right at 0)
finite differences mean nothing, so there only the engine judges.

Hypothesis draws the inputs; when an answer fails, it shrinks the input to the simplest one
that still fails, which is what the learner is shown. The report names the mistake when it can:
a derivative that is the right one times the same constant at every input tried (a lost 2, a
sign), or times N (a forgotten 1/N), a transposed array, a forgotten ``return``.

The learner's functions are called through ``ask`` (``calls.py``): in this process for
``check_module``, in a process of their own for ``tinygrad-edu exercises check``. Whichever,
the verdict is reached here, from the numbers they return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..engine import Value
from ..gradcheck import numerical_grad
from ..testing import kink_free, simplest_failure
from . import calls

ATOL = 1e-6
RTOL = 1e-5
EPS = 1e-6  # the finite-difference step

Case = dict[str, Any]  # one drawn input: named floats and numpy arrays
Answer = Callable[[Callable[..., Any], Case], Any]
Ask = Callable[[calls.Request], calls.Reply]  # carries a request to the learner's code

PASS, FAIL, ERROR, TIMEOUT, NOT_ATTEMPTED = "pass", "fail", "error", "timeout", "not attempted"


@dataclass(frozen=True)
class Part:
    """One function of an exercise file, and how to judge it.

    ``loss(case, variables)`` builds the true scalar from Values standing for the case's
    ``variables`` (a Value for a number, an object array of Values for an array).
    ``answer(fn, case)`` calls the learner's ``fn`` and returns its derivatives by each
    variable (one derivative, or a sequence of them in the order of ``variables``). With
    ``answer=None`` the function is an ``@op``: it is called on Values (and ``settings`` from
    the case, as keywords) and must make a node named after itself with the right value.
    ``derivative`` names d loss / d variable, with ``{}`` for the variable: ``"dL/d{}"``.
    ``size``, for a loss that averages over N items, is N's name and how to read it from a
    case, so that an answer off by a factor of N can be told so.
    """

    function: str
    cases: st.SearchStrategy[Case]
    variables: tuple[str, ...]
    loss: Callable[[Case, dict[str, Any]], Value]
    derivative: str
    answer: Answer | None = None
    settings: tuple[str, ...] = ()
    size: tuple[str, Callable[[Case], int]] | None = None


@dataclass(frozen=True)
class Exercise:
    """An exercise file handed out by ``init``: ``exNN_name.py`` with functions to complete."""

    number: int
    name: str  # the file's stem, e.g. "ex02_sigmoid"
    title: str
    parts: tuple[Part, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.py"


@dataclass
class PartResult:
    """How one function fared; for a failure, the simplest input found and what was wrong."""

    function: str
    status: str
    message: str = ""
    input: str = ""
    expected: str = ""
    got: str = ""
    hint: str = ""


@dataclass
class Result:
    """How one exercise fared: the worst of its parts, or an error loading or running it."""

    number: int
    title: str
    status: str
    parts: list[PartResult] = field(default_factory=list)
    message: str = ""

    @classmethod
    def from_parts(cls, exercise: Exercise, parts: list[PartResult]) -> Result:
        statuses = {p.status for p in parts}
        status = next(s for s in (ERROR, FAIL, NOT_ATTEMPTED, PASS) if s in statuses)
        return cls(exercise.number, exercise.title, status, parts)


class WrongAnswer(AssertionError):
    """The learner's answer is wrong: what, and the expected and got values. For a wrong
    derivative, ``variable`` says which; its expected value is filled in once, for the report.
    """

    def __init__(self, message: str, expected: str = "", got: str = "", variable: str = "") -> None:
        super().__init__(message)
        self.message, self.expected, self.got, self.variable = message, expected, got, variable


def check_module(exercise: Exercise, module: Any, max_examples: int = 100) -> Result:
    """Judge every part of ``exercise`` as solved in ``module`` (anything with the functions),
    called in this process. ``tinygrad-edu exercises check`` runs a learner's file in a process
    of its own instead (``check_exercises``); both judge by ``check_answers``."""
    return check_answers(exercise, calls.local(module), max_examples)


def check_answers(exercise: Exercise, ask: Ask, max_examples: int = 100) -> Result:
    """Judge every part of ``exercise``, calling the learner's functions through ``ask``.

    Everything that decides the verdict happens here, in the checker's process: ``ask``
    only carries the inputs this side draws to the learner's code and what it returned back.
    Raises calls.Stopped (from ``ask``) if the learner's side stops answering."""
    return Result.from_parts(exercise, [_check_part(p, ask, max_examples) for p in exercise.parts])


def _check_part(part: Part, ask: Ask, max_examples: int) -> PartResult:
    if not _replied(calls.has, ask({"has": part.function})):
        return PartResult(part.function, ERROR, f"there is no function {part.function} to check")
    fn = _Function(ask, part.function)
    unfinished = []
    compared: list[_Compared] = []  # the answer's derivatives, and the engine's, at each input

    def judge(case: Case) -> None:
        try:
            _judge(part, fn, case, compared)
        except NotImplementedError:  # a stub: not a failure to shrink, nothing to show
            unfinished.append(case)

    try:
        failure = simplest_failure(judge, part.cases, max_examples, derandomize=True)
    except Exception as crash:  # e.g. hypothesis's FlakyFailure: same input, another answer
        return PartResult(part.function, ERROR, f"checking {part.function} failed: {crash!r:.300}")
    if failure is None:
        return PartResult(part.function, NOT_ATTEMPTED if unfinished else PASS)
    case, error = failure
    shown = _show_case(case)
    if isinstance(error, WrongAnswer):
        truth = _Truth(part, case)
        expected = error.expected
        if error.variable:
            expected = truth.both(part.variables.index(error.variable))
        elif not expected:
            expected = truth.every(part)
        hint = _factor_hint(part, compared) or _overflow_hint(error.got, expected)
        return PartResult(part.function, FAIL, error.message, shown, expected, error.got, hint)
    if isinstance(error, calls.LearnerError):
        message, hint = _raised(part, error, case)
        return PartResult(part.function, ERROR, message, shown, hint=hint)
    raise error  # a bug of the checker's own: not the learner's to read about


class _Function:
    """The learner's function, called through ``ask``: it returns what the function returned
    (decoded) or raises what it raised; a forgotten ``return`` is a WrongAnswer here."""

    def __init__(self, ask: Ask, name: str) -> None:
        self.ask, self.name = ask, name

    def __call__(self, *args: Any) -> Any:
        got = _replied(
            calls.outcome, self.ask({"call": self.name, "args": [calls.encode(a) for a in args]})
        )
        if got is None:
            raise WrongAnswer(
                "it returned None: did you forget to `return` the answer?", got="None"
            )
        return got

    def op(self, operands: list[float], settings: dict[str, float]) -> Any:
        request = {"op": self.name, "operands": operands, "settings": settings}
        return _replied(calls.outcome, self.ask(request))


def _replied(read: Callable[[calls.Reply], Any], reply: calls.Reply) -> Any:
    """read(reply), or calls.Stopped if the reply is not one (the learner's side wrote
    something else where its replies go)."""
    try:
        return read(reply)
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise calls.Stopped(
            f"the exercise's process sent something that is not a reply ({error})"
        ) from None


@dataclass(frozen=True)
class _Compared:
    """One derivative an answer gave at one drawn input, beside the engine's; ``size`` is the
    input's N (the part's ``size``), or 1."""

    variable: str
    got: np.ndarray
    engine: np.ndarray
    size: int


def _judge(part: Part, fn: _Function, case: Case, compared: list[_Compared]) -> None:
    """Raise WrongAnswer unless fn's derivatives at this case (and, for an op, its value) match
    the engine's and, away from kinks, finite differences. Each derivative that has the right
    shape is appended to ``compared`` with the engine's, right or wrong."""
    value: float | None
    got: Sequence[Any]
    if part.answer is None:
        value, got = _call_op(part, fn, case)
    else:
        value, got = None, _aligned(part, part.answer(fn, case))
    truth = _Truth(part, case)
    if value is not None and not _close(np.float64(value), np.float64(truth.value)):
        raise WrongAnswer(
            f"the value of {part.function} is wrong", _show(truth.value), _show(value)
        )
    names = [part.derivative.format(v) for v in part.variables]
    answers = [_as_array(*each) for each in zip(names, part.variables, got, truth.engine)]
    size = part.size[1](case) if part.size else 1
    compared.extend(
        _Compared(v, a, np.asarray(e, dtype=float), size)
        for v, a, e in zip(part.variables, answers, truth.engine)
    )
    # the engine first: it is one backward pass, finite differences are two forward passes
    # per input, needed only for an answer that got past the engine
    for references in (truth.engine, truth.numeric()):
        for each in zip(names, part.variables, answers, references or ()):
            _compare(*each)


class _Truth:
    """The loss at a case: its value and its gradient by the engine, and on demand by finite
    differences."""

    def __init__(self, part: Part, case: Case) -> None:
        self._shapes = [np.shape(case[v]) for v in part.variables]
        self._point = np.concatenate([np.ravel(case[v]) for v in part.variables]).tolist()

        def loss(xs: list[Value]) -> Value:
            values = _split(xs, self._shapes, object)
            return part.loss(case, dict(zip(part.variables, values)))

        self._loss = loss
        xs = [Value(x) for x in self._point]
        root = loss(xs)
        root.backward()
        self.value = root.data
        self.engine = _split([x.grad for x in xs], self._shapes, float)
        self._smooth = kink_free(root)

    def numeric(self) -> list[Any] | None:
        """The gradient by central differences, or None at a kink, where they mean nothing."""
        if not self._smooth:
            return None
        return _split(numerical_grad(self._loss, self._point, EPS), self._shapes, float)

    def both(self, variable_index: int) -> str:
        """The expected derivative by the engine, and what finite differences say of it."""
        numeric = self.numeric()
        also = (
            "finite differences do not apply at this kink"
            if numeric is None
            else f"finite differences give {_show(numeric[variable_index])}"
        )
        return f"{_show(self.engine[variable_index])}   (engine; {also})"

    def every(self, part: Part) -> str:
        """Every expected derivative, by the engine: for an answer that gave none."""
        if len(self.engine) == 1:
            return self.both(0)
        named = zip(part.variables, self.engine)
        return (
            ", ".join(f"{part.derivative.format(v)} = {_show(e)}" for v, e in named) + "   (engine)"
        )


def _split(flat: list[Any], shapes: list[tuple[int, ...]], dtype: type) -> list[Any]:
    """Consecutive pieces of ``flat`` in the given shapes: the item itself for shape ()."""
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        chunk = flat[start : start + size]
        pieces.append(chunk[0] if shape == () else np.array(chunk, dtype=dtype).reshape(shape))
        start += size
    return pieces


def _call_op(part: Part, fn: _Function, case: Case) -> tuple[float, list[Any]]:
    """Call an @op answer on Values: its value and its local derivatives (via backward)."""
    out = fn.op([float(case[v]) for v in part.variables], {s: case[s] for s in part.settings})
    if not isinstance(out, calls.OpNode):
        kind = out.type if isinstance(out, calls.Opaque) else type(out).__name__
        raise WrongAnswer(
            f"{part.function} must return a Value: make it with @op",
            "a Value",
            f"{kind}: {out!r:.60}",
        )
    if out.op != part.function:
        raise WrongAnswer(
            f"{part.function} must make one node named {part.function!r}, by @op "
            "(built of other ops, it checks nothing new)",
            f"op {part.function!r}",
            f"op {out.op!r}",
        )
    if not isinstance(out.value, float) or len(out.grads) != len(part.variables):
        raise calls.Stopped(f"the exercise's process sent something that is not a reply ({out})")
    return out.value, out.grads


def _aligned(part: Part, got: Any) -> Sequence[Any]:
    """The answer as one derivative per variable, or WrongAnswer saying what was expected."""
    n = len(part.variables)
    if n == 1:
        return [got]
    if isinstance(got, (str, bytes)) or not isinstance(got, Sequence) or len(got) != n:
        names = ", ".join(part.derivative.format(v) for v in part.variables)
        raise WrongAnswer(
            f"{part.function} must return {n} derivatives: ({names})",
            f"{n} derivatives",
            f"{got!r:.80}",
        )
    return got


def _as_array(name: str, variable: str, got: Any, engine: Any) -> np.ndarray:
    """The learner's derivative as an array shaped like the engine's, or WrongAnswer."""
    engine = np.asarray(engine, dtype=float)
    what = "one number" if engine.ndim == 0 else f"an array shaped like {variable}, {engine.shape}"
    shown = f"{got!r:.80}"
    if _holds(got, str):  # numpy would read '0.25' as a number: a learner's slip, not one
        raise WrongAnswer(
            f"{name} must be {what}, not text: return numbers, not strings",
            _show(engine),
            shown,
        )
    if _holds(got, type(None)):  # numpy would read None as nan
        raise WrongAnswer(
            f"{name} is None, where {what} should be: a forgotten return?", _show(engine), shown
        )
    try:
        answer = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name} must be {what}", _show(engine), shown) from None
    if answer.shape != engine.shape:
        if answer.ndim >= 2 and answer.shape == engine.shape[::-1]:
            message = (
                f"{name} has the wrong shape: got shape {answer.shape}, expected "
                f"{engine.shape}: transposed?"
            )
        else:
            message = f"{name} has shape {answer.shape}: it must be {what}"
        raise WrongAnswer(message, _show(engine), _show(answer))
    return answer


def _holds(x: Any, kind: type) -> bool:
    """Whether x is, or a list, tuple or dict in it holds, a ``kind``."""
    if isinstance(x, kind):
        return True
    items = x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple)) else ()
    return any(_holds(item, kind) for item in items)


def _compare(name: str, variable: str, answer: np.ndarray, reference: np.ndarray) -> None:
    """Raise WrongAnswer, naming the first wrong entry, unless answer matches reference."""
    bad = ~_close(answer, np.asarray(reference, dtype=float))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f"[{', '.join(map(str, index))}]" if index else ""
        raise WrongAnswer(f"{name}{at} is wrong", got=_show(answer), variable=variable)


# --- naming the mistake ---------------------------------------------------------------------


def _factor_hint(part: Part, compared: list[_Compared]) -> str:
    """What the wrong answer is, when it is the right one times a factor: one constant (a lost
    2, a sign), or N or 1/N for the part's size N; for the whole answer, or else for each
    derivative that is off ("d(a / b)/db is off by a factor of -1 ...")."""
    size = part.size[0] if part.size else None
    whole = _factor(compared, size)
    if whole or len(part.variables) == 1:
        return whole
    hints = []
    for variable in part.variables:
        hint = _factor([c for c in compared if c.variable == variable], size)
        if hint:
            hints.append(f"{part.derivative.format(variable)} is {hint}")
    return "; ".join(hints)


def _factor(compared: list[_Compared], size: str | None) -> str:
    """'off by a factor of ...: ...' when every derivative in ``compared`` is the engine's
    times one constant other than 1, or times N or 1/N (N varying between inputs); else ''."""
    if not compared:
        return ""
    got = np.concatenate([np.ravel(c.got) for c in compared])
    expected = np.concatenate([np.ravel(c.engine) for c in compared])
    sizes = np.concatenate([np.full(c.got.size, float(c.size)) for c in compared])
    nonzero = np.abs(expected) > ATOL
    if np.count_nonzero(nonzero) < 3:  # too few numbers to say "everywhere"
        return ""
    varies = len(set(sizes[nonzero])) > 1  # else a factor of N looks like a constant
    for power in (0, 1, -1) if size and varies else (0,):
        scaled = expected * sizes**power
        factor = float(np.median(got[nonzero] / scaled[nonzero]))
        if not np.all(_close(got, factor * scaled)):
            continue
        if power == 0:
            return "" if _close(np.float64(factor), np.float64(1.0)) else _constant(factor)
        return _times_size(factor, power, str(size))
    return ""


def _constant(factor: float) -> str:
    if _close(np.float64(factor), np.float64(-1.0)):
        return "off by a factor of -1 everywhere: check the sign"
    return f"off by a factor of {_simple(factor)} everywhere: check constant factors such as 1/N"


def _times_size(factor: float, power: int, n: str) -> str:
    """'off by a factor of N: did you divide by N?' and its kin (N/2, -N, 1/N), for an answer
    that is the right one times factor * N**power; '' for a factor that is no simple
    fraction."""
    k = Fraction(factor).limit_denominator(12)
    if abs(float(k) - factor) > 1e-9 * abs(factor):
        return ""
    sign, p, q = "-" if k < 0 else "", abs(k.numerator), k.denominator
    if power == -1:
        shown = f"{sign}{p}/" + (f"({q}{n})" if q != 1 else n)
        return f"off by a factor of {shown}: did you divide by {n} once too often?"
    shown = sign + (str(p) if p != 1 else "") + n + (f"/{q}" if q != 1 else "")
    also = {Fraction(1): "", Fraction(-1): " And check the sign."}.get(
        k, " Then check the other constant factors."
    )
    return f"off by a factor of {shown}: did you divide by {n}?{also}"


OVERFLOW = (
    "a number grew too large for a float: e**x does beyond x = 709.78 (to inf; inf / inf is "
    "then nan): write the derivative with the function's own value, not a new e**x"
)


def _overflow_hint(got: str, expected: str) -> str:
    """For an answer that is nan or inf where the engine's derivative is a finite number."""
    if ("nan" in got or "inf" in got) and not ("nan" in expected or "inf" in expected):
        return OVERFLOW
    return ""


def _raised(part: Part, error: calls.LearnerError, case: Case) -> tuple[str, str]:
    """The message, and a hint, for an error the learner's function raised."""
    name = part.function
    if error.type == "SystemExit":
        code = "" if error.message == "None" else error.message
        return (
            f"{name} called sys.exit({code}){error.where}: a function being checked must "
            "return its answer, not end the program",
            "",
        )
    message = f"{name} raised {error.type}: {error.message}{error.where}"
    if part.answer is None and error.type == "TypeError":
        message += " (an @op function gets floats and returns (value, (derivative,)))"
    if error.type == "ValueError" and ("matmul" in error.message or "not aligned" in error.message):
        shapes = ", ".join(f"{k} is {np.shape(v)}" for k, v in case.items() if np.ndim(v))
        return (
            f"{name}: the shapes in a matrix product do not fit: transposed?{error.where}",
            f"{shapes}; a gradient has the shape of its variable: let the shapes say where "
            "a transpose (.T) goes",
        )
    if error.type == "OverflowError" or " nan" in error.message or " inf" in error.message:
        return message, OVERFLOW
    return message, ""


def _simple(x: float) -> str:
    """x as a small fraction when it is one (2, 1/2, -3/4), else to 4 significant digits."""
    fraction = Fraction(x).limit_denominator(12)
    if abs(float(fraction) - x) > 1e-9 * abs(x):
        return f"{x:.4g}"
    return str(fraction)


def _close(
    got: np.ndarray | np.float64, expected: np.ndarray | np.float64
) -> np.ndarray | np.bool_:
    return np.abs(got - expected) <= ATOL + RTOL * np.abs(expected)


def _show_case(case: Case) -> str:
    return ", ".join(f"{name} = {_exact(value)}" for name, value in case.items())


def _exact(x: Any) -> str:
    """A drawn input exactly, as Python would write it, to paste into your own check."""
    return repr(x.tolist() if isinstance(x, np.ndarray) else x)


SHOWN_NUMBERS = 50  # an array with more is shown by its shape


def _show(x: Any) -> str:
    """A number or an array, to 8 significant digits."""
    array = np.asarray(x, dtype=float)
    if array.size > SHOWN_NUMBERS:
        return f"an array of shape {array.shape}"
    return _rounded(array.tolist())


def _rounded(x: Any) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_rounded(item) for item in x) + "]"
    return f"{x:.8g}"
