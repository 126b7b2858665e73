"""Hypothesis strategies and helpers for testing anything built of Values, in your own pytest
files.

    from hypothesis import given
    from tinygrad_edu import gradcheck
    from tinygrad_edu.testing import assert_gradients_match, expressions

    @given(expressions())
    def test_backward_agrees_with_finite_differences(expr):
        assert gradcheck(expr, expr.inputs)

    def test_my_op():
        assert_gradients_match(lambda vs: my_op(vs[0]))   # many points; the simplest failure

``expressions()`` draws random computation graphs (DAGs in which nodes are reused) together
with a point to evaluate them at. Every op is drawn only where it is well defined and smooth
with a margin (no log of 0, no ReLU right at its kink, no huge values), so finite differences
are a fair judge and a failure means a wrong derivative, not a badly chosen point.
``values()`` draws leaf Values, ``mlps()`` small random networks, ``kink_free(root)`` says
whether a graph is safe to check by finite differences, and ``assert_gradients_match(f)``
gradchecks f at many drawn points and reports the simplest one where it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import TypeVar, Union

from hypothesis import assume, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, UnsatisfiedAssumption

from . import ops as op_table
from .engine import Value, apply
from .gradcheck import GradcheckError, gradcheck, kink_inputs
from .nn import ACTIVATIONS, MLP
from .ops import TANH, Op, formula

Example = TypeVar("Example")

KINK_MARGIN = 0.01  # |x| at least this far from a kink (relu, abs) or a pole's edge
VALUE_BOUND = 100.0  # every intermediate value stays within ±VALUE_BOUND


CONSTANTS = (-2.0, -0.5, 0.5, 1.5, 3.0)  # the plain numbers a step may use and the settings


@dataclass(frozen=True)
class Step:
    """One node of a RandomExpression: the op table's row ``row`` applied to its operands (register
    numbers, ints, or constants, floats) and then its settings (floats)."""

    row: Op
    operands: tuple[Union[int, float], ...]
    settings: tuple[float, ...] = ()

    @property
    def op(self) -> str:
        return self.row.name

    def apply(self, registers: Sequence[Value]) -> Value:
        """The step's Value, made the way Python code spells the op: ``a * b``, ``x.exp()``,
        ``Value.dot(ws, xs)``; ``apply(row, x)`` for a row that Value has no method for."""
        args = [registers[i] if isinstance(i, int) else i for i in self.operands]
        fn = self.row
        if fn.operator is not None:
            return fn.operator(*args, *self.settings)
        if not hasattr(Value, fn.name):  # a row added to the table without a method
            return apply(fn, *args, *self.settings)
        if fn.arity is None:  # Value.sum(xs), Value.dot(ws, xs): a list per part
            return getattr(Value, fn.name)(*_parts(args, fn.parts))
        return getattr(args[0], fn.name)(*args[1:], *self.settings)

    def text(self, names: Sequence[str]) -> str:
        """The step as a line of code, with registers named by ``names``."""
        args = [names[i] if isinstance(i, int) else repr(i) for i in self.operands]
        fn = self.row
        if fn.arity is None:
            lists = ", ".join(f"[{', '.join(part)}]" for part in _parts(args, fn.parts))
            return f"Value.{fn.name}({lists})"
        return formula(fn, args, self.settings)


def _parts(args: Sequence, parts: int) -> list[Sequence]:
    """An n-ary step's operands as its row's lists: dot's ws and xs, sum's one list."""
    n = len(args) // parts
    return [args[p * n : (p + 1) * n] for p in range(parts)]


@dataclass(frozen=True)
class RandomExpression:
    """A random computation graph: a program of Steps over registers.

    Registers 0 .. n-1 hold the inputs; each step appends one register; the last register is
    the output. Calling it on a list of Values builds the graph and returns the output, so it
    can be passed straight to ``gradcheck(expr, expr.inputs)``.
    """

    inputs: tuple[float, ...]
    steps: tuple[Step, ...]

    def __call__(self, xs: Sequence[Value]) -> Value:
        if len(xs) != len(self.inputs):
            raise ValueError(f"this expression takes {len(self.inputs)} inputs, got {len(xs)}")
        registers = list(xs)
        for step in self.steps:
            registers.append(step.apply(registers))
        return registers[-1]

    def __repr__(self) -> str:
        names = [f"x{i}" for i in range(len(self.inputs))]
        lines = [f"{', '.join(names)} = {', '.join(map(repr, self.inputs))}"]
        for step in self.steps:
            name = f"t{len(names)}"
            lines.append(f"{name} = {step.text(names)}")
            names.append(name)
        lines.append(f"return {names[-1]}")
        return "RandomExpression:\n    " + "\n    ".join(lines)


def values(min_value: float = -1e3, max_value: float = 1e3) -> st.SearchStrategy[Value]:
    """Leaf Values with finite data in [min_value, max_value].

    @given(values(), values())
    def test_addition_commutes(a, b):
        assert (a + b).data == (b + a).data
    """
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False).map(Value)


def expressions(
    ops: Sequence[str] | None = None,
    max_inputs: int = 3,
    max_steps: int = 8,
) -> st.SearchStrategy[RandomExpression]:
    """Random expression DAGs over ``ops`` (names in the op table, ``tinygrad_edu.ops.OPS``,
    read when called; None: every row; "**" is both ``x ** c`` and ``a ** b``), with the point
    to check them at.

    Operands are drawn from every earlier register, so inputs and intermediate results are
    reused (``t3 = t2 * t2``); an operand of a two-operand op, or of sum and dot, is sometimes a
    plain-number constant, and every setting (an exponent, a slope) is drawn too. A step whose
    operands fall outside where its op is smooth with room to spare (``Op.smooth``, and
    KINK_MARGIN away from its kinks), or whose result would leave ±VALUE_BOUND, is left out
    rather than rejected, and so is a step the output does not depend on. A RandomExpression is a
    function of a list of Values with its point in ``.inputs``; its repr reads as a little
    program, which is what hypothesis shows for a failing example::

        @given(expressions(ops=["*", "tanh", "exp"], max_inputs=2, max_steps=5))
        def test_backward(expr):
            assert gradcheck(expr, expr.inputs)

        # RandomExpression:
        #     x0, x1 = 0.5, -1.25
        #     t2 = x0 * x1
        #     t3 = tanh(t2)
        #     return t3
    """
    rows = op_table.OPS
    names = {row.name for row in rows}
    chosen = names if ops is None else set(ops)
    unknown = sorted(chosen - names)
    if unknown or not chosen:
        raise ValueError(f"unknown ops {unknown}; choose from {sorted(names)}")
    if max_inputs < 1 or max_steps < 1:
        raise ValueError("max_inputs and max_steps must be at least 1")
    return _expressions(tuple(row for row in rows if row.name in chosen), max_inputs, max_steps)


@st.composite
def _expressions(
    draw: st.DrawFn, rows: tuple[Op, ...], max_inputs: int, max_steps: int
) -> RandomExpression:
    n_inputs = draw(st.integers(1, max_inputs))
    inputs = tuple(
        draw(st.floats(-3.0, 3.0, allow_nan=False).filter(lambda x: abs(x) > KINK_MARGIN))
        for _ in range(n_inputs)
    )
    registers = [Value(x) for x in inputs]
    steps: list[Step] = []
    for _ in range(draw(st.integers(1, max_steps))):
        fn = draw(st.sampled_from(rows))
        count = fn.arity or 2 * draw(st.integers(1, 2)) + (fn.parts == 1) * draw(st.integers(0, 1))
        constant = st.sampled_from(CONSTANTS)
        register = st.integers(0, len(registers) - 1)
        operands = tuple(
            draw(constant if fn.arity != 1 and draw(st.integers(0, 3)) == 0 else register)
            for _ in range(count)
        )
        if not any(isinstance(i, int) for i in operands):
            operands = (draw(register), *operands[1:])
        settings = tuple(draw(constant) for _ in fn.settings)
        step = Step(fn, operands, settings)
        numbers = [registers[i].data if isinstance(i, int) else i for i in operands]
        if not _comfortable(fn, numbers, settings):
            continue
        result = step.apply(registers)
        if abs(result.data) > VALUE_BOUND:
            continue
        steps.append(step)
        registers.append(result)
    if not steps:
        steps.append(Step(TANH, (0,)))
    return RandomExpression(inputs, _used_steps(n_inputs, steps))


def _used_steps(n_inputs: int, steps: list[Step]) -> tuple[Step, ...]:
    """The steps the output depends on, registers renumbered: a step whose result nothing
    after it uses is no part of the graph that is checked, only noise in the program shown."""
    used = {n_inputs + len(steps) - 1}
    for k in reversed(range(len(steps))):
        if n_inputs + k in used:
            used.update(i for i in steps[k].operands if isinstance(i, int))
    kept = [k for k in range(len(steps)) if n_inputs + k in used]
    register = {i: i for i in range(n_inputs)}
    register.update({n_inputs + k: n_inputs + new for new, k in enumerate(kept)})
    renumbered = [
        tuple(register[i] if isinstance(i, int) else i for i in steps[k].operands) for k in kept
    ]  # a register is an int; a constant, a float (2.0 == 2: no dict lookup for it)
    return tuple(replace(steps[k], operands=ops) for k, ops in zip(kept, renumbered))


def _comfortable(fn: Op, numbers: list[float], settings: tuple[float, ...]) -> bool:
    """The op is smooth at numbers with room to spare: a finite difference judges it fairly."""
    away = all(abs(numbers[0] - kink) > KINK_MARGIN for kink in fn.kinks)
    return away and fn.smooth(*numbers, *settings)


@st.composite
def mlps(
    draw: st.DrawFn,
    max_inputs: int = 4,
    max_layers: int = 3,
    max_width: int = 4,
    activations: Sequence[str] = tuple(ACTIVATIONS),
) -> MLP:
    """Small random MLPs: architecture, activations and seed all drawn.

    @given(mlps(activations=["tanh", "sigmoid"]))
    def test_every_parameter_of_a_smooth_network(model):
        x = [0.5] * model.nin  # as many inputs as the model takes
        assert gradcheck_module(model, lambda m: losses.l2(m(x)))
    """
    nin = draw(st.integers(1, max_inputs))
    nouts = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_layers))
    return MLP(
        nin,
        nouts,
        activation=draw(st.sampled_from(list(activations))),
        output_activation=draw(st.sampled_from(list(activations))),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def kink_free(root: Value, margin: float = KINK_MARGIN) -> bool:
    """True when no op with a kink in root's graph (relu, leaky_relu, abs: see ``Op.kinks``)
    has its input within ``margin`` of the kink, where a finite difference would straddle it
    and mislead.

    Use it to ``assume(kink_free(loss))`` before gradchecking a network::

        loss = losses.mse(model(x), y)
        assume(kink_free(loss))
        assert gradcheck_module(model, lambda m: losses.mse(m(x), y))
    """
    return all(abs(x - kink) > margin for _, kink, x in kink_inputs(root))


Point = Union[float, Value, Sequence[Union[float, Value]]]  # (an int or a numpy number too)


def assert_gradients_match(
    f: Callable[[list[Value]], Value],
    inputs: Union[int, st.SearchStrategy[Point]] = 1,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_examples: int = 100,
    kink_margin: float = KINK_MARGIN,
) -> None:
    """``gradcheck(f, point)`` at up to ``max_examples`` hypothesis-drawn points.

    When a point fails, hypothesis shrinks it to the simplest point that still fails, and a
    ``GradcheckError`` says which point and which derivatives (the gradcheck table); an
    exception raised by f is reported the same way. ``inputs`` is how many numbers f takes
    (each drawn from [-3, 3]) or a strategy drawing the point: a list of numbers, one
    number, or Values::

        @op
        def square(x):
            return x * x, (x,)          # wrong: d/dx x^2 = 2x

        assert_gradients_match(lambda vs: square(vs[0]))
        # GradcheckError: gradients do not match at [1.0], the simplest failing point ...
        assert_gradients_match(lambda vs: vs[0] / vs[1], st.tuples(values(-3, 3), values(1, 3)))

    Points where a relu, leaky_relu or abs of f's graph is within ``kink_margin`` of its
    kink are skipped (see ``kink_free``). Call it from a plain test function, not from inside
    another ``@given`` test.
    """
    if isinstance(inputs, bool) or not isinstance(inputs, (int, st.SearchStrategy)):
        raise TypeError(
            "inputs must be the number of inputs f takes or a hypothesis strategy, "
            f"got {type(inputs).__name__}: {inputs!r}"
        )
    if isinstance(inputs, int) and inputs < 1:
        raise ValueError(f"inputs must be at least 1, got {inputs}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be a positive int, got {max_examples!r}")
    points = (
        st.lists(st.floats(-3.0, 3.0), min_size=inputs, max_size=inputs)
        if isinstance(inputs, int)
        else inputs
    ).map(_point)

    def check(point: list[float]) -> None:
        out = f([Value(x) for x in point])
        if isinstance(out, Value):  # anything else gets gradcheck's error about it
            assume(kink_free(out, kink_margin))
        gradcheck(f, point, eps=eps, atol=atol, rtol=rtol)

    failure = simplest_failure(check, points, max_examples)
    if failure is None:
        return
    point, error = failure
    where = f"at {point}, the simplest failing point hypothesis found"
    if isinstance(error, GradcheckError):
        raise GradcheckError(f"gradients do not match {where}:\n{error}") from None
    raise GradcheckError(f"f raised {type(error).__name__} {where}: {error}") from error


def simplest_failure(
    check: Callable[[Example], None],
    examples: st.SearchStrategy[Example],
    max_examples: int = 100,
    derandomize: Union[bool, None] = None,
) -> Union[tuple[Example, Exception], None]:
    """The simplest drawn example on which ``check`` raises, with what it raised, or None.

    Hypothesis tries up to ``max_examples`` examples; on the first failure it shrinks the
    example (smaller numbers, shorter lists, 0 and integers first) while check still raises.
    ``check`` may call ``assume()`` to skip an example. ``derandomize=True`` makes the search
    the same on every run; None keeps the current hypothesis profile's choice.
    """

    raised: list[Exception] = []

    def fails(example: Example) -> bool:
        try:
            check(example)
        except UnsatisfiedAssumption:
            raise
        except Exception as error:
            raised[:] = [error]
            return True
        return False

    search = settings(max_examples=max_examples, deadline=None, database=None)
    if derandomize is not None:
        search = settings(search, derandomize=derandomize)
    try:
        # find() returns the example of its last call that failed: the shrunk one, replayed
        example = find(examples, fails, settings=search)
    except NoSuchExample:
        return None
    return example, raised[0]


def _point(drawn: object) -> list[float]:
    """A drawn point as a list of floats: one number or Value, or a sequence of them."""
    items = [drawn] if isinstance(drawn, (Real, Value)) else drawn
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(
            "the inputs strategy must draw numbers, Values or sequences of them, "
            f"got {type(drawn).__name__}: {drawn!r}"
        )
    return [x.data if isinstance(x, Value) else float(x) for x in items]
