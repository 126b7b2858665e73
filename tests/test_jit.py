"""jit: a replay gives what eager mode gives, values and gradients, to 1e-12 of max(|x|, 1).

Summation order is the only difference allowed (Value.sum and Value.dot add up with numpy, not
math.fsum; gradients reaching a node from several parents are added level by level) together
with numpy's exp, log, tanh and pow, which may differ from libm's in the last bit.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import (
    MLP,
    CaptureEvictedWarning,
    CaptureMismatchError,
    Value,
    draw_graph,
    jit,
    losses,
    op,
    optim,
)
from tinygrad_edu.testing import expressions, mlps

RTOL = 1e-12


def assert_close(replayed, eager, what):
    """|replayed - eager| <= RTOL * max(|replayed|, |eager|, 1), elementwise."""
    replayed, eager = np.asarray(replayed, dtype=float), np.asarray(eager, dtype=float)
    assert replayed.shape == eager.shape, what
    scale = np.maximum(np.maximum(np.abs(replayed), np.abs(eager)), 1.0)
    error = np.abs(replayed - eager) / scale
    worst = int(np.argmax(error)) if error.size else 0
    assert error.size == 0 or error.flat[worst] <= RTOL, (
        f"{what}: replayed {replayed.flat[worst]!r} vs eager {eager.flat[worst]!r}"
    )


# --- exactness ---------------------------------------------------------------------------------


@given(expressions())
def test_random_expression_dags_over_every_op_replay_as_eager(expr):
    xs = [Value(x) for x in expr.inputs]
    eager = expr(xs)
    eager.backward()
    step = jit(lambda vs: expr(vs))
    for call in range(2):  # the capture's own replay, then a replay from the cache
        ys = [Value(x) for x in expr.inputs]
        replayed = step(ys)
        replayed.backward()
        assert_close(replayed.data, eager.data, f"value (call {call}) of\n{expr}")
        assert_close([y.grad for y in ys], [x.grad for x in xs], f"gradients of\n{expr}")
    assert len(step.programs) == 1


LOSSES = {
    "mse": (lambda out, y: losses.mse(out, y), st.floats(-2, 2)),
    "binary_cross_entropy": (
        lambda out, y: losses.binary_cross_entropy([[o.sigmoid() for o in r] for r in out], y),
        st.integers(0, 1),  # ints: part of the structure, so they stay plain numbers
    ),
    "binary_cross_entropy_with_logits": (
        lambda out, y: losses.binary_cross_entropy_with_logits(out, y),
        st.integers(0, 1),
    ),
    "hinge": (lambda out, y: losses.hinge(out, y), st.sampled_from([-1, 1])),
    "cross_entropy": (lambda out, y: losses.cross_entropy(out, [t % len(out[0]) for t in y]),
                      st.integers(0, 3)),  # fmt: skip
    "l2": (lambda out, y: losses.l2([o for r in out for o in r]), st.just(0)),
}


@given(mlps(), st.sampled_from(sorted(LOSSES)), st.data())
def test_mlps_with_every_activation_and_loss_replay_as_eager(model, loss_name, data):
    loss, targets = LOSSES[loss_name]
    nin, nout = len(model.layers[0].neurons[0].w), len(model.layers[-1].neurons)
    batch = data.draw(st.integers(1, 4))
    point = st.lists(st.floats(-2, 2), min_size=nin, max_size=nin)
    points = [data.draw(point) for _ in range(batch)]
    labels = [[data.draw(targets) for _ in range(nout)] for _ in range(batch)]
    if loss_name == "cross_entropy":
        labels = [row[0] for row in labels]

    def loss_of(points, labels):
        return loss([model(x) for x in points], labels)

    params = model.parameters()
    eager = loss_of(points, labels)
    model.zero_grad()
    eager.backward()
    eager_grads = [p.grad for p in params]
    step = jit(loss_of)
    for _ in range(2):
        model.zero_grad()
        replayed = step(points, labels)
        replayed.backward()
        assert_close(replayed.data, eager.data, f"{loss_name} of {model}")
        assert_close([p.grad for p in params], eager_grads, f"{loss_name} gradients of {model}")


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda ps: optim.Adam(ps, lr=0.05),
    ],
    ids=["SGD", "Adam"],
)
def test_twenty_optimizer_steps_follow_the_eager_ones(make_optimizer):
    rng = np.random.default_rng(3)
    points = rng.normal(size=(12, 3)).tolist()
    labels = rng.integers(0, 3, size=12).tolist()

    def trained(use_jit):
        model = MLP(3, [8, 3], activation="tanh", seed=7)
        opt = make_optimizer(model.parameters())

        def loss_of(points, labels):
            return losses.cross_entropy([model(x) for x in points], labels)

        step = jit(loss_of) if use_jit else loss_of
        history = []
        for _ in range(20):
            loss = step(points, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.data)
        return history, [p.data for p in model.parameters()]

    eager_losses, eager_params = trained(False)
    jit_losses, jit_params = trained(True)
    assert eager_losses[-1] < 0.5 * eager_losses[0]  # it learned something
    assert_close(jit_losses, eager_losses, "losses")
    assert_close(jit_params, eager_params, "parameters after 20 steps")


def test_new_inputs_and_updated_parameters_are_read_on_every_call():
    w = Value(2.0)
    step = jit(lambda x: (w * x).tanh())
    assert step(0.5).data == pytest.approx(math.tanh(1.0), rel=1e-15)
    w.data = -1.0  # an optimizer's step, between calls
    assert step(0.25).data == pytest.approx(math.tanh(-0.25), rel=1e-15)
    assert len(step.programs) == 1


# --- gradients: the same semantics as eager mode -------------------------------------------------


def test_value_inputs_and_parameters_accumulate_their_gradients_as_in_eager_mode():
    w = Value(3.0)

    def f(x, y):
        return x * y * w + x * x  # x is used twice

    eager_x, eager_y = Value(2.0), Value(-1.0)
    f(eager_x, eager_y).backward()
    want = (eager_x.grad, eager_y.grad, w.grad)
    w.grad = 0.0
    step = jit(f)
    x, y = Value(2.0), Value(-1.0)
    out = step(x, y)
    out.backward()
    assert (x.grad, y.grad, w.grad) == want == (-3.0 + 4.0, 6.0, -2.0)
    out.backward()  # a second backward: leaves accumulate, as in eager mode
    assert (x.grad, y.grad, w.grad) == (2.0, 12.0, -4.0)
    assert out.grad == 1.0


def test_a_value_passed_twice_and_also_used_as_a_parameter_gets_every_contribution():
    row = [Value(0.5), Value(-2.0)]  # say, an embedding row that two tokens select

    def f(a, b):
        return Value.dot(a, b) + Value.dot(row, row)

    step = jit(f)
    step(row, row).backward()
    assert [v.grad for v in row] == [4 * 0.5, 4 * -2.0]  # d/dv (v·v + v·v) = 4v
    other = [Value(1.0), Value(1.0)]
    for v in row:
        v.grad = 0.0
    step(other, row).backward()  # same structure: replayed, with another first argument
    assert [v.grad for v in other] == [0.5, -2.0]
    assert [v.grad for v in row] == [1.0 + 2 * 0.5, 1.0 + 2 * -2.0]


def test_a_list_is_returned_as_a_list_and_each_output_backpropagates_alone():
    x = Value(2.0)
    outs = jit(lambda v: [v * v, v.exp(), v])(x)
    assert isinstance(outs, list) and [o.data for o in outs[:2]] == [4.0, math.exp(2.0)]
    assert outs[2] is x  # a leaf comes back as itself, as in eager mode
    outs[1].backward()
    assert x.grad == math.exp(2.0)
    outs[0].backward()
    assert x.grad == math.exp(2.0) + 4.0
    assert isinstance(jit(lambda v: (v, v + 1))(1.0), tuple)


def test_a_replayed_result_used_in_more_eager_ops_backpropagates_through_its_graph():
    a, b = Value(2.0), Value(3.0)
    product = jit(lambda x, y: x * y + x)(a, b)
    (product * product).backward()  # eager: through the replayed graph, built on demand
    assert (a.grad, b.grad) == (2 * 8.0 * 4.0, 2 * 8.0 * 2.0)


def test_every_node_of_a_replayed_graph_has_every_attribute_of_its_eager_twin():
    """A replayed node is made by its own constructor, not engine.new_node (its graph is made
    when looked at, its backward() is the replay's): every slot of Value, as a picture, a second
    derivative or a user reads it, must be the eager node's, before and after backward()."""
    # what a user reads of a Value: its slots and properties (data, label, row, args, op...)
    attributes = [a for a in dir(Value) if a[0] != "_" and not callable(getattr(Value, a))]
    assert {"data", "grad", "label", "children", "local_grads", "row", "args"} <= {*attributes}

    def f(x, y):
        return (x * y + 2.0).tanh().leaky_relu(0.1) * x  # a constant, a setting, a reused leaf

    def summary(v):
        """Each attribute of Value: numbers rounded to the replay's exactness, Values by data."""
        seen = {}
        for name in attributes:
            got = getattr(v, name)
            if isinstance(got, tuple):
                got = tuple(round(a.data if isinstance(a, Value) else a, 12) for a in got)
            elif isinstance(got, float):
                got = round(got, 12)
            seen[name] = got
        return seen

    def graph(root):
        nodes, todo = [], [root]
        while todo:
            node = todo.pop()
            nodes.append(node)
            todo += node.children
        return nodes

    eager = f(Value(0.5, label="x"), Value(-1.5, label="y"))
    replayed = jit(f)(0.5, -1.5)
    for when in ("before backward()", "after backward()"):
        pairs = list(zip(graph(replayed), graph(eager), strict=True))
        assert [summary(r) for r, _ in pairs] == [summary(e) for _, e in pairs], when
        replayed.backward()
        eager.backward()


def test_a_jitted_function_may_call_another():
    inner = jit(lambda x: x.tanh() * 3)
    outer = jit(lambda x: inner(x) + x)
    x = Value(0.5)
    out = outer(x)
    out.backward()
    assert out.data == pytest.approx(3 * math.tanh(0.5) + 0.5, rel=1e-15)
    assert x.grad == pytest.approx(3 * (1 - math.tanh(0.5) ** 2) + 1, rel=1e-15)


# --- structure, captures, check=True -------------------------------------------------------------


def test_ints_are_structure_and_each_structure_has_its_capture():
    step = jit(lambda xs, i: xs[i] * 2)
    assert step([1.0, 2.0, 3.0], 0).data == 2.0
    assert step([1.0, 2.0, 3.0], 2).data == 6.0  # another int: another capture, not a replay
    assert step([4.0, 5.0, 6.0], 2).data == 12.0
    assert step([1.0, 2.0], 1).data == 4.0  # another length
    assert len(step.programs) == 3


def test_the_cache_is_bounded_and_warns_when_it_drops_a_capture():
    step = jit(lambda xs: Value.sum(xs), max_captures=2)
    step([1.0])
    step([1.0, 2.0])
    with pytest.warns(CaptureEvictedWarning, match="keeps 2 captures"):
        step([1.0, 2.0, 3.0])
    assert len(step.programs) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step([1.0, 2.0, 4.0])  # kept: replayed, nothing dropped


def branchy(x):
    return x * 2 if x.data > 0 else x * -3  # control flow that depends on the data


def test_a_capture_freezes_data_dependent_control_flow():
    step = jit(branchy)
    assert step(1.0).data == 2.0
    assert step(-1.0).data == -2.0  # the captured branch, x * 2, not eager mode's 3.0


def test_check_runs_fn_too_and_names_the_first_value_that_differs():
    step = jit(branchy, check=True)
    assert step(1.0).data == 2.0
    assert step(5.0).data == 10.0  # same branch: no complaint
    with pytest.raises(CaptureMismatchError) as info:
        step(-1.0)
    message = str(info.value)
    for words in ("output 0 is -2.0 replayed but 3.0 when fn runs", "node 1 of 1", "(`*`)"):
        assert words in message, message


def test_check_names_an_op_that_changed():
    step = jit(lambda x: x.relu() if x.data > 0 else x.tanh(), check=True)
    step(1.0)
    with pytest.raises(CaptureMismatchError, match="was `relu` when captured, but fn now makes"):
        step(-1.0)


def test_explain_shows_levels_ops_and_group_sizes():
    model = MLP(2, [3, 1], seed=0)
    step = jit(lambda points: losses.mse([model(x)[0] for x in points], [0.0] * len(points)))
    assert "nothing captured yet" in step.explain()
    step([[1.0, 2.0]] * 5)
    text = step.explain()
    for words in (
        "capture for points: list of 5 lists of 2 numbers",
        "level   1  dot ×15 (4 operands)",  # 3 neurons x 5 samples, w1 w2 x1 x2
        "relu ×15",
        "each call reads 10 inputs, 13 other leaves (parameters)",
        "np.add.at",
    ):
        assert words in text, text


# --- user ops (@op) -------------------------------------------------------------------------------


def softplus_of_floats(x):
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


def softplus_of_arrays(x):
    return np.log1p(np.exp(x)), (1 / (1 + np.exp(-x)),)


softplus = op(softplus_of_floats)
softplus_vectorized = op(vectorized=softplus_of_arrays)(softplus_of_floats)


@op(vectorized=True)  # plain arithmetic: the function itself works on arrays
def scaled_square(x, scale=2.0):
    return scale * x * x, (2 * scale * x,)


@pytest.mark.parametrize("user_op", [softplus, softplus_vectorized, scaled_square])
def test_user_ops_replay_as_eager_vectorized_or_one_by_one(user_op):
    xs = [0.5, -1.0, 2.0]
    eager_xs = [Value(x) for x in xs]
    eager = Value.sum([user_op(x) * x for x in eager_xs])
    eager.backward()
    step = jit(lambda vs: Value.sum([user_op(v) * v for v in vs]))
    ys = [Value(x) for x in xs]
    replayed = step(ys)
    replayed.backward()
    assert_close(replayed.data, eager.data, "value")
    assert_close([y.grad for y in ys], [x.grad for x in eager_xs], "gradients")
    one_by_one = "one by one: no vectorized rule" in step.explain()
    assert one_by_one == (user_op is softplus)


def test_a_vectorized_rule_that_disagrees_with_its_op_is_refused_at_capture():
    wrong = op(vectorized=lambda x: (np.log1p(np.exp(x)), (1 / (1 + np.exp(x)),)))(
        softplus_of_floats
    )
    with pytest.raises(ValueError, match=r"vectorized rule of @op softplus_of_floats disagrees"):
        jit(lambda v: wrong(v))(1.0)


def test_a_vectorized_rule_of_the_wrong_shape_is_refused_at_capture():
    bad = op(vectorized=lambda x: (np.zeros(7), (x,)))(softplus_of_floats)
    with pytest.raises(TypeError, match="vectorized rule of @op softplus_of_floats failed"):
        jit(lambda vs: Value.sum([bad(v) for v in vs]))([1.0, 2.0])


# --- drawing -----------------------------------------------------------------------------------


def test_drawing_a_replayed_result_draws_the_captured_graph_with_the_current_numbers():
    w = Value(-0.5, label="w")

    def f(x):
        z = x * w + 1.0
        z.label = "z"
        return z.tanh()

    x = Value(0.7, label="x")
    eager = f(x)
    eager.backward()
    eager_picture = draw_graph(eager).source
    x.grad = w.grad = 0.0
    replayed = jit(f)(x)
    replayed.backward()
    assert draw_graph(replayed).source == eager_picture
    assert "data 0.6500" in eager_picture and "z" in eager_picture  # 0.7 * -0.5 + 1


# --- bad input (the table in test_bad_input.py has more) ------------------------------------------


def test_a_nan_input_is_refused_before_the_replay_naming_it():
    step = jit(lambda points: Value.sum([x * y for x, y in points]))
    step([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"input points\[1\]\[0\] = nan is not finite"):
        step([[1.0, 2.0], [math.nan, 4.0]])


def test_a_replay_that_leaves_the_float_range_raises_eager_modes_error():
    step = jit(lambda x: (x * 100.0).exp())
    assert step(1.0).data == math.exp(100.0)
    with pytest.raises(OverflowError, match=r"exp\(1000.0\) overflows a float"):
        step(10.0)
    with pytest.raises(OverflowError) as eager:
        (Value(10.0) * 100.0).exp()
    with pytest.raises(OverflowError) as replayed:
        step(10.0)
    assert str(replayed.value) == str(eager.value)


def test_keyword_arguments_are_refused():
    with pytest.raises(TypeError, match="takes its arguments by position"):
        jit(lambda x: x)(x=1.0)


def test_the_docs_example_trains():
    """docs/jit.md's first example, run as written, on two small clusters."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "jit.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    rng = np.random.default_rng(0)
    points = (rng.normal(size=(20, 2)) + np.array([[2.0, 0.0]] * 10 + [[-2.0, 0.0]] * 10)).tolist()
    labels = [1] * 10 + [-1] * 10
    namespace = {"points": points, "labels": labels}
    exec(compile(example, "docs/jit.md", "exec"), namespace)
    assert namespace["loss"].data < 0.2 and len(namespace["loss_of"].programs) == 1
