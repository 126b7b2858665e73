"""Gradient checking: compare the engine's derivatives with finite differences.

The central difference

    df/dx_i ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

has an error of order eps^2 and uses no derivative at all, so it independently checks every
local derivative that backward() chained together. A derivative passes when

    |analytic - numeric| <= atol + rtol * |numeric|,

the same test as ``torch.autograd.gradcheck``. ``gradgradcheck`` does the same one order up:
the second derivatives (the Hessian, from ``grad(..., create_graph=True)``) against central
differences of the first derivatives.

The step is relative past 1: h = eps · max(1, |x_i|). A fixed step would vanish in rounding
at large x (1e154 + 1e-6 == 1e154, and every difference would be 0), while near 0 a step
scaled by |x| would shrink to nothing. Where f cannot be evaluated at x ± h (log near 0), the
error names the point asked about, and why. Where the point is on a kink (relu at 0) or within
a step of one, the derivative jumps there and no finite difference can check it: a failure
says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from typing import TypeVar

from .engine import Value, grad, interior_nodes_children_first
from .nn import Module
from .ops import Op

Function = Callable[[list[Value]], Value]
Result = TypeVar("Result")  # what a probed function returns: f's number, or the gradient's list


class GradcheckError(AssertionError):
    """backward() and finite differences disagree; the message is a table saying where."""


def numerical_grad(f: Function, inputs: Sequence[float], eps: float = 1e-6) -> list[float]:
    """df/dx_i at ``inputs`` by central differences, for f taking a list of Values, with the
    step eps · max(1, |x_i|)."""
    _callable(f, "f")
    point = _floats(inputs, "inputs")
    return _central_differences(
        lambda xs: _scalar_output(f, xs), point, _positive(eps, "eps"), _input_names(point)
    )


def gradcheck(
    f: Function,
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check f's backward() gradients at ``inputs`` against ``numerical_grad``.

    Returns True when every derivative agrees. Otherwise raises ``GradcheckError`` (a table of
    each input, its analytic and numeric derivative, and which disagree), or returns False
    when ``raise_exception`` is False.
    """
    _callable(f, "f")
    point = _floats(inputs, "inputs")
    if not point:  # there would be nothing to check, and a pass would mean nothing
        raise ValueError("gradcheck needs at least one input to check, got an empty list")
    eps = _positive(eps, "eps")
    atol, rtol = _non_negative(atol, "atol"), _non_negative(rtol, "rtol")
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    _call(f, xs).backward()
    analytic = [x.grad for x in xs]
    names = _input_names(point)
    numeric = _central_differences(lambda p: _scalar_output(f, p), point, eps, names)
    bad = _disagreeing(analytic, numeric, atol, rtol)
    notes = _kink_notes(lambda p: _call(f, [Value(x) for x in p]), point, eps, bad, names)
    rows = [str(i) for i in range(len(point))]
    return _compare(rows, point, analytic, numeric, atol, rtol, raise_exception, notes=notes)


def hessian(f: Function, inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives H[i][j] = d²f / dx_i dx_j at ``inputs``.

    The engine differentiates f's gradient again: ``grad(f, xs, create_graph=True)`` gives each
    df/dx_i as a Value whose graph reaches the xs, and ``grad`` of that gives row i. An input
    that a first derivative does not depend on gets 0 (f = x * y: d²f/dx² = 0).
    """
    _callable(f, "f")
    point = _floats(inputs, "inputs")
    if not point:
        raise ValueError("hessian needs at least one input, got an empty list")
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    first = grad(_call(f, xs), xs, create_graph=True, allow_unused=True)
    return [[d.data for d in grad(g, xs, allow_unused=True)] for g in first]


def gradgradcheck(
    f: Function,
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check f's second derivatives (``hessian``) against central differences of its first.

    d²f/dx_i dx_j ≈ (df/dx_j(x + eps e_i) - df/dx_j(x - eps e_i)) / (2 eps), with df/dx_j
    computed by the engine: so a wrong rule for the derivatives in Values (an ``@op``'s
    ``derivatives``) shows, even where the first derivatives are right. Returns True, or raises
    ``GradcheckError`` with the same table as ``gradcheck`` (one row per pair i,j), or returns
    False when ``raise_exception`` is False.
    """
    _callable(f, "f")
    point = _floats(inputs, "inputs")
    if not point:
        raise ValueError("gradgradcheck needs at least one input to check, got an empty list")
    eps = _positive(eps, "eps")
    atol, rtol = _non_negative(atol, "atol"), _non_negative(rtol, "rtol")
    analytic = hessian(f, point)

    def gradient(p: list[float]) -> list[float]:
        xs = [Value(x) for x in p]
        return [d.data for d in grad(_call(f, xs), xs, allow_unused=True)]

    n = len(point)
    names = _input_names(point)
    numeric = []  # numeric[i][j]: d/dx_i of df/dx_j, by a central difference in x_i
    for i in range(n):
        h = _step(point[i], eps)
        plus, minus = (_probe(gradient, point, i, d, names[i]) for d in (h, -h))
        numeric.append([(p - m) / (2.0 * h) for p, m in zip(plus, minus)])
    pairs = [(i, j) for i in range(n) for j in range(n)]
    return _compare(
        [f"{i},{j}" for i, j in pairs],
        [point[i] for i, _ in pairs],
        [analytic[i][j] for i, j in pairs],
        [numeric[i][j] for i, j in pairs],
        atol,
        rtol,
        raise_exception,
        check="gradgradcheck",
    )


def gradcheck_module(
    model: Module,
    loss_fn: Callable[[Module], Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check d loss / d p for every parameter p of ``model``, perturbing each one in turn.

    ``loss_fn(model)`` computes the loss, e.g. ``lambda m: losses.mse(m(x), y)``. The model's
    parameters and their grads are exactly as before when this returns or raises.
    """
    if not isinstance(model, Module):
        raise TypeError(f"gradcheck_module needs a Module, got {type(model).__name__}")
    _callable(loss_fn, "loss_fn")
    eps = _positive(eps, "eps")
    atol, rtol = _non_negative(atol, "atol"), _non_negative(rtol, "rtol")
    named = model.named_parameters()
    if not named:
        raise ValueError(f"gradcheck_module: {model!r} has no parameters to check")
    params = [p for _, p in named]
    saved_data = [p.data for p in params]
    saved_grads = [p.grad for p in params]

    def loss_at(point: list[float]) -> float:
        for p, x in zip(params, point):
            p.data = x
        return _output(loss_fn(model), "loss_fn").data

    try:
        for p in params:
            p.grad = 0.0
        _output(loss_fn(model), "loss_fn").backward()
        analytic = [p.grad for p in params]
        names = [f"parameter {name}" for name, _ in named]
        numeric = _central_differences(loss_at, saved_data, eps, names)
    finally:
        for p, x, g in zip(params, saved_data, saved_grads):
            p.data, p.grad = x, g
    rows = [name for name, _ in named]
    return _compare(rows, saved_data, analytic, numeric, atol, rtol, raise_exception)


def _step(x: float, eps: float) -> float:
    """The finite-difference step at x: eps, times |x| past 1 (see the module's docstring)."""
    return eps * max(1.0, abs(x))


def _input_names(point: list[float]) -> list[str]:
    return [f"inputs[{i}]" for i in range(len(point))]


def _probe(
    evaluate: Callable[[list[float]], Result],
    point: list[float],
    i: int,
    shift: float,
    name: str,
) -> Result:
    """evaluate(point with x_i moved by shift); an error there names the point asked about
    (``name`` = x_i) before the point probed, and what to do about it."""
    shifted = list(point)
    shifted[i] = point[i] + shift
    try:
        return evaluate(shifted)
    except (ArithmeticError, ValueError) as error:
        sign = "+" if shift > 0 else "-"
        raise type(error)(
            f"cannot check the derivative at {name} = {point[i]!r}: finite differences "
            f"evaluate f a step of {abs(shift):.3g} away, at {name} {sign} {abs(shift):.3g}, "
            f"and there it fails ({error}). Check at a point farther than the step from where "
            "f is undefined, or pass a smaller eps"
        ) from None


def _central_differences(
    evaluate: Callable[[list[float]], float], point: list[float], eps: float, names: list[str]
) -> list[float]:
    grads = []
    for i, x in enumerate(point):
        h = _step(x, eps)
        f_plus = _probe(evaluate, point, i, h, names[i])
        f_minus = _probe(evaluate, point, i, -h, names[i])
        grads.append((f_plus - f_minus) / (2.0 * h))
    return grads


def kink_inputs(root: Value) -> list[tuple[Op, float, float]]:
    """(op, kink, x) for each node of root's graph whose op has kinks (relu, leaky_relu, abs:
    ``Op.kinks``), x being the node's input, in a fixed order for a graph of one shape."""
    found = []
    for node in interior_nodes_children_first(root):
        row = node.row
        assert row is not None  # an interior node: made by an op
        first = node.args[0]
        x = first.data if isinstance(first, Value) else first
        found += [(row, kink, x) for kink in row.kinks]
    return found


def _kink_notes(
    build: Callable[[list[float]], Value],
    point: list[float],
    eps: float,
    bad: list[bool],
    names: list[str],
) -> list[str]:
    """For each failing input on a kink of f, or within a step of one, a line saying so."""
    notes: list[str] = []
    if not any(bad):
        return notes
    at = kink_inputs(build(point))
    for i, failed in enumerate(bad):
        if not failed:
            continue
        h = _step(point[i], eps)
        sides = []
        for shift in (h, -h):
            shifted = list(point)
            shifted[i] += shift
            sides.append(kink_inputs(build(shifted)))
        for k, (op, kink, x) in enumerate(at):
            probed = [side[k][2] for side in sides if len(side) == len(at)]
            if x == kink:
                where = f"puts the input of {op.name} on its kink, at {kink!r}"
            elif len(probed) == 2 and (probed[0] - kink) * (probed[1] - kink) < 0:
                where = (
                    f"puts the input of {op.name} at {x!r}, within a step ({h:.3g}) of its kink "
                    f"at {kink!r}"
                )
            else:
                continue
            notes.append(
                f"{names[i]} = {point[i]!r} {where}: the derivative jumps at a kink, so finite "
                "differences there average the two sides and check nothing; check at a point "
                "away from the kink"
            )
            break
    return notes


def _disagreeing(
    analytic: list[float], numeric: list[float], atol: float, rtol: float
) -> list[bool]:
    """|analytic - numeric| > atol + rtol * |numeric|, for each derivative."""
    return [abs(a - n) > atol + rtol * abs(n) for a, n in zip(analytic, numeric)]


def _compare(
    names: list[str],
    point: list[float],
    analytic: list[float],
    numeric: list[float],
    atol: float,
    rtol: float,
    raise_exception: bool,
    check: str = "gradcheck",
    notes: Sequence[str] = (),
) -> bool:
    bad = _disagreeing(analytic, numeric, atol, rtol)
    if not any(bad):
        return True
    if not raise_exception:
        return False
    first_order = check == "gradcheck"
    what, column = ("derivatives", "input") if first_order else ("second derivatives", "i,j")
    width = max(5, *(len(name) for name in names))
    lines = [
        f"{check} failed: {sum(bad)} of {len(bad)} {what} disagree "
        f"(|analytic - numeric| > atol + rtol * |numeric|, atol={atol:g}, rtol={rtol:g})",
        f"  {column:>{width}}  {'at':>12}  {'analytic':>14}  {'numeric':>14}  {'abs error':>10}",
    ]
    for name, x, a, n, b in zip(names, point, analytic, numeric, bad):
        mark = "  <-- FAIL" if b else ""
        lines.append(
            f"  {name:>{width}}  {x:>12.6g}  {a:>14.8g}  {n:>14.8g}  {abs(a - n):>10.3g}{mark}"
        )
    raise GradcheckError("\n".join(lines + list(notes)))


def _call(f: Function, xs: list[Value]) -> Value:
    return _output(f(xs), "f")


def _scalar_output(f: Function, point: list[float]) -> float:
    return _call(f, [Value(x) for x in point]).data


def _output(out: object, who: str) -> Value:
    if not isinstance(out, Value):
        raise TypeError(
            f"{who} must return a single Value (a scalar to differentiate), "
            f"got {type(out).__name__}: {out!r:.80}"
        )
    return out


def _callable(f: object, name: str) -> None:
    if not callable(f):
        raise TypeError(
            f"{name} must be a function taking a list of Values, got {type(f).__name__}: {f!r:.60}"
        )


def _floats(xs: object, what: str) -> list[float]:
    if isinstance(xs, (str, bytes, Value, Real)) or not isinstance(xs, Iterable):
        raise TypeError(f"{what} must be a list of numbers, got {type(xs).__name__}: {xs!r}")
    point = []
    for i, x in enumerate(xs):
        if isinstance(x, Value):
            x = x.data
        if isinstance(x, bool) or not isinstance(x, Real):
            raise TypeError(f"{what}[{i}] must be a number, got {type(x).__name__}: {x!r}")
        if not math.isfinite(x):
            raise ValueError(f"{what}[{i}] must be finite, got {x!r}")
        point.append(float(x))
    return point


def _positive(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 < float(x) < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def _non_negative(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 <= float(x) < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)
