"""Gradient-check exercises: derive a derivative, write it, and let the checker judge it.

    tinygrad-edu exercises init DIR        # copy the ten exercise files into DIR
    tinygrad-edu exercises check DIR [N]   # check them all, or exercise N

Each exercise file has a docstring (the idea, what to derive, a hint) and a function to
complete. The checker calls it at inputs hypothesis draws and compares what it returns with
finite differences and with the engine's backward(); for a wrong answer it shows the
simplest input it found, the expected derivative and the one it got, and names the mistake
when it can (a sign, a factor of N, a transposed array, a forgotten return). ``check`` runs
each file in a process of its own and judges its answers in this one, so that nothing the
file does can pass for a verdict.

The same from Python::

    from tinygrad_edu.exercises import check_exercises, format_report, init_exercises
    init_exercises("my-exercises")
    print(format_report(check_exercises("my-exercises", [2])))
"""

from .catalogue import EXERCISES
from .checker import Exercise, Part, PartResult, Result, check_module
from .report import format_report
from .runner import DEFAULT_MAX_EXAMPLES, DEFAULT_TIMEOUT, check_exercises, init_exercises

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "EXERCISES",
    "Exercise",
    "Part",
    "PartResult",
    "Result",
    "check_exercises",
    "check_module",
    "format_report",
    "init_exercises",
]
