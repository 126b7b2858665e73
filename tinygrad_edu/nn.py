"""Neural networks built of Values: ``Module``, ``Neuron``, ``Layer`` and ``MLP``.

A neuron computes ``act(w · x + b)``: one ``dot`` node, one ``+`` node and (unless linear)
one activation node. Layers are lists of neurons; an MLP is a list of layers.

``state_dict()`` and ``load_state_dict()`` move a module's numbers in and out as numpy arrays,
in PyTorch's layout (a layer is a ``weight`` matrix, nout x nin, and a ``bias`` vector); that
machinery lives with the file format, in ``saving.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence, Set
from numbers import Integral
from typing import TYPE_CHECKING, Callable, Optional, Union

from .checks import positive_int
from .engine import Operand, Value
from .ops import RELU, SIGMOID, TANH, Op

if TYPE_CHECKING:
    import numpy as np

    from .saving import IncompatibleKeys

Seed = Union[int, "np.random.Generator", None]

# the op table's rows a neuron may end with, by name ("linear": no activation node at all)
ACTIVATIONS: dict[str, Optional[Op]] = {fn.name: fn for fn in (RELU, TANH, SIGMOID)}
ACTIVATIONS["linear"] = None


class Module:
    """Anything with parameters: Values kept in attributes, in lists, or in sub-Modules.

    Subclasses only store their Values and Modules as attributes; ``named_parameters``
    finds them (attributes starting with ``_`` are private and skipped), as in PyTorch.
    """

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with a dotted name, such as ``layers.0.neurons.3.w.1``."""
        return list(_named_values(vars(self), prefix=""))

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0, before the next ``backward()``."""
        for p in self.parameters():
            p.grad = 0.0

    # The numbers of a module, in and out, and the file format: saving.py, imported on first use
    # (saving sits above nn, and numpy need not load with the network)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter's data by name, as float64 numpy arrays (copies), PyTorch's layout:
        see ``saving.state_dict``."""
        from .saving import state_dict

        return state_dict(self)

    def load_state_dict(self, state: Mapping[str, object], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters' data from ``state``, checking everything first: see
        ``saving.load_state_dict``."""
        from .saving import load_state_dict

        return load_state_dict(self, state, strict)


def _named_values(attributes: dict[str, object], prefix: str) -> Iterator[tuple[str, Value]]:
    for name, attribute in attributes.items():
        if name.startswith("_"):
            continue
        yield from _named_values_in(attribute, prefix + name)


def _named_values_in(x: object, name: str) -> Iterator[tuple[str, Value]]:
    if isinstance(x, Value):
        yield name, x
    elif isinstance(x, Module):
        yield from _named_values(vars(x), prefix=name + ".")
    elif isinstance(x, (list, tuple)):
        for i, item in enumerate(x):
            yield from _named_values_in(item, f"{name}.{i}")


class Neuron(Module):
    """One neuron:  y = act(w · x + b), with weights ``w`` and bias ``b``.

    Weights start random and biases at 0. The weights' spread suits the activation:
    He (Kaiming) normal for ReLU, std = √(2 / nin); Xavier/Glorot normal for tanh, sigmoid
    and linear, std = √(2 / (nin + fan_out)), where ``fan_out`` is the size of the layer the
    neuron belongs to (1 for a neuron on its own). ``rng`` is a seed or a numpy Generator.
    """

    def __init__(
        self, nin: int, activation: str = "relu", rng: Seed = None, *, fan_out: int = 1
    ) -> None:
        nin = positive_int(nin, "nin")
        fan_out = positive_int(fan_out, "fan_out")
        self._act = _activation(activation)
        self.activation = activation
        std = math.sqrt(2.0 / nin) if activation == "relu" else math.sqrt(2.0 / (nin + fan_out))
        draws = _generator(rng, "rng").standard_normal(nin)
        self.w = [Value(float(std * d)) for d in draws]
        self.b = Value(0.0)

    def __call__(self, x: Sequence[Operand]) -> Value:
        x = _inputs(x, len(self.w), "Neuron")
        return self._forward(x)

    def _forward(self, x: list[Value]) -> Value:
        z = Value.dot(self.w, x) + self.b
        return self._act(z) if self._act else z

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that all see the same inputs; calling it returns a list of nout Values."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", rng: Seed = None) -> None:
        nout = positive_int(nout, "nout")
        rng = _generator(rng, "rng")
        self.neurons = [Neuron(nin, activation, rng, fan_out=nout) for _ in range(nout)]

    def __call__(self, x: Sequence[Operand]) -> list[Value]:
        return self._forward(_inputs(x, len(self.neurons[0].w), "Layer"))

    def _forward(self, x: list[Value]) -> list[Value]:
        return [neuron._forward(x) for neuron in self.neurons]

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: layers of sizes ``nouts``, fed by ``nin`` inputs.

    Hidden layers use ``activation``, the last one ``output_activation``. ``seed`` makes the
    initial weights reproducible on every run and machine (numpy's PCG64 generator).
    Calling it returns a list of ``nouts[-1]`` Values, even when that is one.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        seed: Seed = None,
    ) -> None:
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [positive_int(nin, "nin")] + [positive_int(n, "each of nouts") for n in nouts]
        _activation(activation)
        _activation(output_activation)
        self.activation, self.output_activation = activation, output_activation
        rng = _generator(seed, "seed")
        activations = [activation] * (len(nouts) - 1) + [output_activation]
        self.layers = [
            Layer(nin, nout, act, rng) for nin, nout, act in zip(sizes[:-1], sizes[1:], activations)
        ]

    def __call__(self, x: Sequence[Operand]) -> list[Value]:
        out = _inputs(x, len(self.layers[0].neurons[0].w), "MLP")
        for layer in self.layers:
            out = layer._forward(out)
        return out

    def __repr__(self) -> str:
        sizes = [len(layer.neurons) for layer in self.layers]
        return (
            f"MLP({len(self.layers[0].neurons[0].w)}, {sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )


def _activation(name: object) -> Optional[Callable[[Value], Value]]:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    row = ACTIVATIONS[name]
    return getattr(Value, row.name) if row else None  # the Value method: z.relu()


def _generator(seed: object, name: str) -> np.random.Generator:
    """numpy's Generator for a seed (an int >= 0), a Generator, or None (fresh entropy)."""
    import numpy as np  # here, not at the top: a graph of Values needs no numpy

    accepted = (Integral, np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, accepted)):
        raise TypeError(
            f"{name} must be None, an int >= 0 or a numpy Generator, "
            f"got {type(seed).__name__}: {seed!r:.60}"
        )
    if isinstance(seed, Integral) and seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed!r}")
    return np.random.default_rng(seed)


def _inputs(x: Sequence[Operand], n: int, who: str) -> list[Value]:
    """x as a list of n Values (numbers become constants), or an error naming what is wrong."""
    # a dict or a set has a length too, but no order to match inputs by
    if isinstance(x, (Value, str, bytes, Mapping, Set)) or not hasattr(x, "__len__"):
        raise TypeError(f"{who} expects a sequence of {n} inputs, got {type(x).__name__}: {x!r}")
    if len(x) != n:
        raise ValueError(f"{who} expects {n} inputs, got {len(x)}")
    try:
        return [xi if isinstance(xi, Value) else Value(xi) for xi in x]
    except (TypeError, ValueError, OverflowError):
        for i, xi in enumerate(x):  # the slow path, only to say which input is wrong
            if not isinstance(xi, Value):
                try:
                    Value(xi)
                except (TypeError, ValueError, OverflowError) as error:
                    raise type(error)(f"{who} input {i}: {error}") from None
        raise
