"""Neural networks built of Values: ``Module``, ``Neuron``, ``Layer`` and ``MLP``, and their state.

A neuron computes ``act(w · x + b)``: one ``dot`` node, one ``+`` node and (unless linear)
one activation node. Layers are lists of neurons; an MLP is a list of layers.

A module's state is its numbers: ``state_dict()`` gives them as numpy arrays in PyTorch's
layout and ``load_state_dict()`` sets them, checking everything first. ``Layer.layout`` is the
one description of that layout (a layer is laid out as ``torch.nn.Linear``: a ``weight``
matrix, nout x nin, then a ``bias`` vector); the file format (``saving``), the PyTorch hand-off
(``pytorch``) and the numpy reference (``reference``) read it here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence, Set
from numbers import Integral
from typing import Callable, ClassVar, NamedTuple, Optional, Union

import numpy as np

from .checks import positive_int
from .engine import Operand, Value
from .ops import RELU, SIGMOID, TANH, Op

Seed = Union[int, np.random.Generator, None]
Shape = tuple[int, ...]

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

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter's data by name, as float64 numpy arrays (copies), PyTorch's layout.

        A ``Neuron`` or ``Layer`` gives ``weight`` (nout x nin; 1 x nin for a neuron) and
        ``bias`` (nout), as ``Layer.layout`` says; an ``MLP`` gives ``layers.{i}.weight`` and
        ``layers.{i}.bias``. Any other Module gives each Value attribute as a 0-d array under
        its ``named_parameters()`` name, and each sub-Module's entries under its attribute name.
        """
        return {
            e.name: np.array([p.data for p in e.params], dtype=np.float64).reshape(e.shape)
            for e in _entries(self, "")
        }

    def load_state_dict(self, state: Mapping[str, object], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters' data from ``state`` (as ``state_dict()`` gives), checking first.

        Every key, shape and value is checked before any parameter changes, so on an error the
        module is exactly as before. ``strict`` (the default) requires exactly the keys of
        ``state_dict()``; with ``strict=False`` missing keys leave their parameters alone and
        unexpected keys are ignored. Returns the missing and unexpected keys, as PyTorch does.
        Gradients are left as they are.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                "load_state_dict takes a mapping of names to arrays, as state_dict() gives, "
                f"got {type(state).__name__}"
            )
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {type(strict).__name__}")
        entries = list(_entries(self, ""))
        names = {e.name for e in entries}
        missing = [e.name for e in entries if e.name not in state]
        unexpected = [key for key in state if key not in names]
        if strict and (missing or unexpected):
            problems = [f"missing keys {missing}"] * bool(missing)
            problems += [f"unexpected keys {unexpected}"] * bool(unexpected)
            raise ValueError(
                f"load_state_dict: {' and '.join(problems)} for {self!r}; "
                f"it expects {[e.name for e in entries]}"
            )
        updates = [
            (e.params, parameter_array(state[e.name], e.name, e.shape))
            for e in entries
            if e.name in state
        ]
        for params, array in updates:
            for p, x in zip(params, array.ravel().tolist()):
                p.data = x
        return IncompatibleKeys(missing, unexpected)


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

    # the arguments that build it again (with fresh weights), each an attribute too
    SETTINGS: ClassVar[tuple[str, ...]] = ("nin", "activation")

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
        return _outputs([self], _inputs(x, len(self.w), "Neuron"))[0]

    @property
    def nin(self) -> int:
        """How many inputs it takes."""
        return len(self.w)

    @staticmethod
    def layout(nin: int) -> dict[str, Shape]:
        """Its state's arrays: a neuron is a layer of one, ``Layer.layout(nin, 1)``."""
        return Layer.layout(nin, 1)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that all see the same inputs; calling it returns a list of nout Values."""

    SETTINGS: ClassVar[tuple[str, ...]] = ("nin", "nout", "activation")

    def __init__(self, nin: int, nout: int, activation: str = "relu", rng: Seed = None) -> None:
        nout = positive_int(nout, "nout")
        rng = _generator(rng, "rng")
        self.neurons = [Neuron(nin, activation, rng, fan_out=nout) for _ in range(nout)]

    def __call__(self, x: Sequence[Operand]) -> list[Value]:
        return _outputs(self.neurons, _inputs(x, self.nin, "Layer"))

    @property
    def nin(self) -> int:
        """How many inputs each neuron takes."""
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        """How many neurons, so how many outputs."""
        return len(self.neurons)

    @property
    def activation(self) -> str:
        """The activation every neuron ends with."""
        return self.neurons[0].activation

    @staticmethod
    def layout(nin: int, nout: int) -> dict[str, Shape]:
        """Its state's arrays, in order, laid out as ``torch.nn.Linear``'s: ``weight``,
        nout x nin, whose row j is neuron j's weights, then ``bias``, nout, whose entry j is
        neuron j's bias. (``parameters()`` takes the same numbers neuron by neuron: see
        ``in_parameter_order``.)"""
        return {"weight": (nout, nin), "bias": (nout,)}

    @staticmethod
    def in_parameter_order(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """A layer's ``weight`` and ``bias`` (as ``layout`` gives them) flattened in the order of
        ``Layer.parameters()``: neuron by neuron, its weights then its bias, i.e. the rows of
        [weight | bias], one after another."""
        return np.column_stack([weight, bias]).ravel()

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: layers of sizes ``nouts``, fed by ``nin`` inputs.

    Hidden layers use ``activation``, the last one ``output_activation``. ``seed`` makes the
    initial weights reproducible on every run and machine (numpy's PCG64 generator).
    Calling it returns a list of ``nouts[-1]`` Values, even when that is one.
    """

    SETTINGS: ClassVar[tuple[str, ...]] = ("nin", "nouts", "activation", "output_activation")

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
        out = _inputs(x, self.nin, "MLP")
        for layer in self.layers:
            out = _outputs(layer.neurons, out)
        return out

    @property
    def nin(self) -> int:
        """How many inputs it takes."""
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        """Each layer's size, first to last."""
        return [layer.nout for layer in self.layers]

    @staticmethod
    def layout(nin: int, nouts: Sequence[int]) -> dict[str, Shape]:
        """Its state's arrays, in order: layer i's ``Layer.layout`` under ``layers.{i}.``."""
        sizes = [nin, *nouts]
        return {
            f"layers.{i}.{name}": shape
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
            for name, shape in Layer.layout(n_in, n_out).items()
        }

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )


def _outputs(neurons: Sequence[Neuron], x: list[Value]) -> list[Value]:
    """act(w · x + b) for each of the neurons, all on the inputs x: the one place where a
    neuron's formula is written. (A layer's neurons in one loop, not a call each: those calls
    cost about 3% of the instructions of a forward pass of micrograd's demo MLP.)"""
    dot = Value.dot
    return [neuron._act(dot(neuron.w, x) + neuron.b) for neuron in neurons]


def _activation(name: object) -> Callable[[Value], Value]:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    row = ACTIVATIONS[name]
    return getattr(Value, row.name) if row else _linear  # the Value method: z.relu()


def _linear(z: Value) -> Value:
    """The activation "linear": z itself, no node."""
    return z


def _generator(seed: object, name: str) -> np.random.Generator:
    """numpy's Generator for a seed (an int >= 0), a Generator, or None (fresh entropy)."""
    accepted = (Integral, np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, accepted)):
        raise TypeError(
            f"{name} must be None, an int >= 0 or a numpy Generator, "
            f"got {type(seed).__name__}: {seed!r:.60}"
        )
    if isinstance(seed, Integral) and seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed!r}")
    return np.random.default_rng(int(seed) if isinstance(seed, Integral) else seed)


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


# --- a module's state: its arrays, and the checks an array passes before it is loaded ----------


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` did not load, and what it ignored."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _Entry(NamedTuple):
    """One array of a module's state: its name, its shape, and its Values in row-major order."""

    name: str
    shape: Shape
    params: list[Value]


def _entries(module: Module, prefix: str) -> Iterator[_Entry]:
    """The arrays of module's state, in order."""
    if isinstance(module, (Neuron, Layer)):  # Layer.layout: a neuron is a layer of one
        neurons = module.neurons if isinstance(module, Layer) else [module]
        values = ([w for n in neurons for w in n.w], [n.b for n in neurons])
        layout = Layer.layout(neurons[0].nin, len(neurons))
        for (name, shape), params in zip(layout.items(), values):
            yield _Entry(prefix + name, shape, params)
    else:
        for name, attribute in vars(module).items():
            if not name.startswith("_"):
                yield from _entries_in(attribute, prefix + name)


def _entries_in(x: object, name: str) -> Iterator[_Entry]:
    if isinstance(x, Value):
        yield _Entry(name, (), [x])
    elif isinstance(x, Module):
        yield from _entries(x, name + ".")
    elif isinstance(x, (list, tuple)):
        for i, item in enumerate(x):
            yield from _entries_in(item, f"{name}.{i}")


def number_array(value: object) -> np.ndarray:
    """value as a numpy array; Python ints too big for int64 (JSON has no limit) become float64,
    and an OverflowError says which are beyond even a float's range."""
    array = np.asarray(value)
    if array.dtype == object and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in array.flat
    ):
        try:
            return array.astype(np.float64)
        except OverflowError:
            raise OverflowError("it holds an integer beyond the float range") from None
    return array


def parameter_array(value: object, name: str, shape: Shape) -> np.ndarray:
    """value as a float64 array of this shape with finite entries, or an error naming it."""
    try:
        array = number_array(value)
    except OverflowError as error:
        raise ValueError(f"{name}: {error}") from None
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} is not an array of numbers: {error}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    if array.shape != shape:
        hint = " (transposed? a weight is nout x nin, as in PyTorch)" * (array.shape == shape[::-1])
        raise ValueError(f"{name} has shape {array.shape}, but this module's is {shape}{hint}")
    array = array.astype(np.float64)
    not_finite = np.flatnonzero(~np.isfinite(array))
    if not_finite.size:
        index = tuple(int(i) for i in np.unravel_index(not_finite[0], shape))
        where = f"{name}[{', '.join(map(str, index))}]" if shape else name
        raise ValueError(f"{where} = {float(array[index])!r} is not finite; parameters must be")
    return array
