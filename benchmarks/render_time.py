"""How long rendering a computation graph takes: three graphs that reuse a value hundreds of
times, two ~2,000-value graphs drawn whole, and a big batch drawn with the default cut
(max_nodes). Medians of a few rounds, one process.

    .venv/bin/python benchmarks/render_time.py [--rounds 3]
    .venv/bin/python benchmarks/render_time.py --without-copies [--limit 300]

- x added to itself 150 times; 100 chained products y = y * x; a scalar RNN unrolled over 50
  steps, h = tanh(w h + u x_t + b), its w, u and b shared by every step (backprop through
  time). Each value used far from its box is drawn again beside its use (viz.far_uses), so
  that no arrow crosses the graph; ``--without-copies`` draws them as before there were
  copies, with an arrow from the one box to every use, and reports only these three, once
  each (svg), stopping each layout after ``--limit`` seconds;
- a chain of 400 one-input neurons, o = tanh(o * w_i + b_i): 2,001 values, each op with one
  or two operands (the sparse case);
- an MLP(2, [16, 16, 1]) mse loss on a batch of 16 samples: 1,971 values, 1,602 op nodes and
  12,947 edges, since each dot node of the hidden and output layers has 32 operands.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import time
import warnings
from collections.abc import Callable

from tinygrad_edu import MLP, Value, draw_graph, losses, viz
from tinygrad_edu.graphviz_program import find_renderer, use_renderer
from tinygrad_edu.viz import GraphCutWarning


def batch_loss(samples: int) -> Value:
    model = MLP(2, [16, 16, 1], seed=0)
    xs = [[0.1 * i, -0.2 * i] for i in range(samples)]
    loss = losses.mse([model(x)[0] for x in xs], [1.0] * samples)
    loss.backward()
    return loss


def median_seconds(task: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def neuron_chain(length: int) -> Value:
    o = Value(0.5, label="x")
    for i in range(length):
        o = (o * Value(0.9, label=f"w{i}") + Value(0.1, label=f"b{i}")).tanh()
    o.backward()
    return o


def sum_of_uses(n: int) -> Value:
    x = Value(0.5, label="x")
    y = x
    for _ in range(n - 1):
        y = y + x
    y.backward()
    return y


def chained_products(n: int) -> Value:
    x, y = Value(1.01, label="x"), Value(1.0, label="y")
    for _ in range(n):
        y = y * x
    y.backward()
    return y


def scalar_rnn(steps: int) -> Value:
    """(h_T - 0.5)^2 for h_t = tanh(w h_{t-1} + u x_t + b), h_0 = 0."""
    w, u, b = Value(0.8, label="w"), Value(0.5, label="u"), Value(0.1, label="b")
    h = Value(0.0, label="h0")
    for t in range(1, steps + 1):
        h = (w * h + u * Value(((t * 7) % 5 - 2) / 2, label=f"x{t}") + b).tanh()
        h.label = f"h{t}"
    loss = (h - 0.5) ** 2
    loss.backward()
    return loss


def report_reused(name: str, root: Value, rounds: int) -> None:
    graph = draw_graph(root)
    values, copies = graph.source.count("shape=record"), graph.source.count("(again)")
    print(f"\n{name}: {values:,} values, {copies} copies, {graph.layout_size:,} nodes + edges")
    for format in ("svg", "png"):
        seconds = median_seconds(lambda f=format: draw_graph(root).pipe(format=f), rounds)
        print(f"  draw + {format}   {seconds:7.2f} s")


def report_without_copies(name: str, root: Value, limit: float) -> None:
    viz.FAR = math.inf  # every use drawn by an arrow from the value's one box
    graph = draw_graph(root)
    print(f"\n{name} without copies: {graph.layout_size:,} nodes + edges")
    start = time.perf_counter()
    try:
        subprocess.run(
            [str(use_renderer()), "-Tsvg"], input=graph.source.encode(), capture_output=True,
            timeout=limit, check=True,
        )  # fmt: skip
        print(f"  draw + svg   {time.perf_counter() - start:7.2f} s")
    except subprocess.TimeoutExpired:
        print(f"  draw + svg   stopped after {limit:g} s")


def report_whole(name: str, root: Value, rounds: int) -> None:
    graph = draw_graph(root, max_nodes=None)
    records = graph.source.count("shape=record")
    print(f"\n{name}: {records:,} values, {graph.layout_size:,} nodes + edges, drawn whole")
    drawing = median_seconds(lambda: draw_graph(root, max_nodes=None), rounds)
    print(f"  draw_graph   {drawing:7.2f} s")
    print(f"  svg          {median_seconds(lambda: graph.pipe(format='svg'), rounds):7.2f} s")
    print(f"  png          {median_seconds(lambda: graph.pipe(format='png'), rounds):7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without-copies", action="store_true")
    parser.add_argument("--limit", type=float, default=300.0)
    args = parser.parse_args()
    rounds = args.rounds
    reused = {
        "x added to itself 150 times": sum_of_uses(150),
        "100 chained products y = y * x": chained_products(100),
        "a scalar RNN of 50 steps, w u b shared": scalar_rnn(50),
    }
    if args.without_copies:
        print(f"renderer: {find_renderer()}   (one round)")
        for name, root in reused.items():
            report_without_copies(name, root, args.limit)
        return
    print(f"renderer: {find_renderer()}   (median of {rounds} rounds)")
    for name, root in reused.items():
        report_reused(name, root, rounds)

    report_whole("neuron chain", neuron_chain(400), rounds)
    report_whole("MLP batch loss", batch_loss(16), rounds)

    big = batch_loss(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphCutWarning)
        cut = draw_graph(big)
        seconds = median_seconds(lambda: draw_graph(big).pipe(format="svg"), rounds)
    print(f"\nbatch of 200 (default max_nodes): {cut.layout_size:,} nodes + edges drawn")
    print(f"  draw + svg   {seconds:7.2f} s")


if __name__ == "__main__":
    main()
