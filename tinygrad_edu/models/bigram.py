"""The bigram model: the next token predicted from the current one alone, by counting pairs.

    P(b | a) = (count(a → b) + 1) / (count(a) + V)

with the counts taken over the training names and V the vocabulary's size. Adding one to every
count (add-one, or Laplace, smoothing) gives a pair never seen in training a small probability
instead of 0, so the loss on new names stays finite. It is the baseline a transformer must
beat: whatever it learns beyond letter pairs shows as a lower loss on held-out names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .names import VOCAB_SIZE, encode


class Bigram:
    """Counts of token pairs over ``names``; ``loss(names)`` is its mean cross-entropy."""

    def __init__(self, names: Sequence[str]) -> None:
        pairs = _pairs(names)
        if not pairs:
            raise ValueError("a bigram model needs at least one name to count pairs in")
        self.counts = [[0] * VOCAB_SIZE for _ in range(VOCAB_SIZE)]  # counts[a][b]: a → b
        for a, b in pairs:
            self.counts[a][b] += 1

    def probability(self, a: int, b: int) -> float:
        """P(b | a) = (count(a → b) + 1) / (count(a) + V)."""
        return (self.counts[a][b] + 1) / (sum(self.counts[a]) + VOCAB_SIZE)

    def loss(self, names: Sequence[str]) -> float:
        """The mean over every predicted token of -ln P(next | current), in nats: the loss a
        GPT's held-out loss is measured against."""
        terms = [-math.log(self.probability(a, b)) for a, b in _pairs(names)]
        if not terms:
            raise ValueError("loss needs at least one name")
        return math.fsum(terms) / len(terms)


def _pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """Every (token, next token) of every name."""
    pairs: list[tuple[int, int]] = []
    for name in names:
        tokens = encode(name)
        pairs += zip(tokens, tokens[1:])
    return pairs
