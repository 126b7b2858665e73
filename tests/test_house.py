"""The shape of the house, read from the source: every import of every module of tinygrad_edu
(at the top, inside functions, under ``if TYPE_CHECKING``) goes down the layers below or
sideways within a layer, never up; no modules import each other, however indirectly; and no
module imports another module's private (``_underscore``) names.

``LAYERS`` lists the layers bottom first: the op table, the engine, what is built of Values,
what checks, saves and translates it, what shows it, the models, the public API, and what a
learner runs. A new module fails ``test_every_module_has_a_layer`` until it is given a place.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import NamedTuple

PACKAGE = "tinygrad_edu"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

# Bottom first. A name is a module's path inside the package ("demos.neuron"); a package's name
# ("jit", "demos") covers every module in it, and "" is the package's own __init__.py, the public
# API. Names of modules that do not exist (yet, or any more) are allowed.
LAYERS: list[set[str]] = [
    # the op table, and the helpers behind engine's one door
    {"ops", "checks", "overflow", "fast_paths", "files", "your_turn"},
    # the teaching core: Value, apply(), backward(), grad()
    {"engine"},
    # what is built of Values; jit captures and replays what the engine builds
    {"nn", "losses", "optim", "custom_ops", "jit"},
    # checking, testing, saving, and the other numeric worlds
    {"gradcheck", "testing", "saving", "pytorch", "reference", "expression"},
    # showing a graph: drawings, the backprop steps, the step-through page
    {"viz", "steps", "page", "graphviz_program"},
    # the models of the lessons
    {"models"},
    # the public API: tinygrad_edu/__init__.py
    {""},
    # what a learner runs, written against the public API
    {"exercises", "demos", "cli", "_argtypes"},
]


class Import(NamedTuple):
    """One import in module ``source``, on line ``line``: of module ``target`` itself, bound to
    the name ``alias`` (when ``name`` is None), or of ``target``'s name ``name``."""

    source: str
    target: str
    name: str | None
    alias: str
    line: int


@functools.cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name; a package is its __init__.py."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(module: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import of a tinygrad_edu module in module's source, wherever it stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [  # import tinygrad_edu.ops as ops (without "as", it binds tinygrad_edu)
                Import(module, alias.name, None, alias.asname or PACKAGE, node.lineno)
                for alias in node.names
                if alias.name.split(".")[0] == PACKAGE
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x, from ..nn import y
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                bound = alias.asname or alias.name
                if submodule in known:  # from tinygrad_edu import ops: the module ops
                    found.append(Import(module, submodule, None, bound, node.lineno))
                else:
                    found.append(Import(module, target, alias.name, bound, node.lineno))
    return found


def all_imports() -> list[Import]:
    known = modules()
    return [i for module, path in known.items() for i in imports_of(module, path, known)]


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the longest name covering module, or None."""
    name = module[len(PACKAGE) + 1 :] if module != PACKAGE else ""
    while True:
        for index, layer in enumerate(LAYERS):
            if name in layer:
                return index
        if not name or "." not in name:
            return None
        name = name.rpartition(".")[0]


def where(i: Import) -> str:
    return f"{modules()[i.source].relative_to(SOURCE.parent)}:{i.line}"


def test_every_module_has_a_layer():
    unplaced = [m for m in modules() if layer_of(m) is None]
    assert not unplaced, (
        f"{', '.join(unplaced)} in no layer: add each to LAYERS in tests/test_house.py, at or "
        "above the layers of what it imports and at or below those of what imports it"
    )


def test_each_name_is_in_one_layer():
    names = [name for layer in LAYERS for name in layer]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_import_is_of_a_module_that_exists():
    known = modules()
    missing = [f"{where(i)} imports {i.target}" for i in all_imports() if i.target not in known]
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)


def test_nothing_imports_anything_above_it():
    upward = [
        f"{where(i)}: {i.source} (layer {layer_of(i.source)}) imports {i.target} "
        f"(layer {layer_of(i.target)})"
        for i in all_imports()
        if i.target in modules()
        and None not in (layer_of(i.source), layer_of(i.target))
        and layer_of(i.target) > layer_of(i.source)
    ]
    assert not upward, (
        "imports reaching up the layers (LAYERS in tests/test_house.py, bottom first); move what "
        "is needed down, or pass it in:\n" + "\n".join(upward)
    )


def test_no_modules_import_each_other_however_indirectly():
    graph: dict[str, set[str]] = {module: set() for module in modules()}
    for i in all_imports():
        if i.target != i.source:
            graph[i.source].add(i.target)
    circle = find_circle(graph)
    assert circle is None, f"an import circle: {' -> '.join(circle)}"


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A path a -> b -> ... -> a in graph, or None (depth-first search, without recursion)."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        branches = [iter(sorted(graph[start]))]
        while branches:
            nxt = next(branches[-1], None)
            if nxt is None:
                done.add(path[-1])
                on_path.discard(path.pop())
                branches.pop()
            elif nxt in on_path:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in done and nxt in graph:
                path.append(nxt)
                on_path.add(nxt)
                branches.append(iter(sorted(graph[nxt])))
    return None


def test_find_circle_finds_one_and_only_one_that_is_there():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None  # a diamond


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_imports_another_modules_private_names():
    known = modules()
    found = [
        f"{where(i)}: {i.source} imports {i.target}.{i.name}"
        for i in all_imports()
        if i.name is not None and private(i.name) and i.target != i.source
    ]
    for module, path in known.items():  # and through a module imported whole: checks._x
        whole = {i.alias: i.target for i in imports_of(module, path, known) if i.name is None}
        found += [
            f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {module} reads "
            f"{whole[node.value.id]}.{node.attr}"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in whole
            and private(node.attr)
        ]
    assert not found, (
        "private names used outside their module (make the name public, or move the code "
        "that needs it into that module):\n" + "\n".join(found)
    )
