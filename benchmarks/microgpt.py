"""A microgpt-shaped training step, and a microgpt-style scalar engine to run it on.

Karpathy's microgpt (2026) trains a GPT with a scalar autograd engine of about 40 lines whose
nodes keep their children and local gradients, as ours do. This module writes that design out
(from its published description, not its code): ``MicroValue``, the engine; a one-layer GPT
(token and position embeddings, rmsnorm, multi-head causal attention over a key/value list
that grows with the position, a ReLU MLP, residual connections, softmax cross-entropy); the
published hyperparameters (16 dims, 4 heads, context 16, Adam with betas 0.85 and 0.99 and a
linearly decaying learning rate 0.01); and a stream of made-up names, one document per step,
so that the sequence length changes from step to step.

One model, three ways to run it (``benchmarks/workloads.py``, workload G):

- ``microgpt``: on MicroValue, as the published script does (``sum`` of products, ``probs[t]``);
- ``tinygrad_edu``: on our Value, as a user of ours writes it (``Value.dot``, ``Value.sum``,
  ``optim.Adam``), eager;
- ``tinygrad_edu --jit``: the same function under ``jit``. So that a document is not a new
  structure, the step takes the rows of the embedding its tokens select (Values, whose
  gradients land in the embedding) and the targets as one-hot rows of numbers, instead of
  token ids, which would be part of the structure: one capture per sequence length.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

N_EMBD, N_HEAD, N_LAYER, BLOCK_SIZE = 16, 4, 1, 16
HEAD_DIM = N_EMBD // N_HEAD
LEARNING_RATE, BETA1, BETA2, EPS = 0.01, 0.85, 0.99, 1e-8
INIT_STD = 0.08
LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOS = len(LETTERS)  # the token that starts and ends every document
VOCAB = len(LETTERS) + 1


# --- a microgpt-style engine: slots, children, local grads, a recursive topological sort --------


class MicroValue:
    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data, self.grad = data, 0.0
        self._children, self._local_grads = children, local_grads

    def __add__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return MicroValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def log(self):
        return MicroValue(math.log(self.data), (self,), (1.0 / self.data,))

    def exp(self):
        e = math.exp(self.data)
        return MicroValue(e, (self,), (e,))

    def relu(self):
        return MicroValue(max(0.0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self): return self * -1.0  # fmt: skip

    def __radd__(self, other): return self + other  # fmt: skip

    def __sub__(self, other): return self + (-other)  # fmt: skip

    def __rmul__(self, other): return self * other  # fmt: skip

    def __truediv__(self, other): return self * other**-1  # fmt: skip

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._children:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            for child, local in zip(v._children, v._local_grads):
                child.grad += local * v.grad


# --- the data: made-up names, one per step ----------------------------------------------------


def documents(count: int, seed: int = 0) -> list[list[int]]:
    """``count`` name-like documents as token lists, ``[BOS, letters..., BOS]``: two to four
    syllables of a consonant or two and a vowel, so lengths run from 3 to 12 letters."""
    rng = random.Random(seed)
    consonants, vowels = "bcdfghjklmnprstvz", "aeiouy"
    docs = []
    for _ in range(count):
        name = "".join(
            "".join(rng.choice(consonants) for _ in range(rng.randint(1, 2))) + rng.choice(vowels)
            for _ in range(rng.randint(2, 4))
        )
        docs.append([BOS] + [LETTERS.index(c) for c in name[: BLOCK_SIZE - 1]] + [BOS])
    return docs


# --- the model, for any engine --------------------------------------------------------------


def initial_weights(seed: int = 0) -> dict[str, list[list[float]]]:
    """Every matrix, rows of numbers drawn from N(0, 0.08²), in a fixed order."""
    rng = random.Random(seed)
    shapes = {"wte": (VOCAB, N_EMBD), "wpe": (BLOCK_SIZE, N_EMBD), "lm_head": (VOCAB, N_EMBD)}
    for layer in range(N_LAYER):
        for name in ("wq", "wk", "wv", "wo"):
            shapes[f"layer{layer}.{name}"] = (N_EMBD, N_EMBD)
        shapes[f"layer{layer}.fc1"] = (4 * N_EMBD, N_EMBD)
        shapes[f"layer{layer}.fc2"] = (N_EMBD, 4 * N_EMBD)
    return {
        name: [[rng.gauss(0.0, INIT_STD) for _ in range(cols)] for _ in range(rows)]
        for name, (rows, cols) in shapes.items()
    }


class GPT:
    """The model's matrices as an engine's scalars, and its forward pass written with two
    engine-specific helpers: ``dot(ws, xs)`` and ``total(xs)``."""

    def __init__(
        self,
        leaf: Callable[[float], Any],
        dot: Callable[[Sequence, Sequence], Any],
        total: Callable[[Sequence], Any],
        seed: int = 0,
    ) -> None:
        self.dot, self.total = dot, total
        self.weights = {
            name: [[leaf(x) for x in row] for row in rows]
            for name, rows in initial_weights(seed).items()
        }

    def parameters(self) -> list:
        return [p for rows in self.weights.values() for row in rows for p in row]

    def linear(self, x: Sequence, name: str) -> list:
        return [self.dot(row, x) for row in self.weights[name]]

    def rmsnorm(self, x: Sequence) -> list:
        scale = (self.dot(x, x) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def softmax(self, logits: Sequence) -> list:
        shift = max(z.data for z in logits)  # a number read from the data: a jit constant
        exps = [(z - shift).exp() for z in logits]
        total = self.total(exps)
        return [e / total for e in exps]

    def logits(self, token_rows: Sequence[Sequence]) -> list[list]:
        """The next-token logits at every position, for the embedding rows of the tokens."""
        keys: list[list[list]] = [[] for _ in range(N_LAYER)]
        values: list[list[list]] = [[] for _ in range(N_LAYER)]
        out = []
        for pos, token_row in enumerate(token_rows):
            x = [t + p for t, p in zip(token_row, self.weights["wpe"][pos])]
            x = self.rmsnorm(x)
            for layer in range(N_LAYER):
                residual = x
                x = self.rmsnorm(x)
                q = self.linear(x, f"layer{layer}.wq")
                keys[layer].append(self.linear(x, f"layer{layer}.wk"))
                values[layer].append(self.linear(x, f"layer{layer}.wv"))
                heads = []
                for h in range(N_HEAD):
                    part = slice(h * HEAD_DIM, (h + 1) * HEAD_DIM)
                    scores = [self.dot(q[part], k[part]) / HEAD_DIM**0.5 for k in keys[layer]]
                    weights = self.softmax(scores)
                    for j in range(h * HEAD_DIM, (h + 1) * HEAD_DIM):
                        heads.append(self.dot(weights, [v[j] for v in values[layer]]))
                x = [a + b for a, b in zip(self.linear(heads, f"layer{layer}.wo"), residual)]
                residual = x
                hidden = [h.relu() for h in self.linear(self.rmsnorm(x), f"layer{layer}.fc1")]
                x = [a + b for a, b in zip(self.linear(hidden, f"layer{layer}.fc2"), residual)]
            out.append(self.linear(x, "lm_head"))
        return out


def micro_step_loss(model: GPT, doc: list[int]) -> MicroValue:
    """The published loss: the mean over positions of -log softmax(logits)[target]."""
    n = len(doc) - 1
    rows = [model.weights["wte"][token] for token in doc[:n]]
    losses = [-model.softmax(z)[target].log() for z, target in zip(model.logits(rows), doc[1:])]
    return (1.0 / n) * sum(losses)


def one_hot_loss(model: GPT, token_rows: Sequence[Sequence], targets: Sequence[Sequence]) -> Any:
    """The same loss with the targets as one-hot rows y: -log(y · softmax(logits)), which is
    -log softmax(logits)[target] (the other terms are exactly 0)."""
    losses = [
        -model.dot(y, model.softmax(z)).log() for z, y in zip(model.logits(token_rows), targets)
    ]
    return model.total(losses) / len(losses)


def step_inputs(model: GPT, doc: list[int]) -> tuple[list[list], list[list[float]]]:
    """A document as what ``one_hot_loss`` takes: the embedding rows its tokens select (the
    model's own Values) and one-hot rows of its targets."""
    n = len(doc) - 1
    rows = [model.weights["wte"][token] for token in doc[:n]]
    targets = [[1.0 if i == target else 0.0 for i in range(VOCAB)] for target in doc[1:]]
    return rows, targets


def micro_adam(params: list[MicroValue], state: dict, step: int, steps: int) -> None:
    """Adam as the published script writes it, with its linearly decaying learning rate."""
    m, v = state.setdefault("m", [0.0] * len(params)), state.setdefault("v", [0.0] * len(params))
    lr = LEARNING_RATE * (1 - step / steps)
    for i, p in enumerate(params):
        m[i] = BETA1 * m[i] + (1 - BETA1) * p.grad
        v[i] = BETA2 * v[i] + (1 - BETA2) * p.grad**2
        m_hat = m[i] / (1 - BETA1 ** (step + 1))
        v_hat = v[i] / (1 - BETA2 ** (step + 1))
        p.data -= lr * m_hat / (v_hat**0.5 + EPS)
        p.grad = 0.0
