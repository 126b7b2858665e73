"""A GPT built of scalar Values: the model of Karpathy's microgpt, small enough to read at once.

A language model reads a sequence of tokens and, at every position, scores each token of the
vocabulary as the one that comes next. This is the transformer of GPT-2 cut to its bones, as in
Andrej Karpathy's microgpt (2026), whose published settings are the defaults here: 16
dimensions, 4 attention heads, 1 layer, a context of 16 positions.

Position t of a sequence, with x_t the one-hot row of the token there, goes through::

    h = rmsnorm(Eᵀ x_t + P_t)                 the token's embedding plus the position's
    for each layer:
        n = rmsnorm(h);  q = Wq n;  k_t = Wk n;  v_t = Wv n     (k_t, v_t join the cache)
        for each head:  a_s = softmax_s(q · k_s / √d)  over s = 0..t;   o = Σ_s a_s v_s
        h = h + Wo o                           attention, added to what came in
        h = h + W2 relu(W1 rmsnorm(h))         the MLP, added to what came in
    logits_t = W_lm h

Attention is the only place where positions meet: position t reads the keys and values of
positions 0..t (the cache grows by one each step), never a later one, so the model cannot peek
at the token it must predict. Training minimises the cross-entropy of the true next token,
-log softmax(logits_t)[next], averaged over the positions.

Every number is a ``Value``, so ``loss.backward()`` fills in the gradient of all 4,192
parameters; ``jit`` replays the graph (one capture per batch shape, see ``GPT.loss``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from numbers import Integral

from ..checks import positive_int
from ..engine import Operand, Value
from ..losses import log_softmax, softmax
from ..nn import Module

Matrix = list[list[Value]]  # rows of Values: W (nout x nin), so that y = W x is row · x
Cache = tuple[list[list[Value]], list[list[Value]]]  # one layer's keys and values so far

INIT_STD = 0.08  # microgpt's: every weight starts as a draw from N(0, 0.08²)
RMS_EPS = 1e-5


def linear(w: Matrix, x: Sequence[Operand]) -> list[Value]:
    """y = W x, one dot product per row of W;  dy_i/dW_ij = x_j,  dy_i/dx_j = W_ij."""
    return [Value.dot(row, x) for row in w]


def rmsnorm(x: Sequence[Value]) -> list[Value]:
    """x / √(mean(x²) + 1e-5): the vector scaled to a root-mean-square of 1, its direction kept."""
    scale = (Value.dot(x, x) / len(x) + RMS_EPS) ** -0.5
    return [xi * scale for xi in x]


def attention(
    q: list[Value], keys: list[list[Value]], values: list[list[Value]], n_head: int
) -> tuple[list[Value], list[list[Value]]]:
    """Causal self-attention for one position, head by head, and each head's weights.

    Head h owns d = len(q) / n_head of the dimensions. Its weights over the positions so far
    are a_s = softmax_s(q_h · k_s,h / √d), and its output is Σ_s a_s v_s,h: a mix of the earlier
    positions' values, weighted by how well their keys match this position's query.
    """
    d = len(q) // n_head
    out, weights = [], []
    for h in range(n_head):
        part = slice(h * d, (h + 1) * d)
        scores = [Value.dot(q[part], k[part]) / math.sqrt(d) for k in keys]
        a = softmax(scores)
        weights.append(a)
        out += [Value.dot(a, [v[j] for v in values]) for j in range(h * d, (h + 1) * d)]
    return out, weights


class Block(Module):
    """One transformer layer: attention, then an MLP (n_embd → 4 n_embd ReLU → n_embd), each
    with a residual connection (its output is added to its input)."""

    def __init__(self, n_embd: int, n_head: int, draw: random.Random) -> None:
        self.n_head = n_head
        self.wq, self.wk, self.wv, self.wo = (_matrix(n_embd, n_embd, draw) for _ in range(4))
        self.fc1 = _matrix(4 * n_embd, n_embd, draw)
        self.fc2 = _matrix(n_embd, 4 * n_embd, draw)

    def __call__(self, h: list[Value], cache: Cache) -> tuple[list[Value], list[list[Value]]]:
        """This position's vector through the layer; its key and value join ``cache``. Returns
        the new vector and the attention weights of each head."""
        keys, values = cache
        n = rmsnorm(h)
        keys.append(linear(self.wk, n))
        values.append(linear(self.wv, n))
        heads, weights = attention(linear(self.wq, n), keys, values, self.n_head)
        h = [a + b for a, b in zip(h, linear(self.wo, heads))]
        hidden = [z.relu() for z in linear(self.fc1, rmsnorm(h))]
        h = [a + b for a, b in zip(h, linear(self.fc2, hidden))]
        return h, weights


class GPT(Module):
    """A GPT of Values; the defaults are microgpt's published settings (4,192 parameters for
    a vocabulary of 27: a-z and one token that starts and ends every name).

    ``model(tokens)``: the next-token logits at every position; ``model.loss(...)``: the
    training loss of a batch; ``model.generate(...)``: a sample; ``model.attention(tokens)``:
    what each head looks at. Tokens go in as one-hot rows of numbers, not as ints: see ``loss``.
    """

    def __init__(
        self,
        vocab_size: int = 27,
        n_embd: int = 16,
        n_head: int = 4,
        n_layer: int = 1,
        block_size: int = 16,
        seed: int = 0,
    ) -> None:
        vocab_size, n_embd, n_head, n_layer, block_size = (
            positive_int(n, name)
            for n, name in (
                (vocab_size, "vocab_size"),
                (n_embd, "n_embd"),
                (n_head, "n_head"),
                (n_layer, "n_layer"),
                (block_size, "block_size"),
            )
        )
        if n_embd % n_head:
            raise ValueError(
                f"n_embd must be a multiple of n_head (each head gets n_embd / n_head "
                f"dimensions), got n_embd={n_embd} and n_head={n_head}"
            )
        # microgpt draws its weights with Python's random.gauss
        draw = random.Random(_seed(seed))
        self.vocab_size, self.n_embd, self.n_head = vocab_size, n_embd, n_head
        self.block_size = block_size
        self.wte = _matrix(vocab_size, n_embd, draw)  # a row per token
        self.wpe = _matrix(block_size, n_embd, draw)  # a row per position
        self.layers = [Block(n_embd, n_head, draw) for _ in range(n_layer)]
        self.lm_head = _matrix(vocab_size, n_embd, draw)

    def __call__(self, tokens: Sequence[Sequence[Operand]]) -> list[list[Value]]:
        """The logits of the next token at every position, for one sequence of one-hot rows."""
        return self._run(tokens)[0]

    def attention(self, tokens: Sequence[Sequence[Operand]]) -> list[list[list[list[float]]]]:
        """The attention weights, as numbers: ``[layer][head][t][s]`` is how much position t
        reads position s (0 for s > t; each row sums to 1)."""
        weights = self._run(tokens)[1]
        n = len(tokens)
        return [
            [
                [[a.data for a in at[h]] + [0.0] * (n - 1 - t) for t, at in enumerate(layer)]
                for h in range(self.n_head)
            ]
            for layer in weights
        ]

    def loss(
        self,
        tokens: Sequence[Sequence[Sequence[Operand]]],
        targets: Sequence[Sequence[Sequence[Operand]]],
    ) -> Value:
        """The mean cross-entropy per predicted token over a batch of sequences:

            L = -(1/N) Σ_b Σ_t y_bt · log softmax(logits_bt),   N = Σ_b Σ_t Σ_i y_bti

        ``tokens[b][t]`` is the one-hot row of the token at position t of sequence b and
        ``targets[b][t]`` the one-hot row of the token that follows it (y · log softmax picks
        out the log-probability of the true next token). A row of zeros in ``targets`` is a
        position with nothing to predict: padding, which lets sequences of different lengths
        share one shape. Under ``jit`` every number here is an input of the graph, so each batch
        of the same shape replays one capture; token ids as ints would make every sequence a
        new structure, and a new capture.
        """
        if len(tokens) != len(targets) or not tokens:
            raise ValueError(
                "loss takes a non-empty batch: a list of sequences of tokens and a list of "
                f"as many sequences of targets, got {len(tokens)} and {len(targets)}"
            )
        terms = []
        for sequence, following in zip(tokens, targets):
            if len(sequence) != len(following):
                raise ValueError(
                    f"each sequence needs one target row per token, got {len(sequence)} tokens "
                    f"and {len(following)} targets"
                )
            terms += [Value.dot(y, log_softmax(z)) for z, y in zip(self(sequence), following)]
        count = Value.sum([yi for following in targets for y in following for yi in y])
        return -Value.sum(terms) / count

    def generate(self, bos: int, rng: random.Random, temperature: float = 0.5) -> list[int]:
        """A sequence sampled token by token, from ``bos`` until the model picks ``bos`` again
        or the context is full: each next token is drawn with probabilities
        softmax(logits / temperature) (below 1, the likely tokens get likelier still)."""
        if not 0.0 < temperature < math.inf:
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        caches = self._caches()
        sampled, token = [], bos
        for position in range(self.block_size):
            logits = self._position(one_hot(token, self.vocab_size), position, caches)[0]
            probs = softmax([z / temperature for z in logits])
            token = rng.choices(range(self.vocab_size), weights=[p.data for p in probs])[0]
            if token == bos:
                break
            sampled.append(token)
        return sampled

    def _run(
        self, tokens: Sequence[Sequence[Operand]]
    ) -> tuple[list[list[Value]], list[list[list[list[Value]]]]]:
        """Every position in turn: the logits, and the attention weights [layer][t][head]."""
        if not 0 < len(tokens) <= self.block_size:
            raise ValueError(
                f"a sequence has 1 to block_size = {self.block_size} tokens, got {len(tokens)}"
            )
        caches = self._caches()
        logits: list[list[Value]] = []
        weights: list[list[list[list[Value]]]] = [[] for _ in self.layers]
        for position, token in enumerate(tokens):
            z, seen = self._position(token, position, caches)
            logits.append(z)
            for layer, w in zip(weights, seen):
                layer.append(w)
        return logits, weights

    def _position(
        self, token: Sequence[Operand], position: int, caches: list[Cache]
    ) -> tuple[list[Value], list[list[list[Value]]]]:
        """One position: its logits, given the one-hot row of its token and the caches of the
        positions before it (this one's keys and values are appended)."""
        if len(token) != self.vocab_size:
            raise ValueError(
                f"a token is a one-hot row of vocab_size = {self.vocab_size} numbers, "
                f"got {len(token)}"
            )
        # Eᵀ x: with x one-hot, this picks out the token's row of E (every other term is 0)
        embedded = [Value.dot(token, column) for column in zip(*self.wte)]
        h = rmsnorm([e + p for e, p in zip(embedded, self.wpe[position])])
        weights = []
        for block, cache in zip(self.layers, caches):
            h, w = block(h, cache)
            weights.append(w)
        return linear(self.lm_head, h), weights

    def _caches(self) -> list[Cache]:
        return [([], []) for _ in self.layers]

    def __repr__(self) -> str:
        return (
            f"GPT(vocab_size={self.vocab_size}, n_embd={self.n_embd}, n_head={self.n_head}, "
            f"n_layer={len(self.layers)}, block_size={self.block_size})"
        )


def _seed(seed: object) -> int:
    """seed as the int random.Random takes (which refuses numpy's ints), or a TypeError."""
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r:.60}")
    return int(seed)


def _matrix(rows: int, cols: int, draw: random.Random) -> Matrix:
    return [[Value(draw.gauss(0.0, INIT_STD)) for _ in range(cols)] for _ in range(rows)]


def one_hot(token: int, size: int) -> list[float]:
    """The row of ``size`` numbers that is 1 at ``token`` and 0 elsewhere."""
    return [1.0 if i == token else 0.0 for i in range(size)]
