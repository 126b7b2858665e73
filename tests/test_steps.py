"""The step model (tinygrad_edu.steps): backprop step by step, exactly backward()'s numbers."""

import math
import re
import struct
import time
import tracemalloc

import pytest
from hypothesis import given

from tinygrad_edu import MLP, Neuron, Value, backprop_steps, losses, op
from tinygrad_edu.engine import interior_nodes_children_first
from tinygrad_edu.ops import OPS
from tinygrad_edu.steps import (
    STEPS_LIMIT,
    GraphTooLargeError,
    formula,
    forward_order,
    number,
    value_names,
)
from tinygrad_edu.testing import expressions


def bits(x):
    return struct.pack("<d", x)


def every_value(root):
    return forward_order(root)


def snapshot(root):
    """All that a Value holds, for every Value of the graph."""
    return [
        (v, bits(v.data), bits(v.grad), v.label, v.children, v.local_grads, v.row, v.args)
        for v in every_value(root)
    ]


def test_the_neuron_step_by_step(neuron):
    o = neuron
    steps = backprop_steps(o)
    assert steps.names == ("x1", "w1", "x2", "w2", "b", "v1", "v2", "v3", "v4", "o")
    assert [steps.forward_text(s) for s in steps.forward[5:]] == [
        "v1 = x1 * w1 = 2.0 * (-3.0) = -6.0",
        "v2 = x2 * w2 = 0.0 * 1.0 = 0.0",
        "v3 = v1 + v2 = (-6.0) + 0.0 = -6.0",
        "v4 = v3 + b = (-6.0) + 6.88137 = 0.881374",
        "o = tanh(v4) = tanh(0.881374) = 0.707107",
    ]
    assert steps.forward_text(steps.forward[0]) == "x1 = 2.0"
    assert steps.locals_text(steps.forward[5]) == "dv1/dx1 = w1 = -3.0, dv1/dw1 = x1 = 2.0"
    assert steps.local_text(steps.forward[-1], 0) == "do/dv4 = 1 - o² = 1 - 0.707107² = 0.5"
    # backward: o, v4, v3, v1, v2, each passing its gradient to its operands
    assert [steps.names[s.value] for s in steps.backward] == ["o", "v4", "v3", "v1", "v2"]
    v1 = steps.backward[3]
    assert steps.backward_text(v1) == "do/dv1 = 0.5, passed on to v1's operands"
    assert [steps.update_text(u) for u in v1.updates] == [
        "do/dx1 += (-3.0) × 0.5 = -1.5",
        "do/dw1 += 2.0 × 0.5 = 1.0",
    ]
    x1 = v1.updates[0]
    assert (x1.local, x1.contribution, x1.before) == (-3.0, x1.local * x1.upstream, 0.0)
    assert steps.chain_rule(0) == [
        "do/dx1 = do/dv1 × dv1/dx1",
        "= 0.5 × (-3.0)",
        "= -1.5",
        "where dv1/dx1 = w1 = -3.0",
    ]
    assert steps.complete_after[steps.names.index("x1")] == 3
    assert steps.complete_after[steps.result] == -1
    assert steps.step_count == 1 + 10 + 1 + 5
    o.backward()
    assert [bits(g) for g in steps.grads] == [bits(v.grad) for v in steps.values]


@given(expressions())
def test_random_graphs_give_backwards_gradients_bit_for_bit_and_change_nothing(expr):
    out = expr([Value(x) for x in expr.inputs])
    before = snapshot(out)
    steps = backprop_steps(out)
    assert snapshot(out) == before  # building the steps changes no Value
    out.backward()
    assert list(steps.values) == every_value(out)
    backward_order = [steps.values[s.value] for s in steps.backward]
    assert backward_order == interior_nodes_children_first(out)[::-1]  # backward()'s order
    assert [bits(g) for g in steps.grads] == [bits(v.grad) for v in steps.values]
    # the running totals are backward()'s sums, use by use
    for step in steps.backward:
        for u in step.updates:
            assert bits(u.contribution) == bits(u.local * u.upstream)
            assert bits(u.after) == bits(u.before + u.contribution)
    # each value's uses are the edges into it, every one of them visited
    edges = [c for s in steps.forward for c in s.children]
    for i in range(len(steps.values)):
        assert len(steps.uses(i)) == edges.count(i) >= (i != steps.result)


def test_the_sums_are_made_in_backwards_order_where_order_changes_the_float():
    x = Value(1.0, label="x")
    y = Value.sum([x * 1.0, x * 1e16, x * -1e16])  # dy/dx = 0 exactly, 1 + 1e16 - 1e16 ...
    steps = backprop_steps(y)
    y.backward()
    # ... = 0.0 in floats in backward()'s order (1 + 1e16 rounds to 1e16); the other way
    # round, -1e16 + 1e16 + 1 = 1.0
    assert x.grad == 0.0 and steps.grads[0] == 0.0
    assert [steps.names[s.value] for s in steps.backward] == ["v4", "v1", "v2", "v3"]


def test_a_reused_value_accumulates_one_contribution_per_use():
    x = Value(3.0, label="x")
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.label = "y"
    steps = backprop_steps(y)
    lines = [steps.update_text(u) for s in steps.backward for u in s.updates]
    assert lines == [
        "dy/dv1 += 1.0 × 1.0 = 1.0",
        "dy/dx += 1.0 × 1.0 = 1.0   (use 1 of 3)",
        "dy/dx += 3.0 × 1.0 = 3.0   (use 2 of 3; total so far 1.0 + 3.0 = 4.0)",
        "dy/dx += 3.0 × 1.0 = 3.0   (use 3 of 3; total so far 4.0 + 3.0 = 7.0)",
    ]
    assert steps.chain_rule(0) == [
        "dy/dx = dy/dy × dy/dx + dy/dv1 × dv1/dx + dy/dv1 × dv1/dx",
        "= 1.0 × 1.0 + 1.0 × 3.0 + 1.0 × 3.0",
        "= 1.0 + 3.0 + 3.0",
        "= 7.0",
        "where dy/dx = 1.0",  # y = v1 + x: the local derivative, by its direct use
        "      dv1/dx = x = 3.0",  # x * x: once for both of its uses
    ]
    assert steps.grads[0] == 7.0


def test_a_zero_gradient_passes_nothing_on_as_in_backward():
    x = Value(-2.0, label="x")
    y = (x * 3).relu() + x  # relu is flat at -6: x * 3 gets the gradient 0
    steps = backprop_steps(y)
    assert steps.forward_text(steps.forward[2]) == "v2 = relu(v1) = relu(-6.0) = 0.0"
    relu, times_3 = steps.backward[1:]
    assert [steps.names[relu.value], steps.names[times_3.value]] == ["v2", "v1"]
    assert [steps.update_text(u) for u in relu.updates] == ["dv3/dv1 += 0.0 × 1.0 = 0.0"]
    assert times_3.grad == 0.0 and times_3.updates == ()
    assert steps.backward_text(times_3) == (
        "dv3/dv1 = 0.0: nothing to pass on (backward() skips it)"
    )
    y.backward()
    assert steps.grads == tuple(v.grad for v in steps.values)


def test_a_leaf_alone_is_its_own_result():
    x = Value(2.5, label="x")
    steps = backprop_steps(x)
    assert steps.names == ("x",) and steps.backward == () and steps.grads == (1.0,)
    assert steps.step_count == 3  # nothing yet, x given, the start of backward


def test_the_steps_start_from_zero_as_after_zero_grad_whatever_the_grads_hold():
    model = MLP(2, [3, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    loss.backward()
    loss.backward()  # the parameters' grads accumulate: twice one backward's
    steps = backprop_steps(loss, params=model)
    for leaf in steps.values[:-1]:  # the parameters, and the inputs made Values by the model
        leaf.grad = 0.0
    loss.backward()
    assert [bits(g) for g in steps.grads] == [bits(v.grad) for v in steps.values]
    assert "layers.0.neurons.2.w.1" in steps.names  # parameters named as in the Module


def evaluate(text, names):
    """A rule text as Python (² a square, sign the sign) with ``names`` bound to numbers."""
    text = re.sub(r"(\([^()]*\)|[\w.]+)²", r"(\1) ** 2", text).replace("sign(", "_sign(")
    return eval(text, {"log": math.log, "_sign": lambda x: (x > 0) - (x < 0)}, names)


def test_each_local_derivative_is_its_rule_in_names_then_in_numbers_then_its_value(
    neuron_demo_loss,
):
    loss, neuron = neuron_demo_loss
    steps = backprop_steps(loss, params=neuron)
    texts = {text for step in steps.forward for text in steps.locals_text(step, "|").split("|")}
    assert {
        "dy/dv2 = y * (1 - y) = 0.595813 * (1 - 0.595813) = 0.24082",
        # 2 × (-0.404187) is -0.808374: v3 with the digits that give -0.808375 by hand
        "dv4/dv3 = 2.0 * v3 ** (2.0 - 1) = 2.0 * (-0.40418738) ** (2.0 - 1) = -0.808375",
        "dv1/dw.0 = x1 = 0.5",  # a dot product's rule: the other factor
        "dv1/dx2 = w.1 = -0.0934122",
        "dv2/db = 1.0",  # a rule that is a number is the value itself: said once
    } <= texts


def test_the_rule_texts_of_every_op_compute_the_local_derivative_they_stand_beside(every_op):
    """Each rule text, in names (with the graph's numbers bound to them) and in numbers,
    evaluates to the local derivative printed after it: what a learner checks by hand."""
    steps = backprop_steps(every_op)
    data = {name: value.data for name, value in zip(steps.names, steps.values)}
    checked = set()
    for step in steps.forward:
        for k, local in enumerate(step.local_grads):
            names, numbers = step.rules[k], step.rule_numbers[k]
            assert math.isclose(evaluate(names, data), local, rel_tol=1e-12), names
            assert number(evaluate(numbers, {})) == number(local), numbers
            text = steps.local_text(step, k)
            assert text.endswith(f" = {number(local)}") or text.endswith(f"= {names}")
            assert names in text  # the rule in names, unless it is the number itself
            checked.add(steps.values[step.value].row)
    assert checked == set(OPS)
    by_op = {steps.values[s.value].op: steps.locals_text(s) for s in steps.forward[2:-1]}
    assert by_op["tanh"] == "dv9/da = 1 - v9² = 1 - 0.905148² = 0.180707"
    assert by_op["/"] == "dv3/da = 1 / b = 1 / 0.5 = 2.0, dv3/db = -v3 / b = -3.0 / 0.5 = -6.0"
    assert by_op["abs"] == "dv14/dd = sign(d) = sign(-1.0) = -1.0"
    assert by_op["leaky_relu"] == (
        "dv12/dd = (1 if d > 0 else 0.1) = (1 if (-1.0) > 0 else 0.1) = 0.1"
    )
    assert by_op["sum"] == "dv15/da = 1.0, dv15/db = 1.0"
    # dot([2.0, a, b], [b, 3.0, a]): d/dw_i = x_i, d/dx_i = w_i, constants among the operands
    assert by_op["dot"] == "dv16/da = 3.0, dv16/db = a = 1.5, dv16/db = 2.0, dv16/da = b = 0.5"


def test_a_rule_in_numbers_has_the_digits_that_give_its_value_by_hand():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    o = (x * w).tanh()  # saturated: 1 - 0.999988² would give 2.4e-05
    o.label = "o"
    steps = backprop_steps(o)
    text = steps.local_text(steps.forward[-1], 0)
    assert text == "do/dv1 = 1 - o² = 1 - (-0.999987711651)² = 2.45765e-05"
    assert number(1 - 0.999987711651**2) == "2.45765e-05"
    every = backprop_steps(Value.sum([(Value(0.1 * i) * 7).sigmoid() for i in range(1, 30)]))
    for step in every.forward:  # each sigmoid's rule, worked out from its numbers as shown
        for k, local in enumerate(step.local_grads):
            assert number(evaluate(step.rule_numbers[k], {})) == number(local), step


@given(expressions(max_inputs=3, max_steps=8))
def test_every_rule_in_numbers_gives_its_local_derivative_by_hand(expr):
    out = expr([Value(x) for x in expr.inputs])
    steps = backprop_steps(out)
    for step in steps.forward:
        for k, local in enumerate(step.local_grads):
            by_hand = evaluate(step.rule_numbers[k], {})
            assert number(by_hand) == number(local), (step.rule_numbers[k], local)


def test_an_op_without_a_rule_text_shows_its_number_and_one_with_shows_its_rule():
    @op
    def cube(x):
        return x**3, (3 * x**2,)

    @op(rule=("3 * x²",))
    def cube_with_rule(x):
        return x**3, (3 * x**2,)

    x = Value(2.0, label="x")
    plain, ruled = backprop_steps(cube(x)), backprop_steps(cube_with_rule(x))
    assert plain.local_text(plain.forward[-1], 0) == "dv1/dx = 12.0"
    assert ruled.local_text(ruled.forward[-1], 0) == "dv1/dx = 3 * x² = 3 * 2.0² = 12.0"


def test_the_chain_rule_says_from_which_step_each_number_is_known(neuron):
    steps = backprop_steps(neuron)
    x1, v1 = steps.names.index("x1"), steps.names.index("v1")
    assert steps.computed_at(v1) == 6 and steps.grad_known_at(v1) == 14
    assert steps.grad_known_at(x1) == 15 and steps.grad_known_at(steps.result) == 11
    assert steps.chain_rule_parts(x1) == [
        [("do/dx1 = do/dv1 × dv1/dx1", 0)],
        [("= ", 0), ("0.5", 14), (" × ", 0), ("(-3.0)", 6)],  # v1's grad; v1's local
        [("= ", 0), ("-1.5", 15)],  # when v1 passes it on
        [("where ", 0), ("dv1/dx1 = w1 = ", 0), ("-3.0", 6)],
    ]
    # the step after which each grad is complete, as the boxes show it
    for i in range(len(steps.values)):
        known = steps.grad_known_at(i)
        assert steps.chain_rule_parts(i)[-1 if i == steps.result else 2][1][1] == known
        if i != steps.result:
            assert known == steps.passed_at(steps.backward[steps.complete_after[i]])


def test_formulas_write_every_constant_and_setting():
    x, y = Value(2.0), Value(3.0)
    cases = {
        x - 1: ["x"],
        2 / x: [-4.0],
        x**y: ["x", "y"],
        x**3: ["x"],
        x**-1: ["x"],
        2**x: ["x"],
        -x: ["x"],
        x.leaky_relu(0.2): ["x"],
        x.exp(): ["x"],
        x.tanh(): [-1.5],
        Value.sum([x, 1.5, y]): ["x", "y"],
        Value.dot([x, y], [4.0, x]): ["x", "y", "x"],
    }
    assert [formula(node, names) for node, names in cases.items()] == [
        "x - 1.0",
        "2.0 / (-4.0)",
        "x ** y",
        "x ** 3.0",
        "x ** (-1.0)",
        "2.0 ** x",
        "-x",
        "leaky_relu(x, slope=0.2)",
        "exp(x)",
        "tanh(-1.5)",
        "x + 1.5 + y",
        "x * 4.0 + y * x",
    ]
    with pytest.raises(ValueError, match="a leaf has no formula"):
        formula(x, [])


def test_a_custom_op_is_written_with_its_settings():
    @op
    def scaled(x, k=2.0):
        """k x;  d/dx = k"""
        return k * x, (k,)

    x = Value(1.5, label="x")
    steps = backprop_steps(scaled(x, 4.0))
    text = steps.forward_text(steps.forward[-1])
    assert text == "v1 = scaled(x, k=4.0) = scaled(1.5, k=4.0) = 6.0"


def test_names_compound_labels_in_parentheses_and_the_same_graph_the_same_names():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    xw = x * w
    xw.label = "x * w"
    steps = backprop_steps(xw + 1)
    assert steps.forward_text(steps.forward[-1]) == "v1 = (x * w) + 1.0 = (-6.0) + 1.0 = -5.0"
    assert steps.d(2) == "dv1/d(x * w)"

    def build():
        a = Value(1.0)
        return (a * Value(2.0, label="v2")).tanh() + a

    names = [value_names(forward_order(r)) for r in (build(), build())]
    assert [list(n.values()) for n in names] == [["v1", "v2", "v3", "v4", "v5"]] * 2


def test_the_table_numbers_the_steps_as_the_page_does(neuron):
    steps = backprop_steps(neuron)
    table = str(steps)
    assert table.startswith("Forward pass")
    assert "   6  v1 = x1 * w1 = 2.0 * (-3.0) = -6.0\n" in table
    assert (  # one local derivative a line
        "          local derivatives: dv1/dx1 = w1 = -3.0\n"
        "                             dv1/dw1 = x1 = 2.0\n"
    ) in table
    assert "  11  do/do = 1.0: the result changes one for one with itself\n" in table
    assert "  15  do/dv1 = 0.5, passed on to v1's operands\n" in table
    assert "        do/dx1 += (-3.0) × 0.5 = -1.5\n" in table
    assert table.endswith("  do/do = 1.0")
    assert f"  do/dx1 = {steps.grads[0]!r}\n" in table


def test_a_deep_graph_needs_no_recursion():
    y = Value(0.5, label="x")
    for _ in range(5_000):
        y = y * 1.0
    steps = backprop_steps(y)
    assert len(steps.forward) == 5_001 and len(steps.backward) == 5_000
    assert steps.grads[0] == 1.0


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="backprop_steps needs a Value, got float"):
        backprop_steps(2.0)
    with pytest.raises(TypeError, match="Module or an iterable"):
        backprop_steps(Value(1.0), params=Value(1.0))
    with pytest.raises(TypeError, match="Values only"):
        backprop_steps(Value(1.0), params=[1.0])
    assert backprop_steps(Value(1.0) * 2, params=Neuron(1).parameters()).names[0] == "v1"


def chain(length):
    y = Value(0.5, label="x")
    for _ in range(length):
        y = y * 1.0
    return y


def test_a_graph_of_more_values_than_the_limit_is_refused_quickly_in_little_memory():
    y = chain(1_000_000)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(GraphTooLargeError) as info:
            backprop_steps(y)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert f"more than {STEPS_LIMIT:,} values" in message and "max_values=None" in message
    assert "\n" not in message
    # the graph is counted no further than the limit (listing its million steps took minutes
    # and gigabytes)
    assert peak < 20_000_000 and seconds < 10  # a hang guard, far above the usual 0.1 s
    with pytest.raises(GraphTooLargeError, match="more than 100 values"):
        backprop_steps(chain(100), max_values=100)
    assert len(backprop_steps(chain(99), max_values=100).values) == 100  # at the limit: fine


def test_the_limit_can_be_lifted_and_bad_limits_are_named():
    steps = backprop_steps(chain(STEPS_LIMIT), max_values=None)
    assert len(steps.values) == STEPS_LIMIT + 1
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_values must be a positive int or None"):
            backprop_steps(chain(3), max_values=bad)


def test_a_name_with_characters_that_cannot_be_shown_is_written_with_escapes():
    x = Value(1.0, label="a\x00b\nc\ud800")
    steps = backprop_steps(x * 2)
    assert steps.names[0] == "a\\x00b\\nc\\ud800"
    assert "a\\x00b\\nc\\ud800 = 1.0" in steps.table()
    steps.table().encode("utf-8")  # no lone surrogate left to fail the encoding
