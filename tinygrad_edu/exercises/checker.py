"""Judging a learner's answer: against finite differences AND the engine, at drawn inputs.

Each function a learner completes is a ``Part`` of an exercise. The truth for a part is a
scalar built of Values (``loss``): at each drawn input, its gradient by ``backward()`` (the
engine) and by central differences (``numerical_grad``, which uses no derivative at all) are
the two references. The learner's derivative must agree with both, entry by entry,
within ``|got - expected| <= ATOL + RTOL * |expected|``. At a kink (a relu or abs right at 0)
finite differences mean nothing, so there only the engine judges.

Hypothesis draws the inputs; when an answer fails, it shrinks the input to the simplest one
that still fails, which is what the learner is shown. When a wrong derivative is the right one
times the same constant at every input tried (a lost 2, a stray 1/N), the report says so.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..engine import Value
from ..gradcheck import numerical_grad
from ..testing import kink_free, simplest_failure

ATOL = 1e-6
RTOL = 1e-5
EPS = 1e-6  # the finite-difference step

Case = dict[str, Any]  # one drawn input: named floats and numpy arrays
Answer = Callable[[Callable[..., Any], Case], Any]

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
    """

    function: str
    cases: st.SearchStrategy[Case]
    variables: tuple[str, ...]
    loss: Callable[[Case, dict[str, Any]], Value]
    derivative: str
    answer: Answer | None = None
    settings: tuple[str, ...] = ()


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        fields = dict(data)
        parts = [PartResult(**p) for p in fields.pop("parts")]
        return cls(parts=parts, **fields)


class WrongAnswer(AssertionError):
    """The learner's answer is wrong: what, and the expected and got values. For a wrong
    derivative, ``variable`` says which; its expected value is filled in once, for the report.
    """

    def __init__(self, message: str, expected: str = "", got: str = "", variable: str = "") -> None:
        super().__init__(message)
        self.message, self.expected, self.got, self.variable = message, expected, got, variable


def check_module(exercise: Exercise, module: Any, max_examples: int = 100) -> Result:
    """Judge every part of ``exercise`` as solved in ``module`` (anything with the functions)."""
    return Result.from_parts(
        exercise, [_check_part(p, module, max_examples) for p in exercise.parts]
    )


def _check_part(part: Part, module: Any, max_examples: int) -> PartResult:
    fn = getattr(module, part.function, None)
    if not callable(fn):
        return PartResult(part.function, ERROR, f"there is no function {part.function} to check")
    unfinished = []
    compared: list[tuple[np.ndarray, np.ndarray]] = []  # (answer, engine) at every input tried

    def judge(case: Case) -> None:
        try:
            _judge(part, fn, case, compared)
        except NotImplementedError:  # a stub: not a failure to shrink, nothing to show
            unfinished.append(case)

    try:
        failure = simplest_failure(judge, part.cases, max_examples, derandomize=True)
    except Exception as error:  # e.g. hypothesis's FlakyFailure: same input, another answer
        return PartResult(part.function, ERROR, f"checking {part.function} failed: {error!r:.300}")
    if failure is None:
        return PartResult(part.function, NOT_ATTEMPTED if unfinished else PASS)
    case, error = failure
    shown = _show_case(case)
    if isinstance(error, WrongAnswer):
        expected = error.expected
        if error.variable:
            expected = _Truth(part, case).both(part.variables.index(error.variable))
        hint = _constant_factor_hint(compared)
        return PartResult(part.function, FAIL, error.message, shown, expected, error.got, hint)
    raised = f"{part.function} raised {type(error).__name__}: {error}{_where(error, fn)}"
    if part.answer is None and isinstance(error, TypeError):
        raised += " (an @op function gets floats and returns (value, (derivative,)))"
    return PartResult(part.function, ERROR, raised, shown)


def _judge(
    part: Part,
    fn: Callable[..., Any],
    case: Case,
    compared: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """Raise WrongAnswer unless fn's derivatives at this case (and, for an op, its value) match
    the engine's and, away from kinks, finite differences. Each derivative that has the right
    shape is appended to ``compared`` with the engine's, right or wrong."""
    if part.answer is None:
        value, got = _call_op(part, fn, case)
    else:
        value, got = None, _aligned(part, part.answer(fn, _copied(case)))
    truth = _Truth(part, case)
    if value is not None and not _close(np.float64(value), np.float64(truth.value)):
        raise WrongAnswer(
            f"the value of {part.function} is wrong", _show(truth.value), _show(value)
        )
    names = [part.derivative.format(v) for v in part.variables]
    answers = [_as_array(*each) for each in zip(names, part.variables, got, truth.engine)]
    compared.extend(zip(answers, (np.asarray(e, dtype=float) for e in truth.engine)))
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


def _split(flat: list[Any], shapes: list[tuple[int, ...]], dtype: type) -> list[Any]:
    """Consecutive pieces of ``flat`` in the given shapes: the item itself for shape ()."""
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        chunk = flat[start : start + size]
        pieces.append(chunk[0] if shape == () else np.array(chunk, dtype=dtype).reshape(shape))
        start += size
    return pieces


def _call_op(part: Part, fn: Callable[..., Any], case: Case) -> tuple[float, list[float]]:
    """Call an @op answer on Values: its value and its local derivatives (via backward)."""
    operands = [Value(case[v]) for v in part.variables]
    out = fn(*operands, **{s: case[s] for s in part.settings})
    if not isinstance(out, Value):
        raise WrongAnswer(
            f"{part.function} must return a Value: make it with @op",
            "a Value",
            f"{type(out).__name__}: {out!r:.60}",
        )
    if out.op != part.function:
        raise WrongAnswer(
            f"{part.function} must make one node named {part.function!r}, by @op "
            "(built of other ops, it checks nothing new)",
            f"op {part.function!r}",
            f"op {out.op!r}",
        )
    out.backward()
    return out.data, [x.grad for x in operands]


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
    try:
        answer = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name} must be {what}", _show(engine), f"{got!r:.80}") from None
    if answer.shape != engine.shape:
        raise WrongAnswer(
            f"{name} has shape {answer.shape}: it must be {what}", _show(engine), _show(answer)
        )
    return answer


def _compare(name: str, variable: str, answer: np.ndarray, reference: np.ndarray) -> None:
    """Raise WrongAnswer, naming the first wrong entry, unless answer matches reference."""
    bad = ~_close(answer, np.asarray(reference, dtype=float))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f"[{', '.join(map(str, index))}]" if index else ""
        raise WrongAnswer(f"{name}{at} is wrong", got=_show(answer), variable=variable)


def _constant_factor_hint(compared: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """'off by a factor of 2 everywhere: ...' when every derivative the answer gave, at every
    input tried, is the engine's times one constant other than 1; otherwise ''."""
    if not compared:
        return ""
    got = np.concatenate([np.ravel(answer) for answer, _ in compared])
    expected = np.concatenate([np.ravel(engine) for _, engine in compared])
    nonzero = np.abs(expected) > ATOL
    if np.count_nonzero(nonzero) < 3:  # too few numbers to say "everywhere"
        return ""
    factor = float(np.median(got[nonzero] / expected[nonzero]))
    if _close(np.float64(factor), np.float64(1.0)) or not np.all(_close(got, factor * expected)):
        return ""
    if _close(np.float64(factor), np.float64(-1.0)):
        return "off by a factor of -1 everywhere: check the sign"
    return f"off by a factor of {_simple(factor)} everywhere: check constant factors such as 1/N"


def _simple(x: float) -> str:
    """x as a small fraction when it is one (2, 1/2, -3/4), else to 4 significant digits."""
    fraction = Fraction(x).limit_denominator(12)
    if abs(float(fraction) - x) > 1e-9 * abs(x):
        return f"{x:.4g}"
    return str(fraction)


def _close(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(got - expected) <= ATOL + RTOL * np.abs(expected)


def _copied(case: Case) -> Case:
    """A copy of the case for the learner's code, so that nothing it changes in place counts."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.items()}


def _show_case(case: Case) -> str:
    return ", ".join(f"{name} = {_exact(value)}" for name, value in case.items())


def _exact(x: Any) -> str:
    """A drawn input exactly, as Python would write it, to paste into your own check."""
    return repr(x.tolist() if isinstance(x, np.ndarray) else x)


def _show(x: Any) -> str:
    """A number or an array, to 8 significant digits."""
    return _rounded(np.asarray(x, dtype=float).tolist())


def _rounded(x: Any) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_rounded(item) for item in x) + "]"
    return f"{x:.8g}"


def _where(error: BaseException, fn: Callable[..., Any]) -> str:
    """' (file.py, line N)': the last line of the learner's file the error passed through."""
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)  # an @op wraps the code
    filename = getattr(code, "co_filename", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    if not frames:
        return ""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return f" ({name}, line {frames[-1].lineno})"
