"""Saving and loading models: a small, versioned JSON file, written atomically.

    save(model, "model.json")
    model = load("model.json")              # rebuilds the MLP (or Layer, Neuron) from the file
    load("model.json", into=model)          # or fills in a model you built

The file (format version 1) is one JSON object::

    {
      "format": "tinygrad_edu.model",
      "version": 1,
      "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 1],
                       "activation": "relu", "output_activation": "linear"},
      "sha256": "<hex digest of the canonical architecture and state_dict>",
      "state_dict": {
        "layers.0.weight": [[...], ...],
        "layers.0.bias": [...],
        ...
      }
    }

``state_dict`` is ``Module.state_dict()`` as nested lists, laid out as ``nn.Layer.layout`` says.
Python writes each float as the shortest decimal that reads back to the same float, so a round
trip is bit-exact.
``architecture`` is ``null`` for a Module that is not an MLP, Layer or Neuron; such a file is
loaded ``into`` a module built by hand. ``sha256`` is the digest of
``json.dumps({"architecture": ..., "state_dict": ...}, sort_keys=True, separators=(",", ":"))``
as UTF-8, which catches a file changed after it was written.

``save`` writes a temporary file next to the target, flushes it to disk and renames it over the
target (``os.replace``), so a crash at any moment leaves either the old file or the new one,
never half of one. ``load`` checks everything before changing anything: a file that is not a
model file, truncated, corrupted or of another version raises ``ModelFileError`` (a
ValueError) and leaves the model untouched.

A model file may come from anyone (its checksum guards against corruption, not against its
author), so ``load`` trusts none of it: the architecture must name, key for key and shape for
shape, the arrays the file itself holds before any module is built. A file of n bytes costs
time and memory in proportion to n, whatever sizes its architecture claims.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .files import write_atomically
from .nn import ACTIVATIONS, MLP, Layer, Module, Neuron, Shape, number_array, parameter_array

PathLike = Union[str, "os.PathLike[str]"]

FORMAT = "tinygrad_edu.model"
FORMAT_VERSION = 1
# the modules a file can rebuild, by the name its architecture gives ("type"); exact types only,
# for a subclass may add parameters or change the forward pass
BUILDABLE: dict[str, type[Union[MLP, Layer, Neuron]]] = {
    kind.__name__: kind for kind in (MLP, Layer, Neuron)
}


class ModelFileError(ValueError):
    """A file that cannot be loaded: not a model file, truncated, corrupted, or another version."""


def save(module: Module, path: PathLike) -> None:
    """Write ``module``'s architecture and parameters to ``path``, atomically (see above)."""
    if isinstance(module, (str, os.PathLike)) and isinstance(path, Module):
        raise TypeError("save takes (module, path), in that order: the arguments are swapped")
    if not isinstance(module, Module):
        raise TypeError(f"save needs a Module to save, got {type(module).__name__}")
    path = _path(path)
    state = module.state_dict()
    for name, array in state.items():  # a parameter set by hand to NaN would not load back
        try:
            parameter_array(array, name, array.shape)
        except ValueError as error:
            raise ValueError(f"cannot save {module!r}: {error}") from None
    architecture = architecture_of(module)
    tensors = {name: array.tolist() for name, array in state.items()}
    lines = [
        "{",
        f'  "format": {json.dumps(FORMAT)},',
        f'  "version": {FORMAT_VERSION},',
        f'  "architecture": {json.dumps(architecture)},',
        f'  "sha256": "{_digest(architecture, tensors)}",',
        '  "state_dict": {',
        ",\n".join(f"    {json.dumps(name)}: {json.dumps(t)}" for name, t in tensors.items()),
        "  }",
        "}",
        "",
    ]
    try:
        write_atomically(path, "\n".join(lines).encode("utf-8"))
    except (FileNotFoundError, IsADirectoryError) as error:
        raise type(error)(f"cannot save {module!r}: {error}") from None


def load(path: PathLike, into: Optional[Module] = None) -> Module:
    """The module saved at ``path``: rebuilt from its architecture, or loaded ``into`` one.

    With ``into``, the file's architecture (when it has one) must be the module's, and its
    state must fit the module exactly (``load_state_dict(strict=True)``); ``into`` is returned.
    """
    if into is not None and not isinstance(into, Module):
        raise TypeError(f"into must be a Module to load into, got {type(into).__name__}")
    path = _path(path)
    architecture, state = _read(path)
    if into is None:
        module = _build(architecture, path)
        module.load_state_dict(state)  # _read checked every key and shape, and numbers are finite
        return module
    expected = architecture_of(into)
    if architecture is not None and expected is not None and architecture != expected:
        raise ValueError(
            f"{path} holds {_describe(architecture)}, which cannot be loaded into {into!r}"
        )
    into.load_state_dict(state)
    return into


def architecture_of(module: Module) -> Optional[dict[str, object]]:
    """What it takes to rebuild ``module``, as JSON-ready data: its type's name and its
    ``SETTINGS`` (for an MLP: nin, nouts, activation, output_activation); None for other
    Modules."""
    kind = type(module)
    if BUILDABLE.get(kind.__name__) is not kind:
        return None
    return {"type": kind.__name__, **{name: getattr(module, name) for name in kind.SETTINGS}}


# --- reading ---------------------------------------------------------------------------------


def _read(path: Path) -> tuple[Optional[dict[str, object]], dict[str, np.ndarray]]:
    """The architecture and state dict in the file at path, after checking all of it."""
    data = path.read_bytes()
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ModelFileError(f"{path} is not a tinygrad_edu model file (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{path} is truncated or corrupted: it is not complete JSON ({error})"
        ) from None
    except ValueError as error:  # _refuse_constant, or an integer of thousands of digits
        raise ModelFileError(f"{path} is corrupted: {error}") from None
    except RecursionError:  # the C parser's guard against [[[[... nested without end
        raise ModelFileError(
            f"{path} is not a tinygrad_edu model file: its JSON nests too deeply"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(
            f'{path} is not a tinygrad_edu model file (it has no "format": "{FORMAT}")'
        )
    version = document.get("version")
    if type(version) is not int or version != FORMAT_VERSION:  # true == 1 in Python
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelFileError(
            f"{path} is in format version {version!r}, but this tinygrad_edu reads version "
            f"{FORMAT_VERSION}" + (" (the file was written by a newer tinygrad_edu)" * newer)
        )
    missing = [k for k in ("architecture", "sha256", "state_dict") if k not in document]
    if missing:
        raise ModelFileError(f"{path} is corrupted: it has no {', '.join(missing)}")
    architecture, tensors = document["architecture"], document["state_dict"]
    if not isinstance(tensors, dict) or not (
        architecture is None or isinstance(architecture, dict)
    ):
        raise ModelFileError(f"{path} is corrupted: its state_dict or architecture is malformed")
    try:
        digest = _digest(architecture, tensors)
    except ValueError:  # json reads 1e999 as inf, which it will not write back
        raise ModelFileError(
            f"{path} is corrupted: it holds a number beyond the float range"
        ) from None
    if document["sha256"] != digest:
        raise ModelFileError(
            f"{path} is corrupted: its contents do not match the sha256 checksum written with them"
        )
    state = {name: _array(t, name, path) for name, t in tensors.items()}
    if architecture is not None:
        _check_fit(_shapes(architecture, path), state, path)
    return architecture, state


def _refuse_constant(name: str) -> None:
    raise ValueError(f"it holds {name}, and model files hold finite numbers only")


def _array(nested: object, name: str, path: Path) -> np.ndarray:
    try:
        array = number_array(nested)
    except OverflowError as error:
        raise ModelFileError(f"{path} is corrupted: {name}: {error}") from None
    except ValueError:  # rows of different lengths
        raise ModelFileError(f"{path}: {name} is not a rectangular array of numbers") from None
    if array.dtype.kind not in "iuf":
        raise ModelFileError(f"{path}: {name} is not an array of numbers")
    return array.astype(np.float64)


def _shapes(architecture: dict[str, object], path: Path) -> dict[str, Shape]:
    """The state_dict keys and shapes of the module that architecture describes, from its
    numbers alone (nothing is built: ``layout``); ModelFileError unless it is exactly what save
    writes."""
    kind_name = architecture.get("type")
    if not isinstance(kind_name, str) or kind_name not in BUILDABLE:
        raise ModelFileError(f"{path}: unknown architecture type {kind_name!r:.80}")
    kind = BUILDABLE[kind_name]
    keys = ["type", *kind.SETTINGS]
    if sorted(architecture) != sorted(keys):
        raise ModelFileError(
            f"{path}: a {kind_name} architecture has the keys {', '.join(keys)}, "
            f"but this one has {', '.join(map(repr, architecture))[:200]}"
        )

    def size(name: str, n: object) -> int:
        if type(n) is not int or n < 1:  # bool is not int here
            raise ModelFileError(f"{path}: {name} must be a positive int, got {n!r:.80}")
        return n

    sizes: dict[str, Any] = {}  # layout's arguments: every setting but the activations
    for name in kind.SETTINGS:
        setting = architecture[name]
        if "activation" in name:
            if not (isinstance(setting, str) and setting in ACTIVATIONS):
                raise ModelFileError(
                    f"{path}: unknown {name} {setting!r:.80}; "
                    f"the activations are {', '.join(ACTIVATIONS)}"
                )
        elif name == "nouts":
            if not isinstance(setting, list) or not setting:
                raise ModelFileError(
                    f"{path}: nouts must be a non-empty list of sizes, got {setting!r:.80}"
                )
            sizes[name] = [size("each of nouts", n) for n in setting]
        else:
            sizes[name] = size(name, setting)
    return kind.layout(**sizes)


def _check_fit(shapes: dict[str, Shape], state: dict[str, np.ndarray], path: Path) -> None:
    """ModelFileError unless state holds exactly the arrays of these shapes."""
    missing = [name for name in shapes if name not in state]
    unexpected = [name for name in state if name not in shapes]
    if missing or unexpected:
        problems = [f"no {', '.join(missing[:3])}"] * bool(missing)
        problems += [f"an unexpected {', '.join(unexpected[:3])}"] * bool(unexpected)
        raise ModelFileError(
            f"{path}: the weights do not fit the architecture: it has {' and '.join(problems)}"
            + " (and more)" * (len(missing) > 3 or len(unexpected) > 3)
        )
    for name, shape in shapes.items():
        if state[name].shape != shape:
            raise ModelFileError(
                f"{path}: the weights do not fit the architecture: it says {name} has shape "
                f"{shape}, but the file holds {state[name].shape}"
            )


def _build(architecture: Optional[dict[str, object]], path: Path) -> Module:
    """The module of an architecture that _shapes has checked, with fresh weights."""
    if architecture is None:
        raise ValueError(
            f"{path} holds the parameters of a custom Module, which load cannot rebuild: "
            "build the module and pass it as load(path, into=module)"
        )
    kind = BUILDABLE[str(architecture["type"])]  # _shapes checked the type and the settings
    settings: dict[str, Any] = {name: architecture[name] for name in kind.SETTINGS}
    return kind(**settings)


def _describe(architecture: dict[str, object]) -> str:
    settings = ", ".join(f"{k}={v!r}" for k, v in architecture.items() if k != "type")
    return f"{architecture['type']}({settings})"


# --- writing ---------------------------------------------------------------------------------


def _digest(architecture: object, tensors: object) -> str:
    canonical = json.dumps(
        {"architecture": architecture, "state_dict": tensors},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or a pathlib.Path, got {type(path).__name__}: {path!r}"
        )
    return Path(path)
