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


def test_a_node_costs_at_most_this_much_memory():
    # 176 bytes per op node today on CPython 3.11 (micrograd: ~1,170; this engine before its
    # speed work: 200, with a new (1.0,) tuple in every + node): a slot more would pass, one
    # more object on every other node would not
    steps = 5_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = Value(1.0)
        for _ in range(steps):
            y = y * 1.0001 + 0.5
        per_node = (tracemalloc.get_traced_memory()[0] - before) / (2 * steps)
    finally:
        tracemalloc.stop()
    assert 100 < per_node < 190


def test_a_node_leaves_at_most_two_objects_for_the_garbage_collector():
    # the node and its children tuple; a tuple of float derivatives is untracked by the first
    # collection, and + and - share theirs. Each tracked object is rescanned by every full
    # collection while the graph lives, the main cost of building a big graph
    steps = 5_000
    gc.collect()
    before = len(gc.get_objects())
    y = Value(1.0)
    for _ in range(steps):
        y = y * 1.0001 + 0.5
    gc.collect()
    assert (len(gc.get_objects()) - before) / (2 * steps) <= 2.01
