"""The benchmark workloads, one engine and one workload per process.

    python benchmarks/workloads.py ENGINE WORKLOAD [--steps K] [--depth N] [--jit]

prints one JSON object: the timings and the numbers to check engines against each other.
``run.py`` starts a fresh process of this script for every engine, workload and round, so that
no engine inherits another's heap, garbage or warmed caches. Python's garbage collector keeps
its default settings, as users run it. Times are the process's CPU time (time.process_time):
the same as wall time on an idle machine for this single-threaded work, but blind to other
programs competing for the cores.

Engines: ``micrograd`` (0.1.0, from PyPI), ``tinygrad_edu`` and ``torch`` (0-d float64
tensors with requires_grad), each wrapped in an adapter that speaks micrograd's dialect; for
A2 also ``numpy`` (``ReferenceMLP``, backprop written by hand), and for G ``microgpt`` (the
40-line engine of ``microgpt.py``). ``--jit`` runs tinygrad_edu's A2 or G step under ``jit``.
Workloads:

- ``A`` (A1 for tinygrad_edu): micrograd's demo step, the per-op graph micrograd builds;
  ``A2``: the same step with tinygrad_edu's own ``MLP``, ``losses`` and ``optim`` (or with
  the numpy reference, on the same weights and data).
- ``B``: the chain ``x = x * 1.0001 + 0.5`` of N = 1e3, 1e4, 1e5 steps (two ops each):
  seconds per op, forward and backward; then ``C``: bytes per op node (tracemalloc).
- ``D``: build and backprop one chain of ``--depth`` ops; run.py searches for the deepest.
- ``G``: a training step of ``tinygrad_edu.GPT`` (microgpt's model and settings), one made-up
  name per step (``--steps`` of them); the peer ``microgpt`` runs microgpt's code for the same
  model on its engine (``microgpt.py``). Under ``--jit`` every sequence length is captured
  first, forward only (no update), and that time is reported apart, as ``capture_s``.
  ``--dropin`` runs tinygrad_edu on microgpt's own code (``sum`` of products) instead.
- ``S``: microgpt's published schedule, 1,000 steps of one census first name each, in all:
  ``microgpt`` against ``tinygrad_edu`` under jit as ``tinygrad-edu demo names --batch 1``
  trains, its capture included.
- Under ``--jit`` (A2 and G), ``guard_s`` is the time of the check each call makes before it
  replays, that fn still reaches the same parameters (wall time, median of 200).
- ``U``: A2's network and loss with a user's op (softplus, made with ``@op``) as the hidden
  activation, forward + backward: eager; ``--jit`` with the op's vectorized rule; ``--jit
  --fallback`` without one, so that jit evaluates it node by node.
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


class Numpy:
    name = "numpy"  # A2 only: the reference network, whole-batch matrices, backprop by hand


class MicroGPTStyle:
    name = "microgpt"  # G only: the 40-line engine of microgpt.py


ENGINES = {
    "micrograd": Micrograd,
    "tinygrad_edu": TinygradEdu,
    "torch": Torch,
    "numpy": Numpy,
    "microgpt": MicroGPTStyle,
}


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


def our_mlp(flat: list[float]):
    """micrograd's demo network as tinygrad_edu's MLP, holding the weights ``flat``."""
    from tinygrad_edu import MLP

    model = MLP(SIZES[0], SIZES[1:], seed=SEED)
    for p, x in zip(model.parameters(), flat):
        p.data = x
    return model


def our_mlp_step_maker(flat: list[float], labels: list[float], use_jit: bool):
    """A2: tinygrad_edu's MLP, hinge + l2 losses and SGD, as a user writes a training step;
    under jit, the loss function is compiled (the labels, fixed, are read from outside)."""
    from tinygrad_edu import losses, optim

    model = our_mlp(flat)
    params = model.parameters()
    opt = optim.SGD(params, lr=learning_rate(0))

    def loss_of(points):
        scores = [model(x)[0] for x in points]
        return losses.hinge(scores, labels) + ALPHA * losses.l2(params)

    loss_fn = loss_of
    if use_jit:  # imported only here: against.py runs eager A2 on engines older than jit
        from tinygrad_edu import jit

        loss_fn = jit(loss_of)

    def step(points, labels, k: int) -> float:
        loss = loss_fn(points)
        opt.zero_grad()
        loss.backward()
        opt.lr = learning_rate(k)
        opt.step()
        return loss.data

    step.jitted = loss_fn if use_jit else None
    return step


def guard_cost(jitted, repeats: int = 200) -> float:
    """Seconds per call of the guard, the check each call of a jitted function makes before it
    replays (that fn still reaches the same Values): the median over ``repeats`` runs, of the
    median over the function's captures."""
    per_capture = []
    for program in jitted.programs.values():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            program.guard.changed()
            times.append(time.perf_counter() - start)
        per_capture.append(statistics.median(times))
    return statistics.median(per_capture)


def numpy_step_maker(flat: list[float], labels: list[float]):
    """A2 in numpy: the same network, weights, loss and steps, backprop written by hand."""
    from tinygrad_edu.reference import ReferenceMLP

    reference = ReferenceMLP.from_mlp(our_mlp(flat))
    Y = np.array(labels).reshape(-1, 1)

    def step(points, labels, k: int) -> float:
        return reference.train_step(np.array(points), Y, "hinge", learning_rate(k), l2=ALPHA)

    return step


def run_a(engine, variant: str, steps: int, use_jit: bool = False) -> dict:
    points, labels = two_moons()
    flat = initial_parameters()
    if engine.name == "numpy":
        step = numpy_step_maker(flat, labels)
    elif variant == "A2":
        step = our_mlp_step_maker(flat, labels, use_jit)
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
    result = {"losses": losses, "step_s": statistics.median(times[1:]), "all_step_s": times[1:]}
    if getattr(step, "jitted", None) is not None:
        result["guard_s"] = guard_cost(step.jitted)
    return result


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


# --- G and S: a GPT's training steps -------------------------------------------------------


def sum_of_products(ws, xs):
    """A dot product as microgpt writes it: a chain of + nodes over * nodes."""
    return sum(w * x for w, x in zip(ws, xs))


def gpt_trainer(engine_name: str, steps: int, use_jit: bool, dropin: bool, positions=None):
    """``(step, capture)`` for tinygrad_edu's GPT (microgpt's settings) on one engine:
    ``step(k, doc)`` trains on the document's tokens (step k of ``steps``, with microgpt's
    decaying learning rate) and returns its loss; ``capture(doc)`` makes the jit capture for
    the document's shape without training. Every engine starts from the same weights.
    ``positions``: pad every document to that many positions (one shape for all, as the names
    demo does) instead of giving each length its own capture."""
    import microgpt as g

    from tinygrad_edu import GPT, Value, decode, jit, one_hot_batch, optim

    model = GPT(seed=SEED)
    if engine_name == "microgpt":
        peer = g.MicroGPT(g.weights_of(model), model.n_head, g.MicroValue, sum_of_products, sum)
        params, state = peer.parameters(), {}

        def step(k: int, doc: list[int]) -> float:
            loss = g.micro_step_loss(peer, doc)
            loss.backward()
            g.micro_adam(params, state, k, steps)
            return loss.data

        return step, None

    if dropin:  # microgpt's code on our Value: embedding rows and one-hot targets go in
        peer = g.MicroGPT(g.weights_of(model), model.n_head, Value, sum_of_products, sum)
        params = peer.parameters()

        def doc_loss(token_rows, targets):
            return g.one_hot_loss(peer, token_rows, targets)

        def inputs(doc):
            return g.step_inputs(peer, doc)
    else:  # as a user of ours writes it: tokens and targets as one-hot rows of numbers
        params = model.parameters()

        def doc_loss(tokens, targets):
            return model.loss(tokens, targets)

        def inputs(doc):
            return one_hot_batch([decode(doc)], positions or len(doc) - 1)

    opt = optim.Adam(params, lr=g.LEARNING_RATE, betas=(g.BETA1, g.BETA2), eps=g.EPS)
    loss_fn = jit(doc_loss) if use_jit else doc_loss

    def step(k: int, doc: list[int]) -> float:
        loss = loss_fn(*inputs(doc))
        opt.zero_grad()
        loss.backward()
        opt.lr = g.LEARNING_RATE * (1 - k / steps)
        opt.step()
        return loss.data

    step.jitted = loss_fn if use_jit else None
    return step, (lambda doc: loss_fn(*inputs(doc))) if use_jit else None


def run_g(engine_name: str, steps: int, use_jit: bool, dropin: bool) -> dict:
    """``steps`` training steps of the GPT, one made-up name each. Under jit, each sequence
    length is captured first (forward only, no update) and that time is reported apart."""
    import microgpt as g

    docs = g.documents(steps)
    step, capture = gpt_trainer(engine_name, steps, use_jit, dropin)
    start = time.process_time()
    if capture:
        for doc in {len(doc): doc for doc in docs}.values():
            capture(doc)
    capture_s = time.process_time() - start
    losses, times = [], []
    for k, doc in enumerate(docs):
        start = time.process_time()
        losses.append(step(k, doc))
        times.append(time.process_time() - start)
    result = {
        "losses": losses,
        "step_s": statistics.median(times),
        "total_s": sum(times),
        "capture_s": capture_s,
        "lengths": sorted({len(doc) - 1 for doc in docs}),
    }
    if use_jit and engine_name != "microgpt":
        result["guard_s"] = guard_cost(step.jitted)
    return result


def run_s(engine_name: str, steps: int) -> dict:
    """microgpt's published schedule: ``steps`` (1,000) steps of one census first name each,
    the training names of ``tinygrad-edu demo names --batch 1`` in its order. Ours runs under
    jit as the demo does (every name padded to the longest, one capture, made at the first
    step); the total time includes it."""
    from tinygrad_edu import encode, load_names, split_names

    names = load_names()
    train = split_names(names, SEED)[0]
    docs = [encode(train[k % len(train)]) for k in range(steps)]
    positions = max(len(name) for name in names) + 1
    step, _ = gpt_trainer(engine_name, steps, engine_name != "microgpt", False, positions)
    start = time.process_time()
    losses = [step(k, doc) for k, doc in enumerate(docs)]
    return {"losses": losses, "total_s": time.process_time() - start}


# --- U: a user's op under jit, with and without a vectorized rule ------------------------------


def softplus_of_floats(x: float) -> tuple[float, tuple[float]]:
    """softplus(x) = ln(1 + e^x);  d/dx = sigmoid(x)"""
    return math.log1p(math.exp(x)), (1 / (1 + math.exp(-x)),)


def softplus_of_arrays(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray]]:
    return np.log1p(np.exp(x)), (1 / (1 + np.exp(-x)),)


def run_u(steps: int, use_jit: bool, fallback: bool) -> dict:
    from tinygrad_edu import Value, jit, losses, op

    rule = None if fallback else softplus_of_arrays
    softplus = op(vectorized=rule)(softplus_of_floats)
    points, labels = two_moons()
    model = our_mlp(initial_parameters())

    def score(x):
        for i, layer in enumerate(model.layers):
            z = [Value.dot(neuron.w, x) + neuron.b for neuron in layer.neurons]
            x = [softplus(v) for v in z] if i < len(model.layers) - 1 else z
        return x[0]

    def loss_of(points):
        return losses.hinge([score(x) for x in points], labels)

    loss_fn = jit(loss_of) if use_jit else loss_of
    losses_, times = [], []
    for _ in range(steps + 1):  # the first call captures (under jit): not timed
        start = time.process_time()
        loss = loss_fn(points)
        model.zero_grad()
        loss.backward()
        times.append(time.process_time() - start)
        losses_.append(loss.data)
    return {"losses": losses_, "step_s": statistics.median(times[1:])}


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("workload", choices=["A", "A2", "B", "D", "G", "S", "U"])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (A, G, S)")
    parser.add_argument("--depth", type=int, default=1000, help="chain depth in ops (D)")
    parser.add_argument("--jit", action="store_true", help="tinygrad_edu's A2 or G under jit")
    parser.add_argument("--dropin", action="store_true", help="G on microgpt's own code")
    parser.add_argument("--fallback", action="store_true", help="U's op without a vectorized rule")
    args = parser.parse_args(argv)
    engine = ENGINES[args.engine]()
    runners: dict[str, Callable[[], dict]] = {
        "A": lambda: run_a(engine, "A", args.steps),
        "A2": lambda: run_a(engine, "A2", args.steps, args.jit),
        "B": lambda: run_b(engine),
        "D": lambda: run_d(engine, args.depth),
        "G": lambda: run_g(args.engine, args.steps, args.jit, args.dropin),
        "S": lambda: run_s(args.engine, args.steps),
        "U": lambda: run_u(args.steps, args.jit, args.fallback),
    }
    print(json.dumps(runners[args.workload]()))


if __name__ == "__main__":
    main(sys.argv[1:])
