"""How big a graph is: a guard against the per-op graph quietly growing (not a timing test).

Speed in this engine is mostly the number of objects made per op: every node costs its
allocation, the garbage collector's scans while it lives, and backward's visit. These counts
are exact, so any change to the graph's shape shows here first.
"""

import gc
import tracemalloc

from tinygrad_edu import MLP, Value, losses


def graph(root: Value) -> tuple[list[Value], list[Value], int]:
    """root's interior nodes, its leaves, and its number of edges (child links)."""
    interior, leaves, seen, stack, edges = [], [], set(), [root], 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        (interior if node.children else leaves).append(node)
        edges += len(node.children)
        stack.extend(node.children)
    return interior, leaves, edges


def test_an_mlp_forward_and_hinge_loss_make_exactly_these_nodes_and_edges():
    model = MLP(2, [16, 16, 1], seed=0)
    loss = losses.hinge(model([0.5, -0.25]), [1.0])
    interior, leaves, edges = graph(loss)
    # a hidden neuron is dot (2 nin children) + "+" (2) + relu (1); the output neuron has
    # no activation; hinge on one sample is y*s, 1 - ys, relu, sum and / N, one child each
    assert len(interior) == 16 * 3 + 16 * 3 + 2 + 5 == 103
    assert edges == 16 * (4 + 2 + 1) + 16 * (32 + 2 + 1) + (32 + 2) + 5 == 711
    assert len(leaves) == len(model.parameters()) + 2 == 339  # + the two inputs


def test_each_arithmetic_op_is_one_node_and_constants_are_not_nodes():
    x = Value(1.5)
    y = (x * 2.0 + 1.0).relu() - x / 3.0
    interior, leaves, edges = graph(y)
    assert [node.op for node in interior] == ["-", "/", "relu", "+", "*"]
    assert leaves == [x] and edges == 6


def bytes_and_tracked_objects_per_node(step) -> tuple[float, float]:
    """Memory (tracemalloc) and objects the garbage collector tracks, per node of a chain of
    10,000 nodes made two at a time by step(y, x, c)."""
    x, c = Value(1.0001), Value(0.5)
    gc.collect()
    objects_before = len(gc.get_objects())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = Value(1.0)
        for _ in range(5_000):
            y = step(y, x, c)
        memory = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    gc.collect()  # a tuple of floats (local_grads) is untracked by its first collection
    return memory / 10_000, (len(gc.get_objects()) - objects_before) / 10_000


def test_a_node_of_values_costs_at_most_this_much():
    # 188 bytes on CPython 3.11 (micrograd: ~1,170): the node (80 bytes: row and args share a
    # slot), its children tuple (which is also its args) and its local derivatives. Two objects
    # for the collector to scan, the node and its children; one more on every other node, or a
    # node of 96 bytes, would fail this
    per_node, tracked = bytes_and_tracked_objects_per_node(lambda y, x, c: y * x + c)
    assert 100 < per_node < 190
    assert 1.99 <= tracked <= 2.01


def test_a_node_with_a_constant_also_keeps_its_args():
    # x * 1.0001 keeps the constant, in args = (x, 1.0001), so that a picture can show it and
    # a second derivative use it: 288 bytes and four tracked objects (the node, children, args
    # and (row, args), the slot they share) on CPython 3.11
    per_node, tracked = bytes_and_tracked_objects_per_node(lambda y, x, c: y * 1.0001 + 0.5)
    assert 100 < per_node < 300
    assert 3.99 <= tracked <= 4.01
