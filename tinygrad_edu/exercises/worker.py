"""The process a learner's exercise file runs in: it loads the file, then calls its functions
as the checker asks, and sends back what they returned (``calls.py``); it judges nothing.

The runner starts it as ``python -c "from tinygrad_edu.exercises.worker import main; main()"
R W``, where R and W are the ends of two pipes of its own: requests arrive on R, one JSON line
each, and each reply goes out on W. The file's own printing goes to stdout and stderr, which
the runner reads separately (and only up to a cap), so nothing printed can pass for a reply.
The first request is ``{"load": path}``; the reply is ``{"loaded": true}`` or what raised.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from .calls import raised, serve

COMMAND = "from tinygrad_edu.exercises.worker import main; main()"  # run as python -c COMMAND


def main() -> None:
    """Serve the requests on the pipe whose end is sys.argv[1], replying on sys.argv[2]."""
    requests = os.fdopen(int(sys.argv[1]), "r", encoding="utf-8")
    replies = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")
    path = Path(json.loads(requests.readline())["load"])
    try:
        module = _load(path)
    except BaseException as error:  # noqa: BLE001 (sys.exit() while loading too)
        _send(replies, raised(error, str(path)))
        return
    _send(replies, {"loaded": True})
    for line in requests:
        _send(replies, serve(module, json.loads(line)))


def _load(path: Path) -> ModuleType:
    """Import the learner's file as Python would run it: its folder first on sys.path, so that
    a file beside it imports (``from helpers import d``). Everything the worker itself needs
    is imported by now, so nothing in that folder can stand in for it."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None  # a .py file always has both
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _send(replies: TextIO, reply: dict[str, Any]) -> None:
    replies.write(json.dumps(reply) + "\n")
    replies.flush()
