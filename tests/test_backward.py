"""backward(): the chain rule over a topological order, and what a second call does."""

import gc
import sys
import tracemalloc

import pytest
from hypothesis import given

from tinygrad_edu import Value, gradcheck
from tinygrad_edu.testing import expressions


def test_the_chain_rule_through_a_small_expression():
    # micrograd's own sanity check, with the values micrograd (and PyTorch) give
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, rel=1e-15)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-15)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-15)


def test_a_reused_operand_collects_a_gradient_from_each_use():
    x = Value(3.0)
    y = x * x  # dy/dx = 2x, through both children
    y.backward()
    assert x.grad == 6.0
    z = Value(3.0)
    w = z + z + z
    w.backward()
    assert z.grad == 3.0


def test_backward_seeds_the_output_with_one():
    x = Value(2.0)
    y = x * 5
    y.backward()
    assert y.grad == 1.0 and x.grad == 5.0


def test_leaves_accumulate_and_interior_nodes_are_recomputed():
    x = Value(2.0)
    h = x * 3  # interior
    y = h * h  # dy/dh = 2h = 12, dy/dx = 36
    y.backward()
    assert (x.grad, h.grad, y.grad) == (36.0, 12.0, 1.0)
    y.backward()  # a second call: the leaf adds again, interior grads are recomputed
    assert (x.grad, h.grad, y.grad) == (72.0, 12.0, 1.0)
    x.grad = 0.0  # what zero_grad() does
    y.backward()
    assert x.grad == 36.0


def test_backward_from_a_second_output_resets_the_shared_interior_nodes():
    x = Value(2.0)
    h = x * 3
    first, second = h * 2, h * 10
    first.backward()
    assert h.grad == 2.0
    second.backward()
    assert h.grad == 10.0  # recomputed for `second`, not 2 + 10
    assert x.grad == 6.0 + 30.0  # the leaf accumulated both


def test_a_node_that_a_first_pass_gave_no_gradient_is_found_by_the_next():
    # backward() marks each node found by setting its grad to a 0.0 made for that call; n, below
    # a node whose gradient is 0, keeps the first call's 0.0. A 0.0 shared by every call would
    # take n as found already in the second one, and a would get nothing
    a = Value(1.5)
    n = a * a
    (((n + 1.0) * 0.0) + a).backward()  # n + 1 gets the gradient 0: n gets none at all
    a.grad = 0.0
    (n * 3.0).backward()
    assert a.grad == 9.0  # d(3a^2)/da = 6a


@given(expressions(max_steps=12))
def test_backwards_order_is_the_topological_order_of_every_other_reader(expr):
    # backward() finds its nodes by marking their grads, the others with a set: the same search
    from tinygrad_edu.engine import interior_nodes_children_first, interior_nodes_zeroed

    root = expr([Value(x) for x in expr.inputs])
    want = interior_nodes_children_first(root)
    for node in want:
        node.grad = 1.0
    assert interior_nodes_zeroed(root) == want
    assert all(node.grad == 0.0 for node in want)


def test_backward_on_a_leaf_accumulates_one():
    x = Value(5.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_a_node_outside_the_graph_is_untouched():
    x, unrelated = Value(1.0), Value(1.0)
    other = unrelated * 4
    other.grad = 123.0
    (x * 2).backward()
    assert other.grad == 123.0 and unrelated.grad == 0.0


def test_a_million_deep_chain_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0 + 1e-6
    y.backward()
    assert x.grad == 1.0
    assert y.data == pytest.approx(2.0, rel=1e-9)
    del y  # freeing a million-deep chain must not blow the C stack either
    gc.collect()


def test_a_graph_has_no_reference_cycles_and_frees_by_refcount():
    x = Value(2.0)
    gc.disable()  # so that only reference counting can free the graph
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = x
        for _ in range(10_000):
            y = (y * 0.5).tanh() + x
        y.backward()
        graph_bytes = tracemalloc.get_traced_memory()[0] - before
        del y
        left_bytes = tracemalloc.get_traced_memory()[0] - before  # Python's tuple free lists
        assert graph_bytes > 5_000_000 and left_bytes < graph_bytes / 10
    finally:
        tracemalloc.stop()
        gc.enable()


def test_backward_leaves_the_garbage_collector_as_it_found_it():
    y = Value(2.0) * 3
    gc.disable()
    try:
        y.backward()
        assert not gc.isenabled()
    finally:
        gc.enable()
    y.backward()
    assert gc.isenabled()


def test_the_collector_is_restored_even_when_backward_fails():
    y = Value(2.0) * 3
    y.children[0].grad = "not a number"  # sabotage, to make backward raise midway
    with pytest.raises(TypeError):
        y.backward()
    assert gc.isenabled()


@given(expressions())
def test_random_expression_dags_agree_with_finite_differences(expr):
    assert gradcheck(expr, expr.inputs)


@given(expressions(ops=["+", "*", "tanh", "exp", "log", "sum", "dot"], max_steps=16))
def test_deeper_dags_of_network_ops_agree_with_finite_differences(expr):
    assert gradcheck(expr, expr.inputs)


def test_a_chain_ten_times_the_recursion_limit_reaches_its_leaf_without_touching_the_limit():
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    y, outputs = x, []
    for _ in range(10 * limit):
        y = y.tanh()
        outputs.append(y.data)
    y.backward()
    assert sys.getrecursionlimit() == limit
    # dy/dx = the product of every tanh's derivative, 1 - tanh^2, multiplied from the top
    # down as backward() does: ~1e-5 here, neither 0 nor 1, so a walk that stops short shows
    expected = 1.0
    for t in reversed(outputs):
        expected *= 1 - t * t
    assert 1e-9 < expected < 1e-3
    assert x.grad == pytest.approx(expected, rel=1e-12)
