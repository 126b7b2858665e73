"""THE op table: every op once, its forward rule beside its local-derivative rule.

A row says how to compute an op's value from its operands' numbers, and how much the value moves
when each operand moves, its local derivatives. For ``x * y``: the value is ``x * y`` and the
local derivatives are ``(y, x)``, because d(xy)/dx = y and d(xy)/dy = x. That is all backprop
needs from an op; ``engine.py`` does the rest with the chain rule.

The rules are written with plain arithmetic and the few functions below, which take a float, a
Value or a numpy array, so one rule serves three uses: floats (``backward()``), Values
(gradients of gradients: ``grad(..., create_graph=True)``) and numpy arrays (``jit``).

Everything else reads its ops from here: the engine, the expression parser, the hypothesis
strategies, nn's activations, the PyTorch mapping, the numpy reference and the drawing.
Adding an op is one row here (and a method on Value, if it is to be one) plus its tests.
"""

from __future__ import annotations

import inspect
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


class Op:
    """One row of the op table.

    How it computes: ``forward(*operands, *settings) -> value``; ``derivatives(*operands,
    *settings, out)``: one local derivative per operand. ``arity`` counts the operands (None:
    any number, as in sum; ``parts`` then says how many lists they come in: dot's ws and xs);
    ``settings`` names the plain numbers after them (a power's exponent, a slope), which are
    never differentiated. A row of any number of operands is given by its ``term``, the term of
    index i from operand i of each part (sum's x_i, dot's w_i * x_i): its ``forward`` is the
    terms' correctly rounded sum, whatever their order (math.fsum).

    How it is written: ``symbol`` is the operator written between (or before) its operands,
    ``"*"`` in ``x * y`` and ``"-"`` in ``-x`` (None: written as a call, ``tanh(x)``; see
    :func:`formula`); ``operator`` is the Python function that spells it (None for the ops
    called as methods: ``x.exp()``); ``commutative``: the order of the operands changes
    nothing; ``rule``: the text of each local derivative in the names of the row's
    ``variables`` (its operands, its settings and ``out``), for the step-through page,
    written with the arithmetic of ``derivatives`` (d(a/b)/db is ``-out / b``, as computed),
    so that a learner who works it out from the numbers shown gets the number shown.

    Where it is defined: ``domain`` says it, for error messages; ``kinks`` are where (in its
    first operand) its derivative jumps; ``smooth`` where it is smooth with room to spare, so
    finite differences judge its derivatives fairly (the hypothesis strategies draw points
    there, away from the kinks too).
    """

    __slots__ = (
        "name", "forward", "derivatives", "arity", "parts", "term", "settings", "symbol",
        "operator", "commutative", "rule", "domain", "kinks", "smooth",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        derivatives: Callable[..., tuple],
        arity: int | None = 1,
        settings: tuple[str, ...] = (),
        symbol: str | None = None,
        operator: Callable[..., Any] | None = None,
        commutative: bool = False,
        rule: tuple[str, ...] = (),
        domain: str = "",
        kinks: tuple[float, ...] = (),
        smooth: Callable[..., bool] = lambda *numbers: True,
        parts: int = 1,
    ) -> None:
        # sum, dot: ``forward`` gives the term of index i; the value is the terms' exact sum
        self.term = forward if arity is None else None
        if arity is None:
            forward = _sum_of_terms(name, forward, parts)
        self.name, self.forward, self.derivatives, self.arity = name, forward, derivatives, arity
        self.parts, self.settings, self.symbol, self.operator = parts, settings, symbol, operator
        self.commutative, self.rule = commutative, rule
        self.domain, self.kinks, self.smooth = domain, kinks, smooth

    def __setattr__(self, name: str, value: Any) -> None:
        # a row is fixed once made: the engine writes each row's door from its rules when it
        # loads, so a rule changed afterwards would leave the door computing the old one
        if hasattr(self, name):
            raise AttributeError(
                f"the op table's row {self.name!r} is fixed once made, so its {name} cannot be "
                "changed: make a new Op with the rules you want (see docs/custom-ops.md)"
            )
        super().__setattr__(name, value)

    def operand_count(self, n_args: int) -> int:
        """How many of a node's ``n_args`` args are operands (the rest are settings)."""
        return n_args if self.arity is None else self.arity

    @property
    def variables(self) -> tuple[str, ...]:
        """The names its rule texts use: the operands, the settings, then ``out``. An n-ary
        row names operand i of each part by its derivatives' parameter, ``*ws_xs_out``:
        ``("w_i", "x_i", "out")``, so that dot's rule d/dw_i is ``"x_i"``."""
        parameters = inspect.signature(self.derivatives).parameters.values()
        names = [p.name for p in parameters if p.kind is not p.VAR_POSITIONAL]
        if self.arity is None:
            (rest,) = [p.name for p in parameters if p.kind is p.VAR_POSITIONAL]
            names = [f"{part[:-1]}_i" for part in rest.split("_")[:-1]] + ["out"]
        return tuple(names) or ("out",)

    def evaluate(self, *numbers: float) -> tuple[float, tuple]:
        """The value and its local derivatives, for plain numbers."""
        out = self.forward(*numbers)
        return out, self.derivatives(*numbers, out)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


class CustomOp(Op):
    """The row of an op made with ``@op``: its function gives the value and the local
    derivatives together; ``value_derivatives`` (optional) gives the derivatives in Values;
    ``vectorized`` (optional) gives both for numpy arrays, for jit."""

    __slots__ = ("function", "vectorized")

    def __init__(self, fn: Callable, arity: int, settings: tuple[str, ...],
                 value_derivatives: Callable | None, vectorized: Callable | None = None,
                 rule: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.function, self.vectorized = fn, vectorized
        super().__init__(fn.__name__, self._value, value_derivatives or self._no_rule, arity,
                         settings, rule=rule)  # fmt: skip

    @property
    def variables(self) -> tuple[str, ...]:
        """The names a rule text may use: fn's operands and settings, then ``out``."""
        parameters = inspect.signature(self.function).parameters
        return (*list(parameters)[: self.arity], *self.settings, "out")

    def evaluate(self, *numbers: float) -> tuple[float, Any]:
        result = self.function(*numbers[: self.arity], **self._settings(numbers))
        if isinstance(result, (str, bytes)) or not isinstance(result, Sequence) or len(result) != 2:
            raise TypeError(
                f"{self.name} must return a pair (value, local_grads), got "
                f"{type(result).__name__} {result!r:.60}: write return value, (d_dx,) with one "
                "derivative per operand"
            )
        return result[0], result[1]

    def _value(self, *numbers: float) -> float:
        return self.evaluate(*numbers)[0]

    def _settings(self, numbers: Sequence[float]) -> dict[str, float]:
        return dict(zip(self.settings, numbers[self.arity :]))

    def _no_rule(self, *args: object) -> tuple:
        raise NotImplementedError(
            f"create_graph=True differentiates through {self.name}, an @op with no rule for "
            f"its derivatives in Values: give one, as in @op(derivatives=lambda x, out: "
            f"(...,)), written with Value ops (x.exp(), x * x, ...), so that its derivatives "
            "can be differentiated again"
        )


# --- functions for the rules: a float, a Value (which has these methods) or a numpy array ----


def _elementary(name: str, of_float: Callable[[float], float]) -> Callable[[Any], Any]:
    def function(x: Any) -> Any:
        if isinstance(x, float):
            return of_float(x)
        if hasattr(x, name):  # a Value: the op itself, recorded in the graph
            return getattr(x, name)()
        return getattr(np, name)(x)  # an array

    function.__name__ = name
    return function


def _sigmoid_of_float(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # the same value, written so that e^-x cannot overflow
    return e / (1.0 + e)


def _sigmoid_of_array(x: Any) -> Any:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


exp = _elementary("exp", math.exp)
log = _elementary("log", math.log)
tanh = _elementary("tanh", math.tanh)
sqrt = _elementary("sqrt", math.sqrt)


def sigmoid(x: Any) -> Any:
    """σ(x) = 1 / (1 + e^-x), computed so that it never overflows."""
    return _sigmoid_of_float(x) if isinstance(x, float) else _sigmoid_of_array(x)


def _sum_of_terms(name: str, term: Callable[..., Any], parts: int) -> Callable[..., float]:
    """The value of a row of any number of operands, which come in ``parts`` lists of equal
    length: Σ_i term(operand i of each list), correctly rounded whatever the order of the terms
    (math.fsum)."""

    def value(*operands: float) -> float:
        n = len(operands) // parts
        return math.fsum(map(term, *(operands[k * n : (k + 1) * n] for k in range(parts))))

    value.__name__ = value.__qualname__ = f"exact_{name}"
    return value


def other_factors(*ws_xs_out: Any) -> tuple:
    """d(Σ w_i x_i)/dw_i = x_i and d/dx_i = w_i: the xs, then the ws (then out is left off)."""
    n = len(ws_xs_out) // 2
    return ws_xs_out[n:-1] + ws_xs_out[:n]


# fmt: off
# --- THE OP TABLE ------------------------------------------------------------------------------
#        name   forward: the value             local derivatives: d out / d each operand
ADD = Op("+",   lambda a, b: a + b,            lambda a, b, out: (1.0, 1.0),
         arity=2, symbol="+", operator=operator.add, commutative=True, rule=("1", "1"))
SUB = Op("-",   lambda a, b: a - b,            lambda a, b, out: (1.0, -1.0),
         arity=2, symbol="-", operator=operator.sub, rule=("1", "-1"))
MUL = Op("*",   lambda a, b: a * b,            lambda a, b, out: (b, a),
         arity=2, symbol="*", operator=operator.mul, commutative=True, rule=("b", "a"))
DIV = Op("/",   lambda a, b: a / b,            lambda a, b, out: (1 / b, -out / b),
         arity=2, symbol="/", operator=operator.truediv, rule=("1 / b", "-out / b"),
         domain="b != 0", smooth=lambda a, b: abs(b) > 0.1)
NEG = Op("neg", lambda a: -a,                  lambda a, out: (-1.0,),
         symbol="-", operator=operator.neg, rule=("-1",))
# x ** c, the exponent a constant (a plain number, a setting of the op: drawn as "**2")
POW_CONST = Op("**", lambda x, c: x**c,        lambda x, c, out: (c * x ** (c - 1) if c else 0.0,),
               settings=("exponent",), symbol="**", operator=operator.pow,
               rule=("c * x ** (c - 1)",), domain="x > 0, or x != 0 with an integer exponent",
               smooth=lambda x, c: abs(x) > 0.1 and (x > 0 or float(c).is_integer()))
# a ** b, the exponent a Value too: two operands, both differentiated
POW = Op("**",  lambda a, b: a**b,             lambda a, b, out: (b * a ** (b - 1), out * log(a)),
         arity=2, symbol="**", operator=operator.pow, rule=("b * a ** (b - 1)", "out * log(a)"),
         domain="a positive base (for a Value exponent)",
         smooth=lambda a, b: a > 0.1 and abs(b) < 4)
EXP = Op("exp", exp,                           lambda x, out: (out,),
         rule=("out",), smooth=lambda x: x < 4)
LOG = Op("log", log,                           lambda x, out: (1 / x,),
         rule=("1 / x",), domain="x > 0", smooth=lambda x: x > 0.1)
TANH = Op("tanh", tanh,                        lambda x, out: (1 - out * out,),
          rule=("1 - out²",))
SIGMOID = Op("sigmoid", sigmoid,               lambda x, out: (out * (1 - out),),
             rule=("out * (1 - out)",))
# (x > 0) is True or False, 1 or 0 (elementwise for an array): relu(x) = x (x > 0), and + 0.0
# turns the -0.0 that a negative x times 0 gives into 0.0
RELU = Op("relu", lambda x: x * (x > 0) + 0.0, lambda x, out: ((x > 0) * 1.0,),
          rule=("(1 if x > 0 else 0)",), kinks=(0.0,))
LEAKY_RELU = Op("leaky_relu", lambda x, s: x * (x > 0) + s * x * (x <= 0),
                lambda x, s, out: ((x > 0) * 1.0 + (x <= 0) * s,),
                settings=("slope",), rule=("(1 if x > 0 else s)",), kinks=(0.0,))
SQRT = Op("sqrt", sqrt,                        lambda x, out: (0.5 / out,),
          rule=("1 / (2 * out)",), domain="x > 0", smooth=lambda x: x > 0.1)
ABS = Op("abs", abs,                           lambda x, out: ((x > 0) * 1.0 - (x < 0) * 1.0,),
         rule=("sign(x)",), kinks=(0.0,))
# any number of operands: the term of index i, summed over i and rounded once (see Op)
SUM = Op("sum", lambda x: x,                   lambda *xs_out: (1.0,) * (len(xs_out) - 1),
         arity=None, symbol="+", commutative=True, rule=("1",))
DOT = Op("dot", operator.mul,                  other_factors,
         arity=None, parts=2, symbol="*", rule=("x_i", "w_i"))  # operands w_1..w_n, x_1..x_n
# fmt: on
# At a kink (0), relu, leaky_relu and abs take the derivative PyTorch takes. Their local
# derivative is a constant with no graph behind it, so their second derivative is 0.

OPS: tuple[Op, ...] = (ADD, SUB, MUL, DIV, NEG, POW_CONST, POW, EXP, LOG, TANH, SIGMOID, RELU,
                       LEAKY_RELU, SQRT, ABS, SUM, DOT)  # fmt: skip


# --- how an op is written -----------------------------------------------------------------------


def formula(
    row: Op,
    operands: Sequence[str | float],
    settings: Sequence[float] = (),
    number: Callable[[float], str] = repr,
) -> str:
    """How ``row`` applied to ``operands`` reads: each operand a name (str) or a number, each
    number written by ``number``::

        x * w    -x    x ** 2.0    tanh(x * w)    leaky_relu(x, slope=0.2)    a + b + c
        w1 * x1 + w2 * x2 (dot)    2.0 * (-3.0)    (x * w) + b

    Beside an operator, an operand that is not a plain name or number is put in parentheses;
    a call's arguments stand apart. A setting is written as an operand after an operator
    (``x ** 2.0``) and by its name in a call (``slope=0.2``).
    """

    def text(x: str | float) -> str:
        return x if isinstance(x, str) else number(x)

    if row.symbol is None:  # a call: tanh(x), leaky_relu(x, slope=0.2)
        named = [f"{name}={number(v)}" for name, v in zip(row.settings, settings)]
        return f"{row.name}({', '.join([*map(text, operands), *named])})"
    terms = [term(text(x)) for x in (*operands, *settings)]
    if len(terms) == 1:  # -x; a sum of one term, sum(x)
        return f"{row.symbol}{terms[0]}" if row.arity == 1 else f"{row.name}({terms[0]})"
    if row.parts == 2:  # w1 * x1 + w2 * x2
        n = len(terms) // 2
        return " + ".join(f"{w} {row.symbol} {x}" for w, x in zip(terms[:n], terms[n:]))
    return f" {row.symbol} ".join(terms)


def term(text: str) -> str:
    """text as one operand beside an operator: a plain name (x1, layers.0.w.1) or a number
    that is not negative stands alone; anything else goes in parentheses, so that a label such
    as ``x * w`` reads as one operand: ``(x * w) + b``, ``2.0 * (-3.0)``."""
    plain = text.replace("_", "a").replace(".", "a").isalnum()
    return text if plain or re.fullmatch(r"\d[\d.]*(e[-+]?\d+)?", text) else f"({text})"


def rule_with(
    row: Op, position: int, values: Mapping[str, str | float], number: Callable[[float], str] = repr
) -> str:
    """The rule of d out / d operand ``position`` (for an n-ary row, of part ``position``)
    with each of the row's variables in ``values`` replaced by a name or a number:
    ``rule_with(TANH, 0, {"out": 0.7071})`` is ``"1 - 0.7071²"``. "" if the row has no rule
    text (an ``@op`` that gives none)."""
    if position >= len(row.rule):
        return ""

    def replace(match: re.Match) -> str:
        x = values[match.group(0)]
        text = x if isinstance(x, str) else number(x)
        start, end = match.start(), match.end()  # alone in parentheses already: sign(-1.0)
        alone = match.string[start - 1 : start] == "(" and match.string[end : end + 1] == ")"
        return text if alone else term(text)

    if not values:
        return row.rule[position]
    names = "|".join(re.escape(name) for name in sorted(values, key=len, reverse=True))
    # whole names only: "x" in "exp(x)" but not in "exp"; (not \b: "²" counts as a letter)
    return re.sub(rf"(?<![A-Za-z0-9_])(?:{names})(?![A-Za-z0-9_])", replace, row.rule[position])


def local_rule(
    row: Op,
    k: int,
    operands: Sequence[str | float],
    settings: Sequence[float],
    out: str | float,
    number: Callable[[float], str] = repr,
) -> str:
    """The rule of d out / d operands[k], written with the operands, the settings and ``out``
    as given (names or numbers, see :func:`rule_with`): for ``o = tanh(n)``,
    ``local_rule(TANH, 0, ["n"], [], "o") == "1 - o²"``; for a dot of n pairs, operand k is
    ``w_i`` or ``x_i`` of pair i = k mod n. "" for a row without rule texts."""
    names = row.variables[:-1]
    if row.arity is not None:
        return rule_with(row, k, dict(zip(row.variables, [*operands, *settings, out])), number)
    n = len(operands) // row.parts  # the operands come part by part: w_1..w_n, x_1..x_n
    values = {name: operands[part * n + k % n] for part, name in enumerate(names)}
    return rule_with(row, k // n, {**values, "out": out}, number)
