"""tinygrad_edu: a small, exact, fast scalar autograd engine for learning how networks learn.

>>> from tinygrad_edu import Value
>>> x = Value(2.0)
>>> y = (x * 3).tanh()
>>> y.backward()           # x.grad = dy/dx = 3 (1 - tanh(6)^2)
"""

from . import losses, optim, reference
from .engine import Value, op
from .gradcheck import GradcheckError, gradcheck, gradcheck_module, numerical_grad
from .nn import MLP, Layer, Module, Neuron

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "GradcheckError",
    "Layer",
    "Module",
    "Neuron",
    "Value",
    "gradcheck",
    "gradcheck_module",
    "losses",
    "numerical_grad",
    "op",
    "optim",
    "reference",
]
