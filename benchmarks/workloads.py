"""The benchmark workloads, one engine and one workload per process.

    python benchmarks/workloads.py ENGINE WORKLOAD [--steps K] [--depth N]

prints one JSON object: the timings and the numbers to check engines against each other.
``run.py`` starts a fresh process of this script for every engine, workload and round, so that
no engine inherits another's heap, garbage or warmed caches. Python's garbage collector keeps
its default settings, as users run it. Times are the process's CPU time (time.process_time):
the same as wall time on an idle machine for this single-threaded work, but blind to other
programs competing for the cores.

Engines: ``micrograd`` (0.1.0, from PyPI), ``tinygrad_edu`` and ``torch`` (0-d float64
tensors with requires_grad), each wrapped in an adapter that speaks micrograd's dialect.
Workloads:

- ``A`` (A1 for tinygrad_edu): micrograd's demo step, the per-op graph micrograd builds;
  ``A2``: the same step with tinygrad_edu's own ``MLP``, ``losses`` and ``optim``.
- ``B``: the chain ``x = x * 1.0001 + 0.5`` of N = 1e3, 1e4, 1e5 steps (two ops each):
  seconds per op, forward and backward; then ``C``: bytes per op node (tracemalloc).
- ``D``: build and backprop one chain of ``--depth`` ops; run.py searches for the deepest.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

SEED = 0
SIZES = [2, 16, 16, 1]  # micrograd's demo MLP: 2 inputs, two ReLU layers of 16, linear out
SAMPLES = 100
ALPHA = 1e-4  # L2 weight
CHAIN_STEPS = (1_000, 10_000, 100_000)
CHAIN_REPEATS = {1_000: 15, 10_000: 5, 100_000: 3}  # median of these within one process
BYTES_STEPS = 10_000


# --- the engines, each seen through micrograd's API ----------------------------------------


class Micrograd:
    name = "micrograd"

    def __init__(self) -> None:
        from micrograd.engine import Value

        self.Value = Value
        # micrograd's sort is recursive; B needs a chain deeper than the default limit allows.
        # D measures what the default limit gives, so only B raises it.
        self.deep_recursion_for_b = True
        self.memory_visible = True  # to tracemalloc, which sees Python's allocations only

    def leaf(self, x: float):
        return self.Value(x)

    def data(self, v) -> float:
        return float(v.data)

    def grad(self, v) -> float:
        return float(v.grad)

    def sgd(self, params: Sequence, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    def zero_grad(self, params: Sequence) -> None:
        for p in params:
            p.grad = 0


class TinygradEdu(Micrograd):
    name = "tinygrad_edu"

    def __init__(self) -> None:
        from tinygrad_edu import Value

        self.Value = Value
        self.deep_recursion_for_b = False
        self.memory_visible = True


class Torch(Micrograd):
    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.deep_recursion_for_b = False
        self.memory_visible = False  # tensors and autograd nodes live in C++'s heap

    def leaf(self, x: float):
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def data(self, v) -> float:
        return v.item()

    def grad(self, v) -> float:
        return 0.0 if v.grad is None else v.grad.item()

    def sgd(self, params: Sequence, lr: float) -> None:
        with self.torch.no_grad():
            for p in params:
                p -= lr * p.grad

    def zero_grad(self, params: Sequence) -> None:
        for p in params:
            p.grad = None


ENGINES = {"micrograd": Micrograd, "tinygrad_edu": TinygradEdu, "torch": Torch}


# --- A: micrograd's demo step ----------------------------------------------------------------


def two_moons(n: int = SAMPLES, noise: float = 0.1, seed: int = SEED):
    """Two interleaving half circles with Gaussian noise, labels -1 and +1 (as in the demo)."""
    rng = np.random.default_rng(seed)
    upper, lower = n // 2, n - n // 2
    t_upper, t_lower = np.linspace(0, math.pi, upper), np.linspace(0, math.pi, lower)
    xs = np.concatenate([np.cos(t_upper), 1 - np.cos(t_lower)])
    ys = np.concatenate([np.sin(t_upper), 0.5 - np.sin(t_lower)])
    points = np.stack([xs, ys], axis=1) + rng.normal(scale=noise, size=(n, 2))
    labels = np.array([-1.0] * upper + [1.0] * lower)
    order = rng.permutation(n)
    return points[order].tolist(), labels[order].tolist()


def initial_parameters(seed: int = SEED) -> list[float]:
    """Every parameter in micrograd's order (per neuron: weights, then bias): U(-1, 1), bias 0."""
    draw = random.Random(seed).uniform
    flat = []
    for nin, nout in zip(SIZES[:-1], SIZES[1:]):
        for _ in range(nout):
            flat += [draw(-1, 1) for _ in range(nin)] + [0.0]
    return flat


def learning_rate(step: int) -> float:
    return 1.0 - 0.9 * step / 100  # the demo's schedule


class PerOpModel:
    """micrograd's MLP, op for op, built of any engine's scalars (A1, torch)."""

    def __init__(self, engine, flat: list[float]) -> None:
        values = iter([engine.leaf(x) for x in flat])
        self.layers = [
            [([next(values) for _ in range(nin)], next(values)) for _ in range(nout)]
            for nin, nout in zip(SIZES[:-1], SIZES[1:])
        ]

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            relu = i != len(self.layers) - 1
            out = []
            for w, b in layer:
                act = sum((wi * xi for wi, xi in zip(w, x)), b)
                out.append(act.relu() if relu else act)
            x = out[0] if len(out) == 1 else out
        return x

    def parameters(self) -> list:
        return [p for layer in self.layers for w, b in layer for p in [*w, b]]


def demo_loss(model, engine, points, labels):
    """micrograd's demo loss, op for op: mean hinge + ALPHA * sum of squares."""
    inputs = [[engine.leaf(x) for x in row] for row in points]
    scores = [model(x) for x in inputs]
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def per_op_step(engine, model, points, labels, step: int) -> float:
    loss = demo_loss(model, engine, points, labels)
    params = model.parameters()
    engine.zero_grad(params)
    loss.backward()
    engine.sgd(params, learning_rate(step))
    return engine.data(loss)


def micrograd_model(engine, flat: list[float]):
    from micrograd.nn import MLP

    model = MLP(SIZES[0], SIZES[1:])
    for p, x in zip(model.parameters(), flat):
        p.data = x
    return model


def our_mlp_step_maker(flat: list[float]):
    """A2: tinygrad_edu's MLP, hinge + l2 losses and SGD, as a user writes a training step."""
    from tinygrad_edu import MLP, losses, optim

    model = MLP(SIZES[0], SIZES[1:], seed=SEED)
    params = model.parameters()
    for p, x in zip(params, flat):
        p.data = x
    opt = optim.SGD(params, lr=learning_rate(0))

    def step(points, labels, k: int) -> float:
        scores = [model(x)[0] for x in points]
        loss = losses.hinge(scores, labels) + ALPHA * losses.l2(params)
        opt.zero_grad()
        loss.backward()
        opt.lr = learning_rate(k)
        opt.step()
        return loss.data

    return step


def run_a(engine, variant: str, steps: int) -> dict:
    points, labels = two_moons()
    flat = initial_parameters()
    if variant == "A2":
        step = our_mlp_step_maker(flat)
    else:
        model = micrograd_model(engine, flat) if engine.name == "micrograd" else None
        model = model or PerOpModel(engine, flat)

        def step(points, labels, k):
            return per_op_step(engine, model, points, labels, k)

    losses, times = [], []
    for k in range(steps + 1):  # step 0 warms up (and gives the loss compared across engines)
        start = time.process_time()
        losses.append(step(points, labels, k))
        times.append(time.process_time() - start)
    return {"losses": losses, "step_s": statistics.median(times[1:]), "all_step_s": times[1:]}


# --- B, C, D: a long chain ---------------------------------------------------------------------


def chain(engine, steps: int):
    x = engine.leaf(1.0)
    y = x
    for _ in range(steps):
        y = y * 1.0001 + 0.5
    return x, y


def run_b(engine) -> dict:
    if engine.deep_recursion_for_b:
        sys.setrecursionlimit(10 * max(CHAIN_STEPS) + 1000)
    out = {}
    for n in CHAIN_STEPS:
        forward, backward = [], []
        for _ in range(CHAIN_REPEATS[n]):
            start = time.process_time()
            x, y = chain(engine, n)
            middle = time.process_time()
            y.backward()
            end = time.process_time()
            forward.append((middle - start) / (2 * n))
            backward.append((end - middle) / (2 * n))
            result = (engine.data(y), engine.grad(x))
            del x, y
        out[f"B{n}"] = {
            "forward_s_per_op": statistics.median(forward),
            "backward_s_per_op": statistics.median(backward),
            "y": result[0],
            "dy_dx": result[1],
        }
    out["C"] = bytes_per_op(engine)
    return out


def bytes_per_op(engine) -> float | None:
    """Memory held by a forward chain of BYTES_STEPS steps, per op node (tracemalloc)."""
    if not engine.memory_visible:
        return None
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        x, y = chain(engine, BYTES_STEPS)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del x, y
    return held / (2 * BYTES_STEPS)


def run_d(engine, depth: int) -> dict:
    """Build a chain ``depth`` ops deep (alternating * and +) and backprop it."""
    x, y = chain(engine, depth // 2)
    y.backward()
    grad = engine.grad(x)
    if not math.isfinite(grad) or grad <= 0.0:
        raise AssertionError(f"wrong gradient {grad!r} at depth {depth}")
    return {"depth": depth, "ok": True}


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("workload", choices=["A", "A2", "B", "D"])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (A)")
    parser.add_argument("--depth", type=int, default=1000, help="chain depth in ops (D)")
    args = parser.parse_args(argv)
    engine = ENGINES[args.engine]()
    runners: dict[str, Callable[[], dict]] = {
        "A": lambda: run_a(engine, "A", args.steps),
        "A2": lambda: run_a(engine, "A2", args.steps),
        "B": lambda: run_b(engine),
        "D": lambda: run_d(engine, args.depth),
    }
    print(json.dumps(runners[args.workload]()))


if __name__ == "__main__":
    main(sys.argv[1:])
