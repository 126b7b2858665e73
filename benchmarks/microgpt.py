"""microgpt's way, the peer that ``tinygrad_edu.GPT`` is timed against: its engine and its code.

Karpathy's microgpt (2026) trains a GPT with a scalar autograd engine of about 40 lines whose
nodes keep their children and local gradients, as ours do. This module writes that design out
(from its published description, not its code): ``MicroValue``, the engine; ``MicroGPT``, the
model's forward pass as microgpt writes it (``sum`` of products, ``probs[target]``), for any
engine; microgpt's Adam (betas 0.85 and 0.99, a learning rate of 0.01 decaying linearly); and a
stream of made-up names, one document per step, so that the sequence length changes from step
to step.

The model itself is ``tinygrad_edu.GPT`` (tinygrad_edu/models/gpt.py), with microgpt's settings
as its defaults; the peer copies its initial weights, so that both start from the same numbers
and their losses can be compared at every step. Three ways to run the one model
(``benchmarks/workloads.py``, workloads G and S):

- ``microgpt``: ``MicroGPT`` on MicroValue, as the published script runs;
- ``tinygrad_edu``: ``tinygrad_edu.GPT``, as a user of ours writes a training step
  (``model.loss``, ``optim.Adam``), eager or under ``jit``: tokens go in as one-hot rows of
  numbers, so every document of one length replays one capture;
- ``tinygrad_edu --dropin``: ``MicroGPT``'s code run on our Value.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

LEARNING_RATE, BETA1, BETA2, EPS = 0.01, 0.85, 0.99, 1e-8
LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOS = len(LETTERS)  # the token that starts and ends every document


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
    syllables of a consonant or two and a vowel, so lengths run from 4 to 12 letters."""
    rng = random.Random(seed)
    consonants, vowels = "bcdfghjklmnprstvz", "aeiouy"
    docs = []
    for _ in range(count):
        name = "".join(
            "".join(rng.choice(consonants) for _ in range(rng.randint(1, 2))) + rng.choice(vowels)
            for _ in range(rng.randint(2, 4))
        )
        docs.append([BOS] + [LETTERS.index(c) for c in name] + [BOS])
    return docs


# --- the model as microgpt writes it, for any engine ------------------------------------------


def weights_of(model: Any) -> dict[str, list[list[float]]]:
    """The matrices of a ``tinygrad_edu.GPT`` as rows of numbers, under microgpt's names."""
    matrices = {"wte": model.wte, "wpe": model.wpe, "lm_head": model.lm_head}
    for i, block in enumerate(model.layers):
        for name in ("wq", "wk", "wv", "wo", "fc1", "fc2"):
            matrices[f"layer{i}.{name}"] = getattr(block, name)
    return {name: [[p.data for p in row] for row in rows] for name, rows in matrices.items()}


class MicroGPT:
    """microgpt's forward pass, written with two engine-specific helpers: ``dot(ws, xs)`` and
    ``total(xs)``, over matrices of an engine's scalars (``leaf`` makes one from a number)."""

    def __init__(
        self,
        weights: dict[str, list[list[float]]],
        n_head: int,
        leaf: Callable[[float], Any],
        dot: Callable[[Sequence, Sequence], Any],
        total: Callable[[Sequence], Any],
    ) -> None:
        self.dot, self.total, self.n_head = dot, total, n_head
        self.weights = {
            name: [[leaf(x) for x in row] for row in rows] for name, rows in weights.items()
        }
        self.n_layer = sum(name.endswith(".wq") for name in weights)

    def parameters(self) -> list:
        return [p for rows in self.weights.values() for row in rows for p in row]

    def linear(self, x: Sequence, name: str) -> list:
        return [self.dot(row, x) for row in self.weights[name]]

    def rmsnorm(self, x: Sequence) -> list:
        scale = (self.dot(x, x) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def softmax(self, logits: Sequence) -> list:
        shift = max(z.data for z in logits)
        exps = [(z - shift).exp() for z in logits]
        total = self.total(exps)
        return [e / total for e in exps]

    def logits(self, token_rows: Sequence[Sequence]) -> list[list]:
        """The next-token logits at every position, for the embedding rows of the tokens."""
        keys: list[list[list]] = [[] for _ in range(self.n_layer)]
        values: list[list[list]] = [[] for _ in range(self.n_layer)]
        head_dim = len(self.weights["wte"][0]) // self.n_head
        out = []
        for pos, token_row in enumerate(token_rows):
            x = [t + p for t, p in zip(token_row, self.weights["wpe"][pos])]
            x = self.rmsnorm(x)
            for layer in range(self.n_layer):
                residual = x
                x = self.rmsnorm(x)
                q = self.linear(x, f"layer{layer}.wq")
                keys[layer].append(self.linear(x, f"layer{layer}.wk"))
                values[layer].append(self.linear(x, f"layer{layer}.wv"))
                heads = []
                for h in range(self.n_head):
                    part = slice(h * head_dim, (h + 1) * head_dim)
                    scores = [self.dot(q[part], k[part]) / head_dim**0.5 for k in keys[layer]]
                    weights = self.softmax(scores)
                    for j in range(h * head_dim, (h + 1) * head_dim):
                        heads.append(self.dot(weights, [v[j] for v in values[layer]]))
                x = [a + b for a, b in zip(self.linear(heads, f"layer{layer}.wo"), residual)]
                residual = x
                hidden = [h.relu() for h in self.linear(self.rmsnorm(x), f"layer{layer}.fc1")]
                x = [a + b for a, b in zip(self.linear(hidden, f"layer{layer}.fc2"), residual)]
            out.append(self.linear(x, "lm_head"))
        return out


def micro_step_loss(model: MicroGPT, doc: list[int]) -> Any:
    """The published loss: the mean over positions of -log softmax(logits)[target]."""
    n = len(doc) - 1
    rows = [model.weights["wte"][token] for token in doc[:n]]
    losses = [-model.softmax(z)[target].log() for z, target in zip(model.logits(rows), doc[1:])]
    return (1.0 / n) * sum(losses)


def one_hot_loss(
    model: MicroGPT, token_rows: Sequence[Sequence], targets: Sequence[Sequence]
) -> Any:
    """The same loss with the targets as one-hot rows y: -log(y · softmax(logits)), which is
    -log softmax(logits)[target] (the other terms are exactly 0); for ``--dropin --jit``, where
    token ids, ints, would make every document a structure of its own."""
    losses = [
        -model.dot(y, model.softmax(z)).log() for z, y in zip(model.logits(token_rows), targets)
    ]
    return model.total(losses) / len(losses)


def step_inputs(model: MicroGPT, doc: list[int]) -> tuple[list[list], list[list[float]]]:
    """A document as what ``one_hot_loss`` takes: the embedding rows its tokens select (the
    model's own Values) and one-hot rows of its targets."""
    n = len(doc) - 1
    rows = [model.weights["wte"][token] for token in doc[:n]]
    vocab = len(model.weights["wte"])
    targets = [[1.0 if i == target else 0.0 for i in range(vocab)] for target in doc[1:]]
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
