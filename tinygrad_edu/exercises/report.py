"""The checker's report: a table of exercises and, under each one not passed, what is wrong
at the simplest input found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .checker import ERROR, FAIL, NOT_ATTEMPTED, PASS, TIMEOUT, PartResult, Result

SHOWN = {
    PASS: "pass",
    FAIL: "FAIL",
    ERROR: "ERROR",
    TIMEOUT: "TIMEOUT",
    NOT_ATTEMPTED: "not attempted",
}

OTHER_OUTCOMES = {
    FAIL: "failed",
    ERROR: "with errors",
    TIMEOUT: "timed out",
    NOT_ATTEMPTED: "not attempted",
}


def format_report(results: Sequence[Result]) -> str:
    """The table the ``check`` command prints, ending with a one-line summary."""
    width = max([len("exercise")] + [len(r.title) for r in results])
    lines = [f"  #  {'exercise':<{width}}  result"]
    for result in results:
        lines.append(f"{result.number:>3}  {result.title:<{width}}  {SHOWN[result.status]}")
        lines.extend("       " + line for line in _details(result))
    lines.append("")
    lines.append(_summary(results))
    return "\n".join(lines)


def _details(result: Result) -> list[str]:
    if result.message:
        return [result.message]
    if result.status in (PASS, NOT_ATTEMPTED) and all(
        p.status == result.status for p in result.parts
    ):
        return []  # the status says it all
    lines = []
    for part in result.parts:
        if part.status in (FAIL, ERROR):
            lines.extend(_part_details(part))
        else:
            lines.append(f"{part.function}: {SHOWN[part.status]}")
    return lines


def _part_details(part: PartResult) -> list[str]:
    lines = [f"{part.function}: {part.message}" if part.status == FAIL else part.message]
    if part.input:
        lines.append(f"  input     {part.input}")
    if part.status == FAIL:
        lines.append(f"  expected  {part.expected}")
        lines.append(f"  got       {part.got}")
    if part.hint:
        lines.append(f"  hint      {part.hint}")
    return lines


def _summary(results: Sequence[Result]) -> str:
    counts = Counter(r.status for r in results)
    if counts[PASS] == len(results):
        return f"All {len(results)} checked passed."
    others = ", ".join(f"{counts[s]} {word}" for s, word in OTHER_OUTCOMES.items() if counts[s])
    return f"{counts[PASS]} of {len(results)} passed; {others}."
