"""Loss functions: one Value saying how wrong the predictions are, to call backward() on.

Each loss takes one sample or a batch (a list of samples) and returns the mean over the batch.
All are numerically stable: every finite input gives a finite loss and finite gradients
(logits of ±1000 included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence, Set, Sized
from numbers import Integral, Real
from typing import Optional, Union

import numpy as np

from .custom_ops import op
from .engine import Operand, Value, apply
from .ops import RELU

Nested = Union[Operand, Sequence["Nested"]]

_EXP_IS_ZERO_BELOW = -746.0  # math.exp(x) == 0.0 for every x below this


def mse(preds: Nested, targets: Nested) -> Value:
    """Mean squared error  L = (1/N) Σ (ŷ_i - y_i)^2;  dL/dŷ_i = 2 (ŷ_i - y_i) / N.

    ``preds`` and ``targets``: one number each, equal-length lists, or a batch of lists; the
    mean is over every element, as in ``torch.nn.MSELoss()``.
    """
    preds, targets = _matched(preds, targets, "mse", "preds", "targets")
    return Value.sum([(p - y) ** 2 for p, y in zip(preds, targets)]) / len(preds)


def binary_cross_entropy(probs: Nested, targets: Nested) -> Value:
    """L = -(1/N) Σ [y ln p + (1 - y) ln(1 - p)];  dL/dp = (p - y) / (p (1 - p)) / N.

    ``probs`` in [0, 1] (sigmoid outputs), ``targets`` in [0, 1]. As in PyTorch, each log is
    clamped at -100, so p = 0 or p = 1 gives a large but finite loss.
    """
    probs, targets = _matched(probs, targets, "binary_cross_entropy", "probs", "targets")
    for i, p in enumerate(probs):
        p_data = p.data if isinstance(p, Value) else p
        if not 0.0 <= p_data <= 1.0:
            raise ValueError(
                f"binary_cross_entropy: probs[{i}] = {p_data!r} is not a probability in [0, 1]"
            )
    labels = _labels(targets, "binary_cross_entropy", lambda y: 0.0 <= y <= 1.0, "in [0, 1]")
    return Value.sum([bce(p, target=y) for p, y in zip(probs, labels)]) / len(probs)


def binary_cross_entropy_with_logits(logits: Nested, targets: Nested) -> Value:
    """BCE of sigmoid(z), computed from the logit z without ever forming ln σ(z).

    L = (1/N) Σ [max(z, 0) - z y + ln(1 + e^-|z|)];  dL/dz = (σ(z) - y) / N.
    """
    logits, targets = _matched(
        logits, targets, "binary_cross_entropy_with_logits", "logits", "targets"
    )
    labels = _labels(
        targets, "binary_cross_entropy_with_logits", lambda y: 0.0 <= y <= 1.0, "in [0, 1]"
    )
    return Value.sum([bce_with_logits(z, target=y) for z, y in zip(logits, labels)]) / len(logits)


def softmax(logits: Sequence[Operand]) -> list[Value]:
    """softmax(z)_i = e^(z_i - m) / Σ_j e^(z_j - m), with m = max z so no e^z can overflow."""
    logits = _logits(logits, "softmax")
    exps = _shifted_exps(logits)
    total = Value.sum([e for e in exps if e is not None])
    return [Value(0.0) if e is None else e / total for e in exps]


def log_softmax(logits: Sequence[Operand]) -> list[Value]:
    """log softmax(z)_i = z_i - (m + ln Σ_j e^(z_j - m)), with m = max z: never overflows."""
    logits = _logits(logits, "log_softmax")
    log_sum_exp = _log_sum_exp(logits)
    return [z - log_sum_exp for z in logits]


def cross_entropy(
    logits: Union[Sequence[Operand], Sequence[Sequence[Operand]]],
    target_index: Union[int, Sequence[int]],
) -> Value:
    """L = -ln softmax(z)_t = ln Σ_j e^(z_j) - z_t;  dL/dz_i = softmax(z)_i - [i = t].

    One sample: a list of logits and the index of the true class. A batch: a list of such
    lists and a list of indices; the loss is the mean over the batch.
    """
    if _is_batch(logits):
        if isinstance(target_index, (str, bytes)) or not isinstance(target_index, Sequence):
            raise TypeError(
                "cross_entropy: a batch of logits needs a list of target indices, "
                f"got {type(target_index).__name__}: {target_index!r}"
            )
        if len(logits) != len(target_index):
            raise ValueError(
                f"cross_entropy: {len(logits)} samples of logits but {len(target_index)} targets"
            )
        losses = [_cross_entropy_one(z, t) for z, t in zip(logits, target_index)]
        return Value.sum(losses) / len(losses)
    return _cross_entropy_one(logits, target_index)


def hinge(scores: Nested, labels: Nested) -> Value:
    """Max-margin loss  L = (1/N) Σ max(0, 1 - y s), labels y = ±1 (micrograd's demo loss).

    dL/ds = -y / N where the margin y s is below 1, else 0.
    """
    scores, labels = _matched(scores, labels, "hinge", "scores", "labels")
    signs = _labels(labels, "hinge", lambda y: y in (-1.0, 1.0), "-1 or +1")
    # apply: a margin of plain numbers is a number, which has no .relu()
    return Value.sum([apply(RELU, 1.0 - y * s) for s, y in zip(scores, signs)]) / len(scores)


def l2(params: Sequence[Value]) -> Value:
    """The L2 penalty Σ p^2 as one node;  d/dp = 2p.  Scale it yourself: ``1e-4 * l2(ps)``."""
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            "l2 takes a list of parameters, such as model.parameters(), "
            f"got {type(params).__name__}"
        )
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Value):  # a number has no gradient: penalizing it does nothing
            raise TypeError(
                f"l2: parameter {i} is a {type(p).__name__}, not a Value (pass model.parameters())"
            )
    return Value.dot(params, params)


# --- single-node losses: a stable value and its derivative side by side -------------------


def _bce_of_arrays(p: np.ndarray, *, target: np.ndarray) -> tuple[np.ndarray, tuple]:
    """bce for arrays of p and targets, for jit: the same formulas, elementwise."""
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 as below
        log_p = np.maximum(np.log(p), -100.0)
        log_not_p = np.maximum(np.log1p(-p), -100.0)
    loss = -(target * log_p + (1.0 - target) * log_not_p)
    return loss, ((p - target) / np.maximum(p * (1.0 - p), 1e-12),)


# in Values (for gradients of gradients), without the clamps: they only act where p(1 - p)
# is below 1e-12
@op(
    derivatives=lambda p, target, out: ((p - target) / (p * (1 - p)),),
    vectorized=_bce_of_arrays,
)
def bce(p: float, *, target: float) -> tuple[float, tuple[float]]:
    """-[y ln p + (1 - y) ln(1 - p)], logs clamped at -100;  d/dp = (p - y) / (p (1 - p))"""
    log_p = max(math.log(p), -100.0) if p > 0.0 else -100.0
    log_not_p = max(math.log1p(-p), -100.0) if p < 1.0 else -100.0
    loss = -(target * log_p + (1.0 - target) * log_not_p)
    return loss, ((p - target) / max(p * (1.0 - p), 1e-12),)


def _bce_with_logits_of_arrays(z: np.ndarray, *, target: np.ndarray) -> tuple[np.ndarray, tuple]:
    """bce_with_logits for arrays, for jit: the same formulas, elementwise."""
    e = np.exp(-np.abs(z))  # e^-|z| <= 1 cannot overflow
    sigmoid = np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    return np.maximum(z, 0.0) - z * target + np.log1p(e), (sigmoid - target,)


@op(
    derivatives=lambda z, target, out: (z.sigmoid() - target,),
    vectorized=_bce_with_logits_of_arrays,
)
def bce_with_logits(z: float, *, target: float) -> tuple[float, tuple[float]]:
    """max(z, 0) - z y + ln(1 + e^-|z|);  d/dz = σ(z) - y"""
    e = math.exp(-z if z >= 0.0 else z)  # e^-|z| <= 1 cannot overflow
    sigmoid = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
    return max(z, 0.0) - z * target + math.log1p(e), (sigmoid - target,)


# --- checking and shaping inputs ----------------------------------------------------------


def _cross_entropy_one(sample: object, target_index: object) -> Value:
    logits = _logits(sample, "cross_entropy")
    if isinstance(target_index, bool) or not isinstance(target_index, Integral):
        raise TypeError(
            "cross_entropy: target_index must be an int class index, "
            f"got {type(target_index).__name__}: {target_index!r}"
        )
    index = int(target_index)
    if not 0 <= index < len(logits):
        raise ValueError(
            f"cross_entropy: target_index {target_index} is out of range for "
            f"{len(logits)} classes (0 to {len(logits) - 1})"
        )
    return _log_sum_exp(logits) - logits[index]


def _log_sum_exp(logits: list[Value]) -> Value:
    shift = max(z.data for z in logits)
    return Value.sum([e for e in _shifted_exps(logits) if e is not None]).log() + shift


def _shifted_exps(logits: list[Value]) -> list[Optional[Value]]:
    """e^(z - max z) for each logit, or None where that is exactly 0.0 in floating point.

    A None term adds nothing to a sum and passes no gradient, so leaving it out changes no
    result; it keeps z - max z from overflowing for logits more than 1.8e308 apart.
    """
    shift = max(z.data for z in logits)
    return [(z - shift).exp() if z.data - shift > _EXP_IS_ZERO_BELOW else None for z in logits]


def _logits(sample: object, loss: str) -> list[Value]:
    """One sample's logits as Values, or an error saying what was expected."""
    if _is_batch(sample):
        raise ValueError(f"{loss} takes the logits of one sample, got a batch (a list of lists)")
    flat = _finite(_flatten(sample, loss, "logits"), loss, "logits")
    if not flat:
        raise ValueError(f"{loss} needs at least one logit, got an empty list")
    return [z if isinstance(z, Value) else Value(z) for z in flat]


def _is_batch(x: object) -> bool:
    """True for a list of samples (lists), False for one sample (numbers or Values)."""
    return (
        isinstance(x, Sized)
        and hasattr(x, "__getitem__")  # a set has a length but no first item
        and not isinstance(x, (str, bytes, Mapping))  # a dict's [0] is a key, not an item
        and len(x) > 0
        and isinstance(x[0], Iterable)
        and not isinstance(x[0], (str, bytes))
    )


def _flatten(x: object, loss: str, what: str) -> list[Operand]:
    if isinstance(x, (Value, int, float)):
        return [x]
    if isinstance(x, Real):  # numpy's numbers, Fraction: as the float every Value op makes of it
        return [float(x)]
    # a dict or a set iterates in no order that could match predictions to targets
    if isinstance(x, (str, bytes, Mapping, Set)) or not isinstance(x, Iterable):
        raise TypeError(
            f"{loss}: {what} must be numbers, Values or lists of them, "
            f"got {type(x).__name__}: {x!r}"
        )
    return [leaf for item in x for leaf in _flatten(item, loss, what)]


def _finite(flat: list[Operand], loss: str, what: str) -> list[Operand]:
    """flat, after checking that its plain numbers are finite (Values always are)."""
    for i, x in enumerate(flat):
        if not isinstance(x, Value) and not math.isfinite(x):
            raise ValueError(f"{loss}: {what}[{i}] = {x!r} is not finite")
    return flat


def _matched(
    preds: Nested, targets: Nested, loss: str, preds_name: str, targets_name: str
) -> tuple[list[Operand], list[Operand]]:
    preds_flat = _finite(_flatten(preds, loss, preds_name), loss, preds_name)
    targets_flat = _finite(_flatten(targets, loss, targets_name), loss, targets_name)
    if len(preds_flat) != len(targets_flat):
        raise ValueError(
            f"{loss}: {len(preds_flat)} {preds_name} but {len(targets_flat)} {targets_name}"
        )
    if not preds_flat:
        raise ValueError(f"{loss}: no {preds_name} to compare (empty input)")
    return preds_flat, targets_flat


def _labels(
    targets: list[Operand], loss: str, allowed: Callable[[float], bool], allowed_text: str
) -> list[float]:
    """Targets as floats, checked: labels are constants, so Values are refused."""
    labels = []
    for i, y in enumerate(targets):
        if isinstance(y, Value):
            raise TypeError(f"{loss}: targets must be plain numbers, got {y!r} at index {i}")
        y = float(y)
        if not allowed(y):
            raise ValueError(f"{loss}: target[{i}] = {y!r} must be {allowed_text}")
        labels.append(y)
    return labels
