"""The ten exercises: for each function a learner completes, the truth it is judged against.

The truth is always a scalar built of Values (the ``loss`` of each Part): the engine's
``backward()`` and finite differences of it are the two references the checker compares the
learner's derivatives with. The inputs are drawn by hypothesis, inside each function's domain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from .. import losses
from ..engine import Value
from ..testing import KINK_MARGIN
from .checker import Case, Exercise, Part, WrongAnswer


def _reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _array(shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    return arrays(np.float64, shape, elements=_reals(low, high))


def _sizes(low: int, high: int) -> st.SearchStrategy[int]:
    """Sizes from low to high, shrinking towards low, then 3, 4, ... and to 2 only last: at a
    size of 2, a lost 1/N and a stray factor of 2 give the same numbers, so a counterexample
    there could not tell the learner which mistake it is."""
    return st.sampled_from(sorted(range(low, high + 1), key=lambda n: (n == 2, n)))


def _cases(**entries: st.SearchStrategy[Any]) -> st.SearchStrategy[Case]:
    return st.fixed_dictionaries(entries)


def _elementwise(fn: Any, values: np.ndarray) -> np.ndarray:
    return np.array([fn(v) for v in values.ravel()], dtype=object).reshape(values.shape)


# --- 1. local derivatives of +, * and / ----------------------------------------------------

_pairs = _cases(a=_reals(-10.0, 10.0), b=_reals(-10.0, 10.0))


def _local(function: str, symbol: str, loss: Any, cases: st.SearchStrategy[Case]) -> Part:
    return Part(
        function,
        cases,
        ("a", "b"),
        lambda case, v: loss(v["a"], v["b"]),
        f"d(a {symbol} b)/d{{}}",
        lambda fn, case: fn(case["a"], case["b"]),
    )


LOCAL_DERIVATIVES = Exercise(
    1,
    "ex01_local_derivatives",
    "local derivatives of +, *, /",
    (
        _local("add_derivatives", "+", lambda a, b: a + b, _pairs),
        _local("mul_derivatives", "*", lambda a, b: a * b, _pairs),
        _local(
            "div_derivatives",
            "/",
            lambda a, b: a / b,
            _cases(a=_reals(-10.0, 10.0), b=_reals(-10.0, 10.0).filter(lambda b: abs(b) >= 0.1)),
        ),
    ),
)


# --- 2-4. activations: one derivative each --------------------------------------------------

# mostly where the curve bends, but far out too: beyond |x| = 709.78, e**|x| overflows a float,
# so a derivative written with a fresh exponential fails there, and one written with the
# function's own value (as the exercises ask) does not
_wide = st.one_of(_reals(-10, 10), _reals(-1000, 1000))


def _activation(function: str, name: str, loss: Any, cases: st.SearchStrategy[Case]) -> Part:
    return Part(
        function,
        cases,
        ("x",),
        lambda case, v: loss(v["x"]),
        f"d {name}(x)/d{{}}",
        lambda fn, case: fn(case["x"]),
    )


SIGMOID = Exercise(
    2,
    "ex02_sigmoid",
    "sigmoid",
    (_activation("sigmoid_derivative", "sigmoid", Value.sigmoid, _cases(x=_wide)),),
)

TANH = Exercise(
    3,
    "ex03_tanh",
    "tanh",
    (_activation("tanh_derivative", "tanh", Value.tanh, _cases(x=_wide)),),
)

# x = 0 exactly is drawn on purpose: the kink, where only the engine's convention can judge
_around_the_kink = st.one_of(st.just(0.0), _reals(-5, 5))

RELU = Exercise(
    4,
    "ex04_relu",
    "ReLU and leaky ReLU",
    (
        _activation("relu_derivative", "relu", Value.relu, _cases(x=_around_the_kink)),
        Part(
            "leaky_relu_derivative",
            _cases(x=_around_the_kink, slope=_reals(0.01, 0.5)),
            ("x",),
            lambda case, v: v["x"].leaky_relu(case["slope"]),
            "d leaky_relu(x)/d{}",
            lambda fn, case: fn(case["x"], case["slope"]),
        ),
    ),
)


# --- 5. softmax + cross-entropy -------------------------------------------------------------


@st.composite
def _logits_and_one_hot(draw: st.DrawFn) -> Case:
    k = draw(st.integers(2, 5))
    z = draw(_array((k,), -5.0, 5.0))
    y = np.zeros(k)
    y[draw(st.integers(0, k - 1))] = 1.0
    return {"z": z, "y": y}


SOFTMAX_CROSS_ENTROPY = Exercise(
    5,
    "ex05_softmax_cross_entropy",
    "softmax + cross-entropy",
    (
        Part(
            "softmax_cross_entropy_grad",
            _logits_and_one_hot(),
            ("z",),
            lambda case, v: losses.cross_entropy(list(v["z"]), int(np.argmax(case["y"]))),
            "dL/d{}",
            lambda fn, case: fn(case["z"], case["y"]),
            size=("K", lambda case: len(case["z"])),
        ),
    ),
)


# --- 6. mean squared error ------------------------------------------------------------------


@st.composite
def _predictions_and_targets(draw: st.DrawFn) -> Case:
    n = draw(_sizes(1, 6))
    return {"y_hat": draw(_array((n,), -5.0, 5.0)), "y": draw(_array((n,), -5.0, 5.0))}


MSE = Exercise(
    6,
    "ex06_mse",
    "mean squared error",
    (
        Part(
            "mse_grad",
            _predictions_and_targets(),
            ("y_hat",),
            lambda case, v: losses.mse(list(v["y_hat"]), case["y"].tolist()),
            "dL/d{}",
            lambda fn, case: fn(case["y_hat"], case["y"]),
            size=("N", lambda case: len(case["y_hat"])),
        ),
    ),
)


# --- 7. a dense layer, in numpy -------------------------------------------------------------


@st.composite
def _dense_layer(draw: st.DrawFn) -> Case:
    n, n_in, n_out = (draw(st.integers(1, 3)) for _ in range(3))
    return {
        "X": draw(_array((n, n_in))),
        "W": draw(_array((n_in, n_out))),
        "b": draw(_array((n_out,))),
        "dZ": draw(_array((n, n_out))),
    }


def _dense_loss(case: Case, v: dict[str, Any]) -> Value:
    """L = Σ dZ ⊙ Z with Z = X W + b, so that dL/dZ is exactly the upstream gradient dZ."""
    z = v["X"] @ v["W"] + v["b"]
    return Value.sum((case["dZ"] * z).ravel().tolist())


DENSE_LAYER = Exercise(
    7,
    "ex07_dense_layer",
    "a dense layer in numpy",
    (
        Part(
            "dense_backward",
            _dense_layer(),
            ("X", "W", "b"),
            _dense_loss,
            "dL/d{}",
            lambda fn, case: fn(case["X"], case["W"], case["b"], case["dZ"]),
            size=("N", lambda case: len(case["X"])),
        ),
    ),
)


# --- 8. backprop by hand through a 2-layer network ------------------------------------------


@st.composite
def _two_layer_network(draw: st.DrawFn) -> Case:
    m, n_in, hidden = draw(_sizes(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return {
        "X": draw(_array((m, n_in))),
        "Y": draw(arrays(np.float64, (m, 1), elements=st.sampled_from([0.0, 1.0]))),
        "W1": draw(_array((n_in, hidden))),
        "b1": draw(_array((hidden,))),
        "W2": draw(_array((hidden, 1))),
        "b2": draw(_array((1,))),
    }


def _away_from_relu_kink(case: Case) -> bool:
    """Every hidden pre-activation at least KINK_MARGIN off the kink, so that > 0 and >= 0
    agree and finite differences judge every weight."""
    return bool(np.all(np.abs(case["X"] @ case["W1"] + case["b1"]) > KINK_MARGIN))


def _two_layer_loss(case: Case, v: dict[str, Any]) -> Value:
    """Mean binary cross-entropy of sigmoid(relu(X W1 + b1) W2 + b2) against Y."""
    hidden = _elementwise(Value.relu, case["X"] @ v["W1"] + v["b1"])
    logits = hidden @ v["W2"] + v["b2"]
    return losses.binary_cross_entropy_with_logits(logits.ravel().tolist(), case["Y"].ravel())


_PARAMETERS = ("W1", "b1", "W2", "b2")


def _by_parameter(grads: Any) -> tuple[Any, ...]:
    if not isinstance(grads, dict) or set(grads) != set(_PARAMETERS):
        raise WrongAnswer(
            "backward must return a dict of the four gradients",
            "{'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}",
            f"{grads!r:.80}",
        )
    return tuple(grads[p] for p in _PARAMETERS)


TWO_LAYER_NETWORK = Exercise(
    8,
    "ex08_two_layer_network",
    "backprop through a 2-layer network",
    (
        Part(
            "backward",
            _two_layer_network().filter(_away_from_relu_kink),
            _PARAMETERS,
            _two_layer_loss,
            "dL/d{}",
            lambda fn, case: _by_parameter(fn(*(case[k] for k in ("X", "Y", *_PARAMETERS)))),
            size=("m", lambda case: len(case["X"])),
        ),
    ),
)


# --- 9-10. custom ops -----------------------------------------------------------------------


def _huber(x: Value, delta: float) -> Value:
    """x^2 / 2 for |x| <= delta, delta (|x| - delta / 2) beyond: built of the engine's ops."""
    return 0.5 * x * x if abs(x.data) <= delta else delta * (abs(x) - 0.5 * delta)


CUSTOM_OP = Exercise(
    9,
    "ex09_custom_op",
    "a custom op: swish",
    (
        Part(
            "swish",
            _cases(x=_wide),
            ("x",),
            lambda case, v: v["x"] * v["x"].sigmoid(),
            "d swish(x)/d{}",
        ),
    ),
)

FIND_THE_BUG = Exercise(
    10,
    "ex10_find_the_bug",
    "find the bug",
    (
        Part(
            "huber_fixed",
            _cases(x=_reals(-4, 4), delta=_reals(0.5, 2.0)),
            ("x",),
            lambda case, v: _huber(v["x"], case["delta"]),
            "d huber(x)/d{}",
            settings=("delta",),
        ),
    ),
)

EXERCISES: dict[int, Exercise] = {
    e.number: e
    for e in (
        LOCAL_DERIVATIVES,
        SIGMOID,
        TANH,
        RELU,
        SOFTMAX_CROSS_ENTROPY,
        MSE,
        DENSE_LAYER,
        TWO_LAYER_NETWORK,
        CUSTOM_OP,
        FIND_THE_BUG,
    )
}
