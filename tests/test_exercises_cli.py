"""`tinygrad-edu exercises init` and `check`, used as a learner uses them."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.exercises import EXERCISES, check_exercises, format_report

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
FAST = ["--max-examples", "15"]


def init(directory, capsys, *flags):
    status = main(["exercises", "init", str(directory), *flags])
    return status, capsys.readouterr()


def check(directory, capsys, *args):
    status = main(["exercises", "check", str(directory), *map(str, args), *FAST])
    return status, capsys.readouterr()


def solve(directory, *numbers):
    for n in numbers:
        shutil.copy(SOLUTIONS / EXERCISES[n].filename, directory / EXERCISES[n].filename)


def test_init_hands_out_every_exercise_as_a_stub_with_its_docstring(tmp_path, capsys):
    status, out = init(tmp_path / "mine", capsys)
    assert status == 0
    files = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert files == sorted(e.filename for e in EXERCISES.values()) and len(files) >= 10
    for exercise in EXERCISES.values():
        text = (tmp_path / "mine" / exercise.filename).read_text()
        assert text.startswith(f'"""Exercise {exercise.number}: ')
        assert "Derive" in text and "Hint" in text and "raise NotImplementedError" in text
        assert exercise.filename in out.out


def test_init_never_overwrites_a_learners_work_without_force(tmp_path, capsys):
    init(tmp_path, capsys)
    work = tmp_path / EXERCISES[2].filename
    work.write_text("my answer")
    (tmp_path / EXERCISES[5].filename).unlink()
    status, out = init(tmp_path, capsys)
    assert status == 1 and "refusing to overwrite your work" in out.err and "--force" in out.err
    assert work.read_text() == "my answer"
    assert not (tmp_path / EXERCISES[5].filename).exists()  # nothing at all was written
    status, _ = init(tmp_path, capsys, "--force")
    assert status == 0 and "raise NotImplementedError" in work.read_text()
    assert (tmp_path / EXERCISES[5].filename).exists()


def test_init_refuses_a_file_for_a_folder(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("")
    status, out = init(tmp_path / "notes.txt", capsys)
    assert status == 1 and "is a file" in out.err


@pytest.mark.slow  # among the longest: CI runs the slow tests once, on 3.11
def test_the_stubs_as_shipped_are_not_attempted(tmp_path, capsys):
    init(tmp_path, capsys)
    status, out = check(tmp_path, capsys)
    assert status == 1
    rows = [line for line in out.out.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == len(EXERCISES) and all(row.endswith("not attempted") for row in rows)
    assert out.out.splitlines()[-1] == f"0 of {len(EXERCISES)} passed; 10 not attempted."


def test_solved_exercises_pass_with_exit_status_0(tmp_path, capsys):
    init(tmp_path, capsys)
    solve(tmp_path, 1, 8)
    status, out = check(tmp_path, capsys, 1, 8)
    assert status == 0, out.out
    assert out.out.splitlines()[-1] == "All 2 checked passed."


@pytest.mark.slow  # among the longest: CI runs the slow tests once, on 3.11
def test_a_wrong_a_looping_and_a_broken_answer_are_each_reported_and_stop_nothing(tmp_path, capsys):
    init(tmp_path, capsys)
    solve(tmp_path, 3, 6)
    sigmoid = tmp_path / EXERCISES[2].filename
    sigmoid.write_text(
        sigmoid.read_text().replace(
            'raise NotImplementedError("exercise 2: d sigmoid(x)/dx")',
            "return -sigmoid(x) * (1 - sigmoid(x))",
        )
    )
    (tmp_path / EXERCISES[6].filename).write_text("while True:\n    pass\n")
    (tmp_path / EXERCISES[9].filename).write_text("def swish(x) return x\n")
    status, out = check(tmp_path, capsys, 2, 6, 9, 3, "--timeout", "4")
    assert status == 1
    lines = [" ".join(line.split()) for line in out.out.splitlines()]  # spacing aside
    assert lines[1:7] == [
        "2 sigmoid FAIL",
        "sigmoid_derivative: d sigmoid(x)/dx is wrong",
        "input x = 0.0",
        "expected 0.25 (engine; finite differences give 0.25)",
        "got -0.25",
        "hint off by a factor of -1 everywhere: check the sign",
    ]
    assert lines[7:9] == [
        "6 mean squared error TIMEOUT",
        "no result within 4 s: an endless loop? (stopped)",
    ]
    assert lines[9] == "9 a custom op: swish ERROR"
    assert lines[10].startswith("ex09_custom_op.py does not load: SyntaxError")
    assert lines[11] == "3 tanh pass"  # checked after the loop was stopped
    assert lines[-1] == "1 of 4 passed; 1 failed, 1 with errors, 1 timed out."


@pytest.mark.parametrize(
    "args, words",
    [
        (["exercises", "check", "no-such-folder"], ["not a folder", "exercises init"]),
        (["exercises", "check", ".", "11"], ["no exercise 11", "1 to 10"]),
    ],
)
def test_check_explains_a_bad_folder_or_number(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_a_missing_exercise_file_is_an_error_that_says_how_to_get_it_back(tmp_path, capsys):
    status, out = check(tmp_path, capsys, 4)
    assert status == 1
    assert "ex04_relu.py is missing" in out.out and "exercises init" in out.out


# --- a grading tool a class may rely on: nothing the learner's file does passes for "pass" ---

RIGHT_SIGMOID = """
import math


def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1.0 - s)
"""

A_FORGED_RESULT = {"number": 2, "title": "sigmoid", "status": "pass", "parts": [], "message": ""}

FORGERIES = {
    "writes a passing result to the path in sys.argv[3], then exits at import": f"""
import json, os, sys
for path in sys.argv[1:]:  # the result file the checker once read its verdict from
    try:
        with open(path, "w") as out:
            json.dump({A_FORGED_RESULT!r}, out)
    except OSError:
        pass
os._exit(0)
""",
    "replaces the checker's _close at import": """
import numpy as np
import tinygrad_edu.exercises.checker as checker
checker._close = lambda got, expected: np.ones(np.shape(got), dtype=bool)


def sigmoid_derivative(x):
    return 7.0
""",
    "prints a verdict, and replies, on stdout and stderr": f"""
import json, sys
for stream in (sys.stdout, sys.stderr):
    print(json.dumps({A_FORGED_RESULT!r}), file=stream)
    print('{{"loaded": true}}', file=stream)
    print('{{"returned": {{"number": 0.25}}}}', file=stream)


def sigmoid_derivative(x):
    print("All 1 checked passed.")
    return 7.0
""",
    "writes replies to every file it has open": """
import os
replies = b'{"loaded": true}\\n{"has": true}\\n' + b'{"returned": {"number": 0.25}}\\n' * 500
for fd in range(3, 64):
    try:
        os.write(fd, replies)
    except OSError:
        pass


def sigmoid_derivative(x):
    return 0.25
""",
    "writes junk where the replies go": """
import os
for fd in range(3, 64):
    try:
        os.write(fd, b'{"status": "pass"}\\n' * 3 + b"[[[[" * 100000 + b"\\n")
    except OSError:
        pass
"""
    + RIGHT_SIGMOID,
    "exits with status 0 inside the function": """
import os


def sigmoid_derivative(x):
    os._exit(0)
""",
}


def check_one(directory, number, text, **options):
    """check_exercises on one exercise file with this text, as a learner wrote it."""
    (directory / EXERCISES[number].filename).write_text(text)
    options = {"max_examples": 15, "timeout": 30.0, **options}
    (result,) = check_exercises(directory, [number], **options)
    return result


def test_a_right_answer_passes_in_its_own_process(tmp_path):
    assert check_one(tmp_path, 2, RIGHT_SIGMOID).status == "pass"


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_file_that_forges_a_pass_fails(forgery, tmp_path, capsys):
    result = check_one(tmp_path, 2, FORGERIES[forgery])
    assert result.status in ("fail", "error"), format_report([result])
    assert main(["exercises", "check", str(tmp_path), "2", *FAST]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 of 1 passed; ")


def test_a_file_exiting_at_import_says_so_and_nothing_else(tmp_path):
    """Its process printed nothing: in particular no RuntimeWarning from runpy, which every run
    of the checker's worker once printed."""
    result = check_one(tmp_path, 2, "import os\nos._exit(3)\n")
    assert result.message == (
        "the check stopped without a result (exit status 3) while loading ex02_sigmoid.py: "
        "no message"
    )


def test_a_file_calling_sys_exit_at_import_or_in_the_function_is_told_so(tmp_path):
    result = check_one(tmp_path, 2, "import sys\nsys.exit()\n")
    assert result.status == "error"
    assert result.message.startswith("ex02_sigmoid.py does not load: it calls sys.exit() (")
    function = RIGHT_SIGMOID.replace("s = sigmoid(x)", "sys.exit(s := sigmoid(x))")
    result = check_one(tmp_path, 2, "import sys\n" + function)
    (part,) = result.parts
    assert part.message.startswith("sigmoid_derivative called sys.exit(0.5) (ex02_sigmoid.py")
    assert "RuntimeWarning" not in format_report([result])


def test_a_function_killed_in_a_call_is_an_error_naming_the_call(tmp_path):
    result = check_one(
        tmp_path, 2, "import os, signal\ndef sigmoid_derivative(x):\n    os.kill(os.getpid(), 9)\n"
    )
    assert result.status == "error"
    assert result.message == (
        "the check stopped without a result (killed by SIGKILL) in sigmoid_derivative(0.0): "
        "no message"
    )


def test_a_file_beside_the_exercise_can_be_imported(tmp_path):
    (tmp_path / "helpers.py").write_text("def d(s):\n    return s * (1 - s)\n")
    text = RIGHT_SIGMOID.replace("return s * (1.0 - s)", "return d(s)")
    assert check_one(tmp_path, 2, "from helpers import d\n" + text).status == "pass"


def running(pid):
    """Whether process pid still runs (a zombie, ended and not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


BACKGROUND = """
import os, subprocess, sys, time

# a process that inherits stdout and stderr, and a fork that inherits every pipe
started = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
forked = os.fork()
if forked == 0:
    time.sleep(600)
    os._exit(0)
with open(PIDS, "w") as out:
    out.write(f"{started.pid} {forked}")
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see processes")
def test_processes_a_file_starts_neither_hold_up_its_check_nor_outlive_it(tmp_path):
    pids = tmp_path / "pids.txt"
    text = BACKGROUND.replace("PIDS", repr(str(pids))) + RIGHT_SIGMOID
    start = time.monotonic()
    result = check_one(tmp_path, 2, text, timeout=60.0)
    assert result.status == "pass", format_report([result])  # not TIMEOUT: no wait for EOF
    assert time.monotonic() - start < 50  # a hang guard, far above the usual few seconds
    background = [int(pid) for pid in pids.read_text().split()]
    deadline = time.monotonic() + 10
    while any(map(running, background)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(running, background))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see processes")
def test_an_endless_loop_in_a_call_is_stopped_naming_the_call_and_its_processes_end(tmp_path):
    pids = tmp_path / "pids.txt"
    looping = BACKGROUND.replace("PIDS", repr(str(pids))) + (
        "\n\ndef sigmoid_derivative(x):\n    while True:\n        pass\n"
    )
    result = check_one(tmp_path, 2, looping, timeout=3.0)
    assert result.status == "timeout"
    assert result.message == (
        "no result within 3 s: an endless loop? (stopped in sigmoid_derivative(0.0))"
    )
    background = [int(pid) for pid in pids.read_text().split()]
    deadline = time.monotonic() + 10
    while any(map(running, background)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(running, background))


PEAK_MEMORY = """
import sys
from pathlib import Path
from tinygrad_edu.cli import main
status = main(["exercises", "check", sys.argv[1], "2", "--max-examples", "15"])
# VmHWM, this process's peak memory: not ru_maxrss, which starts at the peak of the process
# that started this one (pytest's, after many tests), kept across exec
peak_kb = Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]
print(status, peak_kb)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for memory")
def test_an_answer_printing_10_mb_a_call_passes_and_the_checker_keeps_little_of_it(tmp_path):
    printing = "    print('x' * 10_000_000)\n    print('y' * 10_000_000, file=sys.stderr)\n"
    text = RIGHT_SIGMOID.replace("    s = sigmoid(x)\n", "    s = sigmoid(x)\n" + printing)
    (tmp_path / EXERCISES[2].filename).write_text("import sys\n" + text)
    run = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY, str(tmp_path)], capture_output=True, text=True
    )
    status, peak_kb = map(int, run.stdout.split()[-2:])
    assert status == 0, run.stdout  # passed
    # the checker's own process, not the answer's: some 20 calls print 400 MB in all
    assert peak_kb < 250_000, f"{peak_kb / 1000:.0f} MB"
