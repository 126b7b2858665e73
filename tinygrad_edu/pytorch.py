"""The hand-off to PyTorch: an MLP as a ``torch.nn.Sequential`` with the same weights, and back.

    net = to_torch(model)        # Sequential(Linear(2, 16), ReLU(), Linear(16, 1)), float64
    model = from_torch(net)      # an MLP with net's weights

An MLP's layer i becomes ``torch.nn.Linear``, whose state is laid out as a ``Layer``'s
(``Layer.layout``: a ``weight`` matrix, nout x nin, and a ``bias``), followed by ``ReLU``,
``Tanh`` or ``Sigmoid`` unless the activation is linear. Weights are float64, so both compute
the same numbers to the last few bits.

PyTorch is an optional dependency: ``pip install 'tinygrad-edu[torch]'``. Nothing here imports
it until one of these functions is called.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from .nn import ACTIVATIONS, MLP

if TYPE_CHECKING:
    import torch

    # by these names in a function, where `torch` is the module _import_torch returned
    from torch.nn import Linear as TorchLinear
    from torch.nn import Module as TorchModule


def to_torch(model: MLP) -> torch.nn.Sequential:
    """A float64 ``torch.nn.Sequential`` computing what ``model`` computes, with its weights."""
    if not isinstance(model, MLP):
        raise TypeError(f"to_torch takes an MLP, got {type(model).__name__}")
    torch = _import_torch("to_torch")
    modules: list[TorchModule] = []
    for layer in model.layers:  # a Layer's state is laid out as torch.nn.Linear's (Layer.layout)
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        linear.load_state_dict({k: torch.from_numpy(a) for k, a in layer.state_dict().items()})
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(_torch_modules(torch)[layer.activation]())
    return torch.nn.Sequential(*modules)


def from_torch(net: torch.nn.Sequential) -> MLP:
    """The MLP computing what ``net`` computes: Linear layers, each optionally followed by one
    ReLU, Tanh or Sigmoid (every hidden layer the same one). ``Identity`` modules are skipped;
    a Linear without a bias gets a bias of 0. Weights of any float dtype become float64.
    """
    torch = _import_torch("from_torch")
    if not isinstance(net, torch.nn.Sequential):
        raise TypeError(
            f"from_torch takes a torch.nn.Sequential of Linear layers and activations, "
            f"got {type(net).__name__}"
        )
    # exact types: a subclass may compute something else in its forward()
    activation_of = {module: act for act, module in _torch_modules(torch).items()}
    linears: list[tuple[int, TorchLinear]] = []
    activations: list[str] = []  # one per Linear: "linear" until an activation follows it
    for index, module in enumerate(net):
        kind = type(module).__name__
        if type(module) is torch.nn.Identity:
            continue
        if type(module) is torch.nn.Linear:
            if linears and module.in_features != linears[-1][1].out_features:
                raise ValueError(
                    f"from_torch: module {index} is Linear({module.in_features}, ...), but the "
                    f"layer before it has {linears[-1][1].out_features} outputs"
                )
            linears.append((index, module))
            activations.append("linear")
        elif type(module) in activation_of:
            if not linears or activations[-1] != "linear":
                raise ValueError(
                    f"from_torch: module {index} ({kind}) does not follow a Linear layer; "
                    "an MLP has at most one activation after each Linear"
                )
            activations[-1] = activation_of[type(module)]
        else:
            raise ValueError(
                f"from_torch: module {index} is {kind}, which an MLP cannot express "
                "(it has Linear layers, each followed by ReLU, Tanh, Sigmoid or nothing)"
            )
    if not linears:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    hidden = set(activations[:-1])
    if len(hidden) > 1:
        raise ValueError(
            "from_torch: the hidden layers use different activations "
            f"({', '.join(activations[:-1])}), but an MLP uses one for all of them"
        )
    model = MLP(
        linears[0][1].in_features,
        [linear.out_features for _, linear in linears],
        activation=hidden.pop() if hidden else "relu",
        output_activation=activations[-1],
    )
    for i, (layer, (index, linear)) in enumerate(zip(model.layers, linears)):
        state = {
            "weight": _float64(linear.weight, f"module {index}'s weight"),
            "bias": np.zeros(linear.out_features)
            if linear.bias is None
            else _float64(linear.bias, f"module {index}'s bias"),
        }
        try:
            layer.load_state_dict(state)
        except ValueError as error:
            raise ValueError(
                f"from_torch: module {index} (Linear, the MLP's layers.{i}): {error}"
            ) from None
    return model


def _float64(tensor: torch.Tensor, what: str) -> np.ndarray:
    if not tensor.is_floating_point():
        raise TypeError(f"from_torch: {what} has dtype {tensor.dtype}, not a floating point type")
    return tensor.detach().cpu().double().numpy()


def _torch_modules(torch: ModuleType) -> dict[str, type]:
    """Each activation of an MLP (a row of the op table) with its torch.nn module: the one of
    the same name, in torch's capitals (relu: ReLU, tanh: Tanh, sigmoid: Sigmoid)."""
    by_name = {name.lower(): module for name, module in vars(torch.nn).items()}
    return {act: by_name[act.replace("_", "")] for act, row in ACTIVATIONS.items() if row}


def _import_torch(caller: str) -> ModuleType:
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{caller} needs PyTorch, an optional dependency of tinygrad_edu: "
            "pip install 'tinygrad-edu[torch]'  (it pins torch==2.13.0)"
        ) from None
    return torch
