"""Handing the exercises out, and checking a learner's folder of them.

``init_exercises`` copies the handouts into a folder, never over a learner's work unless
forced. ``check_exercises`` runs each exercise file in a process of its own (``worker.py``)
with a time limit, so that an answer that crashes, loops forever or prints without end stops
only itself. That process only calls the learner's functions and sends back what they return;
this one draws the inputs and judges the answers (``checker.check_answers``), so that nothing
the learner's code prints or writes can pass for a verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import configuration

from . import calls, worker
from .catalogue import EXERCISES
from .checker import ERROR, TIMEOUT, Exercise, Result, check_answers

DEFAULT_TIMEOUT = 30.0  # seconds per exercise
DEFAULT_MAX_EXAMPLES = 100  # drawn inputs per function
OUTPUT_CAP = 1 << 16  # bytes kept of what an exercise prints (the last): enough for its last words
REPLY_CAP = 1 << 20  # bytes of one reply: far more than any answer asked for


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

    Each file runs in a Python process of its own, stopped once its code has run ``timeout``
    seconds in all; each function is tried on up to ``max_examples`` inputs drawn by
    hypothesis, and judged in this process.
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
    with tempfile.TemporaryDirectory() as scratch, _hypothesis_files_in(scratch):
        return [
            _check_in_own_process(EXERCISES[n], directory, max_examples, timeout) for n in chosen
        ]


@contextlib.contextmanager
def _hypothesis_files_in(folder: str) -> Iterator[None]:
    """Hypothesis keeps a cache in .hypothesis/ under the current folder: not in a learner's."""
    configuration.set_hypothesis_home_dir(folder)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(None)  # back to its default


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
    failed = partial(Result, exercise.number, exercise.title)
    # the worker runs in an empty scratch folder: nothing in the learner's folder can stand in
    # for a module the worker imports (the file's own imports find its folder all the same)
    with tempfile.TemporaryDirectory() as scratch, _Worker(path, timeout, scratch) as worker:
        try:
            not_loaded = _load(worker, path)
            if not_loaded:
                return failed(ERROR, message=not_loaded)
            return check_answers(exercise, worker.ask, max_examples)
        except calls.Stopped as stopped:
            return failed(TIMEOUT if stopped.timed_out else ERROR, message=stopped.message)


def _load(worker: _Worker, path: Path) -> str:
    """'' once the worker has loaded the learner's file, else why it does not load."""
    reply = worker.ask({"load": str(path.resolve())})
    if reply == {"loaded": True}:
        return ""
    try:
        calls.outcome(reply)
    except calls.LearnerError as error:
        if error.type == "SystemExit":
            return (
                f"{path.name} does not load: it calls sys.exit(){error.where}; an exercise "
                "file should only define functions"
            )
        return f"{path.name} does not load: {error.type}: {error.message}{error.where}"
    except NotImplementedError as error:
        return f"{path.name} does not load: NotImplementedError: {error}"
    except ValueError:
        pass
    raise calls.Stopped(f"the exercise's process sent something that is not a reply: {reply!r:.80}")


class _Worker:
    """A learner's exercise file in a process of its own (worker.py), which is the leader of a
    process group of its own: on leaving, the whole group is ended, with any process the
    file started, so that nothing it began runs on after its check.

    ``ask`` sends it a request and waits for the reply, for at most what is left of
    ``timeout``: the seconds the learner's code may take in all, loading included.
    """

    def __init__(self, path: Path, timeout: float, scratch: str) -> None:
        self.path, self.timeout, self.left = path, timeout, timeout
        self.doing = ""  # the call it is in, for a message if it never returns: "f(0.5)"
        requests_end, self.requests = os.pipe()
        self.replies, replies_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", worker.COMMAND, str(requests_end), str(replies_end)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(requests_end, replies_end),
                cwd=scratch,
                start_new_session=True,
            )
        finally:
            os.close(requests_end)
            os.close(replies_end)
        os.set_blocking(self.requests, False)
        self.printed = _Tail(self.process.stdout)
        self.complaints = _Tail(self.process.stderr)
        self.received = b""
        self.status: int | None = None  # the worker's exit status, once it is stopped

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        os.close(self.requests)
        os.close(self.replies)
        self.printed.close()
        self.complaints.close()

    def _stop(self) -> int:
        """End the whole process group, once; the worker's exit status. The worker is reaped
        only after: until then its pid cannot be reused, so the group named by it is its own."""
        if self.status is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.status = self.process.wait()
        return self.status

    def ask(self, request: calls.Request) -> calls.Reply:
        """Send ``request``, and return the reply; calls.Stopped if none comes in time, the
        process ends, or what comes is not a reply."""
        self.doing = _call_text(request)
        start = time.monotonic()
        try:
            self._send((json.dumps(request) + "\n").encode(), start)
            line = self._receive_line(start)
        finally:
            self.left -= time.monotonic() - start
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            raise calls.Stopped(
                f"the exercise's process sent something that is not a reply: {line!r:.80}"
            )
        return reply

    def _send(self, data: bytes, start: float) -> None:
        while data:
            self._wait_for(self.requests, start, writing=True)
            try:
                data = data[os.write(self.requests, data) :]
            except BrokenPipeError:
                raise self._ended() from None

    def _receive_line(self, start: float) -> bytes:
        while b"\n" not in self.received:
            self._wait_for(self.replies, start, writing=False)
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise self._ended()
            self.received += chunk
            if len(self.received) > REPLY_CAP:
                raise calls.Stopped(
                    f"the exercise's process sent a reply of over {REPLY_CAP >> 20} MB"
                )
        line, _, self.received = self.received.partition(b"\n")
        return line

    def _wait_for(self, fd: int, start: float, writing: bool) -> None:
        """Wait until fd can be read (or written), but not past the time left, nor after the
        process has ended (a process it started may hold the pipe open)."""
        while True:
            left = self.left - (time.monotonic() - start)
            if left <= 0:
                where = f" in {self.doing}" if self.doing else ""
                raise calls.Stopped(
                    f"no result within {self.timeout:g} s: an endless loop? (stopped{where})",
                    timed_out=True,
                )
            poll = select.poll()  # not select.select: it fails for a file number over 1023
            poll.register(fd, select.POLLOUT if writing else select.POLLIN)
            if poll.poll(min(left, 0.1) * 1000):  # ready, or the other end closed
                return
            if _has_ended(self.process.pid):
                raise self._ended()

    def _ended(self) -> calls.Stopped:
        """The worker has ended, or closed its end of a pipe: give it a second to end."""
        deadline = time.monotonic() + 1.0
        while not _has_ended(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        status = self._stop()
        self.complaints.close()
        how = f"killed by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
        while_ = f"in {self.doing}" if self.doing else f"while loading {self.path.name}"
        return calls.Stopped(
            f"the check stopped without a result ({how}) {while_}: "
            f"{self.complaints.last_line() or 'no message'}"
        )


def _has_ended(pid: int) -> bool:
    """Whether the process has ended, leaving it unreaped (its pid still names its group)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _call_text(request: calls.Request) -> str:
    """'f(0.5, [1.0, 2.0])' for a request to call f; '' for any other."""
    name = request.get("call") or request.get("op")
    if not name:
        return ""
    args = request.get("args") or [{"number": x} for x in request["operands"]]
    shown = ", ".join(repr(_plain(calls.decode(a))) for a in args)
    return f"{name}({shown if len(shown) <= 200 else shown[:197] + '...'})"


def _plain(x: Any) -> Any:
    return x.tolist() if isinstance(x, np.ndarray) else x


class _Tail:
    """The last OUTPUT_CAP bytes a stream carries, read to its end by a thread of its own: an
    answer that prints without end neither blocks on a full pipe nor fills this process's
    memory."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.kept = stream, bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := os.read(self.stream.fileno(), 1 << 16):
            self.kept += chunk
            del self.kept[:-OUTPUT_CAP]

    def close(self) -> None:
        """Wait (briefly: a process the file started may still hold the pipe) for the end."""
        self.thread.join(timeout=1.0)
        if not self.thread.is_alive():
            self.stream.close()

    def last_line(self) -> str:
        lines = bytes(self.kept).decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:300] if lines else ""
