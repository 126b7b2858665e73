"""Small arithmetic expressions over named variables, such as ``tanh(x*w + b)``, made into Values.

The text is parsed with Python's ``ast`` and every node is checked against an allow-list:
numbers, variable names, ``+ - * / **``, unary ``-`` and ``+``, and calls of the functions in
:func:`functions` with one argument. Nothing is ever ``eval``-ed: :meth:`Expression.evaluate`
walks the checked tree and applies Value's own operators. Anything else raises
:class:`ExpressionError`, one line saying what is wrong and at which column.

>>> e = parse_expression("tanh(x*w + b)")
>>> e.variables
('x', 'w', 'b')
>>> o = e.evaluate({"x": 2.0, "w": -3.0, "b": 6.8813735870195432})
>>> round(o.data, 4)
0.7071
"""

from __future__ import annotations

import ast
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from . import ops
from .engine import Value, apply

MAX_LENGTH = 300  # characters: "small", and shallow enough for the recursive evaluation
# an interior value is labelled with the text it stands for up to this many characters: a
# longer text would repeat most of its operands' (x + x + ... + x: the labels of a long sum
# grow with the square of its length), so it is left to the automatic names, v1, v2, ...
LABEL_LENGTH = 24


def functions() -> dict[str, ops.Op]:
    """The functions an expression may call, by name: the op table's rows of one operand that
    are written as a call, ``tanh(x)``. Read from the table each time: a new row is one."""
    return {
        row.name: row
        for row in ops.OPS
        if row.arity == 1 and not row.settings and row.symbol is None
    }


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
# a number as Python writes it, at its longest: 2, 2.5, .5, 1e-3 (not the 2 of x2)
_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def allowed() -> str:
    """What an expression may hold, for error messages and help."""
    return "numbers, variables, + - * / ** and " + ", ".join(f"{f}()" for f in functions())


# what a user wrote, in their words, for the constructs people try most
_NAMES = {
    ast.FloorDiv: "the operator //",
    ast.Mod: "the operator %",
    ast.MatMult: "the operator @",
    ast.BitXor: "the operator ^ (for powers write **)",
    ast.BitAnd: "the operator &",
    ast.BitOr: "the operator |",
    ast.LShift: "the operator <<",
    ast.RShift: "the operator >>",
    ast.Invert: "the operator ~",
    ast.Not: "not",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.Attribute: "an attribute (.)",
    ast.Subscript: "indexing ([])",
    ast.Lambda: "lambda",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "*",
    ast.Tuple: "a tuple (,)",
    ast.JoinedStr: "an f-string",
}


class ExpressionError(ValueError):
    """A bad expression, said in one line: what is wrong, the column, the offending part."""

    def __init__(self, problem: str, text: str, column: int, part: str = "") -> None:
        where = f"column {column}" + (
            f" ({part!r})" if part else " (the end)" if column > len(text) else ""
        )
        super().__init__(f"{where}: {problem}")
        self.problem, self.text, self.column, self.part = problem, text, column, part


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its syntax tree and its variables in order of use.

    ``indent`` is the number of blanks before the expression in ``text``; the tree's
    positions count from there.
    """

    text: str
    tree: ast.expr
    variables: tuple[str, ...]
    indent: int = 0

    def evaluate(self, values: Mapping[str, float | Value]) -> Value:
        """The expression's Value, labelled with the whole text, and each interior Value
        labelled by the text it stands for (``x * w``) when that is at most LABEL_LENGTH
        characters. A variable given as a number becomes a leaf labelled by its name; one
        given as a Value is used as it is (so its grad can be read after backward())."""
        for name in self.variables:
            if name not in values:
                first = next(n for n in ast.walk(self.tree) if _is_variable(n, name))
                raise self.error(f"{name} has no value (set it: {name}=NUMBER)", first)
        leaves: dict[str, Value] = {}
        for name in self.variables:
            value = values[name]
            try:
                leaves[name] = value if isinstance(value, Value) else Value(value, label=name)
            except (TypeError, ValueError, OverflowError) as error:
                raise ExpressionError(f"the value of {name}: {error}", self.text, 1) from None
        try:
            result = self._value(self.tree, leaves)
        except RecursionError:
            raise ExpressionError("nested too deeply", self.text, 1) from None
        assert isinstance(result, Value)  # parse_expression insists on a variable
        result.label = result.label or ast.unparse(self.tree)
        return result

    def error(self, problem: str, node: ast.expr) -> ExpressionError:
        """An ExpressionError pointing at node."""
        source = self.text[self.indent :]
        column = len(source.encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
        part = ast.get_source_segment(source, node) or ""
        return ExpressionError(problem, self.text, self.indent + column + 1, part)

    def _value(self, node: ast.expr, leaves: dict[str, Value]) -> Value | float:
        """The node's Value, or its float when it holds no variable (a constant, not a node)."""
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, (int, float))  # parse_expression refused the rest
            return float(node.value)
        if isinstance(node, ast.Name):
            return leaves[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self._value(node.operand, leaves)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self._applied(node, operator.neg, operand)
        if isinstance(node, ast.BinOp):
            left, right = self._value(node.left, leaves), self._value(node.right, leaves)
            return self._applied(node, _BINARY[type(node.op)], left, right)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        row = functions()[node.func.id]
        return self._applied(node, lambda v: apply(row, v), self._value(node.args[0], leaves))

    def _applied(
        self, node: ast.expr, fn: Callable[..., Value | float], *operands: Value | float
    ) -> Value | float:
        """fn(*operands) as the Value of node (labelled with its text), or a finite float."""
        try:
            result = fn(*operands)
        except (ArithmeticError, ValueError, TypeError) as error:
            problem = str(error)
            if isinstance(error, OverflowError) and "overflow" not in problem:
                problem = f"overflows a float ({problem})"  # float ** float says "out of range"
            raise self.error(problem, node) from None
        if isinstance(result, Value) and not result.label:
            text = ast.unparse(node)
            result.label = text if len(text) <= LABEL_LENGTH else ""
        elif not (isinstance(result, float) and math.isfinite(result)):
            raise self.error(f"{result!r} is not a finite real number", node)
        return result


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; raise ExpressionError naming the first problem."""
    if not isinstance(text, str):
        raise TypeError(f"an expression is a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters", text, MAX_LENGTH + 1)
    for i, char in enumerate(text):
        if not char.isprintable():
            raise ExpressionError(f"unexpected character {char!r}", text, i + 1)
    source = text.lstrip()
    if not source:
        raise ExpressionError("the expression is empty", text, 1)
    indent = len(text) - len(source)
    try:
        with warnings.catch_warnings():  # e.g. about a string's escapes: rejected below anyway
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        for number in _NUMBER.finditer(source):  # 2x: a product written as in algebra
            after = source[number.end() :]
            name = re.match(r"[^\W\d]\w*", after)
            if name:
                column = indent + number.start() + 1
                advice = f"write {number[0]}*{name[0]} for {number[0]} times {name[0]}"
                raise ExpressionError(advice, text, column, number[0] + name[0]) from None
        offset = error.offset if error.offset and 0 < error.offset <= len(source) else None
        column = indent + (offset or len(source) + 1)
        raise ExpressionError(error.msg, text, column, text[column - 1 : column]) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("nested too deeply", text, 1) from None
    unchecked = Expression(text, tree, (), indent)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    names: list[ast.Name] = []
    for node in ast.walk(tree):  # parents before children: the outermost problem is named
        problem = _problem(node, id(node) in called)
        if problem:
            # the allowed nodes' parts are all allowed: the outermost refused is an expression
            assert isinstance(node, ast.expr)
            raise unchecked.error(problem, node)
        if isinstance(node, ast.Name) and id(node) not in called:
            names.append(node)
    if not names:
        raise ExpressionError("no variables to differentiate (as in x*w + b)", text, indent + 1)
    names.sort(key=lambda name: name.col_offset)
    variables = tuple(dict.fromkeys(name.id for name in names))  # unique, in order of use
    return Expression(text, tree, variables, indent)


def _problem(node: ast.AST, is_called: bool) -> str | None:
    """What is wrong with one node of the tree, or None if the allow-list has it."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            return f"{node.value!r} is not a number; use {allowed()}"
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:
            finite = False
        return None if finite else "not a finite float"
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if isinstance(node.func, (ast.Constant, ast.BinOp, ast.UnaryOp)):
            # 2(x + 1), (x + 1)(x - 1): products written as in algebra
            return "write * between them for a product, as in 2*(x + 1)"
        if name not in functions():
            return f"unknown function; use {', '.join(functions())}"
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return f"{name}() takes one argument"
        return None
    if isinstance(node, ast.Name):
        if node.id in functions() and not is_called:
            return f"{node.id} is a function: call it, as in {node.id}(x)"
        return None
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        if type(node.op) in _BINARY or isinstance(node.op, (ast.USub, ast.UAdd)):
            return None
        return f"{_NAMES.get(type(node.op), 'this operator')} is not allowed; use {allowed()}"
    if isinstance(node, (ast.Load, ast.operator, ast.unaryop)):
        return None  # the parts of names and operations checked above
    return f"{_NAMES.get(type(node), type(node).__name__)} is not allowed; use {allowed()}"


def _is_variable(node: ast.AST, name: str) -> TypeGuard[ast.Name]:
    return isinstance(node, ast.Name) and node.id == name
