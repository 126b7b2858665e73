"""Handing the exercises out, and checking a learner's folder of them.

``init_exercises`` copies the handouts into a folder, never over a learner's work unless
forced. ``check_exercises`` checks each exercise in a process of its own with a time limit,
so that an answer that crashes, or loops forever, stops only itself; the process writes its
Result as JSON (run as ``python -m tinygrad_edu.exercises.runner FILE N OUT MAX_EXAMPLES``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from types import ModuleType

from .catalogue import EXERCISES
from .checker import ERROR, TIMEOUT, Exercise, Result, check_module

WORKER = "tinygrad_edu.exercises.runner"  # this module, run as a script in a process of its own
DEFAULT_TIMEOUT = 30.0  # seconds per exercise
DEFAULT_MAX_EXAMPLES = 100  # drawn inputs per function


def init_exercises(directory: str | os.PathLike[str], force: bool = False) -> list[Path]:
    """Copy every exercise file into ``directory`` (made if need be); the paths written.

    Raises FileExistsError, writing nothing, if any of the files is already there, unless
    ``force`` (which replaces them with fresh copies).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} is a file, not a folder to put exercises in")
    targets = [directory / e.filename for e in EXERCISES.values()]
    existing = [t.name for t in targets if t.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{directory} already has {', '.join(existing)}: refusing to overwrite your work "
            "(--force replaces them with fresh copies)"
        )
    handouts = resources.files("tinygrad_edu.exercises.handouts")
    texts = [handouts.joinpath(e.filename).read_text(encoding="utf-8") for e in EXERCISES.values()]
    directory.mkdir(parents=True, exist_ok=True)
    for target, text in zip(targets, texts):
        target.write_text(text, encoding="utf-8")
    return targets


def check_exercises(
    directory: str | os.PathLike[str],
    numbers: Iterable[int] | None = None,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Result]:
    """Check the exercises ``numbers`` (all by default) as solved in ``directory``.

    Each runs in its own Python process, stopped after ``timeout`` seconds; each function
    is tried on up to ``max_examples`` inputs drawn by hypothesis.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory} is not a folder of exercises; make one with: "
            f"tinygrad-edu exercises init {directory}"
        )
    chosen = sorted(EXERCISES) if numbers is None else list(numbers)
    unknown = [n for n in chosen if n not in EXERCISES]
    if unknown:
        raise ValueError(f"no exercise {unknown[0]}: they are numbered 1 to {len(EXERCISES)}")
    if max_examples < 1 or not timeout > 0:
        raise ValueError("max_examples and timeout must be positive")
    return [_check_in_own_process(EXERCISES[n], directory, max_examples, timeout) for n in chosen]


def _check_in_own_process(
    exercise: Exercise, directory: Path, max_examples: int, timeout: float
) -> Result:
    path = directory / exercise.filename
    if not path.is_file():
        return Result(
            exercise.number,
            exercise.title,
            ERROR,
            message=f"{path.name} is missing: `tinygrad-edu exercises init {directory}` "
            "copies out a fresh one",
        )
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", WORKER, str(path.resolve()), str(exercise.number)]
        try:
            # run in the scratch folder: nothing in the learner's folder can shadow a module,
            # and hypothesis keeps its files out of it
            finished = subprocess.run(
                [*command, str(out), str(max_examples)],
                cwd=scratch,
                env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": scratch},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return Result(
                exercise.number,
                exercise.title,
                TIMEOUT,
                message=f"no result within {timeout:g} s: an endless loop? (stopped)",
            )
        if out.is_file():
            return Result.from_dict(json.loads(out.read_text(encoding="utf-8")))
        last_words = finished.stderr.strip().splitlines()[-1:] or ["no message"]
        return Result(
            exercise.number,
            exercise.title,
            ERROR,
            message=f"the check stopped without a result (exit status {finished.returncode}): "
            f"{last_words[0]}",
        )


def _check_file(path: Path, number: int, max_examples: int) -> Result:
    exercise = EXERCISES[number]
    try:
        module = _load(path)
    except (Exception, SystemExit) as error:
        return Result(
            number,
            exercise.title,
            ERROR,
            message=f"{path.name} does not load: {type(error).__name__}: {error}",
        )
    return check_module(exercise, module, max_examples)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"learner_{path.stem}", path)
    assert spec is not None and spec.loader is not None  # a .py file always has both
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _main(argv: list[str]) -> None:
    path, number, out, max_examples = Path(argv[0]), int(argv[1]), Path(argv[2]), int(argv[3])
    result = _check_file(path, number, max_examples)
    Path(out).write_text(json.dumps(dataclasses.asdict(result)), encoding="utf-8")


if __name__ == "__main__":
    _main(sys.argv[1:])
