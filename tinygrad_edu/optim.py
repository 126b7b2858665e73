"""Optimizers: use the gradients to move the parameters downhill.

Both follow PyTorch's update rules exactly, so a model trained here and one trained with
``torch.optim`` from the same weights take the same steps. ``step()`` checks every gradient
and every new value first: if one is not finite it raises and changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real

from .engine import Value


class Optimizer:
    """Holds the parameters; subclasses say how ``step()`` moves them."""

    def __init__(self, params: Iterable[Value]) -> None:
        if isinstance(params, Value) or not isinstance(params, Iterable):
            raise TypeError(
                "an optimizer takes a list of Values, such as model.parameters(), "
                f"got {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError("an optimizer needs at least one parameter, got an empty list")
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(
                    f"parameter {i} is a {type(p).__name__}, not a Value "
                    "(pass model.parameters(), not the model)"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter appears more than once in the list")
        self.params = params

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0, before the next ``backward()``."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def _grads(self) -> list[float]:
        grads = [p.grad for p in self.params]
        for i, g in enumerate(grads):
            if not -math.inf < g < math.inf:
                raise ValueError(f"parameter {i} has a non-finite gradient {g!r}; nothing changed")
        return grads

    def _commit(self, new_data: Sequence[float]) -> None:
        for i, x in enumerate(new_data):
            if not -math.inf < x < math.inf:
                raise OverflowError(
                    f"the step would make parameter {i} non-finite ({x!r}); nothing changed "
                    "(is the learning rate too large?)"
                )
        for p, x in zip(self.params, new_data):
            p.data = x


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and weight decay.

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v
    (v starts as the first g; with momentum 0 this is plain  p = p - lr * g).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = _hyperparameter(lr, "lr", 0.0, math.inf, ">= 0")
        self.momentum = _hyperparameter(momentum, "momentum", 0.0, 1.0, "in [0, 1)")
        self.weight_decay = _hyperparameter(weight_decay, "weight_decay", 0.0, math.inf, ">= 0")
        super().__init__(params)
        self.velocity: list[float] | None = None

    def step(self) -> None:
        grads = self._grads()
        if self.weight_decay:
            grads = [g + self.weight_decay * p.data for g, p in zip(grads, self.params)]
        velocity = grads
        if self.momentum:
            if self.velocity is not None:
                velocity = [self.momentum * v + g for v, g in zip(self.velocity, grads)]
        self._commit([p.data - self.lr * v for p, v in zip(self.params, velocity)])
        if self.momentum:
            self.velocity = velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's bias correction and epsilon placement.

    m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g^2;
    p = p - lr / (1 - β1^t) * m / (√v / √(1 - β2^t) + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = _hyperparameter(lr, "lr", 0.0, math.inf, ">= 0")
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _hyperparameter(betas[0], "betas[0]", 0.0, 1.0, "in [0, 1)"),
            _hyperparameter(betas[1], "betas[1]", 0.0, 1.0, "in [0, 1)"),
        )
        self.eps = _hyperparameter(eps, "eps", 0.0, math.inf, "> 0")
        if self.eps == 0.0:  # eps keeps the step finite where a gradient has been 0 so far
            raise ValueError("eps must be > 0, got 0.0")
        self.weight_decay = _hyperparameter(weight_decay, "weight_decay", 0.0, math.inf, ">= 0")
        super().__init__(params)
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        grads = self._grads()
        if self.weight_decay:
            grads = [g + self.weight_decay * p.data for g, p in zip(grads, self.params)]
        beta1, beta2 = self.betas
        t = self.t + 1
        m = [beta1 * m + (1.0 - beta1) * g for m, g in zip(self.m, grads)]
        v = [beta2 * v + (1.0 - beta2) * g * g for v, g in zip(self.v, grads)]
        step_size = self.lr / (1.0 - beta1**t)
        root_correction = math.sqrt(1.0 - beta2**t)
        self._commit(
            [
                p.data - step_size * m_i / (math.sqrt(v_i) / root_correction + self.eps)
                for p, m_i, v_i in zip(self.params, m, v)
            ]
        )
        self.t, self.m, self.v = t, m, v


def _hyperparameter(x: object, name: str, low: float, high: float, allowed: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a number {allowed}, got {type(x).__name__}: {x!r}")
    x = float(x)
    if not (low <= x < high):
        raise ValueError(f"{name} must be {allowed}, got {x!r}")
    return x
