"""Memory over long runs: each step's graph is freed when its loss goes out of scope, by
reference counting alone, and a graph a million nodes deep is freed without a crash."""

import gc
import subprocess
import sys
import textwrap
import tracemalloc

from tinygrad_edu import MLP, losses, optim


def test_a_500_step_training_loop_keeps_memory_flat():
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    xs = [[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 2.0]]
    ys = [0.2, -0.4, 0.9, 0.0]

    def train_step():
        loss = losses.mse([model(x)[0] for x in xs], ys)  # freed when this function returns
        opt.zero_grad()
        loss.backward()
        opt.step()

    gc.disable()  # so that only reference counting frees: a graph with a cycle would pile up
    tracemalloc.start()
    try:
        for _ in range(100):  # settle Adam's state and Python's free lists
            train_step()
        settled = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(400):
            train_step()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    one_graph = peak - settled  # what a step's graph takes while it lives
    assert one_graph > 20_000
    assert now - settled < one_graph / 20  # 400 steps later, not even one graph is left over


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
