"""Finding a program that lays graphs out, so that rendering works right after ``pip install``.

The ``graphviz`` package renders by running an executable named ``dot``: Graphviz's, which is
not there on a fresh machine. The ``viz`` extra brings ``graphviz-pure``, a self-contained
port of Graphviz with the same command line (``-K``, ``-T``, ``-o``) installed as an
executable named ``graphviz-pure``. The rule, in order of preference:

1. ``dot`` on PATH (a system Graphviz): used as it is;
2. the ``graphviz-pure`` executable installed with the ``graphviz-pure`` distribution in this
   Python environment (found through its installed-files record, so an un-activated venv or a
   Jupyter kernel finds it too), or on PATH;
3. neither: :class:`RendererNotFoundError`, naming both ways to get one.

The ``graphviz`` package has no public setting for the executable it runs: every command it
builds starts with the module attribute ``graphviz.backend.dot_command.DOT_BINARY``, read at
call time. :func:`use_renderer` points that attribute at the renderer found. It only ever
replaces the default (``dot``) or its own earlier choice, never a path a user set there, and
tests/test_graphviz_program.py fails loudly if the ``graphviz`` package stops working this way.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import graphviz
from graphviz.backend import dot_command

GRAPHVIZ_PURE = "graphviz-pure"  # the distribution and the executable it installs
_DEFAULT_DOT = Path("dot")  # what graphviz runs unless told otherwise

_HOW_TO_GET_ONE = (
    "no Graphviz renderer found: no `dot` on PATH and no graphviz-pure installed. Either "
    "install graphviz-pure, Graphviz in a wheel, with `pip install 'tinygrad-edu[viz]'` (or "
    "`pip install graphviz-pure`), or install Graphviz itself (`apt-get install graphviz`, "
    "`brew install graphviz`, `winget install graphviz`). DOT text (.gv) needs no renderer"
)


class RendererNotFoundError(graphviz.ExecutableNotFound):
    """No ``dot`` on PATH and no graphviz-pure installed.

    A ``graphviz.ExecutableNotFound``, so code that catches graphviz's own error catches it.
    """

    def __init__(self) -> None:
        # graphviz's __init__ formats a message about one command; ours names two remedies
        RuntimeError.__init__(self, _HOW_TO_GET_ONE)


def find_renderer() -> Path:
    """The executable that will lay out graphs: the system ``dot`` when it is on PATH, else
    graphviz-pure; raises :class:`RendererNotFoundError` when there is neither."""
    system_dot = shutil.which("dot")
    if system_dot:
        return Path(system_dot)
    pure = graphviz_pure_executable()
    if pure is None:
        raise RendererNotFoundError()
    return pure


def graphviz_pure_executable() -> Path | None:
    """The graphviz-pure executable of this Python environment, else one on PATH, else None."""
    try:
        files = metadata.distribution(GRAPHVIZ_PURE).files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in (GRAPHVIZ_PURE, GRAPHVIZ_PURE + ".exe"):
            path = Path(file.locate()).resolve()
            if path.is_file():
                return path
    on_path = shutil.which(GRAPHVIZ_PURE)
    return Path(on_path) if on_path else None


def use_renderer() -> Path:
    """Point the ``graphviz`` package at :func:`find_renderer`'s executable; return it.

    Leaves ``DOT_BINARY`` alone when a user has set it to a path of their own.
    """
    current = Path(dot_command.DOT_BINARY)
    if current != _DEFAULT_DOT and current.name not in (GRAPHVIZ_PURE, GRAPHVIZ_PURE + ".exe"):
        return current
    found = find_renderer()
    # the system dot is run by name, as graphviz does by default, so PATH keeps deciding
    dot_command.DOT_BINARY = _DEFAULT_DOT if found.name in ("dot", "dot.exe") else found
    return found
