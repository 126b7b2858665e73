"""Gradient checking: compare the engine's derivatives with finite differences.

The central difference

    df/dx_i ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

has an error of order eps^2 and uses no derivative at all, so it independently checks every
local derivative that backward() chained together. A derivative passes when

    |analytic - numeric| <= atol + rtol * |numeric|,

the same test as ``torch.autograd.gradcheck``. ``gradgradcheck`` does the same one order up:
the second derivatives (the Hessian, from ``grad(..., create_graph=True)``) against central
differences of the first derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real

from .engine import Value, grad
from .nn import Module

Function = Callable[[list[Value]], Value]


class GradcheckError(AssertionError):
    """backward() and finite differences disagree; the message is a table saying where."""


def numerical_grad(f: Function, inputs: Sequence[float], eps: float = 1e-6) -> list[float]:
    """df/dx_i at ``inputs`` by central differences, for f taking a list of Values."""
    _callable(f, "f")
    point = _floats(inputs, "inputs")
    return _central_differences(lambda xs: _scalar_output(f, xs), point, _positive(eps, "eps"))


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
    numeric = _central_differences(lambda p: _scalar_output(f, p), point, eps)
    names = [str(i) for i in range(len(point))]
    return _compare(names, point, analytic, numeric, atol, rtol, raise_exception)


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
    numeric = []  # numeric[i][j]: d/dx_i of df/dx_j, by a central difference in x_i
    for i in range(n):
        shifted = list(point)
        shifted[i] = point[i] + eps
        plus = gradient(shifted)
        shifted[i] = point[i] - eps
        minus = gradient(shifted)
        numeric.append([(p - m) / (2.0 * eps) for p, m in zip(plus, minus)])
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
        numeric = _central_differences(loss_at, saved_data, eps)
    finally:
        for p, x, g in zip(params, saved_data, saved_grads):
            p.data, p.grad = x, g
    names = [name for name, _ in named]
    return _compare(names, saved_data, analytic, numeric, atol, rtol, raise_exception)


def _central_differences(
    evaluate: Callable[[list[float]], float], point: list[float], eps: float
) -> list[float]:
    grads = []
    for i, x in enumerate(point):
        shifted = list(point)
        shifted[i] = x + eps
        f_plus = evaluate(shifted)
        shifted[i] = x - eps
        f_minus = evaluate(shifted)
        grads.append((f_plus - f_minus) / (2.0 * eps))
    return grads


def _compare(
    names: list[str],
    point: list[float],
    analytic: list[float],
    numeric: list[float],
    atol: float,
    rtol: float,
    raise_exception: bool,
    check: str = "gradcheck",
) -> bool:
    bad = [abs(a - n) > atol + rtol * abs(n) for a, n in zip(analytic, numeric)]
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
    raise GradcheckError("\n".join(lines))


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


def _floats(xs: Sequence[float], what: str) -> list[float]:
    if isinstance(xs, (str, bytes, Value, Real)) or not hasattr(xs, "__iter__"):
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
    if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 < x < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def _non_negative(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 <= x < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)
