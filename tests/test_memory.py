"""Memory over long runs: each step's graph is freed when its loss goes out of scope, by
reference counting alone (after warm-up, a step leaves less than half a node's bytes behind,
a bound that a leak of a single node per step breaks), and a graph a million nodes deep is
freed without a crash."""

import gc
import subprocess
import sys
import textwrap
import tracemalloc

from tinygrad_edu import MLP, Value, losses, optim


def training_step():
    """One step of training a small MLP: a graph of about 50 nodes, built and dropped."""
    model = MLP(2, [4, 4, 1], activation="tanh", seed=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    xs = [[0.5, -1.0], [1.5, 0.3]]
    ys = [0.2, -0.4]

    def step():
        loss = losses.mse([model(x)[0] for x in xs], ys)  # freed when this function returns
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def bytes_of_a_node():
    """What one Value takes, the smallest thing a leak can keep: measured, as tracemalloc sees."""
    nodes = [None] * 1000
    x = 0.5
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(len(nodes)):
            nodes[i] = Value(x)
        return (tracemalloc.get_traced_memory()[0] - before) / len(nodes)
    finally:
        tracemalloc.stop()


def retained_per_step(step, warm_up=1000, steps=1000):
    """Bytes that each call of step leaves allocated, once warm_up calls have settled Adam's
    state and Python's free lists (which fill over the first few hundred steps: tracemalloc
    counts a freed tuple kept for reuse as allocated); and the peak a step's work takes while
    it lives. Only
    reference counting frees (gc is off): a graph with a reference cycle would pile up."""
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(warm_up):
            step()
        settled = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(steps):
            step()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    return (now - settled) / steps, peak - settled


def test_a_training_loop_retains_under_half_a_node_per_step():
    node = bytes_of_a_node()
    per_step, one_graph = retained_per_step(training_step())
    assert one_graph > 50 * node  # each step really builds its graph of ~50 nodes
    assert per_step < node / 2, f"{per_step:.1f} bytes a step stay allocated; a node is {node:.0f}"


def test_the_measure_catches_a_leak_of_one_node_per_step():
    step, kept = training_step(), []

    def leaky_step():
        step()
        kept.append(Value(1.0))

    assert retained_per_step(leaky_step)[0] > bytes_of_a_node() / 2


def test_a_million_deep_graph_is_freed_without_crashing():
    # in a child process, so that a C stack overflow while freeing fails this test instead of
    # killing the test run
    script = textwrap.dedent(
        """
        import sys
        from tinygrad_edu import Value

        before = sys.getallocatedblocks()
        x = Value(0.5)
        y = x
        for i in range(1_000_000):  # a chain of tanh and + nodes, reusing x throughout
            y = y.tanh() if i % 2 else y + x
        y.backward()
        assert 0.0 < x.grad < 1e6, x.grad
        graph = sys.getallocatedblocks() - before
        del y
        left = sys.getallocatedblocks() - before
        print(graph, left)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    graph_blocks, left_blocks = map(int, result.stdout.split())
    assert graph_blocks > 2_000_000  # a node and its tuples: several blocks each
    assert left_blocks < graph_blocks / 100
