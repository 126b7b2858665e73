"""tinygrad_edu: a small, exact, fast scalar autograd engine for learning how networks learn.

>>> from tinygrad_edu import Value
>>> x = Value(2.0)
>>> y = (x * 3).tanh()
>>> y.backward()           # x.grad = dy/dx = 3 (1 - tanh(6)^2)
"""

from . import losses, optim, reference
from .engine import Value, grad, op
from .gradcheck import GradcheckError, gradcheck, gradcheck_module, numerical_grad
from .nn import MLP, Layer, Module, Neuron
from .plumbing import cyclic_gc_paused
from .pytorch import from_torch, to_torch
from .saving import ModelFileError, load, save
from .viz import draw_graph, render

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Layer",
    "MLP",
    "ModelFileError",
    "Module",
    "Neuron",
    "Value",
    "cyclic_gc_paused",
    "draw_graph",
    "from_torch",
    "gradcheck",
    "gradcheck_module",
    "grad",
    "load",
    "losses",
    "numerical_grad",
    "op",
    "optim",
    "reference",
    "render",
    "save",
    "to_torch",
]
