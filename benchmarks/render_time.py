"""How long rendering a computation graph takes: two ~2,000-value graphs drawn whole, and a
big batch drawn with the default cut (max_nodes). Medians of a few rounds, one process.

    .venv/bin/python benchmarks/render_time.py [--rounds 3]

- a chain of 400 one-input neurons, o = tanh(o * w_i + b_i): 2,001 values, each op with one
  or two operands (the sparse case);
- an MLP(2, [16, 16, 1]) mse loss on a batch of 16 samples: 1,971 values, 1,602 op nodes and
  12,947 edges, since each dot node of the hidden and output layers has 32 operands.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

from tinygrad_edu import MLP, Value, draw_graph, losses
from tinygrad_edu.renderer import find_renderer
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
    rounds = parser.parse_args().rounds
    print(f"renderer: {find_renderer()}   (median of {rounds} rounds)")

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
