"""The exercise checker: right answers pass, plausible wrong ones fail naming the derivative.

Reference solutions live in tests/exercise_solutions/ (init never hands them out). Each wrong
answer below is a mistake a learner makes: a sign error, a missing factor, a wrong axis.
"""

import importlib
import importlib.util
import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import Value, gradcheck, op
from tinygrad_edu.exercises import EXERCISES, check_module, format_report

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
EXAMPLES = 30  # drawn inputs per function: plenty to catch these mistakes, and quick


def solution(number):
    path = SOLUTIONS / EXERCISES[number].filename
    spec = importlib.util.spec_from_file_location(f"solution_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def handout(number):
    return importlib.import_module(f"tinygrad_edu.exercises.handouts.{EXERCISES[number].name}")


def answer(number, **functions):
    """The reference solution to exercise `number` with some functions replaced."""
    return SimpleNamespace(**{**vars(solution(number)), **functions})


def sigmoid(x):
    return 0.5 * (1.0 + math.tanh(0.5 * x))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def backward_with(mask=lambda Z1: Z1 > 0, scale=lambda m: 1 / m, axis=0, w2_input="A1"):
    """Exercise 8's backward pass, with one step changeable to a learner's mistake."""

    def backward(X, Y, W1, b1, W2, b2):
        Z1 = X @ W1 + b1
        A1 = np.maximum(Z1, 0.0)
        A2 = 1.0 / (1.0 + np.exp(-(A1 @ W2 + b2)))
        dZ2 = (A2 - Y) * scale(len(X))
        dZ1 = (dZ2 @ W2.T) * mask(Z1)
        dW2 = (A1 if w2_input == "A1" else Z1).T @ dZ2
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=axis), "W2": dW2, "b2": dZ2.sum(axis=0)}

    return backward


def swish_op(derivative, value=lambda x, s: x * s):
    """An @op named swish (as the checker requires) with the given value and derivative."""

    @op
    def swish(x):
        s = sigmoid(x)
        return value(x, s), (derivative(x, s),)

    return swish


def swish_not_an_op(x):
    return x * x.sigmoid()


def huber_fixed_op(slope_beyond_delta):
    """An @op named huber_fixed, right up to |x| = delta and with the given slope beyond."""

    @op
    def huber_fixed(x, delta=1.0):
        if abs(x) <= delta:
            return 0.5 * x * x, (x,)
        return delta * (abs(x) - 0.5 * delta), (slope_beyond_delta(x, delta),)

    return huber_fixed


WRONG_ANSWERS = {
    "1: d(a+b)/db taken as 0": (1, {"add_derivatives": lambda a, b: (1.0, 0.0)}, "d(a + b)/db"),
    "1: a*b's derivatives swapped": (1, {"mul_derivatives": lambda a, b: (a, b)}, "d(a * b)/da"),
    "1: a/b's sign error": (1, {"div_derivatives": lambda a, b: (1 / b, a / b**2)}, "d(a / b)/db"),
    "2: sign error": (
        2,
        {"sigmoid_derivative": lambda x: -sigmoid(x) * (1 - sigmoid(x))},
        "d sigmoid(x)/dx",
    ),
    "2: 1 + s for 1 - s": (
        2,
        {"sigmoid_derivative": lambda x: sigmoid(x) * (1 + sigmoid(x))},
        "d sigmoid(x)/dx",
    ),
    "2: missing factor": (2, {"sigmoid_derivative": sigmoid}, "d sigmoid(x)/dx"),
    "3: sign error": (3, {"tanh_derivative": lambda x: 1 + math.tanh(x) ** 2}, "d tanh(x)/dx"),
    "3: missing square": (3, {"tanh_derivative": lambda x: 1 - math.tanh(x)}, "d tanh(x)/dx"),
    "4: relu 1 at the kink": (4, {"relu_derivative": lambda x: float(x >= 0)}, "d relu(x)/dx"),
    "4: relu sides swapped": (4, {"relu_derivative": lambda x: float(x < 0)}, "d relu(x)/dx"),
    "4: leaky slope fixed at 0.01": (
        4,
        {"leaky_relu_derivative": lambda x, slope: 1.0 if x > 0 else 0.01},
        "d leaky_relu(x)/dx",
    ),
    "4: leaky slope times x": (
        4,
        {"leaky_relu_derivative": lambda x, slope: 1.0 if x > 0 else slope * x},
        "d leaky_relu(x)/dx",
    ),
    "5: sign error": (5, {"softmax_cross_entropy_grad": lambda z, y: y - softmax(z)}, "dL/dz"),
    "5: y forgotten": (5, {"softmax_cross_entropy_grad": lambda z, y: softmax(z)}, "dL/dz"),
    "5: divided by K": (
        5,
        {"softmax_cross_entropy_grad": lambda z, y: (softmax(z) - y) / len(z)},
        "dL/dz",
    ),
    "6: missing 1/N": (6, {"mse_grad": lambda p, y: 2 * (p - y)}, "dL/dy_hat"),
    "6: missing 2": (6, {"mse_grad": lambda p, y: (p - y) / len(p)}, "dL/dy_hat"),
    "6: sign error": (6, {"mse_grad": lambda p, y: 2 * (y - p) / len(p)}, "dL/dy_hat"),
    "7: db summed over the wrong axis": (
        7,
        {"dense_backward": lambda X, W, b, dZ: (dZ @ W.T, X.T @ dZ, dZ.sum(axis=1))},
        "dL/db",
    ),
    "7: dW transposed": (
        7,
        {"dense_backward": lambda X, W, b, dZ: (dZ @ W.T, dZ.T @ X, dZ.sum(axis=0))},
        "dL/dW",
    ),
    "7: the local derivatives returned as gradients": (
        7,
        {"dense_backward": lambda X, W, b, dZ: (W, X, dZ.sum(axis=0))},
        "dL/dX",
    ),
    "8: missing 1/m": (8, {"backward": backward_with(scale=lambda m: 1.0)}, "dL/dW2"),
    "8: relu' forgotten": (8, {"backward": backward_with(mask=lambda Z1: 1.0)}, "dL/d"),
    "8: db1 over the wrong axis": (8, {"backward": backward_with(axis=1)}, "dL/db1"),
    "8: dW2 from Z1, not A1": (8, {"backward": backward_with(w2_input="Z1")}, "dL/dW2"),
    "9: product rule forgotten": (9, {"swish": swish_op(lambda x, s: s)}, "d swish(x)/dx"),
    "9: sign error": (9, {"swish": swish_op(lambda x, s: s - x * s * (1 - s))}, "d swish(x)/dx"),
    "9: wrong value": (
        9,
        {"swish": swish_op(lambda x, s: s + x * s * (1 - s), value=lambda x, s: s)},
        "the value of swish",
    ),
    "9: not an @op": (9, {"swish": swish_not_an_op}, "one node named 'swish', by @op"),
    "10: the supplied bug": (10, {"huber_fixed": huber_fixed_op(lambda x, d: d)}, "d huber(x)/dx"),
    "10: x beyond delta": (10, {"huber_fixed": huber_fixed_op(lambda x, d: x)}, "d huber(x)/dx"),
    "10: delta forgotten": (
        10,
        {"huber_fixed": huber_fixed_op(lambda x, d: math.copysign(1.0, x))},
        "d huber(x)/dx",
    ),
}


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_the_reference_solution_passes(number):
    result = check_module(EXERCISES[number], solution(number), EXAMPLES)
    assert result.status == "pass", format_report([result])


@pytest.mark.parametrize("mistake", WRONG_ANSWERS)
def test_a_wrong_answer_fails_naming_the_wrong_derivative(mistake):
    number, functions, derivative = WRONG_ANSWERS[mistake]
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    assert result.status == "fail", format_report([result])
    (failed,) = [p for p in result.parts if p.status == "fail"]
    assert failed.function in functions
    assert derivative in failed.message
    assert failed.input and failed.expected and failed.got


def test_every_exercise_has_at_least_two_wrong_answers_tested():
    tested = [number for number, _, _ in WRONG_ANSWERS.values()]
    assert all(tested.count(n) >= 2 for n in EXERCISES)


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_the_stubs_as_shipped_are_not_attempted(number):
    result = check_module(EXERCISES[number], handout(number), EXAMPLES)
    assert result.status == "not attempted"
    assert all(p.status == "not attempted" for p in result.parts)


def test_a_failure_shows_the_simplest_input_expected_and_got():
    wrong = answer(2, sigmoid_derivative=lambda x: -sigmoid(x) * (1 - sigmoid(x)))
    report = format_report([check_module(EXERCISES[2], wrong, EXAMPLES)])
    assert report.splitlines()[1:6] == [
        "  2  sigmoid   FAIL",
        "       sigmoid_derivative: d sigmoid(x)/dx is wrong",
        "         input     x = 0.0",
        "         expected  0.25   (engine; finite differences give 0.25)",
        "         got       -0.25",
    ]


def test_an_array_answer_names_the_first_wrong_entry():
    wrong = answer(6, mse_grad=lambda p, y: 2 * (p - y))
    (part,) = check_module(EXERCISES[6], wrong, EXAMPLES).parts
    assert part.message == "dL/dy_hat[0] is wrong"
    # with one prediction 2(p - y) and 2(p - y)/N agree; with two, a lost 1/N would look like
    # a stray factor of 2, so the counterexample shown has three
    assert part.input == "y_hat = [0.0, 0.0, 0.0], y = [1.0, 1.0, 1.0]"
    assert part.expected.startswith("[-0.66666667, -0.66666667, -0.66666667]")
    assert part.got == "[-2, -2, -2]"


def test_a_lost_one_over_m_is_shown_at_a_batch_size_other_than_two():
    (part,) = check_module(
        EXERCISES[8], answer(8, backward=backward_with(scale=lambda m: 1.0)), EXAMPLES
    ).parts
    assert part.input.startswith("X = [[0.0], [0.0], [0.0]], ")  # a batch of three
    assert part.expected.startswith("[[0.5]]") and part.got == "[[1.5]]"  # 3 times: m


def times(factor, right):
    """A right answer with every derivative it returns multiplied by factor."""

    def wrong(*args):
        got = right(*args)
        return tuple(factor * g for g in got) if isinstance(got, tuple) else factor * got

    return wrong


CONSTANT_FACTORS = {
    "the 2 of the square lost": (
        6,
        {"mse_grad": lambda p, y: (p - y) / len(p)},
        "off by a factor of 1/2 everywhere: check constant factors such as 1/N",
    ),
    "a stray 2": (
        2,
        {"sigmoid_derivative": times(2, solution(2).sigmoid_derivative)},
        "off by a factor of 2 everywhere: check constant factors such as 1/N",
    ),
    "a sign error": (
        6,
        {"mse_grad": lambda p, y: 2 * (y - p) / len(p)},
        "off by a factor of -1 everywhere: check the sign",
    ),
    "three quarters of every derivative": (
        7,
        {"dense_backward": times(0.75, solution(7).dense_backward)},
        "off by a factor of 3/4 everywhere: check constant factors such as 1/N",
    ),
}


@pytest.mark.parametrize("mistake", CONSTANT_FACTORS)
def test_an_answer_off_by_one_constant_factor_everywhere_is_told_so(mistake):
    number, functions, hint = CONSTANT_FACTORS[mistake]
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = [p for p in result.parts if p.status == "fail"]
    assert part.hint == hint
    assert f"         hint      {hint}" in format_report([result]).splitlines()


SIZE_FACTORS = {
    "6: the 1/N of the mean forgotten": (
        6,
        {"mse_grad": lambda p, y: 2 * (p - y)},
        "off by a factor of N: did you divide by N?",
    ),
    "8: the 1/m of the mean forgotten": (
        8,
        {"backward": backward_with(scale=lambda m: 1.0)},
        "off by a factor of m: did you divide by m?",
    ),
    "6: the 1/N and the 2 both lost": (
        6,
        {"mse_grad": lambda p, y: p - y},
        "off by a factor of N/2: did you divide by N? Then check the other constant factors.",
    ),
    "5: divided by K, where nothing is averaged": (
        5,
        {"softmax_cross_entropy_grad": lambda z, y: (softmax(z) - y) / len(z)},
        "off by a factor of 1/K: did you divide by K once too often?",
    ),
    "7: db averaged over the batch, not summed": (
        7,
        {"dense_backward": lambda X, W, b, dZ: (dZ @ W.T, X.T @ dZ, dZ.mean(axis=0))},
        "dL/db is off by a factor of 1/N: did you divide by N once too often?",
    ),
}


@pytest.mark.parametrize("mistake", SIZE_FACTORS)
def test_an_answer_off_by_a_factor_of_n_is_told_so(mistake):
    """A factor that changes with N (the number of items a loss averages over) is no constant:
    the hint names N, which the learner can act on, not the factor at the input shown."""
    number, functions, hint = SIZE_FACTORS[mistake]
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = [p for p in result.parts if p.status == "fail"]
    assert part.hint == hint
    assert f"         hint      {hint}" in format_report([result]).splitlines()


ONE_OUTPUT_OFF = {
    "1: a/b's sign error in d/db": (
        1,
        {"div_derivatives": lambda a, b: (1 / b, a / b**2)},
        "d(a / b)/db is off by a factor of -1 everywhere: check the sign",
    ),
    "1: a stray 2 in d(a*b)/db": (
        1,
        {"mul_derivatives": lambda a, b: (b, 2 * a)},
        "d(a * b)/db is off by a factor of 2 everywhere: check constant factors such as 1/N",
    ),
    "7: a stray 2 in dW alone": (
        7,
        {"dense_backward": lambda X, W, b, dZ: (dZ @ W.T, 2 * X.T @ dZ, dZ.sum(axis=0))},
        "dL/dW is off by a factor of 2 everywhere: check constant factors such as 1/N",
    ),
    "8: db2's sign alone": (
        8,
        {"backward": lambda *args: {**backward_with()(*args), "b2": -backward_with()(*args)["b2"]}},
        "dL/db2 is off by a factor of -1 everywhere: check the sign",
    ),
}


@pytest.mark.parametrize("mistake", ONE_OUTPUT_OFF)
def test_one_output_of_several_off_by_a_factor_is_named(mistake):
    number, functions, hint = ONE_OUTPUT_OFF[mistake]
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = [p for p in result.parts if p.status == "fail"]
    assert part.hint == hint


@pytest.mark.parametrize(
    "number, functions",
    [
        (2, {"sigmoid_derivative": sigmoid}),  # off by 1 / (1 - s), different at every x
        (4, {"relu_derivative": lambda x: float(x >= 0)}),  # right but at the kink
    ],
)
def test_an_answer_off_by_a_varying_factor_gets_no_such_hint(number, functions):
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = [p for p in result.parts if p.status == "fail"]
    assert part.hint == ""
    assert "hint" not in format_report([result])


def test_a_wrong_shape_is_reported_as_such():
    wrong = answer(7, dense_backward=lambda X, W, b, dZ: (dZ @ W.T, X.T @ dZ, dZ.sum(axis=1)))
    (part,) = check_module(EXERCISES[7], wrong, EXAMPLES).parts
    assert part.message.startswith("dL/db has shape (1,): it must be an array shaped like b")


def test_a_transposed_array_is_told_so():
    wrong = answer(7, dense_backward=lambda X, W, b, dZ: (dZ @ W.T, dZ.T @ X, dZ.sum(axis=0)))
    (part,) = check_module(EXERCISES[7], wrong, EXAMPLES).parts
    shape = re.search(
        r"got shape \((\d+), (\d+)\), expected \((\d+), (\d+)\): transposed\?$", part.message
    )
    assert part.message.startswith("dL/dW has the wrong shape: ") and shape, part.message
    rows, columns, expected_rows, expected_columns = shape.groups()
    assert (rows, columns) == (expected_columns, expected_rows) and rows != columns


def test_a_matrix_product_that_does_not_fit_names_the_shapes_not_numpys_words():
    wrong = answer(7, dense_backward=lambda X, W, b, dZ: (dZ @ W, X.T @ dZ, dZ.sum(axis=0)))
    (part,) = check_module(EXERCISES[7], wrong, EXAMPLES).parts
    assert part.status == "error"
    assert part.message.startswith(
        "dense_backward: the shapes in a matrix product do not fit: transposed? ("
    )
    assert "(dZ @ W, X.T @ dZ" in part.message  # the line of code itself
    assert "operand" not in part.message and "gufunc" not in part.message
    X, W, b, dZ = (np.array(v) for v in eval(f"dict({part.input})").values())
    assert part.hint.startswith(f"X is {X.shape}, W is {W.shape}, b is {b.shape}, dZ is {dZ.shape}")
    assert "transpose" in part.hint


def no_return(x):
    sigmoid(x) * (1 - sigmoid(x))  # the learner's classic: computed, never returned


FORGOTTEN_RETURNS = {
    "2: one number": (2, {"sigmoid_derivative": no_return}, "0.25   (engine; finite"),
    "1: a pair": (1, {"div_derivatives": lambda a, b: None}, "d(a / b)/da = "),
    "8: a dict": (8, {"backward": lambda *args: None}, "dL/dW1 = "),
}


@pytest.mark.parametrize("mistake", FORGOTTEN_RETURNS)
def test_a_forgotten_return_is_told_so_not_read_as_nan(mistake):
    number, functions, expected = FORGOTTEN_RETURNS[mistake]
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = [p for p in result.parts if p.status == "fail"]
    assert part.message == "it returned None: did you forget to `return` the answer?"
    assert part.got == "None" and part.expected.startswith(expected)
    assert "nan" not in format_report([result])


def test_a_none_among_several_answers_is_told_so():
    (part,) = check_module(
        EXERCISES[7], answer(7, dense_backward=lambda X, W, b, dZ: (dZ @ W.T, None, None)), EXAMPLES
    ).parts
    assert part.message.startswith("dL/dW is None, where an array shaped like W")
    assert "forgotten return?" in part.message


@pytest.mark.parametrize(
    "number, functions",
    [
        (2, {"sigmoid_derivative": lambda x: "0.25"}),
        (2, {"sigmoid_derivative": lambda x: str(sigmoid(x) * (1 - sigmoid(x)))}),
        (6, {"mse_grad": lambda p, y: [str(v) for v in 2 * (p - y) / len(p)]}),
    ],
)
def test_an_answer_written_as_text_is_told_so_not_read_as_a_number(number, functions):
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = result.parts
    assert result.status == "fail", format_report([result])
    assert "not text: return numbers, not strings" in part.message
    assert "'" in part.got  # shown as the text it is


@pytest.mark.parametrize("exit_code, shown", [(None, "sys.exit()"), (1, "sys.exit(1)")])
def test_sys_exit_inside_the_function_is_told_so(exit_code, shown):
    def sigmoid_derivative(x):
        sys.exit(exit_code)

    result = check_module(EXERCISES[2], SimpleNamespace(sigmoid_derivative=sigmoid_derivative))
    (part,) = result.parts
    assert result.status == "error"
    assert part.message.startswith(f"sigmoid_derivative called {shown} (")
    assert "must return its answer" in part.message and part.input == "x = 0.0"


def sigmoid_from_exponentials(x):
    return math.exp(-x) / (1 + math.exp(-x)) ** 2  # right on paper; e**-x overflows for x < -709


def sigmoid_from_numpy_exponentials(x):
    with np.errstate(over="ignore", invalid="ignore"):  # the learner would see warnings
        return np.exp(-x) / (1 + np.exp(-x)) ** 2  # inf / inf = nan for x < -709


@pytest.mark.parametrize(
    "number, functions, status, hint",
    [
        (
            2,
            {"sigmoid_derivative": sigmoid_from_exponentials},
            "error",
            "e**x does beyond x = 709.78",
        ),
        (2, {"sigmoid_derivative": sigmoid_from_numpy_exponentials}, "fail", "e**x does beyond"),
        (
            3,
            {"tanh_derivative": lambda x: 4 / (math.exp(x) + math.exp(-x)) ** 2},
            "error",
            "e**x does beyond x = 709.78",
        ),
        (9, {"swish": swish_op(lambda x, s: s + x * math.exp(-x) * s * s)}, "error", "e**x"),
    ],
)
def test_activations_are_tried_far_out_where_a_fresh_exponential_overflows(
    number, functions, status, hint
):
    """The formulas agree on [-10, 10]; only large |x| tells a derivative written with the
    function's own value (as asked) from one that takes e**x afresh."""
    for x in np.linspace(-10, 10, 21):
        if number == 2:
            right = sigmoid(x) * (1 - sigmoid(x))
            assert functions["sigmoid_derivative"](x) == pytest.approx(right, rel=1e-9, abs=1e-12)
    result = check_module(EXERCISES[number], answer(number, **functions), EXAMPLES)
    (part,) = result.parts
    assert part.status == status, format_report([result])
    assert abs(float(part.input.split("= ")[1].split(",")[0])) > 300  # shrunk, still far out
    assert hint in part.hint


def test_an_answer_too_large_to_send_is_judged_by_its_shape():
    (part,) = check_module(
        EXERCISES[6], answer(6, mse_grad=lambda p, y: np.zeros(10**6)), EXAMPLES
    ).parts
    assert (
        part.message
        == "dL/dy_hat has shape (1000000,): it must be an array shaped like y_hat, (1,)"
    )
    assert part.got == "an array of shape (1000000,)"


def test_at_the_kink_only_the_engine_judges():
    wrong = answer(4, relu_derivative=lambda x: float(x >= 0))
    relu_part = check_module(EXERCISES[4], wrong, EXAMPLES).parts[0]
    assert relu_part.input == "x = 0.0"
    assert relu_part.expected == "0   (engine; finite differences do not apply at this kink)"


def test_the_supplied_bug_hides_from_a_casual_gradcheck():
    huber = handout(10).huber
    assert gradcheck(lambda v: huber(v[0]), [0.5]) and gradcheck(lambda v: huber(v[0]), [2.0])

    @op
    def huber_fixed(x, delta=1.0):  # the supplied code, under the name the checker checks
        return huber.__wrapped__(x, delta)

    (part,) = check_module(EXERCISES[10], answer(10, huber_fixed=huber_fixed), EXAMPLES).parts
    assert part.input == "x = -2.0, delta = 1.0" and part.got == "1"


def test_an_answer_that_raises_is_an_error_with_its_message_and_line():
    def sigmoid_derivative(x):
        return 1 / x

    result = check_module(EXERCISES[2], SimpleNamespace(sigmoid_derivative=sigmoid_derivative))
    (part,) = result.parts
    assert result.status == part.status == "error"
    assert part.message.startswith("sigmoid_derivative raised ZeroDivisionError")
    assert f"line {sigmoid_derivative.__code__.co_firstlineno + 1}" in part.message
    assert part.input == "x = 0.0"


def test_a_missing_function_is_an_error_naming_it():
    result = check_module(EXERCISES[3], SimpleNamespace(), EXAMPLES)
    assert result.status == "error"
    assert "no function tanh_derivative" in result.parts[0].message


def test_answers_of_the_wrong_form_say_what_was_expected():
    wrong = answer(1, mul_derivatives=lambda a, b: b)
    part = check_module(EXERCISES[1], wrong, EXAMPLES).parts[1]
    assert part.status == "fail" and "must return 2 derivatives" in part.message
    wrong = answer(8, backward=lambda *args: [1, 2, 3, 4])
    assert "must return a dict" in check_module(EXERCISES[8], wrong, EXAMPLES).parts[0].message


def test_a_partly_done_exercise_is_not_attempted_and_says_which_part_passes():
    relu_done = SimpleNamespace(
        **{**vars(handout(4)), "relu_derivative": solution(4).relu_derivative}
    )
    result = check_module(EXERCISES[4], relu_done, EXAMPLES)
    assert result.status == "not attempted"
    report = format_report([result])
    assert "relu_derivative: pass" in report and "leaky_relu_derivative: not attempted" in report


# the forward passes the handouts give, as functions of (handout module, drawn case)
FORWARD_PASSES = {
    2: lambda m, c: m.sigmoid(c["x"]),
    3: lambda m, c: m.tanh(c["x"]),
    4: lambda m, c: m.relu(c["x"]),
    5: lambda m, c: m.cross_entropy(c["z"], c["y"]),
    6: lambda m, c: m.mse(c["y_hat"], c["y"]),
    7: lambda m, c: float(np.sum(c["dZ"] * m.dense_forward(c["X"], c["W"], c["b"]))),
    8: lambda m, c: m.loss(c["X"], c["Y"], c["W1"], c["b1"], c["W2"], c["b2"]),
    10: lambda m, c: m.huber(c["x"], c["delta"]).data,
}


@pytest.mark.parametrize("number", sorted(FORWARD_PASSES))
@settings(max_examples=20)
@given(data=st.data())
def test_a_handouts_forward_pass_is_the_loss_the_checker_differentiates(number, data):
    part = EXERCISES[number].parts[0]
    case = data.draw(part.cases)
    truth = part.loss(case, {v: as_values(case[v]) for v in part.variables}).data
    assert FORWARD_PASSES[number](handout(number), case) == pytest.approx(
        truth, rel=1e-9, abs=1e-12
    )


def as_values(x):
    if np.ndim(x) == 0:
        return Value(x)
    return np.array([Value(v) for v in np.ravel(x)], dtype=object).reshape(np.shape(x))
