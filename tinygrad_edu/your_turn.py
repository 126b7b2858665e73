"""The lessons' "your turn" cells, which ship unanswered: the learner's line holds ``...``.

    my_sign = ...  # <- your answer

    if attempted(my_sign):
        assert my_sign == engine_sign, "look again: ..."   # a wrong answer: what to rethink
        print("right: ...")

Run untouched, such a cell prints that the question is not attempted yet and raises nothing,
so a lesson still runs from top to bottom; the answers live in the tests.
"""

from __future__ import annotations


def attempted(answer: object) -> bool:
    """True once ``answer`` is written; while it is still ``...`` (Python's Ellipsis), False,
    after printing that the question is not attempted yet. A list or tuple with a ``...`` left
    in it is half an answer: ValueError."""
    if answer is ...:
        print(
            "not attempted yet: write your answer in place of the ... on the line marked "
            "# <- your answer, then run this cell again"
        )
        return False
    if _holds_ellipsis(answer):
        raise ValueError(
            f"your answer {answer!r} still holds a ... (Python shows it as Ellipsis): write "
            "every part of it"
        )
    return True


def _holds_ellipsis(answer: object) -> bool:
    return isinstance(answer, (list, tuple)) and any(
        part is ... or _holds_ellipsis(part) for part in answer
    )
