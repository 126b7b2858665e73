"""tinygrad_edu: a small, exact, fast scalar autograd engine for learning how networks learn.

>>> from tinygrad_edu import Value
>>> x = Value(2.0)
>>> y = (x * 3).tanh()
>>> y.backward()           # x.grad = dy/dx = 3 (1 - tanh(6)^2)

Drawing (graphviz), saving, the PyTorch hand-off, the numpy reference and the models (a GPT
of Values, the names it learns from, a bigram baseline) are imported the first time one of
their names is used, so ``import tinygrad_edu`` stays quick.

numpy is a required dependency, and every module that uses it imports it at its top like any
other import, never inside a function; only optional dependencies (PyTorch) are imported inside
the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import losses, optim
from .custom_ops import op
from .engine import Value, apply, grad
from .fast_paths import cyclic_gc_paused
from .gradcheck import (
    GradcheckError,
    gradcheck,
    gradcheck_module,
    gradgradcheck,
    hessian,
    numerical_grad,
)
from .jit import (
    CaptureEvictedWarning,
    CaptureMismatchError,
    RecaptureWarning,
    UnsafeCaptureError,
    jit,
)
from .nn import MLP, Layer, Module, Neuron
from .steps import backprop_steps
from .your_turn import attempted

if TYPE_CHECKING:
    from . import reference
    from .models.bigram import Bigram
    from .models.gpt import GPT
    from .models.names import decode, encode, load_names, one_hot_batch, split_names
    from .pytorch import from_torch, to_torch
    from .saving import ModelFileError, load, save
    from .viz import draw_graph, render, show_backprop

__version__ = "0.1.0"

# name -> the module that defines it, imported on first use
_LAZY = {
    "draw_graph": "viz",
    "render": "viz",
    "show_backprop": "viz",
    "ModelFileError": "saving",
    "load": "saving",
    "save": "saving",
    "from_torch": "pytorch",
    "to_torch": "pytorch",
    "reference": "reference",
    "GPT": "models.gpt",
    "Bigram": "models.bigram",
    "load_names": "models.names",
    "split_names": "models.names",
    "encode": "models.names",
    "decode": "models.names",
    "one_hot_batch": "models.names",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'tinygrad_edu' has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    value = module if name == _LAZY[name] else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Bigram",
    "CaptureEvictedWarning",
    "CaptureMismatchError",
    "GPT",
    "GradcheckError",
    "Layer",
    "MLP",
    "ModelFileError",
    "Module",
    "Neuron",
    "Value",
    "apply",
    "attempted",
    "backprop_steps",
    "cyclic_gc_paused",
    "decode",
    "draw_graph",
    "encode",
    "from_torch",
    "grad",
    "gradgradcheck",
    "gradcheck",
    "gradcheck_module",
    "hessian",
    "jit",
    "load",
    "load_names",
    "losses",
    "numerical_grad",
    "one_hot_batch",
    "op",
    "optim",
    "reference",
    "render",
    "save",
    "show_backprop",
    "split_names",
    "to_torch",
    "RecaptureWarning",
    "UnsafeCaptureError",
]
